"""The server while a training run is active: GET latency under 50 concurrent clients next to the
idle figures, SSE fan-out to 50 subscribers of the run, and training speed under that load as a
ratio of training alone.

Run: `just bench-server`, or `.venv/bin/python tools/bench/bench_server.py [--clients 50]
[--subscribers 50] [--idle-s 10] [--load-s 20] [--run-minutes 0.5]` (about two minutes).
It starts `model-studio serve` on a free 127.0.0.1 port with a fresh data directory, a fixed token
and an empty static directory, stores the tiny-dense template over HTTP, and stops the server by
its handle at the end. Every request goes to 127.0.0.1; each phase is bounded in time.

Phases, in order:
1. idle (no run): GET /api/designs/tiny-dense, first from one client in sequence, then from
   `--clients` clients at once for `--idle-s` seconds.
2. training alone: a run of `--run-minutes` with nobody connected (one status poll a second).
3. training under load: the same run again. `--subscribers` SSE clients follow its
   /api/runs/{id}/events from before its first event to `done`; from the first event on,
   `--clients` clients send the same GET for `--load-s` seconds.
4. training alone again, so that a change in the machine's other work shows as a gap between
   the two alone figures; the ratio is against their mean.

Definitions.
- Latency: from writing the request to reading the whole body, on one keep-alive connection per
  client; each client sends its next request as soon as it has the answer (closed loop, no think
  time), so the clients keep the server saturated and the mean latency is about clients divided by
  requests/s (Little's law). The clients are raw asyncio streams in one process, to keep the load
  generator's own CPU small; the timings still include its event loop's delays.
- SSE delivery lag: an event's receive time at a subscriber minus the time its commit to the store
  became visible, as seen by a read-only SQLite reader in a separate process polling
  `max(seq)` every 2 ms. The commit is dated by the last poll that did not yet see it, so the
  figure is an upper bound (too large by at most one poll gap). It leaves out the wait in the hub's
  buffer before the commit (at most hub.FLUSH_INTERVAL_S, by design), because the event's own
  time stamp (`elapsed_s`) is on the training process's clock. Printed beside it: the spread,
  each receive time minus the first subscriber's receive time of that event.
- Training speed: env steps over wall seconds across the whole updates that ran inside the load
  window (from the runs' training_update events), and the median of their `env_steps_per_s`;
  the alone runs are measured over the same update numbers.

Goals: GET p99 under load < 50 ms; every subscriber receives every event exactly once, in order
(checked: the benchmark exits 1 if not); training under load >= 0.9 of alone. The machine is shared
with other work (other people's tests, builds), so figures move from run to run: the load average
is printed and recorded. On a 2-core machine the server, the load generator and the training process
compete for the same cores, so the ratio measures that competition as much as the server.
The result goes to tools/bench/results/server.json (`--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

import common

REPO = common.REPO
sys.path.insert(0, str(REPO / "tests"))
from e2e.harness import free_port, serving  # noqa: E402

TEMPLATE = REPO / "schema" / "templates" / "tiny-dense.json"
DESIGN_ID = "tiny-dense"
RESULTS = common.RESULTS / "server.json"
TOKEN = "bench-server-token-0123456789abcdef"
CLIENTS = 50
SUBSCRIBERS = 50
WARMUP_REQUESTS = 100
SEQUENTIAL_REQUESTS = 500
IDLE_S = 10.0
LOAD_S = 20.0
RUN_MINUTES = 0.5
COMMIT_POLL_S = 0.002
STATUS_POLL_S = 1.0
START_RETRY_S = 15.0
FIRST_EVENT_TIMEOUT_S = 120.0  # a fresh training process imports torch and compiles the design first
WINDOW_MARGIN_S = 0.5  # an update counts as under load only if it began this long after the load did
GOAL_P99_MS = 50.0
GOAL_TRAIN_RATIO = 0.9
ACTIVE = ("queued", "running")


# ---- the server ----


def running_server(port: int, data_dir: Path, static_dir: Path, log: Path):
    """The real server on loopback with the bench's token; yields its process (for its CPU time)."""
    command = [str(REPO / ".venv" / "bin" / "model-studio"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--token", TOKEN, "--static-dir", str(static_dir)]
    return serving(command, f"http://127.0.0.1:{port}", log)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- raw HTTP/1.1 over asyncio streams: light enough to leave the cores to the server ----


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


class Connection:
    """One keep-alive connection sending the same GET."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self) -> int:
        if self.writer is None:
            await self.open()
        self.writer.write(self.request)
        status, headers = _parse_head(await self.reader.readuntil(b"\r\n\r\n"))
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.reader = self.writer = None


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0


async def sequential(port: int, path: str, count: int) -> Latencies:
    connection, out = Connection(port, path), Latencies()
    started = time.monotonic()
    for _ in range(count):
        sent = time.monotonic()
        status = await connection.get()
        if status == 200:
            out.seconds.append(time.monotonic() - sent)
        else:
            out.errors += 1
    out.wall_s = time.monotonic() - started
    await connection.close()
    return out


async def concurrent(port: int, path: str, clients: int, duration_s: float) -> Latencies:
    """`clients` connections, opened first, each in a closed loop until the deadline."""
    connections = [Connection(port, path) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    out = Latencies()
    started = time.monotonic()
    deadline = started + duration_s

    async def client(connection: Connection) -> None:
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                status = await connection.get()
            except (OSError, asyncio.IncompleteReadError):
                out.errors += 1
                await connection.close()
                continue
            if status == 200:
                out.seconds.append(time.monotonic() - sent)
            else:
                out.errors += 1

    await asyncio.gather(*(client(c) for c in connections))
    out.wall_s = time.monotonic() - started
    await asyncio.gather(*(c.close() for c in connections))
    return out


@dataclass
class Subscriber:
    keep_data: bool = False
    connected_at: float | None = None
    events: list[tuple[int, str, float]] = field(default_factory=list)  # (id, event type, receive time)
    data: dict[int, str] = field(default_factory=dict)  # id -> JSON, when keep_data
    error: str | None = None


async def subscribe(port: int, run_id: str, out: Subscriber, first_event: asyncio.Event | None = None) -> None:
    """Follow /api/runs/{id}/events to its end, stamping each event as its chunk arrives."""
    request = (
        f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        out.connected_at = time.monotonic()
        if status != 200 or headers.get("transfer-encoding", "").lower() != "chunked":
            out.error = f"HTTP {status}, transfer-encoding {headers.get('transfer-encoding')!r}"
            return
        buffer = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            received = time.monotonic()
            buffer += chunk[:-2]
            while (end := buffer.find(b"\n\n")) >= 0:
                message, buffer = buffer[:end].decode(), buffer[end + 2 :]
                fields = dict(line.split(": ", 1) for line in message.split("\n") if ": " in line and not line.startswith(":"))
                if "id" not in fields:
                    continue
                seq = int(fields["id"])
                out.events.append((seq, fields.get("event", "message"), received))
                if out.keep_data:
                    out.data[seq] = fields.get("data", "")
                if first_event is not None:
                    first_event.set()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


# ---- the commit watcher: a separate process, so the load generator's loop cannot delay it ----


def watch_commits(db_path: str, run_id: str, stop, connection, period_s: float) -> None:
    """Poll max(seq) of the run's stored events; send [(seq, last poll start not seeing it, first
    poll end seeing it)] when `stop` is set."""
    import sqlite3

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    db.execute("PRAGMA query_only = 1")
    seen, previous, commits, polls = 0, time.monotonic(), [], 0
    while not stop.is_set():
        started = time.monotonic()
        (last,) = db.execute("SELECT coalesce(max(seq), 0) FROM metrics WHERE run_id = ?", (run_id,)).fetchone()
        ended = time.monotonic()
        polls += 1
        if last > seen:
            commits += [(seq, previous, ended) for seq in range(seen + 1, last + 1)]
            seen = last
        previous = started
        time.sleep(period_s)
    db.close()
    connection.send((commits, polls))


@contextmanager
def commit_watcher(db_path: Path, run_id: str) -> Iterator[list]:
    """Yields a list that holds, once the block ends, the watcher's (commits, poll count)."""
    context = multiprocessing.get_context("spawn")
    stop, (receiver, sender) = context.Event(), context.Pipe(duplex=False)
    process = context.Process(target=watch_commits, args=(str(db_path), run_id, stop, sender, COMMIT_POLL_S), daemon=True)
    process.start()
    result: list = []
    try:
        yield result
    finally:
        stop.set()
        if receiver.poll(10):
            result.extend(receiver.recv())
        process.join(5)
        if process.is_alive():
            process.terminate()
            process.join()


# ---- training runs ----


async def start_run(api: httpx2.AsyncClient, minutes: float) -> str:
    deadline = time.monotonic() + START_RETRY_S
    while True:  # 409 while the previous run's training process is still winding down
        response = await api.post(f"/api/designs/{DESIGN_ID}/train", json={"max_minutes": minutes})
        if response.status_code != 409 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    if response.status_code != 202:
        raise RuntimeError(f"train: HTTP {response.status_code}: {response.text}")
    return response.json()["run_id"]


async def wait_finished(api: httpx2.AsyncClient, run_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        run = (await api.get(f"/api/runs/{run_id}")).json()
        if run["status"] not in ACTIVE:
            return run
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} still {run['status']} after {timeout_s:.0f} s")
        await asyncio.sleep(STATUS_POLL_S)


async def stored_events(port: int, run_id: str) -> Subscriber:
    """Every event of a finished run, replayed from the store."""
    replay = Subscriber(keep_data=True)
    await subscribe(port, run_id, replay)
    if replay.error:
        raise RuntimeError(f"replay of run {run_id}: {replay.error}")
    return replay


def updates_of(replay: Subscriber) -> dict[int, dict]:
    """update number -> its training_update event."""
    events = (json.loads(replay.data[seq]) for seq, kind, _ in replay.events if kind == "training_update")
    return {event["update"]: event for event in events}


async def train_alone(api: httpx2.AsyncClient, port: int, minutes: float) -> tuple[str, dict[int, dict], dict]:
    run_id = await start_run(api, minutes)
    run = await wait_finished(api, run_id, 60 * minutes + FIRST_EVENT_TIMEOUT_S)
    return run_id, updates_of(await stored_events(port, run_id)), run


def window_speed(updates: dict[int, dict], first: int, last: int) -> dict:
    """Env-steps/s over updates first..last (wall time from the end of update first-1) and the
    median of their per-update env_steps_per_s."""
    before, end = updates[first - 1], updates[last]
    return {
        "updates": [first, last],
        "env_steps_per_s": (end["env_steps"] - before["env_steps"]) / (end["elapsed_s"] - before["elapsed_s"]),
        "median_update_env_steps_per_s": statistics.median(updates[k]["env_steps_per_s"] for k in range(first, last + 1)),
    }


# ---- figures ----


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * p / 100) - 1))]


def spread_ms(values_s: list[float]) -> dict:
    return {
        "n": len(values_s),
        "p50_ms": 1e3 * percentile(values_s, 50),
        "p95_ms": 1e3 * percentile(values_s, 95),
        "p99_ms": 1e3 * percentile(values_s, 99),
        "max_ms": 1e3 * max(values_s) if values_s else float("nan"),
    }


def latency_figures(samples: Latencies, clients: int) -> dict:
    figures = spread_ms(samples.seconds)
    figures.update(
        clients=clients,
        requests=len(samples.seconds),
        errors=samples.errors,
        wall_s=samples.wall_s,
        requests_per_s=len(samples.seconds) / samples.wall_s if samples.wall_s else 0.0,
        mean_ms=1e3 * statistics.fmean(samples.seconds) if samples.seconds else float("nan"),
    )
    return figures


def check_delivery(subscribers: list[Subscriber], expected: list[int]) -> dict:
    """Did each subscriber get every stored event id exactly once, in order?"""
    complete = duplicates = missing = out_of_order = failed = 0
    for subscriber in subscribers:
        ids = [seq for seq, _, _ in subscriber.events]
        complete += ids == expected
        duplicates += len(ids) - len(set(ids))
        missing += len(set(expected) - set(ids))
        out_of_order += any(b <= a for a, b in zip(ids, ids[1:]))
        failed += subscriber.error is not None
    return {
        "subscribers": len(subscribers),
        "events_stored": len(expected),
        "complete_in_order": complete,
        "duplicate_deliveries": duplicates,
        "missing_deliveries": missing,
        "subscribers_out_of_order": out_of_order,
        "subscribers_with_errors": failed,
        "errors": sorted({s.error for s in subscribers if s.error}),
    }


async def train_loaded(api: httpx2.AsyncClient, port: int, db_path: Path, server_pid: int, args: argparse.Namespace) -> dict:
    run_id = await start_run(api, args.run_minutes)
    with commit_watcher(db_path, run_id) as watched:
        first_event = asyncio.Event()
        subscribers = [Subscriber(keep_data=(i == 0)) for i in range(args.subscribers)]
        tasks = [asyncio.create_task(subscribe(port, run_id, s, first_event)) for s in subscribers]
        await asyncio.wait_for(first_event.wait(), FIRST_EVENT_TIMEOUT_S)
        server_cpu, own_cpu = cpu_seconds(server_pid), time.process_time()
        load_started = time.monotonic()
        samples = await concurrent(port, f"/api/designs/{DESIGN_ID}", args.clients, args.load_s)
        load_ended = time.monotonic()
        cpu = {
            "server_process_cores": (cpu_seconds(server_pid) - server_cpu) / (load_ended - load_started),
            "load_generator_cores": (time.process_time() - own_cpu) / (load_ended - load_started),
        }
        await asyncio.wait_for(asyncio.gather(*tasks), 60 * args.run_minutes + FIRST_EVENT_TIMEOUT_S)
        run = await wait_finished(api, run_id, 30)
    commits, polls = watched or ([], 0)
    replay = await stored_events(port, run_id)
    expected = [seq for seq, _, _ in replay.events]
    delivery = check_delivery(subscribers, expected)

    # Lag after commit, for events committed once every subscriber was connected.
    committed = {seq: (low, high) for seq, low, high in commits}
    all_connected = max(s.connected_at or float("inf") for s in subscribers)
    first_receive: dict[int, float] = {}
    for subscriber in subscribers:
        for seq, _, received in subscriber.events:
            first_receive[seq] = min(received, first_receive.get(seq, received))
    after_commit, behind_first, skipped = [], [], set()
    for subscriber in subscribers:
        for seq, _, received in subscriber.events:
            behind_first.append(received - first_receive[seq])
            if seq in committed and committed[seq][0] >= all_connected:
                after_commit.append(received - committed[seq][0])
            else:
                skipped.add(seq)
    gaps = [high - low for low, high in committed.values()]

    # The updates that ran inside the load window, on the subscribers' clock.
    updates = updates_of(subscribers[0])
    by_seq = {seq: json.loads(data) for seq, data in subscribers[0].data.items()}
    offset = min(first_receive[seq] - event["elapsed_s"] for seq, event in by_seq.items() if event.get("type") == "training_update")
    inside = [
        k
        for k in sorted(updates)
        if k - 1 in updates and updates[k - 1]["elapsed_s"] + offset >= load_started + WINDOW_MARGIN_S and updates[k]["elapsed_s"] + offset <= load_ended
    ]
    return {
        "run_id": run_id,
        "status": run["status"],
        "get": latency_figures(samples, args.clients),
        "cpu_during_load": cpu,
        "delivery": delivery,
        "lag_after_commit": spread_ms(after_commit),
        "lag_behind_first_subscriber": spread_ms(behind_first),
        "events_left_out_of_lag": len(skipped),
        "commit_polls": polls,
        "commit_poll_gap_median_ms": 1e3 * statistics.median(gaps) if gaps else None,
        "updates": updates,
        "window_updates": [inside[0], inside[-1]] if inside else None,
    }


async def bench(port: int, db_path: Path, server_pid: int, args: argparse.Namespace) -> dict:
    path = f"/api/designs/{DESIGN_ID}"
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        response = await api.post("/api/designs", content=TEMPLATE.read_bytes(), headers={"Content-Type": "application/json"})
        if response.status_code != 201:
            raise RuntimeError(f"storing {DESIGN_ID}: HTTP {response.status_code}: {response.text}")
        print("phase 1: idle server, no run", flush=True)
        await sequential(port, path, WARMUP_REQUESTS)
        idle_sequential = latency_figures(await sequential(port, path, SEQUENTIAL_REQUESTS), 1)
        idle_concurrent = latency_figures(await concurrent(port, path, args.clients, args.idle_s), args.clients)
        print(f"phase 2: training alone ({args.run_minutes:g} min run)", flush=True)
        alone_before = await train_alone(api, port, args.run_minutes)
        print(f"phase 3: training with {args.subscribers} SSE subscribers and {args.clients} GET clients", flush=True)
        loaded = await train_loaded(api, port, db_path, server_pid, args)
        print(f"phase 4: training alone again ({args.run_minutes:g} min run)", flush=True)
        alone_after = await train_alone(api, port, args.run_minutes)
    training = None
    if loaded["window_updates"]:
        first, last = loaded["window_updates"]
        last = min(last, max(alone_before[1]), max(alone_after[1]))
        if last >= first:
            training = {
                "under_load": window_speed(loaded["updates"], first, last),
                "alone_before": window_speed(alone_before[1], first, last),
                "alone_after": window_speed(alone_after[1], first, last),
            }
            alone = statistics.fmean([training["alone_before"]["env_steps_per_s"], training["alone_after"]["env_steps_per_s"]])
            alone_median = statistics.fmean(
                [training["alone_before"]["median_update_env_steps_per_s"], training["alone_after"]["median_update_env_steps_per_s"]]
            )
            training["ratio"] = training["under_load"]["env_steps_per_s"] / alone
            training["ratio_of_median_update"] = training["under_load"]["median_update_env_steps_per_s"] / alone_median
    del loaded["updates"]
    return {
        "idle_sequential": idle_sequential,
        "idle_concurrent": idle_concurrent,
        "loaded": loaded,
        "training": training,
        "runs": {"alone_before": alone_before[0], "loaded": loaded["run_id"], "alone_after": alone_after[0]},
        "run_statuses": [alone_before[2]["status"], loaded["status"], alone_after[2]["status"]],
    }


def report(result: dict, args: argparse.Namespace) -> list[str]:
    machine = result["machine"]
    lines = [
        f"bench-server: {result['date']}, commit {result['commit'][:12]}{' (with local changes)' if result['dirty'] else ''}",
        f"machine: {machine['cpus']} CPUs; load average {' '.join(f'{x:.2f}' for x in machine['loadavg_start'])} at start, "
        f"{' '.join(f'{x:.2f}' for x in machine['loadavg_end'])} at the end; training uses {machine['torch_threads']} torch thread(s)",
        "note: other work on this machine (other people's tests and builds) adds noise; read the figures with the load average",
        "",
        f"GET /api/designs/{DESIGN_ID} (closed loop, no think time)    requests   req/s  p50 ms  p95 ms  p99 ms  max ms  errors",
    ]
    rows = (
        ("idle, 1 client in sequence", result["idle_sequential"]),
        (f"idle, {args.clients} clients", result["idle_concurrent"]),
        (f"run active + {args.subscribers} SSE, {args.clients} clients", result["loaded"]["get"]),
    )
    for label, f in rows:
        lines.append(
            f"  {label:<56} {f['requests']:8,} {f['requests_per_s']:7,.0f} {f['p50_ms']:7.1f} {f['p95_ms']:7.1f} {f['p99_ms']:7.1f} {f['max_ms']:7.1f} {f['errors']:7}"
        )
    loaded, idle = result["loaded"]["get"], result["idle_concurrent"]
    verdict = "meets" if loaded["p99_ms"] < GOAL_P99_MS else "MISSES"
    lines.append(
        f"  p99 under load {loaded['p99_ms']:.1f} ms = {loaded['p99_ms'] / idle['p99_ms']:.2f}x the idle p99 at {args.clients} clients, "
        f"{loaded['p99_ms'] / result['idle_sequential']['p99_ms']:.1f}x the sequential p99; goal < {GOAL_P99_MS:g} ms: {verdict}"
    )
    lines.append(
        f"  (Little's law: {args.clients} clients / {loaded['requests_per_s']:,.0f} req/s = {1e3 * args.clients / loaded['requests_per_s']:.1f} ms, "
        f"the mean latency was {loaded['mean_ms']:.1f} ms; the queue, not one request's work, sets it)"
    )
    cpu = result["loaded"]["cpu_during_load"]
    lines.append(f"  CPU during the load: server process {cpu['server_process_cores']:.2f} cores, load generator {cpu['load_generator_cores']:.2f} cores")
    lines.append("")
    d = result["loaded"]["delivery"]
    ok = d["complete_in_order"] == d["subscribers"] and not d["errors"]
    lines.append(
        f"SSE fan-out: {d['subscribers']} subscribers, {d['events_stored']} events stored; every id exactly once, in order: "
        f"{d['complete_in_order']}/{d['subscribers']} subscribers ({'ok' if ok else 'FAILED'}; duplicates {d['duplicate_deliveries']}, "
        f"missing {d['missing_deliveries']}, out of order {d['subscribers_out_of_order']}, errors {d['subscribers_with_errors']})"
    )
    lines.append("                                                     deliveries  p50 ms  p95 ms  p99 ms  max ms")
    for label, f in (
        ("delivery lag after the store commit (upper bound)", result["loaded"]["lag_after_commit"]),
        ("spread: behind the first subscriber to get it", result["loaded"]["lag_behind_first_subscriber"]),
    ):
        lines.append(f"  {label:<50} {f['n']:9,} {f['p50_ms']:7.1f} {f['p95_ms']:7.1f} {f['p99_ms']:7.1f} {f['max_ms']:7.1f}")
    gap = result["loaded"]["commit_poll_gap_median_ms"]
    lines.append(
        f"  commits seen by a SQLite reader polling every {1e3 * COMMIT_POLL_S:g} ms (median bracket {gap:.1f} ms); "
        f"{result['loaded']['events_left_out_of_lag']} event(s) committed before all subscribers connected are left out of the lag;"
    )
    lines.append(f"  events also wait up to {result['flush_interval_s']:g} s in the hub's buffer before the commit, by design (not counted)")
    lines.append("")
    t = result["training"]
    if t is None:
        lines.append("training speed: no whole update ran inside the load window (try a longer --load-s)")
    else:
        first, last = t["under_load"]["updates"]
        lines.append(f"training speed over updates {first}-{last} (those inside the load window)   env-steps/s   median per update")
        for label, key in (("alone, before", "alone_before"), ("under load", "under_load"), ("alone, after", "alone_after")):
            lines.append(f"  {label:<68} {t[key]['env_steps_per_s']:10,.0f} {t[key]['median_update_env_steps_per_s']:12,.0f}")
        verdict = "meets" if t["ratio"] >= GOAL_TRAIN_RATIO else "MISSES"
        lines.append(
            f"  under load / alone (mean of before and after): {t['ratio']:.2f} (median per update: {t['ratio_of_median_update']:.2f}); "
            f"goal >= {GOAL_TRAIN_RATIO:g}: {verdict}"
        )
    return lines


def main() -> None:
    parser = common.Parser(prog="bench_server.py", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent GET clients")
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS, help="SSE subscribers of the loaded run")
    parser.add_argument("--idle-s", type=float, default=IDLE_S, help="seconds of concurrent GETs with no run")
    parser.add_argument("--load-s", type=float, default=LOAD_S, help="seconds of concurrent GETs during the run")
    parser.add_argument("--run-minutes", type=float, default=RUN_MINUTES, help="budget of each training run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON result")
    args = parser.parse_args()
    if args.load_s + 5 > 60 * args.run_minutes:
        parser.error("--load-s must end well inside the run: at least 5 s less than --run-minutes")

    from model_studio.hub import FLUSH_INTERVAL_S
    from model_studio.services import STORE_FILE
    from model_studio.training.threads import default_torch_threads

    started = time.monotonic()
    result = {
        "benchmark": "bench_server",
        "date": common.now(),
        **common.source(),
        "machine": {**common.machine(default_torch_threads()), "loadavg_start": common.loadavg()},
        "settings": {
            "design": DESIGN_ID,
            "clients": args.clients,
            "subscribers": args.subscribers,
            "sequential_requests": SEQUENTIAL_REQUESTS,
            "idle_s": args.idle_s,
            "load_s": args.load_s,
            "run_minutes": args.run_minutes,
            "commit_poll_s": COMMIT_POLL_S,
        },
        "goals": {"get_p99_ms_under_load": GOAL_P99_MS, "training_ratio": GOAL_TRAIN_RATIO, "sse": "every event to every subscriber, once, in order"},
        "flush_interval_s": FLUSH_INTERVAL_S,
    }
    with tempfile.TemporaryDirectory(prefix="bench-server-") as scratch:
        data_dir, static_dir = Path(scratch) / "data", Path(scratch) / "static"
        data_dir.mkdir()
        static_dir.mkdir()
        port = free_port()
        print(f"bench-server: model-studio serve on 127.0.0.1:{port}, data in {data_dir}", flush=True)
        with running_server(port, data_dir, static_dir, Path(scratch) / "server.log") as server:
            result.update(asyncio.run(bench(port, data_dir / STORE_FILE, server.pid, args)))
    result["machine"]["loadavg_end"] = common.loadavg()
    result["duration_s"] = time.monotonic() - started
    print()
    lines = report(result, args)
    print("\n".join(lines))
    print(f"\nwrote {common.write(args.out, result)} ({result['duration_s']:.0f} s in all)")
    delivery = result["loaded"]["delivery"]
    if delivery["complete_in_order"] != delivery["subscribers"] or delivery["errors"]:
        sys.exit("bench-server: a subscriber did not receive every event exactly once, in order")


if __name__ == "__main__":
    main()
