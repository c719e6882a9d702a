"""`manage.py earned_growth`: the Company A example of SPEC §3 from CSV files to the printed report."""

import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db

CUSTOMERS = """\
external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language
GROWS,Grows Ltd,grows@example.com,2023-05-01,recommendation,,,,SMB,100.00,en
SHRINKS,Shrinks Ltd,shrinks@example.com,2023-06-01,advertising,,,,SMB,300.00,en
FRIEND,Friend Co,friend@example.com,2025-04-20,reputation,,GROWS,,SMB,,en
PROMO,Promo Co,promo@example.com,2025-06-20,promotion,,,,Enterprise,80.00,en
"""
REVENUE = """\
customer,date,amount,external_ref,product
GROWS,2024-03-01,30.00,R1,Plan
GROWS,2024-09-01,20.00,R2,Plan
SHRINKS,2024-06-01,50.00,R3,Plan
GROWS,2025-03-01,55.00,R4,Plan
SHRINKS,2025-06-01,40.00,R5,Plan
SHRINKS,2025-07-01,-10.00,R6,Refund
FRIEND,2025-05-01,25.00,R7,Plan
PROMO,2025-07-01,20.00,R8,Plan
"""


@pytest.fixture
def company_a(tmp_path):
    """SPEC §3: revenue 100 → 130; prior customers bring 85 (+5, −20); new 45 = 25 earned + 20 bought."""
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "revenue.csv").write_text(REVENUE)
    call_command("import_customers", str(tmp_path / "customers.csv"), stdout=StringIO())
    call_command("import_revenue", str(tmp_path / "revenue.csv"), stdout=StringIO())


def run(*args) -> str:
    out = StringIO()
    call_command("earned_growth", *args, stdout=out)
    return out.getvalue()


def test_company_a_through_the_csv_import_and_the_json_command(company_a):
    data = json.loads(run("2025", "--json"))

    assert (data["period"], data["prior_period"], data["grain"]) == ("2025", "2024", "entity")
    assert (data["prior_revenue"], data["revenue"], data["retained_revenue"]) == ("100.00", "130.00", "85.00")
    assert (data["expansion_revenue"], data["contraction_revenue"], data["churned_revenue"]) == (
        "5.00", "20.00", "0.00",
    )
    assert (data["earned_new_revenue"], data["bought_new_revenue"], data["unknown_new_revenue"]) == (
        "25.00", "20.00", "0.00",
    )
    assert (data["nrr"], data["enc"], data["bnc"], data["unc"]) == ("0.85", "0.25", "0.2", "0")
    assert (data["earned_growth_rate"], data["total_growth_rate"]) == ("0.1", "0.3")
    assert data["earned_growth_share"] == "0.333333"  # 1/3
    assert data["earned_growth_rate_if_unknown_earned"] == "0.1"
    assert data["reactivated_revenue"] == "0.00" and data["grr"] == "0.8"


def test_the_json_is_exactly_the_reports_as_json(company_a):
    from reports.earned_growth import earned_growth
    from reports.periods import parse_period

    expected = earned_growth(period=parse_period("2025"), segment="SMB", grain="customer").as_json()

    assert json.loads(run("2025", "--json", "--segment", "SMB", "--grain", "customer")) == expected


def test_the_table_labels_figures_money_with_two_decimals_and_rates_as_percentages(company_a):
    table = run("2025")

    assert "Earned growth 2025 vs 2024 (entity grain, all segments)" in table
    lines = {line[:40].strip(): line[40:].strip() for line in table.splitlines() if len(line) > 40}
    assert lines["Prior revenue (R_P)"] == "100.00" and lines["Revenue (R_C)"] == "130.00"
    assert lines["Earned new revenue"] == "25.00" and lines["Bought new revenue"] == "20.00"
    assert lines["Net revenue retention (NRR)"] == "85.0%"
    assert lines["Earned growth rate"] == "10.0%" and lines["Total growth rate"] == "30.0%"
    assert lines["Earned growth share"] == "33.3%"
    assert lines["New units, earned reason"] == "1"


def test_a_segment_and_yoy_quarter_are_passed_on(company_a):
    data = json.loads(run("2025-Q3", "--compare", "yoy", "--segment", "Enterprise", "--json"))

    assert (data["period"], data["prior_period"], data["segment"]) == ("2025-Q3", "2024-Q3", "Enterprise")
    assert data["bought_new_revenue"] == "20.00" and data["nrr"] is None
    assert "Revenue in 2024-Q3 is 0" in data["notes"][0]


def test_undefined_rates_print_as_n_a_with_the_reason(db):
    table = run("2025-07")

    assert "n/a" in table and "Note: Revenue in 2025-06 is 0" in table


@pytest.mark.parametrize("period", ["2025-Q5", "July", "2025-7", ""])
def test_it_rejects_a_bad_period_saying_what_it_expects(db, period):
    with pytest.raises(CommandError, match=r"is not a period: use a year \(2025\), a quarter"):
        run(period)


@pytest.mark.parametrize(("option", "value"), [("--grain", "household"), ("--compare", "last")])
def test_it_rejects_a_bad_grain_or_comparison(db, option, value):
    with pytest.raises(CommandError, match=f"invalid choice: '{value}'"):
        run("2025", option, value)


def test_a_segment_nobody_is_in_is_an_error_not_an_empty_report(company_a):
    # A typo ("smb" for "SMB") printed a report of R_P 0.00 with every ratio null, exit 0.
    with pytest.raises(CommandError, match="No customer is in segment 'smb'"):
        run("2025", "--segment", "smb", "--json")


def test_a_prior_period_of_credit_notes_gives_null_ratios_not_sign_flipped_ones(db):
    # The prior month holds only a credit note: -40 → 50 read as "total growth -225 %".
    customer = CustomerFactory(segment="Enterprise", reason=reason("recommendation"))
    pay(customer, "2025-01-10", "40.00")
    pay(customer, "2025-02-10", "-40.00")
    pay(customer, "2025-03-10", "50.00")
    data = json.loads(run("2025-03", "--segment", "Enterprise", "--json"))
    assert (data["prior_revenue"], data["revenue"]) == ("-40.00", "50.00")
    rates = ("nrr", "grr", "enc", "bnc", "unc", "earned_growth_rate", "total_growth_rate",
             "earned_growth_share", "earned_growth_rate_if_unknown_earned")
    assert {key: data[key] for key in rates} == dict.fromkeys(rates)
    assert "Revenue in 2025-02 is -40.00, not above 0: every ratio is undefined (null)." in data["notes"]


def test_the_table_rounds_half_away_from_zero_as_the_dashboard_does(db):
    # NRR is exactly 0.0625: the dashboard showed 6.3 %, the command 6.2 % (Python rounds half to even).
    customer = CustomerFactory(reason=reason("advertising"))
    pay(customer, "2025-02-10", "16.00")
    pay(customer, "2025-03-10", "1.00")
    line = next(line for line in run("2025-03").splitlines() if line.startswith("Net revenue retention"))
    assert line.split()[-1] == "6.3%"


LINE = re.compile(r"^(?P<indent> *)(?P<label>\S.*?)\s{2,}(?P<value>-?[\d,]+(?:\.\d+)?)$")


def command_table(*args) -> list[str]:
    out = StringIO()
    call_command("earned_growth", *args, stdout=out)
    return out.getvalue().splitlines()


def parts_larger_than_their_whole(lines: list[str]) -> list[tuple[str, str]]:
    """Every indented "of which" line whose value exceeds the line it is nested under."""
    bad, parent = [], None
    for line in lines:
        match = LINE.match(line)
        if not match:
            parent = None
            continue
        value = Decimal(match["value"].replace(",", ""))
        if not match["indent"]:
            parent = (line, value)
        elif match["label"].startswith("of which") and parent is not None and value > parent[1]:
            bad.append((parent[0].strip(), line.strip()))
    return bad


def test_the_reactivated_line_stands_on_its_own_not_under_the_unknown_reason_line():
    """Reactivated units are new units of every class (SPEC §3): nested under one class, a
    reactivated earned customer read "Unknown-reason new revenue 0.00 / of which reactivated 50.00"."""
    back = CustomerFactory(reason=reason("recommendation"))  # earned, back after a gap
    pay(back, "2023-05-01", "40.00")
    pay(back, "2025-05-01", "50.00")
    steady = CustomerFactory(reason=reason("advertising"))
    pay(steady, "2024-05-01", "100.00")
    pay(steady, "2025-05-01", "100.00")

    lines = command_table("2025")

    # The figures themselves are right: 50 earned new, all of it reactivated, none unknown.
    assert any(re.match(r"^Reactivated new revenue \(any reason\)\s+50\.00$", line) for line in lines), lines
    assert any(re.match(r"^Earned new revenue\s+50\.00$", line) for line in lines), lines
    assert any(re.match(r"^Unknown-reason new revenue\s+0\.00$", line) for line in lines), lines
    # No indented part of a line may exceed it (nor for the unit counts).
    assert parts_larger_than_their_whole(lines) == []


def test_the_json_keeps_rates_to_six_places(db):
    # The snapshots keep rates exact (the dashboard rounds once); the public JSON does not change.
    customer = CustomerFactory(reason=reason("recommendation"))
    pay(customer, "2024-05-01", "1000000.00")
    pay(customer, "2025-05-01", "123499.60")
    data = json.loads(run("2025", "--json"))
    assert (data["nrr"], data["grr"], data["total_growth_rate"]) == ("0.1235", "0.1235", "-0.8765")
