"""End-to-end fixtures: the real server serving the built PWA, and Debian's Chromium driven by
Playwright in Pixel 7 emulation (touch, small viewport).

The built app (`pwa/dist`) must exist: `just test` builds it first. Without it these tests fail
rather than skip, so CI can never pass without having run them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Playwright, sync_playwright

from .harness import CHROMIUM, CHROMIUM_ARGS, DIST, phone_descriptor, running_server

# Playwright's default is 30 s; the app answers in well under a second, so fail fast.
ACTION_TIMEOUT_MS = 10_000


def require_dist() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST} has no built PWA: run `npm run build` in pwa/ (or `just test`, which does) first", pytrace=False)


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """`model-studio serve` on a free local port, serving the built PWA at `/`.

    It runs in a temporary working directory, so whatever it writes there goes away afterwards.
    """
    require_dist()
    with tempfile.TemporaryDirectory(prefix="model-studio-e2e-") as workdir, running_server(Path(workdir)) as url:
        yield url


@pytest.fixture
def own_dist_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The real server serving a private copy of the built PWA, which the test may change (to
    ship a "new version")."""
    require_dist()
    dist = tmp_path / "dist"
    shutil.copytree(DIST, dist)
    with running_server(tmp_path, static_dir=dist) as url:
        yield url, dist


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)", pytrace=False)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def phone(playwright: Playwright) -> dict[str, object]:
    return phone_descriptor(playwright.devices)


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, phone: dict[str, object], base_url: str) -> Iterator[BrowserContext]:
    """A fresh phone profile per test: empty storage, no service worker yet."""
    context = browser.new_context(**phone, base_url=base_url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A tab in the phone profile. Uncaught page errors fail the test; a failed test leaves a screenshot."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if request.node.stash.get(CALL_FAILED, False):
        shot = tmp_path / "failure.png"
        page.screenshot(path=shot)
        print(f"screenshot of the failure: {shot}")
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def cdp(context: BrowserContext, page: Page) -> CDPSession:
    return context.new_cdp_session(page)
