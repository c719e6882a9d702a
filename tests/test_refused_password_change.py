"""A refused password change answers 400, as every other refused staff form does (survey, reason,
launch, follow-up, import); it kept Django's 200. The login page keeps 200 (tests/test_login.py)."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]  # login attempts count

NEW = "Another long pass 123"


@pytest.mark.parametrize("url", [reverse("password_change"), "/admin/password_change/"])
def test_a_wrong_old_password_answers_400_with_the_form(client_as, url):
    response = client_as("admin").post(url, {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW})

    assert response.status_code == 400
    assert "old_password" in response.context["form"].errors


def test_new_passwords_that_differ_answer_400(client_as):
    response = client_as("analyst").post(
        reverse("password_change"),
        {"old_password": "correct horse battery staple", "new_password1": NEW, "new_password2": NEW + "4"},
    )

    assert response.status_code == 400
    assert "new_password2" in response.context["form"].errors
