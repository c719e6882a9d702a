"""customers_refresh_entities: every customer points at its top ancestor, the customer entity."""

from accounting.models import Customer
from accounting.services import customers_refresh_entities
from tests.factories import CustomerFactory


def entities():
    return dict(Customer.objects.values_list("external_id", "entity__external_id"))


def forget_entities():
    Customer.objects.update(entity=None)


def test_it_rolls_a_three_level_tree_up_to_the_top_ancestor(db):
    company = CustomerFactory(external_id="ACME")
    division = CustomerFactory(external_id="ACME-EU", parent=company)
    CustomerFactory(external_id="ACME-EU-FR", parent=division)
    CustomerFactory(external_id="ACME-US", parent=company)
    forget_entities()

    changed = customers_refresh_entities()

    assert changed == 4
    assert entities() == {
        "ACME": "ACME",
        "ACME-EU": "ACME",
        "ACME-EU-FR": "ACME",
        "ACME-US": "ACME",
    }


def test_it_walks_a_deep_chain_inserted_child_first(db):
    # Children created before their parents get lower ids; the walk must not depend on order.
    leaf = CustomerFactory(external_id="LEAF")
    middle = CustomerFactory(external_id="MIDDLE")
    top = CustomerFactory(external_id="TOP")
    Customer.objects.filter(pk=leaf.pk).update(parent=middle)
    Customer.objects.filter(pk=middle.pk).update(parent=top)

    customers_refresh_entities()

    assert entities() == {"LEAF": "TOP", "MIDDLE": "TOP", "TOP": "TOP"}


def test_it_moves_a_subtree_when_a_parent_changes(db):
    household = CustomerFactory(external_id="SMITH")
    parent = CustomerFactory(external_id="SMITH-JANE", parent=household)
    CustomerFactory(external_id="SMITH-JANE-KID", parent=parent)
    other = CustomerFactory(external_id="JONES")
    customers_refresh_entities()

    parent.parent = other
    parent.save(update_fields=["parent"])
    changed = customers_refresh_entities()

    assert changed == 2
    assert entities() == {
        "SMITH": "SMITH",
        "SMITH-JANE": "JONES",
        "SMITH-JANE-KID": "JONES",
        "JONES": "JONES",
    }


def test_a_subtree_cut_loose_becomes_its_own_entity(db):
    company = CustomerFactory(external_id="ACME")
    division = CustomerFactory(external_id="ACME-EU", parent=company)
    CustomerFactory(external_id="ACME-EU-FR", parent=division)

    division.parent = None
    division.save(update_fields=["parent"])
    customers_refresh_entities()

    assert entities() == {"ACME": "ACME", "ACME-EU": "ACME-EU", "ACME-EU-FR": "ACME-EU"}


def test_it_leaves_parentless_customers_as_their_own_entity(db):
    CustomerFactory(external_id="SOLO-1")
    CustomerFactory(external_id="SOLO-2")
    forget_entities()

    assert customers_refresh_entities() == 2
    assert entities() == {"SOLO-1": "SOLO-1", "SOLO-2": "SOLO-2"}


def test_it_changes_nothing_when_every_entity_is_current(db, django_assert_num_queries):
    company = CustomerFactory(external_id="ACME")
    CustomerFactory(external_id="ACME-EU", parent=company)
    CustomerFactory(external_id="SOLO")
    customers_refresh_entities()

    with django_assert_num_queries(1):  # one read, no write
        assert customers_refresh_entities() == 0


def test_it_stops_on_a_corrupt_cycle_instead_of_hanging(db):
    a = CustomerFactory(external_id="A")
    b = CustomerFactory(external_id="B", parent=a)
    # Imports refuse cycles; a bad row written around them must still not hang the walk.
    Customer.objects.filter(pk=a.pk).update(parent=b)

    customers_refresh_entities()

    assert set(entities()) == {"A", "B"}
    assert len(set(entities().values())) == 1  # both in one entity, whichever it is
