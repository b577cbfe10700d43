"""A real browser (Debian's Chromium, driven by Playwright) against a real server process.

The server runs in its own process on the session's test database, like the Celery worker, so
what the browser sees is committed data and nothing is flushed after the tests.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import BASE_DIR

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = BASE_DIR / ".data" / "screenshots"


def accessibility_problems(page: object) -> list[str]:
    """The serious and critical violations axe-core (WCAG 2 A and AA rules, best practices) finds on the page as it
    is now: '<rule> (<impact>): <elements>' each. Run in the page through Playwright's own channel, which the
    Content-Security-Policy does not govern."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}) on {page.url}: " + "; ".join(n["html"][:160] for n in v["nodes"][:5])
            for v in found if v["impact"] in ("serious", "critical")]


def sign_in(page: object, base: str, email: str, password: str, *, lands_on: str) -> None:
    """Sign in through the real login form on ``base`` and wait for the page it leads to."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


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


def csp_violations_watch(page: object) -> list[str]:
    """Every Content-Security-Policy violation the page (any frame, any navigation) reports from now on.

    Two witnesses: the ``securitypolicyviolation`` event, from a script Playwright injects outside the
    page's policy, and Chromium's console message for what it refused.
    """
    violations: list[str] = []
    page.expose_function("__cspViolation", lambda text: violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation("
        "`${e.effectiveDirective} refused ${e.blockedURI || 'inline'} on ${e.documentURI}`));"
    )
    page.on("console", lambda message: "Content Security Policy" in message.text
            and violations.append(f"console: {message.text}"))
    return violations


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (no cookies) per test; a screenshot of the last page is kept. A test
    during which any page reported a Content-Security-Policy violation fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    violations = csp_violations_watch(page)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
