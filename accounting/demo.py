"""A deterministic demo data set for `manage.py demo` (SPEC §7): customers, ledger and logins.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same options give the
same customers, the same ledger lines and the same sums on any machine. Demo rows are the
customers whose external id starts with DEMO_PREFIX, and their ledger lines; nothing else is
ever touched by `demo_delete`.

The story the numbers tell: customers who came by recommendation or reputation (earned) churn
less and expand more than those acquired by sales, ads or promotions (bought), and the earned
share of new customers grows over the years, so the earned-growth reports have something to show.
A quarter of the customers were acquired in the two years before the ledger starts (the book the
company already had); their lines before it are drawn but not written.
"""

import datetime as dt
import secrets
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from cxplatform.roles import ADMIN, ROLES, sync_roles

from .models import CostEntry, CostKind, Customer, ReasonCategory, RevenueEntry
from .services import customers_refresh_entities

DEMO_PREFIX = "DEMO-"
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    mrr: tuple[float, float]  # monthly revenue of a new customer
    bought_cost: tuple[float, float]  # what a bought customer costs to acquire
    churn: float  # multiplier of the reason's monthly churn
    serve: tuple[float, float]  # cost to serve, as a fraction of revenue
    plans: tuple[str, ...]
    b2b: bool


SEGMENTS = (
    # name, share, mrr, bought_cost, churn, serve, plans, b2b
    Segment("Consumer", 0.45, (15, 60), (40, 150), 1.4, (0.25, 0.45), ("Personal", "Family"),
            False),
    Segment("SMB", 0.30, (120, 600), (400, 1500), 1.0, (0.15, 0.30), ("Team", "Business"), True),
    Segment("Mid-market", 0.18, (900, 4000), (2500, 8000), 0.7, (0.12, 0.25),
            ("Business", "Scale"), True),
    Segment("Enterprise", 0.07, (5000, 20000), (10000, 30000), 0.45, (0.10, 0.20),
            ("Enterprise",), True),
)


@dataclass(frozen=True)
class Behaviour:
    """Monthly odds by reason class, and the acquisition cost as a share of a bought one."""

    churn: float
    expand: float
    contract: float
    reactivate: float  # once churned, the odds of coming back (once)
    acquisition: float


BEHAVIOUR = {
    #                    churn, expand, contract, reactivate, acquisition
    "earned": Behaviour(0.010, 0.050, 0.015, 0.25, 0.15),
    "bought": Behaviour(0.024, 0.025, 0.035, 0.12, 1.0),
    "unknown": Behaviour(0.017, 0.035, 0.025, 0.18, 0.5),
}
REASONS = {
    "earned": (("recommendation", 50), ("reputation", 36), ("returning", 14)),
    "bought": (("salesperson", 34), ("advertising", 37), ("promotion", 29)),
}
ACQUISITION_NOTE = {
    "recommendation": "Referral reward", "reputation": "Onboarding", "returning": "Win-back offer",
    "salesperson": "Sales commission", "advertising": "Advertising campaign",
    "promotion": "Promotional discount", "other": "Onboarding", None: "Onboarding",
}
# "Other" answers in the customer's language, with the category an admin would map each onto.
OTHER_ANSWERS = {
    "en": (
        ("Found you on Google", "advertising"),
        ("Saw your stand at a trade fair", "salesperson"),
        ("My new employer already used you", "reputation"),
        ("Our accountant suggested it", "recommendation"),
        ("Best price on a comparison site", "promotion"),
        ("Can't remember", None),
        ("Just came across you", None),
    ),
    "fr": (
        ("Vu sur un salon professionnel", "salesperson"),
        ("Trouvé sur Google", "advertising"),
        ("Conseillé par notre comptable", "recommendation"),
        ("Je ne sais plus", None),
    ),
    "de": (
        ("Auf einer Messe gesehen", "salesperson"),
        ("Über Google gefunden", "advertising"),
        ("Unser Steuerberater hat es empfohlen", "recommendation"),
        ("Weiß ich nicht mehr", None),
    ),
}
NAMES = {
    "en": (("Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Oliver", "Mia", "Lucas",
            "Amelia", "Ethan", "Harper", "Mason", "Ella", "Grace"),
           ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas",
            "Roberts", "Walker", "Wright", "Hughes", "Green", "Hall", "Clarke", "Turner"),
           ("Ltd", "LLC", "Group", "& Co", "Partners", "Labs", "Logistics", "Foods", "Studio")),
    "fr": (("Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Gabriel", "Inès"),
           ("Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit", "Durand", "Moreau"),
           ("SARL", "SA", "& Fils", "Conseil", "Studio", "Logistique")),
    "de": (("Anna", "Lukas", "Lena", "Leon", "Marie", "Finn", "Sophie", "Paul", "Jonas"),
           ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
           ("GmbH", "AG", "KG", "& Söhne", "Beratung", "Logistik")),
}
DIVISIONS = ("North", "South", "East", "West", "Benelux", "DACH", "Nordics", "Retail", "Online")
LANGUAGES = (("en", 70), ("fr", 15), ("de", 15))

PARENT_SHARE = 0.10  # divisions of a company, members of a household
REFERRED_SHARE = 0.80  # of "recommendation" customers, those who name their referrer
OTHER_SHARE = 0.55  # of unknown customers, those who answered "other" (the rest did not answer)
MAPPED_SHARE = 0.40  # of "other" answers, those an admin has already mapped
REFUND_ODDS = 0.012  # per billed month
MONTHLY_GROWTH = 1.025  # of acquisitions
# Customers acquired before the ledger starts (in the OPENING_MONTHS before it), as a share of
# all: the book the company already had, so that the first years compare like with like.
OPENING_BOOK = 0.25
OPENING_MONTHS = 24


class DemoError(Exception):
    pass


@dataclass
class DemoSummary:
    customers: int = 0
    revenue_entries: int = 0
    cost_entries: int = 0
    children: int = 0
    referrals: int = 0
    refunds: int = 0
    first_month: dt.date | None = None
    last_month: dt.date | None = None
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class Line:
    month: int
    day: int
    amount: Decimal
    product: str = ""
    kind: str = ""  # cost kind; empty for revenue


@dataclass
class Spec:
    """One demo customer before it is written: who, why, and its ledger lines."""

    n: int
    month: int
    day: int
    segment: Segment
    language: str
    kind: str
    slug: str | None
    first: str
    last: str
    name: str = ""
    parent: "Spec | None" = None
    referred_by: "Spec | None" = None
    other_text: str = ""
    mapped_to: str | None = None  # the category an admin has mapped the "other" answer onto
    answered_after: dt.timedelta = dt.timedelta(0)
    opt_out: bool = False
    acquisition_cost: Decimal = Decimal("0.00")
    revenue: list[Line] = field(default_factory=list)
    costs: list[Line] = field(default_factory=list)
    billed: set[int] = field(default_factory=set)
    obj: Customer | None = None


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_date(index: int, day: int = 1) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, day)


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def ascii_name(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class Generator:
    """Draws the whole data set in memory, in one fixed order of calls to the seeded generator."""

    def __init__(self, *, customers: int, first_month: int, last_month: int, seed: int):
        self.rng = Random(seed)
        self.count, self.first, self.last = customers, first_month, last_month
        self.specs: list[Spec] = []

    def pick(self, weighted):
        values, weights = zip(*weighted, strict=True)
        return self.rng.choices(values, weights)[0]

    def run(self) -> list[Spec]:
        opening = range(self.first - OPENING_MONTHS, self.first)
        window = range(self.first, self.last + 1)
        before = [MONTHLY_GROWTH**i for i in range(len(opening))]
        during = [MONTHLY_GROWTH**i for i in range(len(window))]
        scale = OPENING_BOOK / (1 - OPENING_BOOK) * sum(during) / sum(before)
        months, weights = [*opening, *window], [w * scale for w in before] + during
        dates = sorted(
            (m, self.rng.randint(1, 28)) for m in self.rng.choices(months, weights, k=self.count)
        )
        for n, (month, day) in enumerate(dates, start=1):
            spec = self.customer(n, month, day)
            self.simulate(spec)
            self.specs.append(spec)
        return self.specs

    def customer(self, n: int, month: int, day: int) -> Spec:
        rng = self.rng
        progress = max(0, month - self.first) / max(1, self.last - self.first)
        earned = 0.45 + 0.10 * progress  # word of mouth compounds
        kind = self.pick([("earned", earned), ("unknown", 0.15), ("bought", 0.85 - earned)])
        segment, language = self.pick([(s, s.share) for s in SEGMENTS]), self.pick(LANGUAGES)
        parent = None
        if self.specs and rng.random() < PARENT_SHARE:
            # A division of a company or a member of a household: same segment, same language.
            parent = self.active_customer(month, lambda c: True)
        if parent is not None:
            segment, language = parent.segment, parent.language
        firsts, lasts, suffixes = NAMES[language]
        spec = Spec(n, month, day, segment, language, kind, None, rng.choice(firsts),
                    rng.choice(lasts), parent=parent)
        if parent is None:
            spec.name = f"{spec.last} {rng.choice(suffixes)}" if segment.b2b else ""
        else:
            spec.last = parent.last
            spec.name = f"{parent.name} {rng.choice(DIVISIONS)}" if segment.b2b else ""
        spec.name = spec.name or f"{spec.first} {spec.last}"
        self.reason(spec)
        return spec

    def reason(self, spec: Spec) -> None:
        rng = self.rng
        if spec.kind != "unknown":
            spec.slug = self.pick(REASONS[spec.kind])
        elif rng.random() < OTHER_SHARE:
            spec.slug, (spec.other_text, suggestion) = "other", rng.choice(
                OTHER_ANSWERS[spec.language]
            )
            spec.mapped_to = suggestion if rng.random() < MAPPED_SHARE else None
        spec.answered_after = dt.timedelta(minutes=rng.randint(9 * 60, 14 * 24 * 60))
        spec.opt_out = rng.random() < 0.03
        if spec.slug == "recommendation" and rng.random() < REFERRED_SHARE:
            # Earned customers make most referrals: accept one every time, others one in three.
            spec.referred_by = self.active_customer(
                spec.month, lambda c: c.kind == "earned" or rng.random() < 1 / 3
            )

    def active_customer(self, month: int, accept) -> Spec | None:
        """An earlier customer billed this month or the one before (a few tries, else none)."""
        for _ in range(20 if self.specs else 0):
            candidate = self.specs[self.rng.randrange(len(self.specs))]
            if candidate.parent is not None and self.rng.random() < 0.8:
                candidate = candidate.parent
            if ({month, month - 1} & candidate.billed) and accept(candidate):
                return candidate
        return None

    def simulate(self, spec: Spec) -> None:
        """Monthly billing from acquisition: expansion, contraction, churn, one comeback."""
        rng, seg, odds = self.rng, spec.segment, BEHAVIOUR[spec.kind]
        churn = odds.churn * seg.churn * (1.3 if spec.slug == "promotion" else 1.0)
        size = rng.uniform(0.3, 0.8) if spec.parent else 1.0
        mrr, plan, addon = rng.uniform(*seg.mrr) * size, rng.choice(seg.plans), 0.0
        support = mrr * rng.uniform(0.08, 0.15) if seg.b2b and rng.random() < 0.6 else 0.0
        spec.acquisition_cost = money(rng.uniform(*seg.bought_cost) * odds.acquisition * size)
        if spec.month >= self.first:
            spec.costs.append(
                Line(spec.month, spec.day, spec.acquisition_cost, kind=CostKind.ACQUISITION)
            )
        month, came_back = spec.month, False
        while month <= self.last:
            self.bill(spec, month, mrr, plan, addon, support)
            draw = rng.random()
            if draw < churn:
                if came_back or rng.random() >= odds.reactivate:
                    return
                came_back, addon = True, 0.0
                mrr *= rng.uniform(0.6, 1.0)
                month += rng.randint(3, 10)
                continue
            if draw < churn + odds.expand:
                if not addon and rng.random() < 0.4:
                    addon = mrr * rng.uniform(0.1, 0.25)
                else:
                    mrr *= rng.uniform(1.05, 1.3)
            elif draw < churn + odds.expand + odds.contract:
                mrr *= rng.uniform(0.7, 0.95)
            month += 1

    def bill(self, spec, month: int, mrr: float, plan: str, addon: float, support: float) -> None:
        """One month's lines; drawn before the ledger starts too, but only kept from then on."""
        rng = self.rng
        price = mrr * (0.5 if spec.slug == "promotion" and month - spec.month < 3 else 1.0)
        lines = [Line(month, spec.day, money(price), plan)]
        for amount, product in ((addon, "Analytics add-on"), (support, "Premium support")):
            if amount:
                lines.append(Line(month, spec.day, money(amount), product))
        if rng.random() < REFUND_ODDS:
            refund = max(1.0, price * rng.uniform(0.1, 1.0))
            day = min(28, spec.day + rng.randint(1, 10))
            lines.append(Line(month, day, -money(refund), plan))
        serve = (price + addon + support) * rng.uniform(*spec.segment.serve)
        spec.billed.add(month)
        if month >= self.first:
            spec.revenue.extend(lines)
            spec.costs.append(Line(month, spec.day, money(serve), kind=CostKind.SERVE))


# --- Writing ---------------------------------------------------------------------------------


def demo_customers():
    return Customer.objects.filter(external_id__startswith=DEMO_PREFIX)


def demo_exists() -> bool:
    return demo_customers().exists()


def demo_delete() -> int:
    """Delete the demo customers and their ledger lines; returns how many customers went.

    The ledger refuses QuerySet.delete() on purpose, so the demo's own lines go by a raw DELETE
    restricted to demo customers, inside the same transaction as the customers themselves.
    """
    customers = demo_customers()
    with transaction.atomic():
        for model in (RevenueEntry, CostEntry):
            lines = model.objects.filter(customer__in=customers.values("pk"))
            lines._raw_delete(lines.db)
        # Parents are PROTECTed even when the children go in the same delete.
        customers.update(parent=None, referred_by=None, entity=None)
        deleted = customers.count()
        customers.delete()
        customers_refresh_entities()  # in case a real customer rolled up to a demo one
    return deleted


def demo_load(*, customers: int, years: int, last_month: dt.date, seed: int) -> DemoSummary:
    """Draw and write the data set in one transaction; the caller checks demo_exists() first."""
    categories = {c.slug: c for c in ReasonCategory.objects.all()}
    needed = {slug for pairs in REASONS.values() for slug, _ in pairs} | {"other"}
    missing = sorted(needed - categories.keys())
    if missing:
        raise DemoError(f"Reason categories missing: {', '.join(missing)} (run migrate).")
    last = month_index(last_month)
    first = last - 12 * years + 1
    specs = Generator(customers=customers, first_month=first, last_month=last, seed=seed).run()
    with transaction.atomic():
        write_customers(specs, categories)
        summary = write_ledger(specs)
        customers_refresh_entities()
    summary.first_month, summary.last_month = month_date(first), month_date(last)
    return summary


def write_customers(specs: list[Spec], categories: dict[str, ReasonCategory]) -> None:
    loaded_at = timezone.now()
    for spec in specs:
        acquired = month_date(spec.month, spec.day)
        # Up to 14 days after the acquisition, but never after the load (a customer of the last days).
        answered = min(dt.datetime.combine(acquired, dt.time(), tzinfo=dt.UTC) + spec.answered_after, loaded_at)
        spec.obj = Customer(
            external_id=f"{DEMO_PREFIX}C{spec.n:05d}",
            name=spec.name,
            email=demo_email(spec),
            language=spec.language,
            segment=spec.segment.name,
            acquired_on=acquired,
            reason=categories.get(spec.slug),
            reason_text=spec.other_text,
            reason_mapped_to=categories.get(spec.mapped_to),
            reason_source="demo" if spec.slug else "",
            reason_answered_at=answered if spec.slug else None,
            acquisition_cost=spec.acquisition_cost,
            survey_opt_out=spec.opt_out,
        )
    Customer.objects.bulk_create([s.obj for s in specs], batch_size=BATCH_SIZE)
    linked = [s for s in specs if s.parent or s.referred_by]
    for spec in linked:
        spec.obj.parent = spec.parent.obj if spec.parent else None
        spec.obj.referred_by = spec.referred_by.obj if spec.referred_by else None
    Customer.objects.bulk_update(
        [s.obj for s in linked], ["parent", "referred_by"], batch_size=BATCH_SIZE
    )


def demo_email(spec: Spec) -> str:
    if spec.segment.b2b:
        return f"billing.{spec.n}@{ascii_name(spec.last)}.example.com"
    return f"{ascii_name(spec.first)}.{ascii_name(spec.last)}.{spec.n}@example.org"


def write_ledger(specs: list[Spec]) -> DemoSummary:
    summary = DemoSummary(customers=len(specs))
    # Sent rather than left to the database default: resolving that expression once per row
    # costs more than the insert itself.
    loaded_at = timezone.now()
    revenue: list[RevenueEntry] = []
    costs: list[CostEntry] = []
    for spec in specs:
        summary.by_kind[spec.kind] = summary.by_kind.get(spec.kind, 0) + 1
        summary.children += spec.parent is not None
        summary.referrals += spec.referred_by is not None
        for line in spec.revenue:
            summary.revenue_entries += 1
            summary.refunds += line.amount < 0
            revenue.append(RevenueEntry(
                customer_id=spec.obj.pk, date=month_date(line.month, line.day), amount=line.amount,
                product=line.product, external_ref=f"{DEMO_PREFIX}R-{summary.revenue_entries}",
                created_at=loaded_at,
            ))
        for line in spec.costs:
            summary.cost_entries += 1
            costs.append(CostEntry(
                customer_id=spec.obj.pk, date=month_date(line.month, line.day), amount=line.amount,
                kind=line.kind, description=cost_description(spec, line),
                external_ref=f"{DEMO_PREFIX}K-{summary.cost_entries}", created_at=loaded_at,
            ))
        flush(revenue, costs, at_least=BATCH_SIZE)
    flush(revenue, costs, at_least=1)
    return summary


def cost_description(spec: Spec, line: Line) -> str:
    if line.kind == CostKind.ACQUISITION:
        return ACQUISITION_NOTE[spec.slug]
    return "Hosting and support"


def flush(revenue: list, costs: list, *, at_least: int) -> None:
    for model, rows in ((RevenueEntry, revenue), (CostEntry, costs)):
        if len(rows) >= at_least:
            model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
            rows.clear()


# --- Logins ----------------------------------------------------------------------------------


def demo_users_reset(*, password: str | None = None) -> list[tuple[str, str]]:
    """The admin / analyst / viewer logins, each in its group; their passwords are (re)set.

    `password` for all three (DEMO_PASSWORD), else a random one each. Returns (username, password).
    """
    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        sync_roles()
    logins = []
    for role in ROLES:
        user, _ = get_user_model().objects.get_or_create(
            username=role, defaults={"email": f"{role}@example.com"}
        )
        secret = password or secrets.token_urlsafe(12)
        user.set_password(secret)
        user.is_active, user.is_staff = True, role == ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        logins.append((role, secret))
    return logins
