"""End-to-end fixtures: the real server serving the built PWA, and Debian's Chromium driven by
Playwright in Pixel 7 emulation (touch, small viewport).

The built app (`pwa/dist`) must exist: `just test` builds it first. Without it these tests fail
rather than skip, so CI can never pass without having run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Playwright, sync_playwright

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "pwa" / "dist"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEVICE = "Pixel 7"
SERVER_START_TIMEOUT_S = 30
SERVER_STOP_TIMEOUT_S = 10
# Playwright's default is 30 s; the app answers in well under a second, so fail fast.
ACTION_TIMEOUT_MS = 10_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end tests in Chromium against the built PWA and the real server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url}/api/health within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}")


@contextmanager
def running_server(command: list[str], port: int, workdir: Path) -> Iterator[str]:
    """Run a server subprocess in `workdir` until the block ends; yields its URL once healthy."""
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_health(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def require_dist() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST} has no built PWA: run `npm run build` in pwa/ (or `just test`, which does) first", pytrace=False)


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """`model-studio serve` on a free local port, serving the built PWA at `/`.

    It runs in a temporary working directory, so whatever it writes there goes away afterwards.
    """
    require_dist()
    port = free_port()
    command = [str(Path(sys.executable).with_name("model-studio")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryDirectory(prefix="model-studio-e2e-") as workdir, running_server(command, port, Path(workdir)) as url:
        yield url


@pytest.fixture
def own_dist_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The real app serving a private copy of the built PWA, which the test may change (to ship
    a "new version"). `model-studio serve` always serves pwa/dist, so this runs the same app
    factory under uvicorn with the copy as its static directory."""
    require_dist()
    dist = tmp_path / "dist"
    shutil.copytree(DIST, dist)
    port = free_port()
    launch = (
        "import sys, uvicorn; from pathlib import Path; from model_studio.app import create_app; "
        "uvicorn.run(create_app(Path(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
    )
    with running_server([sys.executable, "-c", launch, str(dist), str(port)], port, tmp_path) as url:
        yield url, dist


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)", pytrace=False)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def phone(playwright: Playwright) -> dict[str, object]:
    """The Pixel 7 descriptor, without the key that only `launch`-less APIs reject."""
    descriptor = dict(playwright.devices[DEVICE])
    descriptor.pop("default_browser_type", None)
    return descriptor


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
