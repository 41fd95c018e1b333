"""Benchmark the phone app: the size of its initial JavaScript, and frame times while panning
a 200-block design in Pixel 7 emulation.

    .venv/bin/python tools/bench/bench_pwa.py [--cpu-throttle 4] [--url http://127.0.0.1:8000]

It needs the built app (`npm run build` in pwa/) and Debian's Chromium. Without `--url` it starts
`model-studio serve` on a free port for the run.

Initial JS is what index.html loads before the app can start: its module script and the chunks it
preloads, gzipped at level 6 (what servers commonly send). Chunks loaded later (the schema check,
the designs sheet, the validation worker) are listed apart.

Frame times come from requestAnimationFrame timestamps recorded in the page while two fingers
pan the canvas through the Chrome DevTools Protocol, once with the blocks drawn in full (zoom 1)
and once zoomed out to the whole design (plain rectangles), after one unmeasured warm-up pan.
CPU throttling (default 4x, as
Lighthouse uses for a mid-range phone) makes a desktop core behave more like a phone's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import CDPSession, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from e2e.harness import CHROMIUM, CHROMIUM_ARGS, DIST, phone_descriptor, running_server  # noqa: E402

GZIP_LEVEL = 6
BLOCKS = 200
COLUMNS = 10
# Grid spacing of the generated design, in canvas units: a block is 176 x 64.
SPACING_X, SPACING_Y = 208, 112
PAN_STEPS = 120  # two-finger moves per pan, one per frame
PAN_STEP_PX = 6
FRAME_MS = 1000 / 60


def initial_js(dist: Path) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(name, bytes, gzipped bytes) of the chunks index.html loads, and of every other chunk."""
    html = (dist / "index.html").read_text()
    entry = set(re.findall(r'<script[^>]+type="module"[^>]+src="/?([^"]+\.js)"', html))
    entry |= set(re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/?([^"]+\.js)"', html))
    sizes = []
    for path in sorted(dist.rglob("*.js")):
        data = path.read_bytes()
        sizes.append((path.relative_to(dist).as_posix(), len(data), len(gzip.compress(data, GZIP_LEVEL))))
    return [s for s in sizes if s[0] in entry], [s for s in sizes if s[0] not in entry and not s[0].startswith(("sw.js", "workbox-"))]


def big_design() -> dict[str, object]:
    """A valid 200-block design: input, embedding, then transformer layers and layer norms in turn."""
    types = ["board_input", "embedding"] + ["transformer_layer" if i % 2 == 0 else "layer_norm" for i in range(BLOCKS - 3)] + ["action_output"]
    components = []
    for index, block_type in enumerate(types):
        row, column = divmod(index, COLUMNS)
        column = column if row % 2 == 0 else COLUMNS - 1 - column  # snake, so wires stay short
        components.append({"id": f"b{index}", "type": block_type, "props": {}, "position": {"x": column * SPACING_X, "y": row * SPACING_Y}})
    edges = [[f"b{i}", f"b{i + 1}"] for i in range(len(types) - 1)]
    return {"schemaVersion": 1, "id": "bench-200", "name": "Bench 200", "description": "", "meta": {"d_model": 64, "n_heads": 4}, "components": components, "edges": edges}


def touch(cdp: CDPSession, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})


def pinch(page: Page, cdp: CDPSession, x: float, y: float, start: float, end: float, steps: int = 20) -> None:
    touch(cdp, "touchStart", [(x - start / 2, y), (x + start / 2, y)])
    for step in range(1, steps + 1):
        spread = start + (end - start) * step / steps
        touch(cdp, "touchMove", [(x - spread / 2, y), (x + spread / 2, y)])
        page.wait_for_timeout(FRAME_MS)
    touch(cdp, "touchEnd", [])


def pan_frame_times(page: Page, cdp: CDPSession, x: float, y: float) -> list[float]:
    """Frame intervals (ms) while two fingers, 120 px apart, drag the canvas to and fro."""
    page.evaluate(
        """() => {
            window.__frames = [];
            const tick = (t) => { window.__frames.push(t); window.__frameLoop = requestAnimationFrame(tick); };
            window.__frameLoop = requestAnimationFrame(tick);
        }"""
    )
    fingers = lambda dx: [(x - 60 + dx, y), (x + 60 + dx, y)]  # noqa: E731
    offset = 0.0
    touch(cdp, "touchStart", fingers(offset))
    for step in range(PAN_STEPS):
        offset += PAN_STEP_PX if step < PAN_STEPS // 2 else -PAN_STEP_PX
        touch(cdp, "touchMove", fingers(offset))
        page.wait_for_timeout(FRAME_MS)
    touch(cdp, "touchEnd", [])
    stamps = page.evaluate("() => { cancelAnimationFrame(window.__frameLoop); return window.__frames; }")
    return [b - a for a, b in zip(stamps, stamps[1:])]


def describe(name: str, intervals: list[float]) -> str:
    ordered = sorted(intervals)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    slow = sum(1 for i in intervals if i > FRAME_MS * 1.5)
    return (
        f"{name}: {len(intervals)} frames, mean {statistics.fmean(intervals):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(intervals):.1f} ms, {slow} over {FRAME_MS * 1.5:.0f} ms"
    )


def measure_pan(url: str, cpu_throttle: float) -> list[str]:
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        design_file = Path(scratch) / "bench-200.json"
        design_file.write_text(json.dumps(big_design()))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(**phone_descriptor(playwright.devices), base_url=url)
        page = context.new_page()
        page.goto("/")
        sheet = page.get_by_role("dialog", name="Designs")
        with page.expect_file_chooser() as chooser:
            sheet.get_by_role("button", name="Import .json").tap()
        chooser.value.set_files(design_file)
        page.get_by_role("button", name="Design details: Bench 200").wait_for()
        page.get_by_role("region", name="Validation").wait_for()
        page.wait_for_timeout(1000)  # the fit-to-screen animation

        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_throttle})
        box = page.locator(".react-flow").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        far_blocks = page.locator(".block--far").count()
        pan_frame_times(page, cdp, x, y)  # warm-up: the first pan also compiles and caches
        far = pan_frame_times(page, cdp, x, y)

        pinch(page, cdp, x, y, 40, 320)  # zoom in to full blocks
        page.wait_for_timeout(500)
        zoom = page.locator(".react-flow__viewport").evaluate("el => new DOMMatrix(getComputedStyle(el).transform).a")
        full_blocks = page.locator(".block__label").count()
        near = pan_frame_times(page, cdp, x, y)
        browser.close()
    return [
        describe(f"pan, zoomed in (zoom {zoom:.2f}, {full_blocks} blocks drawn in full)", near),
        describe(f"pan, whole design ({far_blocks} blocks as plain rectangles)", far),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--cpu-throttle", type=float, default=4, help="CPU slowdown factor (default 4)")
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        print(f"{DIST} has no built app: run `npm run build` in pwa/ first", file=sys.stderr)
        return 2

    entry, later = initial_js(DIST)
    print(f"initial JS (gzip -{GZIP_LEVEL}): {sum(g for _, _, g in entry) / 1024:.1f} KiB ({sum(b for _, b, _ in entry) / 1024:.1f} KiB raw)")
    for name, raw, gz in entry:
        print(f"  {name}: {gz / 1024:.1f} KiB gzipped, {raw / 1024:.1f} KiB raw")
    print("loaded later:")
    for name, raw, gz in later:
        print(f"  {name}: {gz / 1024:.1f} KiB gzipped, {raw / 1024:.1f} KiB raw")

    print(f"frame times, {BLOCKS}-block design, Pixel 7 emulation, CPU throttled {args.cpu_throttle:g}x:")
    if args.url:
        lines = measure_pan(args.url, args.cpu_throttle)
    else:
        with tempfile.TemporaryDirectory(prefix="model-studio-bench-") as workdir, running_server(Path(workdir)) as url:
            lines = measure_pan(url, args.cpu_throttle)
    for line in lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
