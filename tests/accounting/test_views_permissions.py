"""Who opens which accounting page: admin and analyst may, a viewer gets 403, anonymous logs in."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounting.models import ImportBatch, ImportKind, ImportStatus, ReasonRequest
from tests.factories import CustomerFactory, UserFactory, reason

pytestmark = pytest.mark.django_db

ROLES_AND_STATUSES = [("admin", "ok"), ("analyst", "ok"), ("viewer", 403), (None, "login")]


@pytest.fixture
def customer():
    # No email: the reason-request button then answers with a message and sends nothing.
    return CustomerFactory(email="")


@pytest.fixture
def batch():
    return ImportBatch.objects.create(
        kind=ImportKind.REVENUE, source="ui", filename="revenue.csv", status=ImportStatus.SUCCEEDED
    )


def _request(client, page, customer, batch):
    """(response, status expected when allowed) for each page and method of the staff UI."""
    if page == "customer-list":
        return client.get(reverse("accounting:customer-list")), 200
    if page == "customer-detail":
        return client.get(reverse("accounting:customer-detail", args=[customer.pk])), 200
    if page == "customer-reason":
        url = reverse("accounting:customer-reason", args=[customer.pk])
        return client.post(url, {"reason": reason("advertising").pk}), 302
    if page == "customer-reason-request":
        url = reverse("accounting:customer-reason-request", args=[customer.pk])
        return client.post(url), 302
    if page == "import-list":
        return client.get(reverse("accounting:import-list")), 200
    if page == "import-upload":
        # An empty form: allowed users get the form back with its errors, nothing is imported.
        return client.post(reverse("accounting:import-list"), {"kind": "revenue"}), 400
    if page == "import-detail":
        return client.get(reverse("accounting:import-detail", args=[batch.pk])), 200
    raise AssertionError(page)


PAGES = [
    "customer-list",
    "customer-detail",
    "customer-reason",
    "customer-reason-request",
    "import-list",
    "import-upload",
    "import-detail",
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("role", "expected"), ROLES_AND_STATUSES)
def test_it_checks_the_role_on_every_page(client_as, customer, batch, page, role, expected):
    response, allowed = _request(client_as(role), page, customer, batch)
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    elif expected == "ok":
        assert response.status_code == allowed
    else:
        assert response.status_code == expected


def test_it_rejects_a_viewer_setting_a_reason(client_as, customer):
    url = reverse("accounting:customer-reason", args=[customer.pk])
    response = client_as("viewer").post(url, {"reason": reason("advertising").pk})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.reason is None


def test_it_rejects_a_viewer_uploading_a_file(client_as):
    url = reverse("accounting:import-list")
    response = client_as("viewer").post(url, {"kind": "revenue"})
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


def _user_with(*codenames):
    user = UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounting", codename__in=codenames))
    return user


def test_it_lets_a_reader_of_customers_not_change_them(client, customer):
    client.force_login(_user_with("view_customer"))
    detail = client.get(reverse("accounting:customer-detail", args=[customer.pk]))
    assert detail.status_code == 200
    assert reverse("accounting:customer-reason", args=[customer.pk]) not in detail.text
    url = reverse("accounting:customer-reason", args=[customer.pk])
    assert client.post(url, {"reason": reason("advertising").pk}).status_code == 403
    url = reverse("accounting:customer-reason-request", args=[customer.pk])
    assert client.post(url).status_code == 403


def test_it_lets_a_reader_of_imports_not_upload(client, batch):
    client.force_login(_user_with("view_importbatch"))
    page = client.get(reverse("accounting:import-list"))
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' not in page.text
    response = client.post(reverse("accounting:import-list"), {"kind": "revenue"})
    assert response.status_code == 403


def test_it_forbids_an_uploader_who_cannot_read_imports(client):
    client.force_login(_user_with("add_importbatch"))
    response = client.post(reverse("accounting:import-list"), {"kind": "revenue"})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["customer-reason", "customer-reason-request"])
def test_it_refuses_get_on_post_only_urls(client_as, customer, name):
    response = client_as("admin").get(reverse(f"accounting:{name}", args=[customer.pk]))
    assert response.status_code == 405
    assert not ReasonRequest.objects.exists()


@pytest.mark.parametrize("name", ["customer-list", "import-detail"])
def test_it_refuses_post_on_read_only_pages(client_as, batch, name):
    args = [batch.pk] if name == "import-detail" else []
    response = client_as("admin").post(reverse(f"accounting:{name}", args=args))
    assert response.status_code == 405


def test_it_requires_a_csrf_token(admin, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    url = reverse("accounting:customer-reason", args=[customer.pk])
    assert client.post(url, {"reason": reason("advertising").pk}).status_code == 403
    customer.refresh_from_db()
    assert customer.reason is None


@pytest.mark.parametrize("name", ["customer-detail", "customer-reason", "customer-reason-request", "import-detail"])
def test_it_answers_404_for_an_unknown_id(client_as, name):
    client = client_as("admin")
    url = reverse(f"accounting:{name}", args=[999_999])
    response = client.get(url) if name.endswith("detail") else client.post(url)
    assert response.status_code == 404
