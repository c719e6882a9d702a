"""What a browser would post back from a form the tests fill in: the survey form's fields, and the
Django admin's change page as it stands."""

import re

# The values a page drew beside its fields (show_hidden_initial), which the browser posts back.
HIDDEN_INITIAL = re.compile(r'<input type="hidden" name="(initial-[\w]+)" value="([^"]*)"')


def survey_form_data(**changes) -> dict:
    """Every field of the staff survey form, valid as they are, with `changes`."""
    data = dict(
        name="Pulse", kind="relationship", status="draft", question="How likely {company}?", reason_prompt="Why?",
        improve_prompt="Improve?", sender_name="", sender_email="", language="", reminder_days="",
        expiry_days="14", throttle_days="0", audience="all", audience_segment="", sample_percent="",
        repeat_days="", next_launch_at="", owner="", alert_webhook_url="",
    )
    data.update(changes)
    return data


def admin_change_data(client, url, **changes) -> dict:
    """What the admin's change page would post back unchanged, with `changes` applied (None: left out)."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        if hasattr(value, "pk"):
            value = value.pk
        if isinstance(value, list | tuple) or hasattr(value, "all"):
            value = [getattr(v, "pk", v) for v in (value.all() if hasattr(value, "all") else value)]
        data[name] = value
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def admin_user_change_data(client, url, **changes) -> dict:
    """The admin's user change page posted back, with `changes`; without the password hash, and with
    the join date as the form's split date and time fields send it."""
    data = admin_change_data(client, url, **changes)
    data.pop("password", None)
    for key in ("date_joined", "last_login"):
        data.pop(key, None)
    data.update(
        {
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2025-01-01",
            "initial-date_joined_1": "00:00:00",
        }
    )
    return data


def staff_edit_page_as_posted(client, url, **changes) -> dict:
    """What the browser posts back from the staff survey edit page as drawn, with `changes`."""
    response = client.get(url)
    data = dict(HIDDEN_INITIAL.findall(response.content.decode()))
    form = response.context["form"]
    for name in form.fields:
        value = form[name].value()
        if value is not None and value is not False:
            data[name] = getattr(value, "pk", value)
    data["next_launch_at"] = form["next_launch_at"].as_widget().split('value="')[1].split('"')[0]
    data.update(changes)
    return data
