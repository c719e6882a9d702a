"""Fault tests (issue "Production readiness", part 2): the platform survives the world.

- the broker (Redis) stops while customers answer and staff launch: nothing is lost, and the
  sweeper sends every queued email exactly once when Redis is back;
- the web process's PostgreSQL connection is killed between and during requests;
- 200 simultaneous answers over 100 tokens against a real gunicorn.

Each test starts its own processes (a redis-server on a free port, gunicorn, a Celery worker, an
SMTP sink) on 127.0.0.1 and stops them in `finally`. The machine's Redis on 6379 is never touched.
"""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

import psycopg
import pytest
import redis
import requests
from django.core.cache import cache
from django.db import connection

from surveys import sending
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Response
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, UserFactory
from tests.integration.conftest import ROOT, _needs_real_services, _reseed_defaults, _worker_env, wait_for
from tests.integration.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.integration

THANKS = "Your answer has been recorded"
UPDATED = "Your answer has been updated"
WEB_APP_NAME = "cx-fault-web"  # application_name of the web server's PostgreSQL sessions


def unfinished():
    return Invitation.objects.filter(state__in=[InvitationState.QUEUED, InvitationState.SENDING]).count()


def answer_path(invitation) -> str:
    return f"/s/{invitation.token}/"


# --- a private redis-server ------------------------------------------------------------------------


class RedisServer:
    """`redis-server` on a free loopback port, no persistence; stop() and start() keep the port."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.proc = None
        self.log = None

    def start(self, timeout=15):
        self.log = open(self.dir / f"redis-{self.port}.log", "a")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(  # noqa: S603
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",  # noqa: S607
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        if not wait_for(self.answers, timeout=timeout, interval=0.1):
            self.stop()
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def answers(self) -> bool:
        try:
            return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None


@contextmanager
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _forget_broker_connections(app):
    """The next publish builds a connection pool for the current broker_url (kombu keeps the old
    pool in its registry, untouched, for when the URL is restored)."""
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@contextmanager
def broker_in_this_process(url):
    """Point this (test) process's Celery app at `url`; restore the configured broker afterwards.
    (Celery reads CELERY_BROKER_URL from the environment before its configuration.)"""
    from cxplatform.celery import app

    old, old_env = app.conf.get("broker_url"), os.environ.get("CELERY_BROKER_URL")
    _forget_broker_connections(app)
    app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = url
    try:
        yield app
    finally:
        pool = app._pool
        _forget_broker_connections(app)
        app.conf.broker_url = old
        if old_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = old_env
        if pool is not None:
            pool.force_close_all()


# --- 1. Redis stops while customers answer ---------------------------------------------------------


def test_redis_down_answers_are_stored_launches_queue_and_the_sweeper_sends_each_once_later(
    celery_worker_factory, client, tmp_path, monkeypatch, settings
):
    with own_redis(tmp_path) as broker, SmtpSink() as sink, broker_in_this_process(broker.url) as app:
        assert app.connection_for_write().as_uri().endswith(f":{broker.port}/0")
        # One Redis for the queue and the cache (rate limits, sender heartbeat), as deployed.
        cache_url = f"redis://127.0.0.1:{broker.port}/1"
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}}
        cache.set("cx-fault-probe", 1)
        assert redis.Redis(host="127.0.0.1", port=broker.port, db=1).exists(":1:cx-fault-probe")
        celery_worker_factory(
            **sink.worker_env(), SURVEY_SEND_RATE_PER_SECOND="0", CELERY_BROKER_URL=broker.url, REDIS_URL=cache_url
        )
        owner = UserFactory(username="owner", email="owner@staff.example.com", password=None, role="analyst")
        answering = InvitationFactory(survey=SurveyFactory(name="Answered while Redis is down", owner=owner))
        customers = CustomerFactory.create_batch(12)

        broker.stop()
        assert not broker.answers()

        # A customer answers (a detractor: the owner's alert cannot be enqueued either).
        started = time.monotonic()
        page = client.post(answer_path(answering), {"score": 3, "reason": "Slow delivery"}, follow=True)
        assert [status for _, status in page.redirect_chain] == [303]
        assert page.status_code == 200 and THANKS in page.content.decode()
        assert time.monotonic() - started < 30, "the answer waited for the broker"
        stored = Response.objects.get(invitation=answering)
        assert (stored.score, stored.reason) == (3, "Slow delivery")
        answering.refresh_from_db()
        assert answering.state == InvitationState.RESPONDED
        assert stored.alert_due and stored.alert_enqueued_at is None  # the broker refused: the outbox keeps it

        # Staff launch a survey: the invitations are committed, queued; the enqueue fails quietly.
        launch = survey_launch(survey=SurveyFactory(name="Launched while Redis is down"))
        queued = list(Invitation.objects.filter(launch=launch, state=InvitationState.QUEUED))
        assert {i.email for i in queued} == {c.email for c in customers}
        time.sleep(1)
        assert sink.count == 0

        # Redis is back (same port); beat's sweeper finds due rows and no sender alive.
        broker.start()
        monkeypatch.setattr(sending, "SENDER_IDLE_SECONDS", 0)
        from surveys.alerts import sweep_detractor_alerts
        from surveys.tasks import sweep_invitations

        assert sweep_invitations.apply().get()["restarted"] is True
        assert sweep_detractor_alerts.apply().get() == 1  # the owner's alert, handed to the worker

        expected = len(queued) + 1
        assert wait_for(lambda: unfinished() == 0 and sink.count >= expected, timeout=90), (
            f"{sink.count} of {expected} emails arrived, {unfinished()} unsent"
        )
        assert wait_for(lambda: not Response.objects.filter(alert_due=True).exists(), timeout=30)
        time.sleep(1)  # anything sent twice would arrive now
        delivered = Counter(m["To"] for m in sink.messages)

    assert delivered == Counter({c.email: 1 for c in customers} | {owner.email: 1}), "an email was lost or sent twice"
    assert Invitation.objects.filter(launch=launch, state=InvitationState.SENT).count() == len(customers)
    assert Response.objects.count() == 1


# --- a real gunicorn on the test database ------------------------------------------------------------


@pytest.fixture
def web_server(transactional_db, settings, tmp_path):
    """`start(workers=N)` runs gunicorn on the test database and returns its base URL."""
    _needs_real_services()
    _reseed_defaults()
    started = []

    def start(workers=1):
        port = free_port()
        env = {
            **_worker_env(settings),
            "PG_OPTIONS": f"-c jit=off -c application_name={WEB_APP_NAME}",
            "SURVEY_PUBLIC_RATE": "100000/m",  # the rate limit is not under test here
        }
        log = open(tmp_path / f"gunicorn-{port}.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "cxplatform.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "60", "--graceful-timeout", "5", "--backlog", "512",
             "--access-logfile", "-"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"

        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(tmp_path / f'gunicorn-{port}.log').read_text()[-2000:]}")
            try:
                return requests.get(f"{base}/healthz", timeout=10).status_code in (200, 503)
            except requests.RequestException:
                return False

        if not wait_for(up, timeout=60):
            raise RuntimeError("gunicorn did not answer within 60 s")
        return base

    try:
        yield start
    finally:
        for proc, log in started:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            log.close()


def csrf_cookie(base, invitation) -> str:
    page = requests.get(base + answer_path(invitation), timeout=30)
    assert page.status_code == 200
    return page.cookies["csrftoken"]


def thanked(reply) -> bool:
    """The answer was stored: a 303 to the thank-you page (followed by requests), which thanks."""
    redirects = [step.status_code for step in reply.history]
    return redirects == [303] and reply.status_code == 200 and (THANKS in reply.text or UPDATED in reply.text)


def post_answer(base, invitation, csrf, **answer):
    """POST an answer as a browser does: following its redirect to the thank-you page."""
    return requests.post(
        base + answer_path(invitation),
        data={"csrfmiddlewaretoken": csrf, **answer},
        cookies={"csrftoken": csrf},
        timeout=120,
    )


def web_backends(*, waiting_on_lock=False) -> list[int]:
    sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        cursor.execute(sql, [WEB_APP_NAME])
        return [pid for (pid,) in cursor.fetchall()]


def terminate(pids) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid) t", [pids])
        return cursor.fetchone()[0]


# --- 2. the database connection is dropped -----------------------------------------------------------


def test_a_killed_database_connection_is_replaced_and_a_cut_answer_leaves_nothing_behind(web_server, settings):
    base = web_server(workers=1)  # one process: its one persistent connection is the one killed
    survey = SurveyFactory()
    first, second = InvitationFactory(survey=survey), InvitationFactory(survey=survey)
    csrf = csrf_cookie(base, first)  # the web process now holds a connection (CONN_MAX_AGE)

    # Between requests: the idle connection is killed; the next request reconnects.
    (pid,) = web_backends()
    assert terminate([pid]) == 1
    assert wait_for(lambda: pid not in web_backends(), timeout=10)
    page = post_answer(base, first, csrf, score=9, reason="Fast")
    assert thanked(page) and THANKS in page.text
    assert Response.objects.get(invitation=first).score == 9
    assert web_backends() and pid not in web_backends()

    # During a request: the answer's transaction has inserted the response and waits (on a lock
    # this test holds on the history table) to write its history row; its connection is killed there.
    locker = psycopg.connect(
        host=settings.DATABASES["default"]["HOST"] or "127.0.0.1", port=settings.DATABASES["default"]["PORT"] or 5432,
        user=settings.DATABASES["default"]["USER"], dbname=settings.DATABASES["default"]["NAME"],
    )
    results = []
    poster = threading.Thread(target=lambda: results.append(post_answer(base, second, csrf, score=2, reason="Cut")))
    try:
        locker.execute("LOCK TABLE surveys_historicalresponse IN ACCESS EXCLUSIVE MODE")
        poster.start()
        assert wait_for(lambda: web_backends(waiting_on_lock=True), timeout=30), "the answer never reached the lock"
        assert terminate(web_backends(waiting_on_lock=True)) == 1
    finally:
        locker.rollback()  # at once: the error report of the cut request reads that table too
        locker.close()
        if poster.ident is not None:  # started
            poster.join(timeout=60)
    assert not poster.is_alive() and [r.status_code for r in results] == [500]

    assert not Response.objects.filter(invitation=second).exists()
    assert not Response.history.filter(invitation_id=second.pk).exists()
    second.refresh_from_db()
    assert (second.state, second.responded_at) == (InvitationState.SENT, None)

    # The customer tries again: the answer is stored whole.
    again = post_answer(base, second, csrf, score=2, reason="Cut")
    assert thanked(again) and THANKS in again.text
    response = Response.objects.get(invitation=second)
    assert (response.score, response.reason) == (2, "Cut")
    assert Response.history.filter(invitation_id=second.pk).count() == 1
    second.refresh_from_db()
    assert second.state == InvitationState.RESPONDED and second.responded_at == response.answered_at


# --- 3. 200 simultaneous answers over 100 tokens -------------------------------------------------------


def test_200_simultaneous_answers_over_100_tokens_store_one_response_each(web_server):
    base = web_server(workers=4)
    survey = SurveyFactory(name="Crowd")
    invitations = [InvitationFactory(survey=survey) for _ in range(100)]
    csrf = csrf_cookie(base, invitations[0])
    jobs = [(invitation, score) for invitation in invitations for score in (9, 10)]  # two posts per token
    barrier = threading.Barrier(len(jobs), timeout=60)
    outcomes: list = [None] * len(jobs)

    def post(index, invitation, score):
        try:
            barrier.wait()
            reply = post_answer(base, invitation, csrf, score=score, reason=f"said {score}")
            outcomes[index] = (reply.status_code, thanked(reply))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes[index] = (repr(exc), False)

    threads = [threading.Thread(target=post, args=(i, *job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 180
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "requests still running after 180 s"

    assert Counter(outcomes) == Counter({(200, True): 200})
    responses = list(Response.objects.all())
    assert len(responses) == 100
    assert {r.invitation_id for r in responses} == {i.pk for i in invitations}
    assert all(r.score in (9, 10) and r.reason == f"said {r.score}" for r in responses)
    # One created and one updated version per token: the second post edited the first one's answer.
    assert Counter(Response.history.values_list("history_type", flat=True)) == Counter({"+": 100, "~": 100})
    assert Invitation.objects.filter(survey=survey, state=InvitationState.RESPONDED).count() == 100
