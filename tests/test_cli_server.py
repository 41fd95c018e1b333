"""`model-studio serve`, `cert` and `dump-designs`: bad arguments get one line and exit 2; the real
server prints its pairing URL; the dump writes every stored design."""

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from model_studio.catalogue import SCHEMA_DIR
from model_studio.cli import main
from model_studio.services import STORE_FILE
from model_studio.store import Store


TOKEN = "cli-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


TEMPLATES = sorted((SCHEMA_DIR / "templates").glob("*.json"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--cert", "x.pem"], "--cert and --key go together"),
        (["serve", "--cert", "missing.pem", "--key", "missing-key.pem"], "no such file"),
        (["serve", "--token", "short"], "token"),
        (["serve", "--port", "99999"], "ports run from 0 to 65535"),
        (["dump-designs", "--out", "out"], "no store at"),
        (["cert", "--host", "not a host!"], "cert:"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_two(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exited:  # argparse refuses the argument itself
        status = exited.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_validate_of_pathologically_nested_json_is_a_report_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    assert main(["validate", str(path)]) == 1
    assert "error invalid_json: Not valid JSON for a design: nested too deeply" in capsys.readouterr().out


def test_dump_designs_writes_every_stored_design(tmp_path, capsys):
    designs = [json.loads(path.read_text()) for path in TEMPLATES]

    async def fill() -> None:
        async with await Store.open(tmp_path / "data" / STORE_FILE) as store:
            for design in designs:
                await store.create_design(design["id"], design["name"], json.dumps(design))

    asyncio.run(fill())
    assert main(["dump-designs", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "dump")]) == 0
    assert f"wrote {len(designs)} design(s)" in capsys.readouterr().out
    dumped = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "dump").glob("*.json")}
    assert dumped == {design["id"]: design for design in designs}


def test_cert_writes_a_ca_and_a_server_certificate(tmp_path, capsys):
    assert main(["cert", "--data-dir", str(tmp_path), "--host", "192.168.1.20"]) == 0
    assert {path.name for path in (tmp_path / "tls").iterdir()} >= {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"}
    assert "--cert" in capsys.readouterr().out


def test_serve_prints_the_pairing_url_and_answers_with_the_token(tmp_path):
    port = free_port()
    command = [str(Path(sys.executable).with_name("model-studio")), "serve", "--port", str(port), "--data-dir", str(tmp_path), "--token", TOKEN]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        banner = [server.stdout.readline().decode() for _ in range(3)]
        assert any(f"http://127.0.0.1:{port}/#pair={TOKEN}" in line for line in banner), banner
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/designs", headers={"Authorization": f"Bearer {TOKEN}"})
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert json.loads(response.read()) == {"designs": []}
                    break
            except OSError:
                if server.poll() is not None:
                    raise
                time.sleep(0.1)
        else:
            pytest.fail("the server never answered")
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_serve_freezes_what_its_imports_made():
    """Before it serves, the server takes the objects its imports made (torch's alone are about
    180,000) out of the cyclic collector's reach: full collections walking them all had stalled
    every request under load for 120-280 ms. In a fresh interpreter, since freezing is process-wide."""
    script = (
        "import gc, model_studio.app\n"
        "from model_studio.cli import settle_heap\n"
        "before = len(gc.get_objects())\n"
        "settle_heap()\n"
        "print(before, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    before, frozen, left = map(int, done.stdout.split())
    assert before > 100_000  # torch and the rest are imported by then
    assert frozen > 0.9 * before  # all of them, less what was already garbage
    assert left < 0.01 * before


def test_uvicorn_takes_its_fast_event_loop_and_http_parser():
    """uvloop and httptools are in the lock, and uvicorn's "auto" picks them (1.6x the requests/s
    of asyncio's loop and h11 in bench-server on two cores)."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(app=None)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    loop = config.get_loop_factory()()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
