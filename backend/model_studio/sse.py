"""Server-sent events for a run: every stored event after the client's last one, then live.

The stream is a replay from the store that keeps going: each `id:` is the event's `seq`, so a
client that reconnects with `Last-Event-ID` (header, or `last_event_id` in the query for clients
that cannot set headers) gets each event exactly once, in order. It ends after `done`, or at once
for a finished run with nothing left to replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse

from model_studio.hub import RunHub
from model_studio.store import ACTIVE_STATUSES, MetricRow, Store

PING_INTERVAL_S = 15.0  # keeps proxies and phone radios from closing an idle stream
PAGE_EVENTS = 200  # events read from the store at a time: all a slow client can hold up
RETRY_MS = 2000  # how long EventSource-style clients wait before reconnecting
STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",  # no-transform: no proxy may compress or buffer it
    "X-Accel-Buffering": "no",
}


def format_event(row: MetricRow) -> bytes:
    """One SSE message. The body is compact JSON, so it is a single `data:` line."""
    return f"id: {row.seq}\nevent: {row.type}\ndata: {row.body}\n\n".encode()


async def run_events(store: Store, hub: RunHub, run_id: str, after_seq: int, ping_interval_s: float = PING_INTERVAL_S) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    cursor = after_seq
    while True:
        rows = hub.recent_after(run_id, cursor)
        if rows is None:
            rows = await store.metrics_after(run_id, cursor, PAGE_EVENTS)
        for row in rows:
            yield format_event(row)
            cursor = row.seq
            if row.type == "done":
                return
        if len(rows) >= PAGE_EVENTS:
            continue
        if not hub.is_training(run_id):  # finished, or left by a dead server: end once replayed
            run = await store.get_run(run_id)
            if run is None or (run.status not in ACTIVE_STATUSES and run.last_seq <= cursor):
                return
        if not await hub.wait_for_events(run_id, cursor, ping_interval_s):
            yield b": ping\n\n"


def event_stream(store: Store, hub: RunHub, run_id: str, after_seq: int) -> StreamingResponse:
    return StreamingResponse(run_events(store, hub, run_id, after_seq), media_type="text/event-stream", headers=STREAM_HEADERS)
