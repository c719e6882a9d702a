"""manage.py send_survey NAME [--segment S] [--sample PCT] (SPEC §7)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from surveys.launch import _draw_sample
from surveys.models import DEFAULT_QUESTION, Launch, Survey, SurveyKind
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("send_survey", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_survey_with_the_default_wording_and_prints_the_counts():
    CustomerFactory()
    CustomerFactory(survey_opt_out=True)
    CustomerFactory(email="")

    out = run("Q4 relationship")

    survey = Survey.objects.get(name="Q4 relationship")
    assert survey.kind == SurveyKind.RELATIONSHIP and survey.question == DEFAULT_QUESTION
    assert "audience: 3" in out and "queued: 1" in out and "suppressed: 2" in out
    assert "Opted out: 1" in out and "No email address: 1" in out
    assert survey.invitations.count() == 3


def test_it_launches_an_existing_survey_to_a_segment_sample():
    survey = SurveyFactory(name="Existing")
    CustomerFactory.create_batch(10, segment="SMB")
    CustomerFactory.create_batch(3, segment="Enterprise")

    out = run("Existing", "--segment", "SMB", "--sample", "50")

    launch = survey.launches.get()
    assert launch.audience_size == 5 and launch.audience_segment == "SMB" and launch.sample_seed
    assert "audience: 5" in out


@pytest.mark.parametrize(("args", "message"), [
    (["X", "--sample", "abc"], "percentage"),
    (["X", "--sample", "0"], "greater than or equal to 0.01"),
    (["X", "--sample", "101"], "less than or equal to 100"),
    (["X", "--sample", "NaN"], "percentage"),
    (["X", "--sample", ""], "Give the percentage"),
    (["X", "--segment", "Nowhere"], "No customer is in segment"),
    ([" "], "must not be empty"),
    (["x" * 201], "201 characters; at most 200"),  # was a database traceback on PostgreSQL
])
def test_it_rejects_bad_input_with_a_clear_message(args, message):
    CustomerFactory(segment="SMB")
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Survey.objects.exists()


@pytest.mark.parametrize(("sample", "message"), [
    ("14.999", "no more than 2 decimal places"),  # stored as 15.00, which drew another sample
    ("0.001", "greater than or equal to 0.01"),  # stored as 0.00
])
def test_it_refuses_a_sample_the_launch_form_refuses(sample, message):
    CustomerFactory.create_batch(10)
    with pytest.raises(CommandError, match=message):
        run("Sampled", "--sample", sample)
    assert not Launch.objects.exists()


def test_the_recorded_sample_and_seed_replay_the_draw():
    # README: "the seed is stored on the Launch, so the draw can be replayed for an audit".
    customers = CustomerFactory.create_batch(10)
    survey = SurveyFactory(name="Sampled")

    run("Sampled", "--sample", "14.99")

    launch = Launch.objects.get()
    launch.refresh_from_db()  # the percentage as stored, not as given
    drawn = sorted(survey.invitations.values_list("customer_id", flat=True))
    assert launch.sample_percent == Decimal("14.99")
    assert _draw_sample(sorted(c.pk for c in customers), launch.sample_percent, launch.sample_seed) == drawn


def test_it_refuses_a_transactional_survey():
    SurveyFactory(name="Orders", kind=SurveyKind.TRANSACTIONAL)
    with pytest.raises(CommandError, match="only relationship surveys"):
        run("Orders")


def test_it_exits_non_zero_from_the_command_line():
    import subprocess
    import sys

    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "send_survey", "X", "--sample", "nope"],
        capture_output=True, text=True, env={**__import__("os").environ, "DEBUG": "1"},
    )
    assert result.returncode != 0 and "percentage" in result.stderr
