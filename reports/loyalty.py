"""Loyalty economics (SPEC §5): where NPS meets the ledger.

For the customers who answered the relationship survey in period C, grouped by their category
(the latest answer in C counts, so each customer is in one group). Answers to anonymous surveys
are left out: tying them to their customer's revenue is what the survey promised not to do (and
they would make a second row for a customer who also answered a named survey).

- revenue in C and in the next period N, and their ratio (NRR by category);
- churn: customers with revenue in C above 0 and none (or net refunds) in N, and that C revenue;
- referrals: customers they referred who were acquired in C or N, and those customers' revenue
  in C and N together.

While N is not over (today, in TIME_ZONE, is on or before its last day) its revenue is the revenue
so far, and a customer not billed yet in N counts as churned: each row says so
(`next_period_complete`), for the page and the CSV to tell the reader.

One statement: the respondents are the NPS engine's own query (so the counting rules are the
same), joined to per-customer sums of the ledger and of referrals. Money is exact as in the
earned growth engine (integer cents on SQLite).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounting.models import Customer, RevenueEntry
from surveys.models import ResponseCategory, SurveyKind

from .earned_growth import money_sql, to_money
from .nps import LATEST, responses_in
from .periods import Period


@dataclass
class LoyaltyRow:
    category: str
    customers: int
    revenue: Decimal
    next_revenue: Decimal
    churned_customers: int
    churned_revenue: Decimal
    referrals: int
    referred_revenue: Decimal
    next_period_complete: bool

    @property
    def nrr(self) -> Decimal | None:
        return self.next_revenue / self.revenue if self.revenue > 0 else None

    @property
    def churn_rate(self) -> Decimal | None:
        return Decimal(self.churned_customers) / self.customers if self.customers else None


MONEY = ("revenue", "next_revenue", "churned_revenue", "referred_revenue")


def loyalty_economics(*, period: Period, segment: str | None = None, survey=None) -> list[LoyaltyRow]:
    """One row per category, promoters first; categories without respondents have zeros.

    `survey`: only the customers who answered that survey (as the dashboard's headline counts)."""
    following = period.next()
    respondents, respondent_params = (
        responses_in(period, kind=SurveyKind.RELATIONSHIP, survey=survey, segment=segment, counting=LATEST)
        .filter(survey__anonymous=False)
        .order_by().values("customer_id", "category").query.sql_with_params()
    )
    revenue, customers = RevenueEntry._meta.db_table, Customer._meta.db_table
    amount = money_sql("r.amount")
    sql = f"""
    WITH respondents AS ({respondents}),
    money AS (
        SELECT r.customer_id,
            SUM(CASE WHEN r.date <= %s THEN {amount} ELSE 0 END) AS rc,
            SUM(CASE WHEN r.date > %s THEN {amount} ELSE 0 END) AS rn
        FROM {revenue} r WHERE r.date BETWEEN %s AND %s
            AND r.customer_id IN (SELECT customer_id FROM respondents)
        GROUP BY r.customer_id
    ),
    referred AS (
        SELECT c.referred_by_id AS customer_id, COUNT(*) AS referrals,
            COALESCE(SUM((SELECT SUM({amount}) FROM {revenue} r
                           WHERE r.customer_id = c.id AND r.date BETWEEN %s AND %s)), 0) AS referred_revenue
        FROM {customers} c
        WHERE c.referred_by_id IN (SELECT customer_id FROM respondents) AND c.acquired_on BETWEEN %s AND %s
        GROUP BY c.referred_by_id
    )
    SELECT s.category, COUNT(*) AS customers,
        COALESCE(SUM(m.rc), 0) AS revenue, COALESCE(SUM(m.rn), 0) AS next_revenue,
        COUNT(CASE WHEN m.rc > 0 AND m.rn <= 0 THEN 1 END) AS churned_customers,
        COALESCE(SUM(CASE WHEN m.rc > 0 AND m.rn <= 0 THEN m.rc ELSE 0 END), 0) AS churned_revenue,
        COALESCE(SUM(f.referrals), 0) AS referrals, COALESCE(SUM(f.referred_revenue), 0) AS referred_revenue
    FROM respondents s
    LEFT JOIN money m ON m.customer_id = s.customer_id
    LEFT JOIN referred f ON f.customer_id = s.customer_id
    GROUP BY s.category
    """  # noqa: S608 - table names from model metadata, the respondents' SQL from the ORM, values as parameters
    span = (period.start, following.end)
    params = [*respondent_params, period.end, period.end, *span, *span, *span]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    found = {row["category"]: row for row in rows}
    complete = next_period_complete(period)
    return [_row(category, found.get(category), complete) for category in ResponseCategory.values]


def next_period_complete(period: Period) -> bool:
    """Whether the period after `period` is over, so its revenue and churn are final."""
    return timezone.localdate() > period.next().end


def _row(category: str, row: dict | None, complete: bool) -> LoyaltyRow:
    if row is None:
        zero = Decimal("0.00")
        return LoyaltyRow(category, 0, zero, zero, 0, zero, 0, zero, next_period_complete=complete)
    for key in MONEY:
        row[key] = to_money(row[key])
    return LoyaltyRow(**row, next_period_complete=complete)
