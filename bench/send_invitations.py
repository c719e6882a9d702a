"""Benchmark: 10,000 survey invitations through the Celery path against the SMTP floor.

Side by side in one run, to one local aiosmtpd sink (its own process, counting only):
  1. the floor: a plain loop sending the same 10,000 already rendered messages over one SMTP
     connection, one message per SMTP transaction, as the sender does;
  2. the Celery path: one `celery worker --concurrency N` (the Procfile's, N = --parallel, default 2)
     on Redis, PostgreSQL, SURVEY_SEND_RATE_PER_SECOND=0, SURVEY_SEND_PARALLEL=N, from
     `enqueue_senders()` (what a launch does) until every invitation is SENT in the database (render,
     claim, send, mark sent, one commit per message, each shard's batches chaining themselves).
     `--parallel 1` gives one sender, the single-process comparison.

    python bench/send_invitations.py [--count 10000] [--parallel 2]

Needs PostgreSQL and Redis: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/cx_bench_send,
dropped and recreated, dropped again at the end), CELERY_BROKER_URL (default redis://127.0.0.1:6379/6),
REDIS_URL (default redis://127.0.0.1:6379/7).
"""

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV_DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/cx_bench_send",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6",
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-" + os.urandom(16).hex(),
    "SURVEY_SEND_RATE_PER_SECOND": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "127.0.0.1",
}


# --- The sink: its own process, so it does not share the GIL with the floor's client -------------


def run_sink(port: int, counter, ready) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Database --------------------------------------------------------------------------------------


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_invitations(count: int):
    """`count` customers and one launch: `count` queued invitations (the enqueued task is purged)."""
    from accounting.models import Customer
    from cxplatform.celery import app
    from surveys.launch import survey_launch
    from surveys.models import Survey

    Customer.objects.bulk_create(
        [Customer(external_id=f"B{n:06d}", name=f"Customer {n}", email=f"b{n}@example.com") for n in range(count)],
        batch_size=2000,
    )
    launch = survey_launch(survey=Survey.objects.create(name="Bench"))
    app.control.purge()  # the launch's send task: we start the clock ourselves
    return launch


# --- The two runs ------------------------------------------------------------------------------------


def floor(launch, counter) -> float:
    from django.core.mail import get_connection

    from surveys.emails import invitation_message

    messages = [invitation_message(i) for i in launch.invitations.select_related("survey", "customer")]
    before = counter.value
    connection = get_connection()
    started = time.perf_counter()
    connection.open()
    for message in messages:
        connection.send_messages([message])
    connection.close()
    elapsed = time.perf_counter() - started
    assert counter.value - before == len(messages), "the sink missed messages"
    return elapsed


def commit_latency_ms(rounds: int = 200) -> float:
    """One durable single-row commit: the Celery path pays one per message (the at-most-once record)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_commit (id int PRIMARY KEY, v int)")
        cursor.execute("INSERT INTO bench_commit VALUES (1, 0)")
        started = time.perf_counter()
        for n in range(rounds):
            cursor.execute("UPDATE bench_commit SET v = %s WHERE id = 1", [n])
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_commit")
    return elapsed / rounds * 1000


def start_worker(env: dict, log_path: Path, parallel: int) -> subprocess.Popen:
    log = log_path.open("w")
    pool = ["--pool=solo"] if parallel == 1 else ["--pool=prefork", f"--concurrency={parallel}"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cxplatform", "worker", *pool, "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(log_path.read_text()[-2000:])
        if "ready." in log_path.read_text():
            return worker
        time.sleep(0.2)
    worker.kill()  # never leave a worker behind: it would steal the next run's tasks
    raise RuntimeError("worker not ready: " + log_path.read_text()[-2000:])


def celery_path(count: int, env: dict, parallel: int) -> float:
    from django.db.models import Max
    from django.utils import timezone

    from surveys.models import Invitation, InvitationState
    from surveys.tasks import enqueue_senders

    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        worker = start_worker({**env, "SURVEY_SEND_PARALLEL": str(parallel)}, log_path, parallel)
        try:
            started = timezone.now()
            enqueue_senders()
            # Poll slowly (the poller shares the CPUs); the clock stops at the last sent_at.
            while Invitation.objects.filter(state=InvitationState.SENT).count() < count:
                if worker.poll() is not None:
                    raise RuntimeError(log_path.read_text()[-2000:])
                time.sleep(0.5)
            finished = Invitation.objects.aggregate(last=Max("sent_at"))["last"]
            return (finished - started).total_seconds()
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=2, help="sending shards and worker processes")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally blocks: stop the worker
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    port = free_port()
    os.environ["EMAIL_PORT"] = str(port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    os.environ["SURVEY_SEND_PARALLEL"] = str(args.parallel)

    counter, ready = multiprocessing.Value("l", 0), multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(10)
    recreate_database(os.environ["DATABASE_URL"])
    try:
        setup_django()
        launch = make_invitations(args.count)
        floor_seconds = floor(launch, counter)
        celery_seconds = celery_path(args.count, dict(os.environ), args.parallel)
        commit_ms = commit_latency_ms()
        assert counter.value == 2 * args.count, f"sink counted {counter.value}, expected {2 * args.count}"
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(os.environ["DATABASE_URL"], drop_only=True)
        sink.terminate()
    floor_rate, celery_rate = args.count / floor_seconds, args.count / celery_seconds
    print(f"messages: {args.count}")
    print(f"floor  (plain loop, pre-rendered, one SMTP connection): {floor_seconds:7.2f} s  {floor_rate:8.0f} msg/s")
    print(f"celery (worker on Redis, PostgreSQL, claim+send+mark):  {celery_seconds:7.2f} s  {celery_rate:8.0f} msg/s")
    print(f"ratio celery/floor: {celery_rate / floor_rate:.2f} (target >= 0.50)")
    print(f"PostgreSQL durable commit: {commit_ms:.2f} ms (the Celery path commits once per message)")


if __name__ == "__main__":
    main()
