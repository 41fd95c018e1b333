"""What the tests do in the app, found the way a user (or a screen reader) finds things:
by role and accessible name."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


def block(page: Page, block_type: str, block_id: str) -> Locator:
    return page.get_by_role("group", name=f"{block_type} {block_id}", exact=True)


def banner(page: Page) -> Locator:
    return page.get_by_role("region", name="Validation")


def toast(page: Page) -> Locator:
    return page.get_by_role("status").filter(has=page.locator(".toast"))


def open_app(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("dialog", name="Designs")).to_be_visible()


def create_from_template(page: Page, template: str) -> None:
    """Start a new design from a template, from the designs sheet (open on first visit)."""
    designs = page.get_by_role("dialog", name="Designs")
    if not designs.is_visible():
        page.get_by_role("button", name="Designs", exact=True).tap()
    designs.get_by_role("button", name=f"New from template {template}").tap()
    expect(page.get_by_role("button", name=re.compile(f"^Design details: {re.escape(template)}$"))).to_be_visible()
    expect(banner(page)).to_be_visible()


def add_block(page: Page, label: str) -> None:
    page.get_by_role("button", name="Blocks", exact=True).tap()
    page.get_by_role("dialog", name="Blocks").get_by_role("button", name=f"Add {label}", exact=True).tap()


def expect_valid(page: Page) -> None:
    expect(banner(page)).to_have_text(re.compile("Valid design"))


def expect_invalid(page: Page, mentioning: str) -> None:
    expect(banner(page)).to_contain_text("problem")
    expect(banner(page)).to_contain_text(mentioning)
