"""Installed-app behaviour: works offline after the first visit, and Chromium finds it installable."""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from .app import add_block, block, create_from_template, expect_valid, open_app
from .conftest import ACTION_TIMEOUT_MS
from .harness import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Long enough for a service worker that skipped waiting on its own to have taken over.
UNPROMPTED_UPDATE_WAIT_MS = 1000


def wait_for_service_worker(page: Page) -> None:
    """Until the service worker controls the page, so the app shell is cached."""
    page.evaluate("() => navigator.serviceWorker.ready")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def test_the_app_opens_and_edits_offline_after_the_first_visit(context: BrowserContext, page: Page) -> None:
    open_app(page)
    create_from_template(page, "Small transformer")
    # A first visit installs the worker; a reload puts the page under its control.
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    wait_for_service_worker(page)

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("button", name="Design details: Small transformer")).to_be_visible()
    expect(block(page, "transformer_layer", "layer1")).to_be_visible()
    expect_valid(page)  # the validation worker runs offline too

    add_block(page, "Layer norm")
    expect(block(page, "layer_norm", "layer_norm")).to_be_visible()
    expect(page.get_by_text("Saved on this device")).to_be_visible()

    page.reload()
    expect(block(page, "layer_norm", "layer_norm")).to_be_visible()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR comes first
    return width, height


def test_manifest_and_icons_are_valid(page: Page, base_url: str) -> None:
    page.goto("/")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href
    response = page.request.get(f"{base_url}/{href.lstrip('/')}")
    assert response.ok
    manifest = json.loads(response.body())
    assert manifest["name"] == "Model Studio"
    assert manifest["short_name"]
    assert manifest["id"] and manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")

    sizes = set()
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        image = page.request.get(f"{base_url}/{icon['src'].lstrip('/')}")
        assert image.ok and image.headers["content-type"] == "image/png"
        width, height = png_size(image.body())
        assert f"{width}x{height}" == icon["sizes"]
        sizes.add((width, icon.get("purpose", "any")))
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes


def test_chromium_finds_the_app_installable(playwright: Playwright, phone: dict[str, object], base_url: str) -> None:
    # Installability needs a non-incognito profile: an ordinary context reports "in-incognito".
    with tempfile.TemporaryDirectory(prefix="model-studio-profile-") as profile:
        context = playwright.chromium.launch_persistent_context(
            Path(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, base_url=base_url, **phone
        )
        try:
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            open_app(page)
            page.evaluate("() => navigator.serviceWorker.ready")
            cdp = context.new_cdp_session(page)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
            assert errors == []
        finally:
            context.close()


def test_an_update_waits_for_the_user_and_keeps_unsaved_edits(
    browser: Browser, phone: dict[str, object], own_dist_url: tuple[str, Path]
) -> None:
    url, dist = own_dist_url
    context = browser.new_context(**phone, base_url=url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        open_app(page)
        create_from_template(page, "Tiny dense")
        page.evaluate("() => navigator.serviceWorker.ready")
        page.reload()
        wait_for_service_worker(page)

        # Ship a new version: any change to the service worker script is one.
        with (dist / "sw.js").open("a") as worker:
            worker.write("\n// the next version\n")
        page.evaluate("() => navigator.serviceWorker.getRegistration().then((registration) => registration.update())")
        prompt = page.get_by_role("alertdialog", name="Update available")
        expect(prompt).to_be_visible()

        # The waiting version does not take over (and reload the page) by itself, even across an edit.
        page.evaluate("() => { window.sameDocument = true; }")
        add_block(page, "Layer norm")
        page.wait_for_timeout(UNPROMPTED_UPDATE_WAIT_MS)
        assert page.evaluate("() => window.sameDocument === true")

        # Update saves the edit, then reloads into the new version.
        with page.expect_event("load"):
            prompt.get_by_role("button", name="Update").tap()
        assert page.evaluate("() => window.sameDocument === undefined")
        expect(block(page, "layer_norm", "layer_norm")).to_be_visible()
        expect(page.get_by_role("alertdialog", name="Update available")).to_have_count(0)
    finally:
        context.close()
