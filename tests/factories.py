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


class CostEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostEntry

    customer = factory.SubFactory(CustomerFactory)
    date = dt.date(2025, 1, 31)
    amount = Decimal("10.00")
    external_ref = factory.Sequence(lambda n: f"K{n:08d}")
