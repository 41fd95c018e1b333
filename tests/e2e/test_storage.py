"""Designs on the device: they survive reloads, can be renamed, duplicated, deleted, exported and
imported (refused when invalid, never overwriting), and a second tab stays in step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .app import add_block, block, create_from_template, open_app

pytestmark = pytest.mark.e2e


def designs_sheet(page: Page):
    sheet = page.get_by_role("dialog", name="Designs")
    if not sheet.is_visible():
        page.get_by_role("button", name="Designs", exact=True).tap()
    expect(sheet).to_be_visible()
    return sheet


def stored_names(page: Page) -> list[str]:
    sheet = designs_sheet(page)
    return sheet.locator(".design-row__name").all_inner_texts()


def import_file(page: Page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        designs_sheet(page).get_by_role("button", name="Import .json").tap()
    chooser.value.set_files(path)


def test_designs_survive_a_reload_and_can_be_renamed_duplicated_and_deleted(page: Page) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    add_block(page, "Layer norm")
    expect(page.get_by_text("Saved on this device")).to_be_visible()

    page.reload()
    expect(page.get_by_role("button", name="Design details: Tiny dense")).to_be_visible()
    expect(block(page, "layer_norm", "layer_norm")).to_be_visible()

    sheet = designs_sheet(page)
    expect(sheet).to_contain_text(re.compile(r"Stored on this device \(IndexedDB\), persistent: (yes|no)"))
    sheet.get_by_role("button", name="Rename Tiny dense").tap()
    sheet.get_by_label("New name for Tiny dense").fill("My MLP")
    sheet.get_by_role("button", name="Save").tap()
    expect(page.get_by_role("button", name="Design details: My MLP")).to_be_visible()

    sheet.get_by_role("button", name="Duplicate My MLP").tap()
    expect(sheet.get_by_role("button", name="Open My MLP (copy)")).to_be_visible()

    sheet.get_by_role("button", name="Delete My MLP", exact=True).tap()
    sheet.get_by_role("group", name="Delete My MLP?").get_by_role("button", name="Delete").tap()
    expect(sheet.get_by_role("button", name="Open My MLP", exact=True)).to_have_count(0)
    assert stored_names(page) == ["My MLP (copy)"]

    sheet.get_by_role("button", name="Open My MLP (copy)").tap()
    expect(block(page, "layer_norm", "layer_norm")).to_be_visible()


def test_export_then_import_adds_a_copy_and_overwrites_nothing(page: Page, tmp_path: Path) -> None:
    open_app(page)
    create_from_template(page, "Residual MLP")
    sheet = designs_sheet(page)
    with page.expect_download() as download:
        sheet.get_by_role("button", name="Export Residual MLP").tap()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    document = json.loads(exported.read_text())
    assert document["name"] == "Residual MLP"
    assert document["schemaVersion"] == 1
    assert [c["id"] for c in document["components"]][:2] == ["board", "embed"]

    # Importing it again must not replace the stored design: it arrives under a new id.
    import_file(page, exported)
    expect(page.get_by_role("status").filter(has_text="Imported as")).to_be_visible()
    assert stored_names(page) == ["Residual MLP", "Residual MLP"]
    ids = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("model-studio");
            open.onsuccess = () => {
                const keys = open.result.transaction("designs").objectStore("designs").getAllKeys();
                keys.onsuccess = () => resolve(keys.result);
            };
        })"""
    )
    assert len(ids) == 2 and document["id"] in ids


def test_a_file_that_fails_the_schema_is_refused_with_the_reason(page: Page, tmp_path: Path) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "bad", "name": "Bad", "components": [{"id": "x"}], "edges": []}))
    import_file(page, bad)
    refusal = designs_sheet(page).get_by_role("alert")
    expect(refusal).to_contain_text("bad.json was not imported")
    expect(refusal).to_contain_text("type")
    assert stored_names(page) == ["Tiny dense"]

    not_json = tmp_path / "notes.json"
    not_json.write_text("{ this is not json")
    import_file(page, not_json)
    expect(refusal).to_contain_text("notes.json was not imported: The file is not valid JSON")
    assert stored_names(page) == ["Tiny dense"]


def test_a_second_tab_follows_edits(context: BrowserContext, page: Page) -> None:
    open_app(page)
    create_from_template(page, "Tiny dense")
    other = context.new_page()
    other.goto("/")
    expect(other.get_by_role("button", name="Design details: Tiny dense")).to_be_visible()

    add_block(page, "Layer norm")
    expect(block(other, "layer_norm", "layer_norm")).to_be_visible()

    page.get_by_role("button", name="Design details: Tiny dense").tap()
    name = page.get_by_role("dialog", name="Design details").get_by_label("Name")
    name.fill("Shared")
    name.press("Enter")
    expect(other.get_by_role("button", name="Design details: Shared")).to_be_visible()
    other.close()
