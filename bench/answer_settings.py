"""Settings for bench/answer_load.py only: the project's settings plus a bench-only urlconf."""

from cxplatform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.answer_urls"
