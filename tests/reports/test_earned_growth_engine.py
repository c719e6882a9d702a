"""Earned growth on worked examples (SPEC §3), computed by the database."""

from decimal import Decimal

import pytest

from accounting.services import customer_map_other_reason
from reports.earned_growth import earned_growth, earned_growth_by_segment
from reports.periods import parse_period
from tests.factories import CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db

D = Decimal

SPEC_KEYS = {
    "period", "prior_period", "grain", "prior_revenue", "revenue", "retained_revenue", "earned_new_revenue",
    "bought_new_revenue", "unknown_new_revenue", "reactivated_revenue", "nrr", "grr", "enc", "bnc", "unc",
    "earned_growth_rate", "total_growth_rate", "earned_growth_share", "earned_growth_rate_if_unknown_earned",
    "expansion_revenue", "contraction_revenue", "churned_revenue",
}



def report_for(text: str, **kwargs):
    return earned_growth(period=parse_period(text), **kwargs)


def new_revenue(report) -> tuple[Decimal, Decimal, Decimal]:
    return report.earned_new_revenue, report.bought_new_revenue, report.unknown_new_revenue


def assert_identity(r):
    """SPEC §3: R_C = retained + earned + bought + unknown, and nrr = 1 + expansion − contraction − churn."""
    assert r.revenue == r.retained_revenue + r.earned_new_revenue + r.bought_new_revenue + r.unknown_new_revenue
    assert r.retained_revenue == r.prior_revenue + r.expansion_revenue - r.contraction_revenue - r.churned_revenue



def test_company_a_worked_example(company_a):
    report = report_for("2025")

    assert (report.prior_revenue, report.revenue) == (D("100.00"), D("130.00"))
    assert report.retained_revenue == D("85.00")
    assert (report.expansion_revenue, report.contraction_revenue, report.churned_revenue) == (D("5"), D("20"), D("0"))
    assert new_revenue(report) == (D("25"), D("20"), D("0"))
    data = report.as_json()
    assert data["nrr"] == "0.85" and data["enc"] == "0.25" and data["bnc"] == "0.2"
    assert data["earned_growth_rate"] == "0.1" and data["total_growth_rate"] == "0.3"
    assert data["earned_growth_share"] == "0.333333"
    assert data["period"] == "2025" and data["prior_period"] == "2024" and data["grain"] == "entity"
    assert data["prior_revenue"] == "100.00" and data["revenue"] == "130.00"
    assert data["known_reason_share"] == "1" and data["grr"] == "0.8"
    assert data.keys() >= SPEC_KEYS


def test_it_is_one_sql_statement(company_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        report_for("2025")
    with django_assert_num_queries(1):
        earned_growth_by_segment(period=parse_period("2025"))


def test_nrr_is_one_plus_expansion_minus_contraction_minus_churn(company_a):
    gone = CustomerFactory()
    pay(gone, "2024-01-01", "40.00")

    r = report_for("2025")

    assert r.churned_revenue == D("40.00")
    assert_identity(r)
    assert abs(r.nrr - (1 + r.expansion - r.contraction - r.churn)) < D("1e-20")


def test_prior_revenue_zero_gives_nulls_with_a_reason(db):
    pay(CustomerFactory(reason=reason("recommendation")), "2025-02-01", "10.00")

    data = report_for("2025").as_json()

    assert data["nrr"] is None and data["earned_growth_rate"] is None and data["earned_growth_share"] is None
    assert data["revenue"] == "10.00" and data["earned_new_revenue"] == "10.00"
    assert "Revenue in 2024 is 0" in data["notes"][0]


def test_an_empty_ledger_gives_zeros_and_nulls_never_an_error(db):
    data = report_for("2025-07").as_json()

    assert data["prior_period"] == "2025-06"
    assert all(data[key] is None for key in ("nrr", "grr", "enc", "bnc", "unc", "total_growth_rate"))
    assert data["earned_growth_rate_if_unknown_earned"] is None and data["known_reason_share"] is None
    assert data["revenue"] == data["prior_revenue"] == data["churned_revenue"] == "0.00"
    assert data["cohort_units"] == 0 and data["new_units"] == {"earned": 0, "bought": 0, "unknown": 0}
    assert len(data["notes"]) == 2


class TestReactivation:
    def test_a_customer_back_after_a_gap_is_new_classed_by_reason_and_shown_as_reactivated(self, company_a):
        back = CustomerFactory(reason=reason("returning"))
        pay(back, "2023-05-01", "70.00")
        pay(back, "2025-09-01", "12.00")
        bought_back = CustomerFactory(reason=reason("salesperson"))
        pay(bought_back, "2022-05-01", "9.00")
        pay(bought_back, "2025-10-01", "8.00")

        r = report_for("2025")

        assert new_revenue(r) == (D("37.00"), D("28.00"), D("0"))
        assert r.reactivated_revenue == D("20.00") and r.reactivated_units == 2
        assert r.new_units == {"earned": 2, "bought": 2, "unknown": 0}
        assert r.retained_revenue == D("85.00") and r.prior_revenue == D("100.00")
        assert_identity(r)

    def test_a_customer_active_before_p_only_is_not_in_the_report(self, company_a):
        pay(CustomerFactory(), "2023-05-01", "70.00")

        r = report_for("2025")

        assert (r.prior_revenue, r.revenue, r.churned_revenue, r.reactivated_units) == (D("100"), D("130"), 0, 0)


class TestJoinAndLeaveInsideThePeriod:
    def test_it_is_new_in_the_period_and_churned_in_the_next(self, db):
        steady = CustomerFactory(reason=reason("advertising"))
        for day in ("2024-11-01", "2025-02-01", "2025-05-01"):
            pay(steady, day, "100.00")
        brief = CustomerFactory(reason=reason("recommendation"))
        pay(brief, "2025-01-10", "30.00")
        pay(brief, "2025-03-10", "10.00")

        q1 = report_for("2025-Q1")
        q2 = report_for("2025-Q2")

        assert q1.earned_new_revenue == D("40.00") and q1.new_units["earned"] == 1
        assert q1.retained_revenue == D("100.00") and q1.cohort_units == 1
        assert q2.churned_revenue == D("40.00") and q2.cohort_units == 2
        assert q2.earned_new_revenue == 0 and q2.reactivated_units == 0


class TestUnknownReasons:
    @pytest.fixture
    def with_unknown(self, company_a):
        pay(CustomerFactory(reason=None), "2025-04-01", "10.00")
        pay(CustomerFactory(reason=reason("other"), reason_text="a podcast"), "2025-04-02", "5.00")

    def test_no_answer_and_an_unmapped_other_are_unknown_and_never_disappear(self, with_unknown):
        r = report_for("2025")

        assert new_revenue(r) == (D("25"), D("20"), D("15"))
        assert r.new_units == {"earned": 1, "bought": 1, "unknown": 2}
        assert r.revenue == D("145.00")
        assert_identity(r)

    def test_the_upper_bound_counts_unknown_as_earned_and_the_known_share_is_reported(self, with_unknown):
        data = report_for("2025").as_json()

        assert data["unc"] == "0.15"
        assert data["earned_growth_rate"] == "0.1"
        assert data["earned_growth_rate_if_unknown_earned"] == "0.25"
        assert data["known_reason_share"] == "0.75"  # 45 of 60

    def test_a_refund_to_a_returning_unit_cannot_push_the_known_share_past_100_percent(self, db):
        # March against February: new earned 100, new unknown 200, and an unknown-reason unit of
        # January refunded 250 in March. Net unknown new revenue is -50: the share read 2 (200 %).
        steady = CustomerFactory(reason=reason("advertising"))
        pay(steady, "2025-02-10", "100.00")
        pay(steady, "2025-03-10", "100.00")
        returning = CustomerFactory(reason=None)
        pay(returning, "2025-01-05", "250.00")
        pay(returning, "2025-03-05", "-250.00")
        pay(CustomerFactory(reason=reason("recommendation")), "2025-03-20", "100.00")
        pay(CustomerFactory(reason=None), "2025-03-21", "200.00")

        data = report_for("2025-03").as_json()

        assert (data["earned_new_revenue"], data["unknown_new_revenue"]) == ("100.00", "-50.00")
        assert data["known_reason_share"] == "0.333333"  # 100 of the 300 new units brought

    def test_an_other_answer_mapped_by_an_admin_counts_by_its_mapped_kind(self, company_a):
        answered_other = CustomerFactory(reason=reason("other"), reason_text="my sister uses it")
        pay(answered_other, "2025-04-01", "10.00")
        customer_map_other_reason(customer=answered_other, category=reason("recommendation"))

        r = report_for("2025")

        assert new_revenue(r) == (D("35.00"), D("20.00"), D("0"))


def test_refunds_in_p_and_in_c_are_revenue_and_keep_the_identity(db):
    shrinks = CustomerFactory(reason=reason("recommendation"))
    pay(shrinks, "2024-02-01", "100.00")
    pay(shrinks, "2024-03-01", "-30.00")
    pay(shrinks, "2025-02-01", "50.00")
    pay(shrinks, "2025-03-01", "-10.00")
    refunded_in_p = CustomerFactory(reason=reason("advertising"))  # sale before P, refunded in P
    pay(refunded_in_p, "2023-12-01", "20.00")
    pay(refunded_in_p, "2024-01-05", "-20.00")
    in_and_out = CustomerFactory(reason=reason("reputation"))  # bought and refunded inside C
    pay(in_and_out, "2025-04-01", "30.00")
    pay(in_and_out, "2025-04-02", "-30.00")
    net_refund_in_c = CustomerFactory(reason=reason("advertising"))
    pay(net_refund_in_c, "2024-06-01", "50.00")
    pay(net_refund_in_c, "2025-06-01", "10.00")
    pay(net_refund_in_c, "2025-07-01", "-20.00")

    r = report_for("2025")

    assert (r.prior_revenue, r.revenue, r.retained_revenue) == (D("100.00"), D("30.00"), D("30.00"))
    assert new_revenue(r) == (0, 0, 0) and r.new_units == {"earned": 0, "bought": 0, "unknown": 0}
    assert r.cohort_units == 2
    assert r.contraction_revenue == D("30.00")
    # 60 from the cohort member refunded below zero, less the 20 refunded in P by a non-member.
    assert r.churned_revenue == D("40.00")
    assert r.gross_retained_revenue == D("30.00")  # min(40, 70) + min(-10, 50)
    assert_identity(r)
    assert r.as_json()["nrr"] == "0.3" and r.as_json()["grr"] == "0.3"


class TestParentRollUp:
    @pytest.fixture
    def group(self, db):
        parent = CustomerFactory(reason=reason("recommendation"), segment="Enterprise")
        division = CustomerFactory(parent=parent, reason=reason("advertising"), segment="SMB")
        pay(parent, "2024-05-01", "100.00")
        pay(parent, "2025-05-01", "100.00")
        pay(division, "2025-06-01", "30.00")
        return parent, division

    def test_a_new_division_of_an_existing_entity_is_expansion_at_entity_grain(self, group):
        r = report_for("2025")

        assert r.grain == "entity"
        assert r.retained_revenue == D("130.00") and r.expansion_revenue == D("30.00")
        assert new_revenue(r) == (0, 0, 0) and r.cohort_units == 1

    def test_at_customer_grain_the_division_is_new_classed_by_its_own_reason(self, group):
        r = report_for("2025", grain="customer")

        assert r.grain == "customer"
        assert r.retained_revenue == D("100.00") and r.expansion_revenue == 0
        assert new_revenue(r) == (0, D("30.00"), 0)
        assert_identity(r)

    def test_an_entity_belongs_to_the_segment_of_its_top_ancestor(self, group):
        assert report_for("2025", segment="Enterprise").revenue == D("130.00")
        assert report_for("2025", segment="SMB").revenue == 0
        assert report_for("2025", segment="SMB", grain="customer").revenue == D("30.00")


class TestSegments:
    @pytest.fixture
    def two_segments(self, company_a):  # company A is all in SMB
        big = CustomerFactory(reason=reason("reputation"), segment="Enterprise")
        pay(big, "2024-01-01", "200.00")
        pay(big, "2025-01-01", "300.00")
        pay(CustomerFactory(reason=None, segment="Enterprise"), "2025-01-01", "40.00")
        pay(CustomerFactory(reason=None, segment=""), "2025-01-01", "7.00")

    def test_a_segment_filter_keeps_only_that_segments_units(self, two_segments):
        smb = report_for("2025", segment="SMB")
        enterprise = report_for("2025", segment="Enterprise")

        assert (smb.prior_revenue, smb.revenue, smb.retained_revenue) == (D("100"), D("130"), D("85"))
        assert enterprise.as_json()["segment"] == "Enterprise"
        assert (enterprise.prior_revenue, enterprise.revenue) == (D("200"), D("340"))
        assert enterprise.expansion_revenue == D("100") and enterprise.unknown_new_revenue == D("40")
        assert report_for("2025", segment="nobody").revenue == 0

    def test_by_segment_gives_one_report_per_segment_that_add_up_to_the_total(self, two_segments):
        rows = earned_growth_by_segment(period=parse_period("2025"))
        total = report_for("2025")

        assert [row.segment for row in rows] == ["", "Enterprise", "SMB"]
        assert rows[2].as_json() == report_for("2025", segment="SMB").as_json()
        assert rows[0].prior_revenue == 0 and rows[0].nrr is None and rows[0].notes
        for key in ("prior_revenue", "revenue", "retained_revenue", "earned_new_revenue", "unknown_new_revenue"):
            assert sum(getattr(row, key) for row in rows) == getattr(total, key)


class TestYearOverYear:
    @pytest.fixture
    def ledger(self, db):
        steady = CustomerFactory(reason=reason("recommendation"))
        pay(steady, "2024-08-01", "100.00")
        pay(steady, "2025-08-01", "120.00")
        between = CustomerFactory(reason=reason("advertising"))  # active between the two Q3s only
        pay(between, "2024-11-01", "60.00")
        pay(between, "2025-08-15", "50.00")
        spring = CustomerFactory(reason=reason("reputation"))
        pay(spring, "2025-05-01", "80.00")

    def test_a_quarter_compares_with_the_same_quarter_a_year_earlier(self, ledger):
        r = report_for("2025-Q3", compare="yoy")

        assert str(r.prior_period) == "2024-Q3"
        assert (r.prior_revenue, r.revenue, r.retained_revenue) == (D("100"), D("170"), D("120"))
        assert r.churned_revenue == 0  # the spring customer is in neither quarter
        assert r.bought_new_revenue == D("50.00")
        assert r.reactivated_revenue == D("50.00") and r.reactivated_units == 1
        assert r.as_json()["total_growth_rate"] == "0.7"
        assert_identity(r)

    def test_the_prior_quarter_is_the_one_just_before(self, ledger):
        r = report_for("2025-Q3")

        assert str(r.prior_period) == "2025-Q2"
        assert (r.prior_revenue, r.churned_revenue, r.retained_revenue) == (D("80"), D("80"), 0)
        assert r.reactivated_revenue == D("170.00") and r.reactivated_units == 2


def test_a_large_rate_is_written_in_fixed_point(db):
    customer = CustomerFactory(reason=reason("recommendation"))
    pay(customer, "2024-01-01", "10.00")
    pay(customer, "2025-01-01", "110.00")

    assert report_for("2025").as_json()["total_growth_rate"] == "10"


def test_it_rejects_an_unknown_grain(db):
    with pytest.raises(ValueError, match="grain must be one of entity, customer"):
        report_for("2025", grain="household")
