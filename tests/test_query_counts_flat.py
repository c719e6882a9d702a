"""No staff page, admin page or API endpoint asks the database more often as its rows grow (N+1):
every one is read with 2 and with 25 of each related row, and the counts compared."""

import datetime as dt
import json

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import ImportBatch, ImportRowError, ReasonRequest
from surveys.models import Launch, Response, SuppressedAddress
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
    UserFactory,
    reason,
)

pytestmark = pytest.mark.django_db

_seq = [0]  # unique values across both build rounds


def build(n, survey, admin_user, entity, referrer, batch):
    for _ in range(n):
        _seq[0] += 1
        i = _seq[0]
        c = CustomerFactory(
            reason=reason("other") if i % 2 else reason("recommendation"),
            reason_text="because" if i % 2 else "",
            referred_by=referrer,
            parent=entity,
            entity=entity,
            segment=f"S{i % 3}",
        )
        RevenueEntryFactory(customer=c)
        CostEntryFactory(customer=c)
        RevenueEntryFactory(customer=entity, external_ref=f"E{i}")
        ResponseFactory(
            survey=survey,
            invitation__survey=survey,
            invitation__customer=c,
            customer=c,
            score=i % 11,
            reason="why",
            followed_up_at=timezone.now() if i % 2 else None,
            followed_up_by=admin_user if i % 2 else None,
        )
        InvitationFactory(survey=survey)
        s2 = SurveyFactory(owner=admin_user) if hasattr(survey, "owner") else SurveyFactory()
        InvitationFactory(survey=s2)
        Launch.objects.create(survey=survey, audience="all", launched_by=admin_user, audience_size=1)
        ImportRowError.objects.create(batch=batch, row=i + 1, column="x", message="bad")
        ImportBatch.objects.create(kind="customers", source="ui", created_by=admin_user, filename=f"f{i}.csv")
        ReasonRequest.objects.create(
            customer=c, token_hash=f"{i:064d}", expires_at=timezone.now() + dt.timedelta(days=3), created_by=admin_user
        )
        SuppressedAddress.objects.create(email=f"s{i}@x.example.com", kind="bounced")
        UserFactory(role="analyst")
        LogEntry.objects.create(
            user_id=admin_user.pk,
            content_type_id=ContentType.objects.get_for_model(c).pk,
            object_id=str(c.pk),
            object_repr=str(c),
            action_flag=CHANGE,
            change_message=json.dumps([{"changed": {"fields": ["name"]}}]),
        )


def count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url).status_code
    return status, len(ctx.captured_queries)


def urls(survey, entity, batch, resp, cust):
    staff = [
        "/customers/",
        "/customers/?q=C0",
        f"/customers/{entity.pk}/",
        f"/customers/{cust.pk}/",
        "/imports/",
        f"/imports/{batch.pk}/",
        "/surveys/",
        f"/surveys/{survey.pk}/",
        "/responses/",
        "/responses/?followed_up=yes",
        "/responses/?followed_up=no",
        f"/responses/{resp.pk}/",
        "/responses/export.csv",
        "/reports/nps/",
        "/reports/earned-growth/?period=2025",
        "/reports/cohorts/",
        "/reports/cohorts/?format=csv",
        "/reports/referrals/",
        "/reports/referrals/?format=csv",
    ]
    api = [
        "/api/customers/",
        "/api/reason-categories/",
        "/api/revenue/",
        "/api/costs/",
        "/api/imports/",
        f"/api/imports/{batch.pk}/",
        "/api/surveys/",
        f"/api/surveys/{survey.pk}/",
        "/api/invitations/",
        "/api/responses/",
        f"/api/customers/{entity.pk}/",
        "/api/reports/nps/?period=2025",
        "/api/reports/earned-growth/?period=2025",
    ]
    adm = []
    for model in django_admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        adm.append(reverse(f"{name}_changelist"))
        obj = model._default_manager.order_by("pk").last()
        if obj is not None:
            adm.append(reverse(f"{name}_change", args=[obj.pk]))
            adm.append(reverse(f"{name}_history", args=[obj.pk]))
    return staff, api, adm


def test_query_counts_do_not_grow_with_the_rows(client):
    admin_user = UserFactory(username="alice", role="admin")
    client.force_login(admin_user)
    api = APIClient()
    _, token = AuthToken.objects.create(admin_user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    survey, entity, referrer = SurveyFactory(), CustomerFactory(), CustomerFactory()
    batch = ImportBatch.objects.create(kind="revenue", source="ui", created_by=admin_user, filename="r.csv")
    build(2, survey, admin_user, entity, referrer, batch)
    response = Response.objects.order_by("pk").last()
    staff, apis, adm = urls(survey, entity, batch, response, response.customer)
    pages = [(client, url) for url in staff + adm] + [(api, url) for url in apis]
    few = [count(reader, url) for reader, url in pages]
    build(23, survey, admin_user, entity, referrer, batch)
    many = [count(reader, url) for reader, url in pages]
    statuses = [(url, a[0], b[0]) for (_, url), a, b in zip(pages, few, many, strict=True) if {a[0], b[0]} != {200}]
    assert statuses == []
    grown = [(url, a[1], b[1]) for (_, url), a, b in zip(pages, few, many, strict=True) if b[1] > a[1]]
    assert grown == []
