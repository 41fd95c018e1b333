"""Kill -9 the real server mid-training, start it again on the same data dir, and check what survived.

`model-studio serve` runs as a subprocess on a free loopback port, driven over plain HTTP. A run of
tiny-dense trains with a long budget until it has stored a couple of events and a client has read
them over SSE; then the server is SIGKILLed (by its Popen handle: no shutdown code runs). After a
restart: the designs are as they were, the run is `interrupted`, every event the client had seen
is replayed unchanged and the stream ends with `done` (status "interrupted"), and a new run can
start and stop. The killed server's training child loses its pipe and must exit by itself.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_STUDIO = Path(sys.executable).with_name("model-studio")
TOKEN = "crash-test-0123456789abcdef0123456789"
TEMPLATE = json.loads((REPO / "schema" / "templates" / "tiny-dense.json").read_text())
START_TIMEOUT_S = 30
EVENTS_TIMEOUT_S = 60  # child start-up (torch import) plus two updates, on a busy two-core machine
ORPHAN_EXIT_TIMEOUT_S = 10  # its next event (about a second) finds the pipe broken


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `model-studio serve` process and a tiny JSON client for it."""

    def __init__(self, data_dir: Path, static_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [str(MODEL_STUDIO), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--data-dir", str(data_dir), "--token", TOKEN, "--static-dir", str(static_dir)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=data_dir.parent, stdout=out, stderr=subprocess.STDOUT)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited with {self.process.returncode}:\n{self.log.read_text()}"
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the server was not healthy within {START_TIMEOUT_S} s:\n{self.log.read_text()}")

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, dict, object]:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {TOKEN}", **({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, reply_headers, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, reply_headers, raw = error.code, dict(error.headers), error.read()
        return status, reply_headers, json.loads(raw) if raw else None

    @contextmanager
    def events(self, run_id: str) -> Iterator[Iterator[tuple[str, str, str]]]:
        """The run's SSE stream as (id, event, data) triples, until it ends or the block does."""
        request = urllib.request.Request(f"{self.url}/api/runs/{run_id}/events", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=EVENTS_TIMEOUT_S) as response:
            assert response.status == 200 and response.headers["content-type"].startswith("text/event-stream")
            yield parse_sse(response)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def parse_sse(lines) -> Iterator[tuple[str, str, str]]:
    fields: dict[str, str] = {}
    for raw in lines:
        line = raw.decode().rstrip("\r\n")
        if line:
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        elif "data" in fields:
            yield fields["id"], fields["event"], fields["data"]
            fields = {}
        else:
            fields = {}  # a `retry:` block


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines (read from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # it exited while we looked
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a reaper (PID 1 in a container may never reap it)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.1)


def test_kill_9_mid_training_loses_nothing_seen(tmp_path):
    data_dir, static_dir = tmp_path / "data", tmp_path / "static"
    static_dir.mkdir()
    log = tmp_path / "server.log"
    servers: list[Server] = []
    orphans: list[int] = []
    try:
        first = Server(data_dir, static_dir, log)
        servers.append(first)
        first.wait_healthy()

        # Two designs, one of them edited once.
        for design_id in ("crash-a", "crash-b"):
            status, _, _ = first.request("POST", "/api/designs", {**TEMPLATE, "id": design_id})
            assert status == 201
        status, _, _ = first.request("PUT", "/api/designs/crash-b", {**TEMPLATE, "id": "crash-b", "name": "Edited"}, {"If-Match": '"1"'})
        assert status == 200
        before = {design_id: first.request("GET", f"/api/designs/{design_id}")[2] for design_id in ("crash-a", "crash-b")}
        assert [before["crash-a"]["version"], before["crash-b"]["version"]] == [1, 2]

        # A long run, until it has stored two events and a client has read them.
        status, _, accepted = first.request("POST", "/api/designs/crash-a/train", {"max_minutes": 5})
        assert status == 202, accepted
        run_id = accepted["run_id"]
        wait_for(lambda: first.request("GET", f"/api/runs/{run_id}")[2]["last_seq"] >= 2, EVENTS_TIMEOUT_S, "two stored events")
        seen = []
        with first.events(run_id) as stream:
            for event in stream:
                seen.append(event)
                if len(seen) >= 2:
                    break
        assert [kind for _, kind, _ in seen] == ["training_update", "training_update"]

        # Its children: the training process and multiprocessing's resource tracker.
        spawned = children(first.process.pid)
        assert len([line for line in spawned.values() if "spawn_main" in line]) == 1, spawned
        orphans += spawned

        first.process.kill()  # SIGKILL: no lifespan shutdown, no checkpoint, no `done`
        first.process.wait()

        # The training process finds its pipe broken at its next event and exits; the tracker follows.
        wait_for(lambda: not any(alive(pid) for pid in orphans), ORPHAN_EXIT_TIMEOUT_S, f"the killed server's children {spawned} to exit")

        second = Server(data_dir, static_dir, log)
        servers.append(second)
        second.wait_healthy()

        after = {design_id: second.request("GET", f"/api/designs/{design_id}")[2] for design_id in ("crash-a", "crash-b")}
        assert after == before

        status, _, run = second.request("GET", f"/api/runs/{run_id}")
        assert status == 200 and run["status"] == "interrupted", run

        with second.events(run_id) as stream:
            replay = list(stream)  # the run is over: the stream ends after `done`
        assert replay[: len(seen)] == seen
        ids = [int(event_id) for event_id, _, _ in replay]
        assert ids == list(range(1, len(replay) + 1))
        assert [kind for _, kind, _ in replay[:-1]] == ["training_update"] * (len(replay) - 1)
        last_id, last_kind, last_data = replay[-1]
        assert last_kind == "done" and json.loads(last_data)["status"] == "interrupted", replay[-1]
        assert int(last_id) == run["last_seq"]

        # Training works after the crash.
        status, _, accepted = second.request("POST", "/api/designs/crash-b/train", {"max_minutes": 5})
        assert status == 202, accepted
        status, _, stopping = second.request("POST", f"/api/runs/{accepted['run_id']}/stop")
        assert status in (200, 202), stopping
        wait_for(lambda: second.request("GET", f"/api/runs/{accepted['run_id']}")[2]["status"] == "stopped", 30, "the new run to stop")

        # A graceful stop leaves nothing behind either.
        left = children(second.process.pid)
        orphans += left
        second.stop()
        assert second.process.returncode in (0, -signal.SIGTERM), log.read_text()[-2000:]  # uvicorn re-raises the signal it handled
        wait_for(lambda: not any(alive(pid) for pid in left), ORPHAN_EXIT_TIMEOUT_S, f"the stopped server's children {left} to exit")
    finally:
        for server in servers:
            server.stop()
        for pid in orphans:  # only if the check above failed: an orphan that lives on is a bug, not to be left running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
