"""run.py on the command line (SPEC §7: "exit code 0 on success, non-zero with a clear message on
error"). Nothing here installs into the project's .venv: a failing step runs a copy of run.py whose
.venv holds a stub python and is marked as installed."""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import run

ROOT = Path(__file__).resolve().parent.parent

# The stub python of a copy: logs its arguments; `manage.py <step>` exits with $FAIL_CODE when
# <step> is $FAIL_STEP, as runserver does when its port is taken.
STUB_PYTHON = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/../../calls.log"
echo "$2 $SITE_URL" >> "$(dirname "$0")/../../site_url.log"
if [ "$2" = "$FAIL_STEP" ]; then echo "Error: That port is already in use." >&2; exit "$FAIL_CODE"; fi
exit 0
"""


def run_py(*args, cwd=ROOT, **env):
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "run.py", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PORT": "", **env},  # PORT unset unless a test sets it
    )


@pytest.fixture
def copy(tmp_path):
    """run.py in an empty checkout whose .venv is the stub, its install stamp up to date."""
    shutil.copy(ROOT / "run.py", tmp_path / "run.py")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'stub'\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STUB_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    digest = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes()).hexdigest()
    (tmp_path / ".venv" / ".cx-installed").write_text(digest)
    return tmp_path


def calls(copy) -> list[str]:
    log = copy / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("asked", ["--help", "-h", "help"])
def test_the_usage_asked_for_exits_zero(asked):
    # It printed the usage and exited 2, the code of a usage error: `run.py --help && …` failed.
    done = run_py(asked)
    assert done.returncode == 0
    assert "run.py demo" in done.stdout and "PORT" in done.stdout
    assert done.stderr == ""


def test_an_unknown_command_is_named_on_stderr_with_the_usage():
    done = run_py("dmeo")
    assert done.returncode == 2
    assert "unknown command 'dmeo'" in done.stderr and "run.py demo" in done.stderr
    assert done.stdout == ""


def test_no_command_is_a_usage_error():
    done = run_py()
    assert done.returncode == 2 and "run.py demo" in done.stderr


def test_a_failed_step_ends_with_one_line_and_its_exit_code_not_a_traceback(copy):
    # Port taken: runserver said "That port is already in use" and run.py dumped a CalledProcessError.
    done = run_py("demo", cwd=copy, FAIL_STEP="runserver", FAIL_CODE="3", PORT="")

    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("run.py:")]
    assert len(ours) == 1
    assert "manage.py runserver 127.0.0.1:8000` failed with exit code 3" in ours[0]
    assert "PORT=8001 python3 run.py demo" in ours[0]


def test_a_failed_migrate_stops_the_demo_there(copy):
    # A bad .env value: migrate fails, and nothing after it runs.
    done = run_py("demo", cwd=copy, FAIL_STEP="migrate", FAIL_CODE="1")

    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "manage.py migrate --noinput` failed" in done.stderr
    assert [call.split()[1] for call in calls(copy)] == ["migrate"]


def test_the_demo_serves_on_the_port_given(copy):
    done = run_py("demo", cwd=copy, PORT="8123", FAIL_STEP="none")

    assert done.returncode == 0, done.stderr
    assert calls(copy)[-1] == "manage.py runserver 127.0.0.1:8123"


def test_the_demos_emailed_links_and_logins_point_at_the_port_given(copy):
    # They said http://127.0.0.1:8000 while the demo served on PORT.
    done = run_py("demo", cwd=copy, PORT="8123", FAIL_STEP="none", SITE_URL="")

    assert done.returncode == 0, done.stderr
    seen = (copy / "site_url.log").read_text().splitlines()[-3:]
    assert seen == [f"{step} http://127.0.0.1:8123" for step in ("migrate", "demo", "runserver")]


def test_a_site_url_set_is_kept_by_the_demo(copy):
    run_py("demo", cwd=copy, PORT="8123", FAIL_STEP="none", SITE_URL="https://cx.example.org")

    assert (copy / "site_url.log").read_text().splitlines()[-1] == "runserver https://cx.example.org"


def test_a_site_url_in_dotenv_is_left_for_the_settings_to_read(copy):
    (copy / ".env").write_text("DEBUG=1\nSITE_URL=http://192.168.1.5:8123\n")
    run_py("demo", cwd=copy, PORT="8123", FAIL_STEP="none", SITE_URL="")

    assert (copy / "site_url.log").read_text().splitlines()[-1].strip() == "runserver"  # not overridden


def test_the_default_port_sets_no_site_url(copy):
    run_py("demo", cwd=copy, FAIL_STEP="none", SITE_URL="")

    assert (copy / "site_url.log").read_text().splitlines()[-1].strip() == "runserver"


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_bad_port_is_refused_before_anything_runs(copy, port):
    done = run_py("demo", cwd=copy, PORT=port)

    assert done.returncode == 2 and "PORT must be a port number" in done.stderr
    assert calls(copy) == [] and not (copy / ".env").exists()


def test_demo_exits_with_the_failed_steps_code_when_called_in_process(tmp_path, monkeypatch, capsys):
    fake_python = tmp_path / "python"
    fake_python.write_text(
        '#!/bin/sh\ncase "$2" in runserver) echo "Error: That port is already in use." >&2; exit 1;; esac\nexit 0\n'
    )
    fake_python.chmod(fake_python.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "PY", fake_python)
    monkeypatch.setattr(run, "ensure_venv", lambda: None)
    monkeypatch.delenv("PORT", raising=False)

    with pytest.raises(SystemExit) as exited:  # a CalledProcessError escaped instead
        run.demo()

    assert exited.value.code == 1
    assert "python manage.py runserver 127.0.0.1:8000` failed" in capsys.readouterr().err
