"""`manage.py demo`: deterministic, loaded once, reset only its own rows, and the three logins."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Sum

from accounting.models import CostEntry, CostKind, Customer, RevenueEntry
from tests.factories import CustomerFactory, RevenueEntryFactory

pytestmark = pytest.mark.django_db

OPTIONS = {"customers": 200, "seed": 1, "until": "2026-06"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


def demo(**options) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **{**OPTIONS, **options})
    return out.getvalue()


def fingerprint() -> dict:
    demo_customers = Customer.objects.filter(external_id__startswith="DEMO-")
    return {
        "customers": demo_customers.count(),
        "acquisition_costs": demo_customers.aggregate(s=Sum("acquisition_cost"))["s"],
        "parents": demo_customers.exclude(parent=None).count(),
        "referrals": demo_customers.exclude(referred_by=None).count(),
        "names": list(demo_customers.order_by("external_id").values_list("name", "email")[:20]),
        "revenue": RevenueEntry.objects.aggregate(n=Count("id"), s=Sum("amount")),
        "costs": CostEntry.objects.aggregate(n=Count("id"), s=Sum("amount")),
    }


@pytest.fixture
def loaded():
    demo()
    return fingerprint()


def test_it_loads_once_and_does_not_double_on_a_second_run(loaded):
    output = demo()

    assert "already loaded" in output
    assert fingerprint() == loaded
    assert loaded["customers"] == 200
    assert loaded["revenue"]["n"] > 200 * 5


def test_it_loads_the_same_data_again_after_a_reset(loaded):
    output = demo(reset=True)

    assert "Deleted 200 demo customers" in output
    assert fingerprint() == loaded


def test_another_seed_gives_other_data(loaded):
    demo(reset=True, seed=2)

    assert fingerprint() != loaded


def test_it_keeps_every_ledger_line_within_the_requested_months(loaded):
    dates = RevenueEntry.objects.values_list("date", flat=True)

    assert str(min(dates)) >= "2023-07-01"
    assert str(max(dates)) <= "2026-06-30"


def test_it_gives_every_reason_kind_and_other_answers(loaded):
    customers = Customer.objects.select_related("reason", "reason_mapped_to")
    kinds = {c.reason_kind for c in customers}
    others = customers.filter(reason__slug="other")

    assert kinds == {"earned", "bought", "unknown"}
    assert customers.filter(reason=None).exists()
    assert others.exists()
    assert all(c.reason_text for c in others)
    assert {c.language for c in customers} == {"en", "fr", "de"}
    assert len({c.segment for c in customers}) == 4


def test_it_builds_referrals_parents_and_entities(loaded):
    referred = Customer.objects.exclude(referred_by=None).select_related("referred_by")
    children = Customer.objects.exclude(parent=None).select_related("parent")

    assert loaded["referrals"] > 0 and loaded["parents"] > 0
    assert all(c.reason.slug == "recommendation" for c in referred)
    assert all(c.referred_by.acquired_on <= c.acquired_on for c in referred)
    assert all(c.segment == c.parent.segment for c in children)
    assert not Customer.objects.filter(entity=None).exists()
    assert all(c.entity_id != c.pk for c in children)
    assert not Customer.objects.filter(parent=None).exclude(entity=F("pk")).exists()


def test_it_records_refunds_costs_and_acquisition_costs(loaded):
    assert RevenueEntry.objects.filter(amount__lt=0).exists()
    assert CostEntry.objects.filter(kind=CostKind.SERVE).exists()
    assert CostEntry.objects.filter(kind=CostKind.ACQUISITION).exists()
    assert RevenueEntry.objects.filter(external_ref="DEMO-R-1").exists()


def test_earned_customers_cost_less_to_acquire_than_bought_ones(loaded):
    def average_cost(kind):
        customers = Customer.objects.filter(reason__kind=kind, parent=None)
        return customers.aggregate(s=Sum("acquisition_cost"))["s"] / customers.count()

    assert average_cost("earned") < average_cost("bought")


def test_a_reset_deletes_only_demo_rows(loaded):
    own = RevenueEntryFactory(customer=CustomerFactory(external_id="C-REAL-1"))

    demo(reset=True, customers=10, force=True)

    assert Customer.objects.filter(external_id__startswith="DEMO-").count() == 10
    assert RevenueEntry.objects.filter(pk=own.pk).exists()
    assert Customer.objects.filter(external_id="C-REAL-1").exists()


def test_a_reset_refuses_to_take_the_answers_of_a_survey_not_the_demos():
    """Deleting a demo customer cascades to its invitations and answers: an operator's own survey
    that invited demo customers would silently lose part of its sample."""
    from surveys.models import Invitation, Response
    from tests.factories import ResponseFactory, SurveyFactory

    demo(customers=5)
    pilot = SurveyFactory(name="Pilot")
    answer = ResponseFactory(invitation__survey=pilot, invitation__customer=Customer.objects.filter(
        external_id__startswith="DEMO-").first())

    with pytest.raises(CommandError, match=r"surveys that are not the demo's \(Pilot\)"):
        demo(reset=True, customers=5)

    assert Response.objects.filter(pk=answer.pk).exists()
    assert Invitation.objects.filter(survey=pilot).count() == 1
    assert Customer.objects.filter(external_id__startswith="DEMO-").count() == 5


def test_it_refuses_to_load_beside_real_customers():
    CustomerFactory(external_id="C-REAL-1")

    with pytest.raises(CommandError, match=r"customers that are not the demo's \(1 with .*--force"):
        demo(customers=10)

    assert not Customer.objects.filter(external_id__startswith="DEMO-").exists()
    assert not get_user_model().objects.filter(username="admin").exists()  # nothing touched


def test_it_refuses_a_reset_beside_real_customers(loaded):
    CustomerFactory(external_id="C-REAL-1")

    with pytest.raises(CommandError, match="--force"):
        demo(reset=True)

    assert fingerprint()["customers"] == loaded["customers"]


def test_it_loads_beside_real_customers_when_forced():
    CustomerFactory(external_id="C-REAL-1")

    demo(customers=10, force=True)

    assert Customer.objects.filter(external_id__startswith="DEMO-").count() == 10


def test_a_re_run_beside_customers_added_since_loads_nothing_and_says_so(loaded):
    """`run.py demo` runs the command at each start: customers added in the demo do not stop it."""
    CustomerFactory(external_id="C-REAL-1")

    output = demo()

    assert "already loaded" in output and "nothing loaded" in output
    assert fingerprint()["customers"] == loaded["customers"]


def test_it_creates_the_three_logins_in_their_groups(loaded):
    users = get_user_model().objects.filter(username__in=["admin", "analyst", "viewer"])

    assert {u.username: [g.name for g in u.groups.all()] for u in users} == {
        "admin": ["admin"], "analyst": ["analyst"], "viewer": ["viewer"],
    }
    assert {u.username for u in users if u.is_staff} == {"admin"}


def test_it_prints_the_passwords_and_resets_them_on_every_run(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-1")
    first = demo()
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-2")
    second = demo()

    assert "Log in at http://127.0.0.1:8000/ as admin / demo-password-1" in first
    assert "Log in at http://127.0.0.1:8000/ as viewer / demo-password-2" in second
    assert get_user_model().objects.get(username="analyst").check_password("demo-password-2")


def test_it_makes_up_random_passwords_without_demo_password():
    output = demo(customers=5)

    line = next(line for line in output.splitlines() if " as admin / " in line)
    password = line.rsplit(" / ", 1)[1]
    assert len(password) >= 12
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_it_can_leave_the_logins_alone():
    output = demo(customers=5, no_users=True)

    assert "Log in" not in output
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.parametrize("until", ["2026", "2026-13", "June 2026", "2026-6-1"])
def test_it_rejects_a_malformed_until(until):
    with pytest.raises(CommandError, match="YYYY-MM"):
        demo(until=until)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own statistics")
def test_the_planner_knows_the_demo_tables_sizes_at_once(loaded):
    # Without statistics (autovacuum off, or not yet run) PostgreSQL counted them as empty and the
    # NPS dashboard's "latest answer" took 6 s on nested loops.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [RevenueEntry._meta.db_table])
        [estimate] = cursor.fetchone()
    assert estimate == RevenueEntry.objects.count()
