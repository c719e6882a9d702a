import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounting.models import CostEntry, Customer, ReasonCategory, RevenueEntry


def reason(slug: str) -> ReasonCategory:
    """The seeded default categories (SPEC §2) exist in every test database."""
    return ReasonCategory.objects.get(slug=slug)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == "admin":
                self.is_staff = True
                self.save(update_fields=["is_staff"])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda c: f"{c.external_id.lower()}@customer.example.com")
    segment = "SMB"
    acquired_on = dt.date(2024, 1, 15)
    entity = factory.LazyAttribute(lambda c: None)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        # Every customer is its own entity until a parent says otherwise.
        if create and instance.entity_id is None:
            top = instance
            while top.parent_id is not None:
                top = top.parent
            instance.entity = top
            instance.save(update_fields=["entity"])


class RevenueEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RevenueEntry

    customer = factory.SubFactory(CustomerFactory)
    date = dt.date(2025, 1, 31)
    amount = Decimal("100.00")
    external_ref = factory.Sequence(lambda n: f"R{n:08d}")
    product = "Plan"


def pay(customer, day: str, amount: str) -> RevenueEntry:
    """One revenue line: `pay(customer, "2025-03-01", "55.00")`."""
    return RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=Decimal(amount))


class CostEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostEntry

    customer = factory.SubFactory(CustomerFactory)
    date = dt.date(2025, 1, 31)
    amount = Decimal("10.00")
    external_ref = factory.Sequence(lambda n: f"K{n:08d}")


# --- surveys ------------------------------------------------------------------------------------

from surveys.models import Invitation, InvitationState, Response, Survey  # noqa: E402


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = factory.Sequence(lambda n: f"Survey {n}")


class InvitationFactory(factory.django.DjangoModelFactory):
    """A sent invitation; pass state=... for others."""

    class Meta:
        model = Invitation

    survey = factory.SubFactory(SurveyFactory)
    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda i: i.customer.email)
    language = factory.LazyAttribute(lambda i: i.survey.language or i.customer.language)  # as a launch sets it
    segment = factory.LazyAttribute(lambda i: i.customer.segment)
    state = InvitationState.SENT
    sent_at = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))
    expires_at = factory.LazyAttribute(lambda i: (i.sent_at or dt.datetime.now(dt.UTC)) + dt.timedelta(days=30))
    # A row being sent was claimed, as the sender's claim sets it (check constraint invitation_sending_claimed).
    claimed_at = factory.LazyAttribute(
        lambda i: dt.datetime.now(dt.UTC) if i.state == InvitationState.SENDING else None
    )


def queued_to(emails, survey=None) -> list[Invitation]:
    """One queued invitation per address, of one survey (a new one unless given), not yet sent."""
    survey = survey or SurveyFactory(expiry_days=10)
    return [
        InvitationFactory(survey=survey, customer=CustomerFactory(email=email), state=InvitationState.QUEUED,
                          sent_at=None, expires_at=None)
        for email in emails
    ]


class ResponseFactory(factory.django.DjangoModelFactory):
    """A response to a (responded) invitation."""

    class Meta:
        model = Response

    invitation = factory.SubFactory(InvitationFactory, state=InvitationState.RESPONDED)
    survey = factory.LazyAttribute(lambda r: r.invitation.survey)
    customer = factory.LazyAttribute(lambda r: r.invitation.customer)
    score = 9
    segment = factory.LazyAttribute(lambda r: r.customer.segment)
