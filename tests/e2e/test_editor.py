"""The designer on a phone: template, palette, tap-to-connect, props, validation banner,
undo/redo, long-press duplicate, drag, pinch zoom and delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import CDPSession, Page, expect

from .app import add_block, banner, block, create_from_template, expect_invalid, expect_valid, open_app, toast
from .touch import Finger, Point, centre

pytestmark = pytest.mark.e2e

# The app's long-press threshold is 500 ms; hold a little longer, as a thumb does.
LONG_PRESS_HOLD_MS = 700
# Zoom below which blocks draw as plain rectangles (FAR_ZOOM in the app).
FAR_ZOOM = 0.4


def viewport_zoom(page: Page) -> float:
    transform = page.locator(".react-flow__viewport").evaluate("el => getComputedStyle(el).transform")
    return float(transform.removeprefix("matrix(").split(",")[0])


def test_design_flow_on_a_phone(page: Page, cdp: CDPSession) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    expect_valid(page)
    expect(page.get_by_role("status", name="Model size")).to_contain_text("params")

    # Add a block from the palette, then wire it by tapping an output port and then the block.
    add_block(page, "Aux-loss head")
    aux = block(page, "aux_loss_head", "aux_loss_head")
    expect(aux).to_be_visible()
    page.get_by_role("button", name="Wire from hidden2").tap()
    aux.tap()
    expect(page.get_by_role("group", name="Wire from hidden2 to aux_loss_head")).to_have_count(1)
    expect_valid(page)

    # A connection that cannot work is refused as it is made, with the reason.
    page.get_by_role("button", name="Wire from hidden2").tap()
    block(page, "board_input", "board").tap()
    expect(toast(page)).to_contain_text("Board input takes no input.")
    expect(page.get_by_role("group", name="Wire from hidden2 to board")).to_have_count(0)

    # Select a block: its props sheet opens; an out-of-range value turns the banner red.
    block(page, "dense", "hidden1").tap()
    sheet = page.get_by_role("dialog", name="Dense hidden1")
    units = sheet.get_by_label("units", exact=True)
    expect(units).to_have_attribute("placeholder", "256")
    units.fill("0")
    units.press("Enter")
    expect_invalid(page, "hidden1")
    expect(block(page, "dense", "hidden1").locator(".block")).to_have_class(re.compile(r"\bblock--error\b"))

    # Reset to the default fixes it; undo brings the bad value back, redo fixes it again.
    sheet.get_by_role("button", name="Reset units to default").tap()
    expect_valid(page)
    page.get_by_role("button", name="Undo", exact=True).tap()
    expect_invalid(page, "hidden1")
    page.get_by_role("button", name="Redo", exact=True).tap()
    expect_valid(page)

    # Long-press duplicates, with a real touch sequence.
    finger = Finger(page, cdp)
    page.get_by_role("button", name="Close Dense hidden1").tap()
    page.get_by_role("button", name="Fit design to screen").tap()
    finger.long_press(centre(block(page, "dense", "hidden2")), LONG_PRESS_HOLD_MS)
    expect(block(page, "dense", "hidden2_2")).to_be_visible()
    expect(toast(page)).to_contain_text("Duplicated hidden2 as hidden2_2")
    page.get_by_role("button", name="Undo", exact=True).tap()
    expect(block(page, "dense", "hidden2_2")).to_have_count(0)
