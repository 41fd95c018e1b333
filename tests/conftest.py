"""Test-session order: the browser tests run last.

Playwright's sync API (tests/e2e, a session-scoped fixture) keeps an event loop running in the main
thread until the session ends; asyncio tests that came after it could not start their own.
"""

import pytest

E2E_DIR = "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: E2E_DIR in item.path.parts)  # stable: every other order is kept
