"""The admin's periodic task form under the Content Security Policy: django_celery_beat's inline
script (the crontab's "Translation:" help, the hidden "Crontab translation" row) runs from a static
file, so the form works and Chromium reports no violation and no script error."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests.factories import UserFactory

from .test_main_flow import _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TASKS = "/admin/django_celery_beat/periodictask/"


def _watch(page) -> list[str]:
    problems = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if "Content Security Policy" in message.text or message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


@pytest.fixture
def admin_page(live_server, chromium_browser, reseeded):
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = _watch(page)
    _log_in(page, live_server.url, admin)
    yield page
    context.close()


@pytest.fixture
def crontab():
    # Made here, as an admin would: the seeded schedules do not outlive an earlier transactional test.
    return CrontabSchedule.objects.create(minute="0", hour="6", timezone="UTC")


def _open(page, url: str) -> None:
    reply = page.goto(url)
    assert reply.status == 200, url
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def test_the_add_form_translates_the_crontab_an_admin_chooses(live_server, admin_page, crontab):
    _open(admin_page, f"{live_server.url}{TASKS}add/")
    assert admin_page.locator(".field-crontab_translation").is_hidden()
    assert "Translation:" not in admin_page.inner_text(".field-crontab .help")

    admin_page.select_option("#id_crontab", str(crontab.pk))

    help_text = admin_page.inner_text(".field-crontab .help")
    assert "Crontab Schedule to run the task on" in help_text  # the field's own help stays
    assert f"Translation: {crontab.human_readable}" in help_text
    assert admin_page.problems == []


def test_the_change_form_translates_the_saved_crontab_and_hides_the_row(live_server, admin_page, crontab):
    task = PeriodicTask.objects.create(name="Weekly export", task="reports.tasks.compute_snapshot", crontab=crontab)

    _open(admin_page, f"{live_server.url}{TASKS}{task.pk}/change/")

    assert admin_page.locator(".field-crontab_translation").is_hidden()
    assert f"Translation: {crontab.human_readable}" in admin_page.inner_text(".field-crontab .help")
    assert admin_page.problems == []
