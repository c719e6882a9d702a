"""Staff forms of the surveys pages: errors next to their fields, nothing lost, nothing silently
dropped. Regressions found by an audit of the staff forms."""

import re

import pytest
from django.urls import reverse

from surveys.models import Survey
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, UserFactory
from tests.form_data import survey_form_data

pytestmark = pytest.mark.django_db


def _errors(html: str) -> list[str]:
    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>.*?</ul>', html, re.S)


def test_survey_form_refuses_a_segment_no_customer_carries(client_as):
    """surveys/forms.py SurveyForm.clean: a typo in the audience segment is saved ("Survey created"),
    then every launch, the daily relaunch included, is refused for that segment (README: a launch to a
    segment no customer carries is refused). The form should say so where the name is typed."""
    CustomerFactory(segment="SMB")
    response = client_as("admin").post(
        reverse("surveys:survey-create"),
        survey_form_data(audience="segment", audience_segment="SMBB", repeat_days="30"),
    )
    assert response.status_code == 400
    assert "audience_segment" in response.context["form"].errors
    assert not Survey.objects.exists()


def test_reminder_after_expiry_error_is_next_to_the_reminder_field(client_as):
    """The reminder/expiry rule is a CheckConstraint without a field: its message lands at the top of
    the 20-field form (non-field errors), not beside "Reminder days"."""
    response = client_as("admin").post(
        reverse("surveys:survey-create"), survey_form_data(reminder_days="30", expiry_days="14")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "reminder_days" in errors, errors


def test_sample_percent_with_a_comma_gets_one_clear_error(client_as):
    """'12,5' gets "Enter a number." plus "Give the percentage of the audience to sample." (clean()
    sees no value): the second contradicts what the user typed."""
    response = client_as("admin").post(
        reverse("surveys:survey-create"), survey_form_data(audience="sample", sample_percent="12,5")
    )
    assert response.status_code == 400
    messages = response.context["form"].errors["sample_percent"]
    assert not any("Give the percentage" in message for message in messages), messages


def test_editing_a_survey_keeps_an_owner_the_form_does_not_offer(client_as):
    """surveys/forms.py: the owner select offers active readers only; for a survey whose owner was
    deactivated (or became a viewer) no option is selected, the browser posts the empty first option,
    and saving any other change clears the owner, with "Survey saved." and no word of it."""
    owner = UserFactory(role="analyst")
    survey = SurveyFactory(owner=owner)
    owner.is_active = False
    owner.save()
    client = client_as("admin")
    page = client.get(reverse("surveys:survey-edit", args=[survey.pk]))
    html = page.content.decode()
    select = re.search(r'<select name="owner".*?</select>', html, re.S).group(0)
    selected = re.search(r'<option value="([^"]*)"[^>]*selected', select)
    browser_owner = selected.group(1) if selected else re.search(r'<option value="([^"]*)"', select).group(1)
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data.update(owner=browser_owner, question="Would you recommend {company}?")

    response = client.post(reverse("surveys:survey-edit", args=[survey.pk]), data)

    survey.refresh_from_db()
    kept = survey.owner_id == owner.pk
    told = response.status_code == 400 and "owner" in response.context["form"].errors
    assert kept or told, (response.status_code, survey.owner_id)


def test_launch_to_an_unknown_segment_shows_the_error_next_to_the_segment(client_as):
    """surveys/views.py survey_launch: the service's refusal is added with form.add_error(None, …): it
    shows above the form, not beside "Segment", and without the "was not launched" message."""
    CustomerFactory(segment="SMB")
    survey = SurveyFactory()
    response = client_as("analyst").post(
        reverse("surveys:survey-launch", args=[survey.pk]), {"segment": "SMBB", "confirm": "on"}
    )
    assert response.status_code == 400
    assert "segment" in response.context["launch_form"].errors
    assert survey.launches.count() == 0


def test_response_export_refuses_an_invalid_filter_instead_of_exporting_everything(client_as):
    """surveys/views.py response_export: an invalid filter value is dropped, so the CSV holds every
    response (here a bookmarked segment that no longer exists), without any message; the dashboards'
    CSVs answer 400 with the error instead."""
    ResponseFactory(invitation__customer=CustomerFactory(segment="SMB"))
    ResponseFactory(invitation__customer=CustomerFactory(segment="Enterprise"))
    response = client_as("analyst").get(reverse("surveys:response-export") + "?segment=Gone")
    assert response.status_code == 400


def test_response_filters_from_after_to_say_so(client_as):
    """ResponseFilterForm has no check of the date order: From after To shows "No response matches
    these filters." as if nobody had answered."""
    ResponseFactory()
    response = client_as("analyst").get(
        reverse("surveys:response-list") + "?date_from=2026-12-01&date_to=2026-01-01"
    )
    assert _errors(response.content.decode()), "no message for From after To"


def test_the_api_refuses_a_survey_for_a_segment_no_customer_carries_but_not_other_edits(api_client_as):
    CustomerFactory(segment="SMB")
    api = api_client_as("analyst")
    typo = api.post(reverse("api-survey-list"), {"name": "Pulse", "audience": "segment", "audience_segment": "SMBB"},
                    format="json")
    assert typo.status_code == 400 and "SMBB" in str(typo.json()["audience_segment"])
    stored = SurveyFactory(audience="segment", audience_segment="Gone")  # its customers left since
    renamed = api.patch(reverse("api-survey-detail", args=[stored.pk]), {"name": "Pulse 2"}, format="json")
    assert renamed.status_code == 200


def test_a_survey_whose_segment_emptied_keeps_its_audience_on_a_full_api_put(api_client_as):
    """A client sending back what it read (its segment, now without customers) changes nothing of
    the audience: refused before, as if the segment had been typed anew; a new one is still checked."""
    CustomerFactory(segment="SMB")
    stored = SurveyFactory(audience="segment", audience_segment="Gone")
    api = api_client_as("analyst")
    read = api.get(reverse("api-survey-detail", args=[stored.pk])).json()

    echoed = api.patch(reverse("api-survey-detail", args=[stored.pk]),
                       {"name": "Pulse 2", "audience": read["audience"], "audience_segment": read["audience_segment"]},
                       format="json")
    typo = api.patch(reverse("api-survey-detail", args=[stored.pk]), {"audience_segment": "SMBB"}, format="json")

    assert echoed.status_code == 200, echoed.json()
    assert typo.status_code == 400 and "SMBB" in str(typo.json()["audience_segment"])


def test_the_staff_form_saves_other_settings_of_a_survey_whose_segment_emptied(client_as):
    stored = SurveyFactory(audience="segment", audience_segment="Gone")
    response = client_as("admin").post(
        reverse("surveys:survey-edit", args=[stored.pk]),
        survey_form_data(name="Pulse 2", audience="segment", audience_segment="Gone"),
    )
    assert response.status_code == 302, response.context["form"].errors
    stored.refresh_from_db()
    assert stored.name == "Pulse 2"


def test_a_refused_edit_is_headed_by_the_survey_as_saved_not_the_refused_name(client_as):
    stored = SurveyFactory(name="Pulse")
    response = client_as("admin").post(
        reverse("surveys:survey-edit", args=[stored.pk]),
        survey_form_data(name="Renamed", reminder_days="30", expiry_days="14"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Edit Pulse</h1>" in html and "Edit Renamed" not in html
    assert 'value="Renamed"' in html  # the typed name stays in the form


def test_the_preview_button_skips_the_browsers_required_checks(client_as):
    page = client_as("admin").get(reverse("surveys:survey-create")).content.decode()
    assert re.search(r'<button[^>]*name="preview"[^>]*formnovalidate', page)
