"""Captures the README's phone screenshot: the app in the Pixel 7 profile, paired with the real
server, the MoE template training with its live chart and heat map.

    .venv/bin/python tools/screenshot.py [--out tools/screenshots/phone-training.png]

It uses the end-to-end tests' set-up (Debian's Chromium, the built PWA, `model-studio serve` on a
free loopback port) and stops the server it started.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e.harness import CHROMIUM, CHROMIUM_ARGS, TOKEN, phone_descriptor, running_server  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots" / "phone-training.png"
UPDATES_SHOWN = 4  # updates on the chart before the picture is taken
TIMEOUT_MS = 180_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the PNG (default: {OUT})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="model-studio-shot-") as workdir, running_server(Path(workdir)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(**phone_descriptor(playwright.devices), base_url=url)
        page = context.new_page()
        page.goto(f"/#pair={TOKEN}")
        page.get_by_role("dialog", name="Designs").get_by_role("button", name="New from template MoE with router").tap()
        page.get_by_role("button", name="Run on the server").tap()
        sheet = page.get_by_role("dialog", name="Run on the server")
        sheet.get_by_role("tab", name="Train", exact=True).tap()
        sheet.get_by_text("5 min", exact=True).tap()
        sheet.get_by_role("button", name="Start training").tap()
        status = page.get_by_test_id("run-status")
        expect(status).to_have_attribute("data-events", re.compile(rf"^([{UPDATES_SHOWN}-9]|\d\d+)$"), timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)  # let the chart draw its last points
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        sheet.get_by_role("button", name="Stop", exact=True).tap()
        expect(status).to_contain_text("stopped", timeout=30_000)
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
