"""`run.py serve` runs for real: never on the embedded demo's `.env` (DEBUG on, emails to files)."""

import os
import subprocess
import sys
from pathlib import Path

import run

ROOT = Path(__file__).resolve().parent.parent

# Counts the .env reads of the settings module, whatever is in the checkout's .env.
COUNT_DOTENV_READS = (
    "import environ\n"
    "reads = []\n"
    "environ.Env.read_env = classmethod(lambda cls, *args, **kwargs: reads.append(args))\n"
    "import cxplatform.settings\n"
    "print(len(reads))\n"
)


def dotenv_reads(**extra) -> int:
    env = {"PATH": os.environ["PATH"], "DEBUG": "1", **extra}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", COUNT_DOTENV_READS], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_the_settings_read_the_dotenv_unless_told_not_to():
    assert dotenv_reads() == 1
    assert dotenv_reads(READ_DOTENV="0") == 0


def test_serve_runs_on_the_environment_alone_with_debug_off_and_a_kept_secret(tmp_path, monkeypatch):
    # It wrote the demo's .env (DEBUG=1, file email backend, no pacing) and its processes read it:
    # invitations were counted as sent while written to tmp/mail/.
    monkeypatch.setattr(run, "ROOT", tmp_path)
    env = run.serve_environment({"PATH": "/usr/bin"})

    assert (env["READ_DOTENV"], env["DEBUG"]) == ("0", "0")
    assert not (tmp_path / ".env").exists()
    secret = tmp_path / "tmp" / "secret_key"
    assert env["SECRET_KEY"] == secret.read_text() and len(env["SECRET_KEY"]) >= 50
    assert secret.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert run.serve_environment({})["SECRET_KEY"] == env["SECRET_KEY"]  # the same after a restart
    secret.unlink()
    assert run.serve_environment({"SECRET_KEY": "from-the-environment"})["SECRET_KEY"] == "from-the-environment"
    assert not secret.exists()  # none made when the environment has one


def test_serve_starts_the_processes_without_the_checkouts_dotenv(tmp_path):
    """honcho reads `.env` by default and lets it win over the environment: the demo's DEBUG=1
    reached every process of `serve`."""
    (tmp_path / "Procfile").write_text(
        'show: python3 -c "import os; print(\'DEBUG=\' + os.environ.get(\'DEBUG\', \'unset\'))"\n'
    )
    (tmp_path / ".env").write_text("DEBUG=1\n")
    done = subprocess.run(  # noqa: S603 - our own interpreter and honcho
        [str(part) for part in run.honcho_start(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "DEBUG": "0"}, timeout=60, check=False,
    )
    assert "DEBUG=0" in done.stdout, done.stdout + done.stderr
