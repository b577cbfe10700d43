"""A real browser (Debian's Chromium, driven by Playwright) against a real server process.

The server runs in its own process on the session's test database, like the Celery worker, so
what the browser sees is committed data and nothing is flushed after the tests.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import BASE_DIR, Cast, test_process_env

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = BASE_DIR / ".data" / "screenshots"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in(page: object, base: str, email: str, password: str, *, lands_on: str) -> None:
    """Sign in through the real login form on ``base`` and wait for the page it leads to."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


@pytest.fixture(scope="session")
def server_url(cast: Cast) -> Iterator[str]:
    """``http://{host}:PORT`` of a server process on the test database; format in a tenant host."""
    port = _free_port()
    env = test_process_env("test-server")
    log = open(BASE_DIR / ".data" / "test-server.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    health = urllib.request.Request(f"http://127.0.0.1:{port}/health/", headers={"Host": settings.APP_DOMAIN})
    deadline = time.monotonic() + 60
    up = False
    while not up and time.monotonic() < deadline and server.poll() is None:
        try:
            up = urllib.request.urlopen(health, timeout=2).status == 200  # noqa: S310 - loopback only
        except OSError:
            time.sleep(0.3)
    if not up:
        server.kill()
        server.wait()
        log.close()
        pytest.fail("the test server did not start; see .data/test-server.log")
    yield f"http://{{host}}:{port}"
    server.terminate()
    server.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse
    # database calls in the test process (the documented Playwright + Django set-up).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # While Playwright's event loop runs, Django keeps its connections in another context;
        # close those here, or the test database cannot be dropped at the end of the session.
        connections.close_all()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (no cookies) per test; a screenshot of the last page is kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
