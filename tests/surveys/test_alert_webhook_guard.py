"""The detractor alert webhook's SSRF guard: public hosts only, checked when saved and when posting,
no redirects; a refused URL is a permanent failure and the owner's email still goes out."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import Retry
from django.contrib import admin
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from surveys import webhook_urls
from surveys.alerts import send_detractor_alert
from surveys.forms import SurveyForm
from surveys.models import Response, Survey
from tests.factories import ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP receiver: records each request (path, Host header, JSON body), answers `status`
    with an optional Location header."""

    def __init__(self, status=204, location=None):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                receiver.requests.append((self.path, self.headers["Host"], body))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 - a followed redirect may come as a GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def owner():
    return UserFactory(username="alice", email="alice@staff.example.com", password=None, role="analyst")


def due_detractor(owner, url):
    response = ResponseFactory(score=2, invitation__survey=SurveyFactory(owner=owner, alert_webhook_url=url))
    Response.objects.filter(pk=response.pk).update(alert_due=True)
    return response


def resolving_to(*addresses):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]

    return getaddrinfo


# --- at send time ------------------------------------------------------------------------------------


def test_a_webhook_on_a_private_address_is_refused_for_good_and_the_email_still_goes(settings, owner, receiver):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    response = due_detractor(owner, receiver.url)

    delivered = send_detractor_alert.apply(args=[response.pk], throw=True).get()  # no Retry raised

    assert delivered == ["email"]
    assert receiver.requests == []
    assert len(mail.outbox) == 1
    assert not Response.objects.get(pk=response.pk).alert_due  # done: not retried, not swept again


def test_every_address_of_the_host_is_checked(settings, owner, monkeypatch):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(socket, "getaddrinfo", resolving_to("93.184.216.34", "10.0.0.7"))
    connects = []
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: connects.append(args))
    response = due_detractor(owner, "https://hooks.example.com/nps")

    assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == ["email"]
    assert connects == []  # refused before any connection


def test_the_post_goes_to_the_checked_address_not_to_a_second_look_up(settings, owner, receiver, monkeypatch):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is local
    looked_up = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        return resolving_to("127.0.0.1")(host, port) if host == "hooks.example.test" else real(host, port, *args,
                                                                                              **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = due_detractor(None, f"http://hooks.example.test:{receiver.port}/nps?team=cx")

    assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == ["webhook"]
    [(path, host, body)] = receiver.requests
    assert (path, host, body["event"]) == ("/nps?team=cx", f"hooks.example.test:{receiver.port}", "nps.detractor")
    assert looked_up.count("hooks.example.test") == 1  # the connection used the checked address


def test_a_redirect_is_not_followed_and_not_retried(settings, owner, receiver):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    redirecting = Receiver(status=302, location=receiver.url)
    try:
        response = due_detractor(owner, redirecting.url)
        assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == ["email"]
        assert len(redirecting.requests) == 1 and receiver.requests == []
        assert not Response.objects.get(pk=response.pk).alert_due
    finally:
        redirecting.close()


def test_a_failed_look_up_is_retried(settings, monkeypatch):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    response = due_detractor(None, "https://hooks.example.com/nps")
    with pytest.raises(Retry):
        send_detractor_alert.apply(args=[response.pk], throw=True)
    assert Response.objects.get(pk=response.pk).alert_due


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",  # noqa: S104
        "224.0.0.251", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1%eth0", "fd00::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:a00:1::1", "64:ff9b::a00:1",
    ],
)
def test_private_and_special_addresses_are_not_public(address):
    assert not webhook_urls.is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_addresses_are_public(address):
    assert webhook_urls.is_public(address)


# --- when a survey is saved (form, API, admin) --------------------------------------------------------


BAD_URLS = ["ftp://hooks.example.com/nps", "http://169.254.169.254/latest/meta-data/", "http://localhost:8080/x",
            "http://[::1]/x", "http://10.0.0.1/x"]


def survey_form_data(url):
    return {"name": "Hooked", "kind": "relationship", "status": "draft", "question": "Q", "expiry_days": 30,
            "throttle_days": 90, "audience": "all", "alert_webhook_url": url}


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_survey_form_refuses_a_non_http_or_private_url(settings, url):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    form = SurveyForm(data=survey_form_data(url))
    assert not form.is_valid() and "alert_webhook_url" in form.errors


def test_the_survey_form_takes_a_public_https_url(settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    form = SurveyForm(data=survey_form_data("https://hooks.example.com/nps"))
    assert form.is_valid(), form.errors


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_api_refuses_a_non_http_or_private_url(settings, api_client_as, url):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    survey = SurveyFactory()
    response = api_client_as("analyst").patch(
        reverse("api-survey-detail", args=[survey.pk]), {"alert_webhook_url": url}, format="json"
    )
    assert response.status_code == 400 and "alert_webhook_url" in response.json()
    survey.refresh_from_db()
    assert survey.alert_webhook_url == ""


@pytest.mark.filterwarnings("ignore::django.utils.deprecation.RemovedInDjango60Warning")  # the admin's URLField
def test_the_admin_form_refuses_an_ftp_url(settings, admin):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True  # the scheme is checked whatever the setting
    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    form_class = admin_site_survey_admin().get_form(request)
    form = form_class(data={**survey_form_data("ftp://hooks.example.com/nps"), "sample_percent": ""})
    assert not form.is_valid() and "alert_webhook_url" in form.errors


def test_local_urls_are_accepted_when_the_setting_allows_them(settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    form = SurveyForm(data=survey_form_data("http://127.0.0.1:9000/hook"))
    assert form.is_valid(), form.errors


def admin_site_survey_admin():
    return admin.site._registry[Survey]
