"""/healthz: 200 while the database answers (the broker only reported), public, never cached."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_answers_ok_in_eager_mode(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager (none)"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("broker_answers, status, broker", [(True, "ok", "ok"), (False, "degraded", "unreachable")])
def test_it_stays_up_whatever_the_broker_says(client, settings, monkeypatch, broker_answers, status, broker):
    """Public answers need only the database: a Redis outage must not take web processes out."""
    from cxplatform import views

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(views, "broker_ok", lambda: broker_answers)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": status, "database": "ok", "broker": broker}


def test_it_reports_an_unreachable_database(client, monkeypatch):
    from cxplatform import views

    monkeypatch.setattr(views, "database_ok", lambda: False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable" and response.json()["status"] == "error"


def test_it_fails_when_the_database_is_unreachable_whatever_the_broker(client, settings, monkeypatch):
    from cxplatform import views

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(views, "database_ok", lambda: False)
    monkeypatch.setattr(views, "broker_ok", lambda: True)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"


def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.integration
def test_it_reaches_the_real_broker(client, settings):
    import os

    url = os.environ.get("CELERY_BROKER_URL")
    if not url:
        pytest.skip("integration test: set CELERY_BROKER_URL (Redis) to run it")
    settings.CELERY_BROKER_URL = url
    assert client.get("/healthz").json()["broker"] == "ok"
