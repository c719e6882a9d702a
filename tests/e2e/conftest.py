"""Browser tests in a real headless Chromium (Debian's package) driven by Playwright.

No browser is downloaded: Playwright's driver starts /usr/bin/chromium. Without it the tests skip
on a developer's machine, and fail where E2E_REQUIRED is set (CI installs chromium and sets it).
Screenshots of every step go to artifacts/e2e/ (git-ignored).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium_browser():
    if not Path(CHROMIUM).exists() or not _playwright_ok():
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(f"E2E_REQUIRED is set but no browser at {CHROMIUM}")
        pytest.skip(f"browser test: install Debian's chromium ({CHROMIUM} not found)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous and in order, so Django's async-safety check does not apply, for these tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _playwright_ok() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def reseeded():
    """Transactional tests start from truncated tables: put the migrations' seed rows back."""
    from tests.integration.conftest import _reseed_defaults

    _reseed_defaults()


@pytest.fixture
def shots(request):
    """`shots("name", page)` saves artifacts/e2e/<test>/<nn>-<name>.png."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def shoot(name: str, page) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
