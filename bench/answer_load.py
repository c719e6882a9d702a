"""Benchmark: the NPS answer POST under load, on gunicorn and PostgreSQL, beside a trivial view.

    python bench/answer_load.py [--invitations 20000] [--duration 20] [--workers 3] [--connections 16]

1. drops and recreates its own database (DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/cx_bench_answer), migrates, and creates N customers with
   one sent invitation each; their tokens go to bench/data/answer_tokens.txt (git-ignored);
2. starts gunicorn on 127.0.0.1 with DEBUG off (plain http: the secure-cookie and SSL-redirect
   settings are switched off, the public rate limit is set out of reach);
3. drives `wrk` for --duration seconds at each of: GET /bench/trivial (the trivial view, in the
   bench-only urlconf bench/answer_urls.py: the middleware stack and one `SELECT 1`; /healthz
   also checks the broker now), GET of the answer page, and POST /s/<token>/ with a different token
   per request, a random score and a reason; in --rounds alternating slices, so that load from
   elsewhere on the machine weighs on all three alike. CSRF: one csrftoken cookie and form
   token, fetched once, serve every POST (Django compares the cookie with the form field);
4. prints requests/s for each and the ratios (target >= 0.6), then checks the database: every
   token thanked (a 303 to its thank-you page, which wrk does not follow: the POST is measured
   alone) has exactly one response, and no other invitation has one.

BENCH_ASYNC_COMMIT=1 turns synchronous_commit off for the benchmark database only, to show the
share of the WAL flush in the POST (a diagnostic: answers must stay durable in production).

Needs `wrk` (apt-get install -y wrk), PostgreSQL and Redis (the Celery broker for detractor
alerts and the shared rate-limit cache, as in production; its database is flushed afterwards).
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_answer"

# Each wrk thread walks its own slice of the tokens, so no two requests share one. A stored answer
# is a 303 to its thank-you page, whose Location tells us which token it thanked.
LUA = r"""
-- Globals on purpose: wrk's thread:set and thread:get only see globals.
tokens, n, threads, id, step = {}, 0, {}, 0, 1
next_index, ok, other, ok_file = 0, 0, 0, nil

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do n = n + 1; tokens[n] = line end
  step = tonumber(args[2])
  csrf_cookie, csrf_field = args[3], args[4]
  next_index = tonumber(args[6]) + id
  ok_file = io.open(args[5] .. "." .. id, "w")
  math.randomseed(os.time() + id)
end

function request()
  local token = tokens[(next_index % n) + 1]
  next_index = next_index + step
  local score = math.random(0, 10)
  local body = "csrfmiddlewaretoken=" .. csrf_field .. "&score=" .. score ..
    "&reason=Benchmark+reason+" .. score .. "&suggestion="
  return wrk.format("POST", "/s/" .. token .. "/", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. csrf_cookie,
  }, body)
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"]
  if status == 303 and location then
    ok = ok + 1
    local token = location:match('/s/([%w_-]+)/%?thanks=')
    ok_file:write((token or "?") .. "\n")
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    other_total = other_total + thread:get("other")
  end
  io.write(string.format("LUA-RESULT %d %d\n", ok_total, other_total))
end
"""


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def bench_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "CX_TESTING": "0",
        "SECRET_KEY": "bench-only-secret-not-for-production-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SURVEY_PUBLIC_RATE": "100000000/s",
        "CELERY_BROKER_URL": env.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4"),
        "REDIS_URL": env.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/5"),
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "bench.answer_settings",  # adds the trivial view's URL
    })
    return env


def setup_database(database_url: str, invitations: int, env: dict) -> Path:
    name = database_url.rsplit("/", 1)[1]
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    manage = [PYTHON, str(ROOT / "manage.py")]
    if os.environ.get("BENCH_ASYNC_COMMIT"):
        # Diagnostic only: how much of the POST is the WAL flush at commit. Never in production.
        psql(f"ALTER DATABASE {name} SET synchronous_commit = off")
    subprocess.run([*manage, "migrate", "-v", "0"], check=True, env=env, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    DATA.mkdir(parents=True, exist_ok=True)
    tokens = DATA / "answer_tokens.txt"
    subprocess.run([PYTHON, __file__, "--make-invitations", str(invitations), str(tokens)],
                   check=True, env=env, cwd=ROOT)
    return tokens


def make_invitations(count: int, tokens_path: str) -> None:
    """Child process: N customers, one survey, one sent invitation each; write their tokens."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from accounting.models import Customer
    from surveys.models import Invitation, InvitationState, Survey, hash_token, new_token_salt, token_from_salt

    survey = Survey.objects.create(name="Bench relationship survey", status="active")
    customers = Customer.objects.bulk_create(
        [Customer(external_id=f"B{n:07d}", name=f"Bench {n}", email=f"b{n}@example.com",
                  segment=("SMB", "Enterprise")[n % 2], language=("en", "fr", "de")[n % 3])
         for n in range(count)],
        batch_size=5000,
    )
    now = timezone.now()
    rows, tokens = [], []
    for customer in customers:
        salt = new_token_salt()
        token = token_from_salt(salt)
        tokens.append(token)
        rows.append(Invitation(
            survey=survey, customer=customer, email=customer.email, language=customer.language,
            segment=customer.segment, token_salt=salt, token_hash=hash_token(token), state=InvitationState.SENT,
            sent_at=now, expires_at=now + timedelta(days=30),
        ))
    Invitation.objects.bulk_create(rows, batch_size=5000)
    Path(tokens_path).write_text("\n".join(tokens) + "\n")


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [GUNICORN, "cxplatform.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
         "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/trivial", timeout=2).read()  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def csrf_pair(base: str, token: str) -> tuple[str, str]:
    """One GET of an answer page (which writes nothing) gives the cookie and the form token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/s/{token}/", timeout=10).read().decode()
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    return cookie, field


def wrk(args: list[str]) -> str:
    result = subprocess.run(["wrk", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"wrk failed: {result.stderr or result.stdout}")
    return result.stdout


def wrk_totals(output: str) -> tuple[int, float]:
    """(requests, seconds) from a wrk summary line such as "6519 requests in 10.01s"."""
    count, amount, unit = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", output).groups()
    return int(count), float(amount) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def run_load(base: str, tokens: Path, opts) -> dict:
    """Alternate short slices of the three loads, so a busy neighbour slows all of them alike."""
    slice_seconds = max(1, opts.duration // opts.rounds)
    common = ["-t", str(opts.threads), "-c", str(opts.connections), "-d", f"{slice_seconds}s", "--latency"]
    token_list = tokens.read_text().split()
    cookie, field = csrf_pair(base, token_list[0])
    workdir = Path(tempfile.mkdtemp(prefix="cx_answer_load_"))
    script = workdir / "answer.lua"
    script.write_text(LUA)
    outputs = {"trivial": [], "page": [], "answer": []}
    for round_number in range(opts.rounds):
        outputs["trivial"].append(wrk([*common, f"{base}/bench/trivial"]))
        # The same answer page, read only (a GET writes nothing, so one token serves).
        outputs["page"].append(wrk([*common, f"{base}/s/{token_list[0]}/?score=9"]))
        offset = 1 + round_number * (len(token_list) // opts.rounds)  # each round its own tokens
        outputs["answer"].append(wrk([*common, "-s", str(script), f"{base}/", "--", str(tokens),
                                      str(opts.threads), cookie, field, str(workdir / f"ok{round_number}"),
                                      str(offset)]))
    ok_tokens = []
    for part in workdir.glob("ok*.*"):
        ok_tokens += [line for line in part.read_text().splitlines() if line]
    shutil.rmtree(workdir)
    lua = [tuple(map(int, re.search(r"LUA-RESULT (\d+) (\d+)", out).groups())) for out in outputs["answer"]]
    return {**outputs, "ok_tokens": ok_tokens, "ok": sum(o for o, _ in lua), "other": sum(x for _, x in lua)}


def rate(outputs: list[str]) -> float:
    totals = [wrk_totals(out) for out in outputs]
    return sum(count for count, _ in totals) / sum(seconds for _, seconds in totals)


def verify(ok_tokens: list[str], env: dict) -> dict:
    """Child process: compare the tokens that were thanked with the responses stored."""
    payload = json.dumps(ok_tokens)
    out = subprocess.run([PYTHON, __file__, "--verify"], input=payload, capture_output=True, text=True,
                         check=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def verify_child() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Count

    from surveys.models import Invitation, Response, hash_token

    ok_tokens = json.loads(sys.stdin.read())
    thanked = {hash_token(token) for token in ok_tokens}
    answered = set(Invitation.objects.filter(response__isnull=False).values_list("token_hash", flat=True))
    doubled = Response.objects.values("invitation").annotate(n=Count("id")).filter(n__gt=1).count()
    history = Response.history.count()
    print(json.dumps({
        "thanked_requests": len(ok_tokens),
        "thanked_tokens": len(thanked),
        "responses": Response.objects.count(),
        "history_records": history,
        "lost": len(thanked - answered),
        "stored_without_thanks": len(answered - thanked),
        "doubled": doubled,
        "unparsed": ok_tokens.count("?"),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per load, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    env = bench_env(opts.database_url)
    started = time.monotonic()
    tokens = setup_database(opts.database_url, opts.invitations, env)
    print(f"setup: {opts.invitations} invitations in {time.monotonic() - started:.1f} s")
    server = start_gunicorn(opts.port, opts.workers, env)
    try:
        result = run_load(f"http://127.0.0.1:{opts.port}", tokens, opts)
    finally:
        stop(server)
        subprocess.run(["redis-cli", "-u", env["CELERY_BROKER_URL"], "flushdb"], capture_output=True)
    report(result, verify(result["ok_tokens"], env), opts)


def report(result: dict, check: dict, opts) -> None:
    trivial, page, answer = rate(result["trivial"]), rate(result["page"]), rate(result["answer"])
    print("--- last slice of each load, as wrk printed it")
    print("GET /bench/trivial (trivial view)\n" + result["trivial"][-1])
    print("GET /s/<token>/?score=9 (the answer page, read only)\n" + result["page"][-1])
    print("POST /s/<token>/ (answer)\n" + result["answer"][-1])
    print(f"gunicorn workers={opts.workers}, wrk threads={opts.threads} connections={opts.connections}, "
          f"{opts.rounds} rounds of {max(1, opts.duration // opts.rounds)} s per load")
    print(f"trivial view:  {trivial:9.1f} requests/s")
    print(f"answer GET:    {page:9.1f} requests/s")
    print(f"answer POST:   {answer:9.1f} requests/s   (303 thanked: {result['ok']}, other statuses: {result['other']})")
    print(f"ratio answer POST / trivial view: {answer / trivial:5.2f}   (target >= 0.6)")
    print(f"ratio answer POST / answer GET:   {answer / page:5.2f}")
    print("database check: " + json.dumps(check))
    # Requests in flight when wrk stops are answered by the server but never counted by wrk.
    in_flight = opts.connections * opts.rounds
    good = (check["lost"] == 0 and check["doubled"] == 0 and check["unparsed"] == 0
            and check["thanked_requests"] == check["thanked_tokens"]
            and check["stored_without_thanks"] <= in_flight)
    print("integrity: " + ("OK: exactly one response per thanked token, none lost, none doubled "
                           f"({check['stored_without_thanks']} more were in flight when wrk stopped)"
                           if good else "MISMATCH"))
    if not good:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--make-invitations":
        make_invitations(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--verify":
        verify_child()
    else:
        main()
