"""What the end-to-end tests and the PWA benchmark share: Debian's Chromium, the phone profile,
and the real server run as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "pwa" / "dist"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Headless, and quiet on this closed network: no background fetches, updates or sync.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEVICE = "Pixel 7"
SERVER_START_TIMEOUT_S = 30
TOKEN = "e2e-pairing-token-0123456789"  # what the pairing URL carries in these tests
SERVER_STOP_TIMEOUT_S = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(port: int, data_dir: Path, static_dir: Path | None = None) -> list[str]:
    """`model-studio serve` on loopback with the test token, optionally serving another copy of the built PWA."""
    executable = str(Path(sys.executable).with_name("model-studio"))
    command = [executable, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir), "--token", TOKEN]
    return command + (["--static-dir", str(static_dir)] if static_dir else [])


def phone_descriptor(devices: dict) -> dict[str, object]:
    """The Pixel 7 descriptor, without the key that `new_context` and `launch_persistent_context` reject."""
    descriptor = dict(devices[DEVICE])
    descriptor.pop("default_browser_type", None)
    return descriptor


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url}/api/health within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}")


@contextmanager
def serving(command: list[str], url: str, log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a `model-studio serve` command until the block ends; yields its process once `url`
    answers health, and stops it by its handle."""
    with log.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_for_health(url, server, log)
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def running_server(workdir: Path, static_dir: Path | None = None) -> Iterator[str]:
    """`model-studio serve` in `workdir` (data in `workdir/data`) until the block ends; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(serve_command(port, workdir / "data", static_dir), url, workdir / "server.log", cwd=workdir):
        yield url
