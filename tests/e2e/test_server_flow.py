"""The seed's Definition of Done on a phone, against the real server: pair, design from the MoE
template, compile, train with live charts and the heat map, stop, export `.onnx` checked on the
phone, and the same file checked again in Python's onnxruntime. Plus what sync promises: edits
made offline arrive in order, and two phones editing one design get a conflict, not a lost write."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .app import create_from_template, expect_valid
from .conftest import require_dist
from .harness import TOKEN, running_server

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 120_000  # the MoE template's first updates take seconds each on two cores
EXPORT_TIMEOUT_MS = 60_000
MIN_UPDATES = 3


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server of the test's own, so the test can look into its data directory."""
    require_dist()
    with running_server(tmp_path) as url:
        yield url, tmp_path / "data"


def api(url: str, path: str, body: object | None = None, method: str | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def pair(page: Page, url: str) -> None:
    page.goto(f"{url}/#pair={TOKEN}")
    expect(page.get_by_role("dialog", name="Designs")).to_be_visible()
    assert "pair=" not in page.url, "the token must leave the address bar"


def open_run_sheet(page: Page, tab: str) -> None:
    sheet = page.get_by_role("dialog", name="Run on the server")
    if not sheet.is_visible():
        page.get_by_role("button", name="Run on the server").tap()
    sheet.get_by_role("tab", name=tab, exact=True).tap()


def current_design_id(data_dir: Path) -> str:
    [generated] = (data_dir / "generated").glob("*.py")
    return generated.stem


def test_definition_of_done_on_a_phone(context: BrowserContext, server: tuple[str, Path], tmp_path: Path) -> None:
    url, data_dir = server
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    pair(page, url)
    create_from_template(page, "MoE with router")
    expect_valid(page)
    local_count = page.locator("output.stats").inner_text().split(" params")[0]

    # Compile: the server wrote generated/<id>.py, and its count is the phone's estimate.
    open_run_sheet(page, "Compile")
    page.get_by_role("button", name="Compile", exact=True).tap()
    expect(page.get_by_test_id("param-count")).to_contain_text(local_count, timeout=30_000)
    design_id = current_design_id(data_dir)
    assert "class GeneratedModel" in (data_dir / "generated" / f"{design_id}.py").read_text()
    expect(page.get_by_role("region", name="Generated source")).to_contain_text("class GeneratedModel")

    # Train: updates stream in with expert usage; the chart draws and the MoE block is coloured.
    open_run_sheet(page, "Train")
    page.get_by_text("1 min", exact=True).tap()
    page.get_by_role("button", name="Start training").tap()
    status = page.get_by_test_id("run-status")
    expect(status).to_have_attribute("data-events", re.compile(rf"^([{MIN_UPDATES}-9]|\d\d+)$"), timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_role("img", name="Score chart").locator("canvas").first).to_be_visible()
    heat = page.get_by_test_id("expert-heat").first
    expect(heat).to_be_visible()
    colours = heat.locator(".block__heat-cell").evaluate_all("cells => cells.map(c => getComputedStyle(c).backgroundColor)")
    assert len(colours) >= 2 and all(colour not in ("", "rgba(0, 0, 0, 0)") for colour in colours)
    run_id = status.locator(".run-status-line__id").inner_text()
    runs = api(url, f"/api/designs/{design_id}/runs")["runs"]
    assert runs[0]["id"] == run_id and runs[0]["last_seq"] >= MIN_UPDATES

    # Stop: the run checkpoints and ends.
    page.get_by_role("button", name="Stop", exact=True).tap()
    expect(status).to_contain_text("stopped", timeout=30_000)
    assert api(url, f"/api/runs/{run_id}")["has_checkpoint"] is True

    # Export .onnx: the phone checks it in onnxruntime-web against the server's answer.
    open_run_sheet(page, "Export")
    with page.expect_download(timeout=EXPORT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name=re.compile(r"^\.onnx")).tap()
    onnx_path = tmp_path / "model.onnx"
    download_info.value.save_as(onnx_path)
    check = page.get_by_test_id("onnx-check")
    expect(check).to_have_attribute("data-state", "ok", timeout=EXPORT_TIMEOUT_MS)
    expect(check).to_contain_text("matches the server")
    assert float(check.get_attribute("data-max-diff")) <= 1e-4

    # The same file in Python's onnxruntime gives the server model's answer on the same boards.
    generator = np.random.default_rng(7)
    boards = generator.integers(0, 12, size=(8, 16))
    masks = generator.random((8, 4)) < 0.75
    masks[:, 0] = True
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    logits, values = session.run(["logits", "value"], {"board": boards.astype(np.int64), "action_mask": masks})
    answer = api(url, f"/api/designs/{design_id}/predict", {"boards": boards.tolist(), "masks": masks.tolist()})
    assert np.abs(np.array(answer["logits"])[masks] - logits[masks]).max() <= 1e-4
    assert np.abs(np.array(answer["values"]) - values).max() <= 1e-4
    assert errors == [], errors


def rename(page: Page, name: str) -> None:
    page.get_by_role("button", name=re.compile("^Design details")).tap()
    field = page.get_by_role("dialog", name="Design details").get_by_label("Name")
    field.fill(name)
    field.press("Enter")
    page.get_by_role("button", name="Close Design details").tap()
    expect(page.get_by_role("button", name=f"Design details: {name}")).to_be_visible()
    expect(page.get_by_text("Saved on this device")).to_be_visible()


def sync_all(page: Page) -> None:
    open_run_sheet(page, "Server")
    page.get_by_role("button", name="Sync all designs").tap()


def wait_for(condition, page: Page, timeout_ms: int = 30_000) -> None:
    for _ in range(timeout_ms // 250):
        if condition():
            return
        page.wait_for_timeout(250)
    raise AssertionError("timed out")


def test_edits_made_offline_reach_the_server_in_order(context: BrowserContext, server: tuple[str, Path]) -> None:
    url, _ = server
    page = context.new_page()
    pair(page, url)
    create_from_template(page, "Tiny dense")
    sync_all(page)
    wait_for(lambda: len(api(url, "/api/designs")["designs"]) == 1, page)
    [summary] = api(url, "/api/designs")["designs"]
    page.get_by_role("button", name="Close Run on the server").tap()

    context.set_offline(True)
    rename(page, "Offline one")
    sync_all(page)  # offline: it waits in the outbox
    expect(page.get_by_test_id("server-reach")).to_contain_text("can't be reached", timeout=15_000)
    page.get_by_role("button", name="Close Run on the server").tap()
    rename(page, "Offline two")
    sync_all(page)
    context.set_offline(False)

    # Back online, the outbox drains by itself: the latest edit arrives, in one write per design.
    wait_for(lambda: api(url, f"/api/designs/{summary['id']}")["design"]["name"] == "Offline two", page)
    assert api(url, f"/api/designs/{summary['id']}")["version"] == summary["version"] + 1


def test_two_phones_editing_one_design_get_a_conflict_not_a_lost_write(browser, phone, server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    first, second = browser.new_context(**phone, base_url=url), browser.new_context(**phone, base_url=url)
    try:
        a, b = first.new_page(), second.new_page()
        pair(a, url)
        create_from_template(a, "Tiny dense")
        sync_all(a)
        wait_for(lambda: len(api(url, "/api/designs")["designs"]) == 1, a)
        [summary] = api(url, "/api/designs")["designs"]

        # Phone B gets the same design (as a file from phone A), and both change it.
        shared = tmp_path / "shared.json"
        shared.write_text(json.dumps(api(url, f"/api/designs/{summary['id']}")["design"]))
        pair(b, url)
        with b.expect_file_chooser() as chooser:
            b.get_by_role("dialog", name="Designs").get_by_role("button", name="Import .json").tap()
        chooser.value.set_files(shared)
        expect(b.get_by_role("button", name="Design details: Tiny dense")).to_be_visible()
        a.get_by_role("button", name="Close Run on the server").tap()
        rename(a, "From phone A")
        sync_all(a)
        wait_for(lambda: api(url, f"/api/designs/{summary['id']}")["design"]["name"] == "From phone A", a)
        rename(b, "From phone B")

        sync_all(b)  # B's change meets A's on the server: B is asked, nothing is overwritten
        conflict = b.get_by_role("dialog", name="Changed in two places")
        expect(conflict).to_be_visible(timeout=15_000)
        assert api(url, f"/api/designs/{summary['id']}")["design"]["name"] == "From phone A"
        conflict.get_by_role("button", name="Keep both").tap()
        expect(conflict).to_be_hidden()
        b.get_by_role("button", name="Designs", exact=True).tap()
        designs = b.get_by_role("dialog", name="Designs")
        expect(designs).to_contain_text("From phone A")
        expect(designs).to_contain_text("From phone B")
        assert api(url, f"/api/designs/{summary['id']}")["design"]["name"] == "From phone A"
    finally:
        first.close()
        second.close()


def test_a_cut_stream_resumes_with_no_gap_and_no_duplicate(context: BrowserContext, server: tuple[str, Path]) -> None:
    url, _ = server
    page = context.new_page()
    pair(page, url)
    create_from_template(page, "Tiny dense")
    open_run_sheet(page, "Train")
    page.get_by_text("1 min", exact=True).tap()
    page.get_by_role("button", name="Start training").tap()
    status = page.get_by_test_id("run-status")
    expect(status).to_have_attribute("data-events", re.compile(r"^([3-9]|\d\d+)$"), timeout=TRAINING_TIMEOUT_MS)
    run_id = status.locator(".run-status-line__id").inner_text()

    context.set_offline(True)  # the phone drops off the network while the run trains on
    page.wait_for_timeout(3_000)
    context.set_offline(False)
    seen_offline = api(url, f"/api/runs/{run_id}")["last_seq"]
    expect(status).to_have_attribute("data-events", re.compile(r"^\d+$"))
    wait_for(lambda: int(status.get_attribute("data-events")) > seen_offline, page)

    page.get_by_role("button", name="Stop", exact=True).tap()
    expect(status).to_contain_text("stopped", timeout=30_000)
    # Every event the server stored, once: the chart's series has no gap and no duplicate.
    assert int(status.get_attribute("data-events")) == api(url, f"/api/runs/{run_id}")["last_seq"]
