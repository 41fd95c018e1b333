"""Real touch sequences, sent through the Chrome DevTools Protocol (`Input.dispatchTouchEvent`),
so the app sees the same touch and pointer events a finger on a phone produces."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import CDPSession, Locator, Page

# Finger moves are sent in this many steps, like the stream of moves a real finger makes.
MOVE_STEPS = 8
# Time between two moves of a gesture: one 60 Hz frame.
FRAME_MS = 16


@dataclass(frozen=True)
class Point:
    x: float
    y: float


# How long a box must hold still to count as settled (the app animates viewport moves).
SETTLE_MS = 100
SETTLE_TRIES = 30


def centre(locator: Locator) -> Point:
    """The centre of an element on screen, once it has stopped moving."""
    box = locator.bounding_box()
    for _ in range(SETTLE_TRIES):
        locator.page.wait_for_timeout(SETTLE_MS)
        settled = locator.bounding_box()
        if settled == box:
            break
        box = settled
    assert box is not None, f"{locator} is not visible"
    return Point(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


class Finger:
    """Touch input for one page."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page = page
        self.cdp = cdp

    def _send(self, kind: str, points: list[Point]) -> None:
        touch_points = [{"x": p.x, "y": p.y, "id": i, "radiusX": 4, "radiusY": 4, "force": 1} for i, p in enumerate(points)]
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    def long_press(self, at: Point, hold_ms: int) -> None:
        self._send("touchStart", [at])
        self.page.wait_for_timeout(hold_ms)
        self._send("touchEnd", [])

    def drag(self, start: Point, end: Point) -> None:
        self._send("touchStart", [start])
        for step in range(1, MOVE_STEPS + 1):
            t = step / MOVE_STEPS
            self.page.wait_for_timeout(FRAME_MS)
            self._send("touchMove", [Point(start.x + (end.x - start.x) * t, start.y + (end.y - start.y) * t)])
        self._send("touchEnd", [])

    def pinch(self, around: Point, from_spread: float, to_spread: float) -> None:
        """Two fingers, side by side about `around`, moving from `from_spread` to `to_spread` apart."""

        def fingers(spread: float) -> list[Point]:
            return [Point(around.x - spread / 2, around.y), Point(around.x + spread / 2, around.y)]

        self._send("touchStart", fingers(from_spread))
        for step in range(1, MOVE_STEPS + 1):
            self.page.wait_for_timeout(FRAME_MS)
            self._send("touchMove", fingers(from_spread + (to_spread - from_spread) * step / MOVE_STEPS))
        self._send("touchEnd", [])
