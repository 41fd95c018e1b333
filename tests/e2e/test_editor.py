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
# The canvas's share of the screen, at least.
MIN_CANVAS_SHARE = 0.7
# The grid blocks snap to, in canvas units (GRID_SIZE in the app).
GRID = 16


def viewport_zoom(page: Page) -> float:
    transform = page.locator(".react-flow__viewport").evaluate("el => getComputedStyle(el).transform")
    return float(transform.removeprefix("matrix(").split(",")[0])


def test_design_flow_on_a_phone(page: Page, cdp: CDPSession) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    expect_valid(page)
    expect(page.get_by_role("status", name="Model size")).to_contain_text("params")
    canvas = page.locator(".react-flow").bounding_box()
    viewport = page.viewport_size
    assert canvas is not None and viewport is not None
    assert canvas["width"] * canvas["height"] >= MIN_CANVAS_SHARE * viewport["width"] * viewport["height"]

    # Add a block from the palette, then wire it by tapping an output port and then the block.
    add_block(page, "Aux-loss head")
    aux = block(page, "aux_loss_head", "aux_loss_head")
    expect(aux).to_be_visible()
    # The new block lands at the centre of the view, which may leave the port to wire from off
    # screen (on a loaded machine the opening fit can still be animating): fit, as a user would.
    page.get_by_role("button", name="Fit design to screen").tap()
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


def node_position(page: Page, block_type: str, block_id: str) -> tuple[float, float]:
    """Where a block sits on the canvas, in canvas units, as React Flow places it."""
    transform = block(page, block_type, block_id).evaluate("el => el.style.transform")
    x, y = transform.removeprefix("translate(").removesuffix(")").split(",")
    return float(x.strip().removesuffix("px")), float(y.strip().removesuffix("px"))


def test_one_finger_drag_snaps_to_the_grid_and_undoes_in_one_step(page: Page, cdp: CDPSession) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    before = node_position(page, "dense", "hidden1")
    start = centre(block(page, "dense", "hidden1"))
    Finger(page, cdp).drag(start, Point(start.x + 123, start.y + 37))

    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_enabled()
    after = node_position(page, "dense", "hidden1")
    assert after != before
    assert after[0] % GRID == 0 and after[1] % GRID == 0, f"{after} is off the {GRID}-unit grid"

    page.get_by_role("button", name="Undo", exact=True).tap()
    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_disabled()
    assert node_position(page, "dense", "hidden1") == before


def test_deleting_a_block_takes_its_wires_and_undoes_in_one_step(page: Page) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    block(page, "embedding", "embed").tap()
    page.get_by_role("button", name="Delete selection").tap()
    expect(block(page, "embedding", "embed")).to_have_count(0)
    expect(page.get_by_role("group", name="Wire from board to embed")).to_have_count(0)
    expect(page.get_by_role("group", name="Wire from embed to hidden1")).to_have_count(0)
    expect_invalid(page, "hidden1")

    page.get_by_role("button", name="Undo", exact=True).tap()
    expect(block(page, "embedding", "embed")).to_be_visible()
    expect(page.get_by_role("group", name="Wire from board to embed")).to_have_count(1)
    expect(page.get_by_role("group", name="Wire from embed to hidden1")).to_have_count(1)
    expect_valid(page)
    expect(page.get_by_role("button", name="Undo", exact=True)).to_be_disabled()


def test_a_wire_can_be_tapped_and_deleted(page: Page) -> None:
    open_app(page)
    create_from_template(page, "Residual MLP")
    wire = page.get_by_role("group", name="Wire from trunk to branch")
    wire.tap()
    sheet = page.get_by_role("dialog", name="Wire")
    expect(sheet).to_contain_text("trunk → branch")
    sheet.get_by_role("button", name="Delete wire").tap()
    expect(wire).to_have_count(0)
    expect(block(page, "dense", "branch")).to_be_visible()
    expect_invalid(page, "branch")


def test_a_blocks_wires_can_be_deleted_from_its_sheet(page: Page) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    block(page, "dense", "hidden1").tap()
    sheet = page.get_by_role("dialog", name="Dense hidden1")
    sheet.get_by_role("button", name="Delete wire from hidden1 to hidden2").tap()
    expect(page.get_by_role("group", name="Wire from hidden1 to hidden2")).to_have_count(0)
    expect(page.get_by_role("group", name="Wire from embed to hidden1")).to_have_count(1)
    expect_invalid(page, "'hidden1' reaches no action_output")


def test_pinch_zooms_and_far_blocks_are_plain_rectangles(page: Page, cdp: CDPSession) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    canvas = centre(page.locator(".react-flow"))
    labels = page.locator(".block__label")
    expect(labels).to_have_count(5)
    zoom = viewport_zoom(page)

    Finger(page, cdp).pinch(canvas, from_spread=300, to_spread=60)
    expect(labels).to_have_count(0)
    assert viewport_zoom(page) < FAR_ZOOM < zoom
    expect(page.locator(".block--far")).to_have_count(5)
    expect(block(page, "dense", "hidden1")).to_be_visible()

    Finger(page, cdp).pinch(canvas, from_spread=60, to_spread=300)
    expect(labels).to_have_count(5)
    assert viewport_zoom(page) == pytest.approx(zoom, rel=0.05)


def test_tapping_an_error_selects_and_centres_its_block(page: Page) -> None:
    open_app(page)
    create_from_template(page, "Deep, checkpointed")
    add_block(page, "Dense")
    expect_invalid(page, "dense")
    page.get_by_role("button", name="Fit design to screen").tap()
    banner(page).get_by_role("button", name=re.compile("^Show dense: ")).first.tap()

    expect(page.get_by_role("dialog", name="Dense dense")).to_be_visible()
    canvas = page.locator(".react-flow").bounding_box()
    assert canvas is not None
    shown = centre(block(page, "dense", "dense"))
    assert shown.x == pytest.approx(canvas["x"] + canvas["width"] / 2, abs=2)
    assert shown.y == pytest.approx(canvas["y"] + canvas["height"] / 2, abs=2)
