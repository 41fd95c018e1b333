"""The HTTP API end to end, as the phone uses it: a real app from `create_app`, a real SQLite file
under pytest's tmp_path, real training child processes and the real export worker.

Expected values come from outside the code under test where they can: the contract in the brief
(status codes, headers, the 2 MiB limit, the reach tiles), the conformance vectors in
`schema/cases`, the template files, and models built by the compiler and loaded with torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime
import pytest
import torch
from starlette.routing import Route
from starlette.testclient import TestClient

from model_studio.app import create_app
from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model, instantiate, load_generated
from model_studio.runner import LocalRunner, RunRequest
from model_studio.services import ServerSettings
from model_studio.training import PPOConfig, load_checkpoint

TOKEN = "test-token_0123456789-abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 2 * 1024 * 1024  # the contract: request bodies up to 2 MiB
REACH_TILES = ["256", "512", "1024", "2048", "4096", "8192"]
TEMPLATES = {path.stem: path for path in sorted((SCHEMA_DIR / "templates").glob("*.json"))}
CASES = {path.stem: json.loads(path.read_text()) for path in sorted((SCHEMA_DIR / "cases").glob("*.json"))}
ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ACTIVE = ("queued", "running")
WAIT_S = 90.0  # generous: a training child imports torch first, and the machine is shared


# ---- helpers ----


def template(stem: str, **changes) -> dict:
    """A starter design from schema/templates, with top-level fields changed (e.g. `id`)."""
    return {**json.loads(TEMPLATES[stem].read_text()), **changes}


def unknown_block_design() -> dict:
    """Structurally a design, but its `conv` block is not in the catalogue (a conformance vector)."""
    return {**CASES["unknown-block-type"]["design"], "id": "with-conv"}


@contextlib.contextmanager
def serve(data_dir: Path, **settings) -> Iterator[TestClient]:
    """The app with its lifespan running, and a client that sends the bearer token."""
    app = create_app(ServerSettings(data_dir=data_dir, token=TOKEN, allowed_hosts=("testserver",), **settings))
    with TestClient(app, headers=AUTH) as client:
        yield client


def without_auth(client: TestClient, method: str, url: str, authorization: str | None = None, **kwargs):
    """Send with no Authorization header, or with the given one instead of the client's."""
    request = client.build_request(method, url, **kwargs)
    del request.headers["authorization"]
    if authorization is not None:
        request.headers["authorization"] = authorization
    return client.send(request)


def create(client: TestClient, design: dict) -> dict:
    response = client.post("/api/designs", json=design)
    assert response.status_code == 201, response.text
    return response.json()


def train(client: TestClient, design_id: str, budget: dict) -> str:
    response = client.post(f"/api/designs/{design_id}/train", json=budget)
    assert response.status_code == 202, response.text
    return response.json()["run_id"]


def wait_for_run(client: TestClient, run_id: str) -> dict:
    """Poll the run until it has ended; its final status."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = client.get(f"/api/runs/{run_id}").json()
        if status["status"] not in ACTIVE:
            return status
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {WAIT_S} s")


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    data: dict


def read_events(response, stop_after: int | None = None) -> list[Event]:
    """Parse a text/event-stream response; return after `stop_after` events, or at its end."""
    events: list[Event] = []
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "event" in fields:
                events.append(Event(int(fields["id"]), fields["event"], json.loads(fields["data"])))
                if stop_after is not None and len(events) >= stop_after:
                    return events
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    return events


def stream(client: TestClient, run_id: str, **kwargs) -> list[Event]:
    """Every event the run's stream sends (it ends after `done`)."""
    with client.stream("GET", f"/api/runs/{run_id}/events", **kwargs) as response:
        assert response.status_code == 200, response.read()
        return read_events(response)


def etag(response) -> str:
    return response.headers["etag"]


def store_rows(data_dir: Path, sql: str) -> list[tuple]:
    """Read the server's SQLite file directly (read-only), not through the Store class."""
    [path] = data_dir.glob("*.sqlite3")
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute(sql).fetchall()


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def onnx_session(data: bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def boards(count: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    board = generator.integers(0, 12, size=(count, 16), dtype=np.int64)
    mask = generator.random((count, 4)) < 0.7
    mask[:, 0] = True  # at least one legal move per board
    return board, mask


# ---- fixtures ----


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with serve(tmp_path) as client:
        yield client


@pytest.fixture
def tiny(client) -> TestClient:
    """A server holding the tiny-dense template."""
    create(client, template("tiny-dense"))
    return client


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One server for the read-only checks of a finished run and of exports: tiny-dense trained
    for four PPO updates (60,000 board moves, 16,384 per update), plus `fresh-dense`, the same
    architecture under another id and never trained."""
    data_dir = tmp_path_factory.mktemp("trained")
    with serve(data_dir) as client:
        design = create(client, template("tiny-dense"))["design"]
        fresh = create(client, template("tiny-dense", id="fresh-dense", name="Fresh dense"))["design"]
        accepted = client.post("/api/designs/tiny-dense/train", json={"max_env_steps": 60000})
        run_id = accepted.json()["run_id"]
        events = stream(client, run_id)
        yield SimpleNamespace(client=client, data_dir=data_dir, design=design, fresh=fresh, accepted=accepted, run_id=run_id, events=events)


# ---- health, auth, hosts, headers ----


def test_health_needs_no_token(client):
    response = without_auth(client, "GET", "/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def _protected_requests(client: TestClient) -> list[tuple[str, str]]:
    """Every route of the app but health (path parameters filled in), and /openapi.json."""
    requests = []
    for route in client.app.routes:
        if isinstance(route, Route) and route.path != "/api/health":
            path = re.sub(r"{\w+}", "some-id", route.path)
            requests += [(method, path) for method in sorted(route.methods - {"HEAD"})]
    assert ("GET", "/openapi.json") in requests and len(requests) >= 15
    return requests


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", f"Bearer {TOKEN[:-1]}{'g' if TOKEN[-1] != 'g' else 'h'}", f"Basic {TOKEN}", TOKEN, "Bearer "],
    ids=["missing", "wrong", "one-char-off", "basic-scheme", "no-scheme", "empty"],
)
def test_every_route_but_health_needs_the_token(client, authorization):
    for method, path in _protected_requests(client):
        response = without_auth(client, method, path, authorization, content=b"{}")
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_foreign_host_is_refused_before_anything_else(client):
    for host in ["evil.example", "evil.example:8000", "testserver.evil.example", "localhost.evil.example", "127.0.0.1.nip.io"]:
        for response in (client.get("/api/health", headers={"host": host}), without_auth(client, "GET", "/api/designs", headers={"host": host})):
            assert response.status_code == 400, host
            assert response.json()["error"]["code"] == "invalid_host"
    for host in ["127.0.0.1:8000", "192.168.1.20", "[::1]:8443", "localhost", "LOCALHOST:8000", "testserver", "testserver:443", "testserver."]:
        assert client.get("/api/health", headers={"host": host}).status_code == 200, host
        assert client.get("/api/designs", headers={"host": host}).status_code == 200, host


def test_every_response_carries_a_request_id(tiny):
    responses = [
        tiny.get("/api/health"),
        tiny.get("/api/designs"),
        tiny.get("/api/designs/tiny-dense"),
        tiny.get("/api/designs/missing"),
        tiny.get("/api/nowhere"),
        tiny.get("/api/health", headers={"host": "evil.example"}),
        without_auth(tiny, "GET", "/api/designs"),
        tiny.post("/api/designs", content=b" " * (MAX_BODY + 1)),
        tiny.put("/api/designs/tiny-dense", json={}),
        tiny.get("/api/runs/no-such-run/events"),
    ]
    for response in responses:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), response.request.url
    ids = {response.headers["x-request-id"] for response in responses}
    assert len(ids) == len(responses)  # one per request
    assert tiny.get("/api/designs", headers={"x-request-id": "phone-abc-123"}).headers["x-request-id"] == "phone-abc-123"
    for insane in [b"bad id;drop", b"a" * 65, "ok\u00e9".encode()]:
        replaced = tiny.get("/api/health", headers={"x-request-id": insane}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_an_unexpected_error_is_a_json_500_that_names_the_request(tmp_path):
    """No route is meant to fail, so the test adds one that does: the phone still gets the one error
    body, the request id to quote, and the security headers."""

    async def broken(request):
        raise RuntimeError("a bug the test planted")

    app = create_app(ServerSettings(data_dir=tmp_path, token=TOKEN, allowed_hosts=("testserver",)))
    app.router.routes.append(Route("/api/broken", broken))
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as client:
        response = client.get("/api/broken", headers={"x-request-id": "phone-42"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error" and "phone-42" in response.json()["error"]["message"]
    assert response.headers["x-request-id"] == "phone-42"
    assert response.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in response.headers


def test_security_headers_on_api_and_static_responses(tmp_path):
    static = tmp_path / "dist"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>Model Studio</title>")
    with serve(tmp_path / "data", static_dir=static) as client:
        shell = without_auth(client, "GET", "/")  # the shell is public: it holds no data
        assert shell.status_code == 200 and "Model Studio" in shell.text
        responses = [shell, client.get("/index.html"), client.get("/api/health"), client.get("/api/designs"), without_auth(client, "GET", "/api/designs")]
        for response in responses:
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "x-request-id" in response.headers


# ---- designs: create, read, sync writes, delete ----


def test_create_answers_201_with_location_and_etag_1(client):
    design = template("tiny-dense")
    response = client.post("/api/designs", json=design)
    assert response.status_code == 201
    assert response.headers["location"] == "/api/designs/tiny-dense"
    assert etag(response) == '"1"'
    body = response.json()
    assert body["id"] == "tiny-dense" and body["version"] == 1
    assert body["design"] == design
    read = client.get(response.headers["location"])
    assert read.status_code == 200 and read.json() == body and etag(read) == '"1"'


def test_create_of_a_taken_id_is_409(tiny):
    response = tiny.post("/api/designs", json=template("tiny-dense", name="Another"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "design_exists"
    assert tiny.get("/api/designs/tiny-dense").json()["design"]["name"] == "Tiny dense"


def test_ids_differing_only_in_case_are_409(tiny):
    assert tiny.post("/api/designs", json=template("tiny-dense", id="Tiny-Dense")).status_code == 409
    put = tiny.put("/api/designs/TINY-DENSE", json=template("tiny-dense", id="TINY-DENSE"), headers={"If-None-Match": "*"})
    assert put.status_code == 409 and put.json()["error"]["code"] == "design_exists"
    assert tiny.get("/api/designs/Tiny-Dense").status_code == 404  # lookups stay exact
    assert [d["id"] for d in tiny.get("/api/designs").json()["designs"]] == ["tiny-dense"]


def test_list_is_newest_change_first(client):
    for name in ["first", "second", "third"]:
        create(client, template("tiny-dense", id=name, name=name.title()))
        time.sleep(0.005)  # timestamps have millisecond resolution
    update = client.put("/api/designs/first", json=template("tiny-dense", id="first", name="First, edited"), headers={"If-Match": '"1"'})
    assert update.status_code == 200
    listed = client.get("/api/designs").json()["designs"]
    assert [(d["id"], d["name"], d["version"]) for d in listed] == [("first", "First, edited", 2), ("third", "Third", 1), ("second", "Second", 1)]


def test_get_with_the_current_etag_is_304(tiny):
    current = tiny.get("/api/designs/tiny-dense")
    assert etag(current) == '"1"'
    for sent in ['"1"', 'W/"1"']:
        cached = tiny.get("/api/designs/tiny-dense", headers={"If-None-Match": sent})
        assert cached.status_code == 304 and cached.content == b"" and etag(cached) == '"1"'
    assert tiny.get("/api/designs/tiny-dense", headers={"If-None-Match": '"7"'}).status_code == 200


def test_put_without_a_condition_is_428(tiny):
    response = tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name="Edited"))
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "precondition_required"
    assert tiny.get("/api/designs/tiny-dense").json()["version"] == 1


def test_put_over_the_current_version_bumps_it(tiny):
    before = tiny.get("/api/designs/tiny-dense").json()
    edited = template("tiny-dense", name="Edited on the train")
    response = tiny.put("/api/designs/tiny-dense", json=edited, headers={"If-Match": '"1"'})
    assert response.status_code == 200
    assert etag(response) == '"2"'
    body = response.json()
    assert body["version"] == 2 and body["design"] == edited
    assert body["created_at"] == before["created_at"] and body["updated_at"] >= before["updated_at"]
    assert tiny.get("/api/designs/tiny-dense").json() == body


def test_put_over_a_stale_version_is_412_with_the_server_copy(tiny):
    winner = tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name="Desktop edit"), headers={"If-Match": '"1"'})
    assert winner.status_code == 200
    stale = tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name="Phone edit"), headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert etag(stale) == '"2"'
    assert stale.json() == winner.json() == tiny.get("/api/designs/tiny-dense").json()
    # the phone merges and writes over the version it was shown
    merged = tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name="Merged"), headers={"If-Match": etag(stale)})
    assert merged.status_code == 200 and merged.json()["version"] == 3


def test_put_over_a_missing_design_is_404(client):
    response = client.put("/api/designs/tiny-dense", json=template("tiny-dense"), headers={"If-Match": '"1"'})
    assert response.status_code == 404


def test_put_if_none_match_star_creates_once_and_is_idempotent(client):
    design = template("tiny-dense", id="made-on-phone")
    created = client.put("/api/designs/made-on-phone", json=design, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    assert created.headers["location"] == "/api/designs/made-on-phone" and etag(created) == '"1"'
    repeated = client.put("/api/designs/made-on-phone", json=design, headers={"If-None-Match": "*"})
    assert repeated.status_code == 200 and repeated.json() == created.json()  # a retry after a lost reply
    other = client.put("/api/designs/made-on-phone", json={**design, "name": "Someone else"}, headers={"If-None-Match": "*"})
    assert other.status_code == 412
    assert other.json() == created.json() and etag(other) == '"1"'
    assert client.get("/api/designs/made-on-phone").json()["version"] == 1


def test_body_id_must_be_the_path_id(tiny):
    for method, headers in [("PUT", {"If-Match": '"1"'}), ("PUT", {"If-None-Match": "*"}), ("POST", {})]:
        path = "/api/designs/tiny-dense" + ("/validate" if method == "POST" else "")
        response = tiny.request(method, path, json=template("tiny-dense", id="elsewhere"), headers=headers)
        assert response.status_code == 422, (method, headers)
        assert response.json()["error"]["code"] == "id_mismatch"
    assert tiny.get("/api/designs/elsewhere").status_code == 404


def test_delete_then_404(tiny):
    assert tiny.delete("/api/designs/tiny-dense").status_code == 204
    assert tiny.get("/api/designs/tiny-dense").status_code == 404
    assert tiny.delete("/api/designs/tiny-dense").status_code == 404
    assert tiny.get("/api/designs").json()["designs"] == []


def test_delete_with_a_stale_if_match_is_412(tiny):
    tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name="v2"), headers={"If-Match": '"1"'})
    stale = tiny.delete("/api/designs/tiny-dense", headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert etag(stale) == '"2"' and stale.json()["design"]["name"] == "v2"
    assert tiny.get("/api/designs/tiny-dense").status_code == 200
    assert tiny.delete("/api/designs/tiny-dense", headers={"If-Match": '"2"'}).status_code == 204


def test_two_clients_writing_one_version_lose_no_write(tiny):
    """Two phones PUT over the same version at the same moment: one wins, the other is told."""
    barrier = threading.Barrier(2)

    def put(name: str, version: int):
        barrier.wait()
        return tiny.put("/api/designs/tiny-dense", json=template("tiny-dense", name=name), headers={"If-Match": f'"{version}"'})

    with ThreadPoolExecutor(max_workers=2) as pool:
        for version in range(1, 11):
            a, b = pool.submit(put, f"A{version}", version), pool.submit(put, f"B{version}", version)
            responses = [a.result(), b.result()]
            assert sorted(r.status_code for r in responses) == [200, 412], version
            won = next(r for r in responses if r.status_code == 200)
            lost = next(r for r in responses if r.status_code == 412)
            assert won.json()["version"] == version + 1
            assert lost.json() == won.json()  # the loser sees the winner's copy
            assert tiny.get("/api/designs/tiny-dense").json() == won.json()


# ---- hostile and malformed input ----

HOSTILE_IDS = ["..%2F..%2Fetc", "a" * 65, "a%20b", "%00", "caf%C3%A9", "\u00fcber", "_hidden", "-dash", "abc%0A", "%2e%2e", "a.b"]
ID_ROUTES = [
    ("GET", "/api/designs/{}"),
    ("PUT", "/api/designs/{}"),
    ("DELETE", "/api/designs/{}"),
    ("POST", "/api/designs/{}/validate"),
    ("POST", "/api/designs/{}/compile"),
    ("POST", "/api/designs/{}/train"),
    ("GET", "/api/designs/{}/runs"),
    ("GET", "/api/designs/{}/export"),
    ("GET", "/api/runs/{}"),
    ("GET", "/api/runs/{}/events"),
    ("POST", "/api/runs/{}/stop"),
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_ids_are_4xx_and_touch_nothing(tmp_path, hostile):
    with serve(tmp_path) as client:
        for method, path in ID_ROUTES:
            response = client.request(method, path.format(hostile), json=template("tiny-dense"), headers={"If-None-Match": "*"})
            assert response.status_code in (400, 404), (method, path, response.status_code)
            assert "error" in response.json()
        hostile_body = client.post("/api/designs", json=template("tiny-dense", id="../../etc"))
        assert hostile_body.status_code == 422
    assert not (tmp_path / "generated").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("model-studio.sqlite3")) == []


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"[" * 100_000, "invalid_json"),
        (b'{"a":' * 100_000, "invalid_json"),
        (b"[]", "schema_violation"),  # JSON, but not a design
        (b'"a design"', "schema_violation"),
    ],
    ids=["garbage", "empty", "not-utf8", "deep-array", "deep-object", "array", "string"],
)
def test_malformed_design_bodies_are_422(tiny, body, code):
    for method, path, headers in [
        ("POST", "/api/designs", {}),
        ("PUT", "/api/designs/tiny-dense", {"If-Match": '"1"'}),
        ("PUT", "/api/designs/new-one", {"If-None-Match": "*"}),
    ]:
        response = tiny.request(method, path, content=body, headers={"content-type": "application/json", **headers})
        assert response.status_code == 422, (method, path)
        assert response.json()["error"]["code"] == code
    validated = tiny.post("/api/designs/tiny-dense/validate", content=body)
    assert validated.status_code == 422
    assert [e["code"] for e in validated.json()["errors"]] == [code]
    assert tiny.get("/api/designs/tiny-dense").json()["version"] == 1


def test_a_number_past_the_double_range_is_422_and_nothing_is_stored(tiny):
    """`1e400` is JSON, but no double holds it: stored as infinity it would come back as null and
    the design could no longer be read."""
    text = json.dumps(template("tiny-dense")).replace('"units": 256', '"units": 1e400')
    for method, headers in [("POST", {}), ("PUT", {"If-Match": '"1"'})]:
        path = "/api/designs" if method == "POST" else "/api/designs/tiny-dense"
        response = tiny.request(method, path, content=text, headers={"content-type": "application/json", **headers})
        assert response.status_code == 422, method
        assert response.json()["error"]["code"] == "invalid_json"
    read = tiny.get("/api/designs/tiny-dense")
    assert read.status_code == 200 and read.json()["version"] == 1
    assert [e["code"] for e in tiny.post("/api/designs/tiny-dense/validate", content=text).json()["errors"]] == ["invalid_json"]


@pytest.mark.parametrize(
    "change",
    [{"name": 5}, {"components": "many"}, {"edges": [["board", "embed", "hidden1"]]}, {"meta": {"d_model": "16"}}, {"schemaVersion": 2}, {"colour": "red"}],
    ids=["name-int", "components-string", "edge-arity", "d-model-string", "future-version", "unknown-field"],
)
def test_wrong_types_are_422(client, change):
    response = client.post("/api/designs", json={**template("tiny-dense"), **change})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "schema_violation"
    assert client.get("/api/designs").json()["designs"] == []


def test_a_design_with_an_unknown_block_is_stored_but_not_built(client):
    """Half-built designs sync (the phone stores what the user drew), but the rules gate building:
    validate, compile, train and export answer 422 with the validator's error on that block."""
    design = unknown_block_design()
    [expected] = CASES["unknown-block-type"]["expected"]["errors"]
    stored = create(client, design)["design"]
    assert {field: stored[field] for field in design} == design  # plus the defaults it left out
    validated = client.post("/api/designs/with-conv/validate", json=design)
    assert validated.status_code == 422
    assert [(e["code"], e["component"]) for e in validated.json()["errors"]] == [(expected["code"], expected["component"])]
    for method, path in [("POST", "compile"), ("POST", "train"), ("GET", "export?fmt=py")]:
        kwargs = {"json": {"max_env_steps": 20000}} if path == "train" else {}
        response = client.request(method, f"/api/designs/with-conv/{path}", **kwargs)
        assert response.status_code == 422, path
        error = response.json()["error"]
        assert error["code"] == "invalid_design"
        assert (expected["code"], expected["component"]) in [(e["code"], e["component"]) for e in error["errors"]]
    assert client.get("/api/designs/with-conv/runs").json()["runs"] == []


def _big_body() -> bytes:
    return b'{"id": "x", "name": "' + b"a" * MAX_BODY + b'"}'


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_2_mib_is_413(tiny, chunked):
    routes = [
        ("POST", "/api/designs", {}),
        ("PUT", "/api/designs/tiny-dense", {"If-Match": '"1"'}),
        ("POST", "/api/designs/tiny-dense/validate", {}),
        ("POST", "/api/designs/tiny-dense/train", {}),
        ("POST", "/api/telemetry", {}),
    ]
    for method, path, headers in routes:
        content = _chunks(_big_body()) if chunked else _big_body()
        response = tiny.request(method, path, content=content, headers=headers)
        if chunked:
            assert "content-length" not in response.request.headers
        assert response.status_code == 413, path
        assert response.json()["error"]["code"] == "body_too_large"
    assert tiny.get("/api/designs/tiny-dense/runs").json()["runs"] == []


def test_a_body_of_exactly_2_mib_is_accepted(client):
    text = json.dumps(template("tiny-dense")).encode()
    response = client.post("/api/designs", content=text + b" " * (MAX_BODY - len(text)), headers={"content-type": "application/json"})
    assert response.status_code == 201


def test_a_bad_format_or_event_id_is_400(trained):
    client, run_id = trained.client, trained.run_id
    for fmt in ["zip", "ONNX", "", "onnx;rm"]:
        response = client.get("/api/designs/tiny-dense/export", params={"fmt": fmt})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_format", fmt
    for bad in ["abc", "-1", "1.5", "1e3", "9" * 17, str(2**53 + 1)]:
        for kwargs in ({"headers": {"Last-Event-ID": bad}}, {"params": {"last_event_id": bad}}):
            response = client.get(f"/api/runs/{run_id}/events", **kwargs)
            assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_event_id", (bad, kwargs)


def test_a_bad_precondition_is_400(tiny):
    design = template("tiny-dense")
    for bad in ['"abc"', "garbage", "*", '"1', '"-1"', '"1", "2"', '"' + "9" * 19 + '"', ""]:
        for method, kwargs in [("PUT", {"json": design}), ("DELETE", {})]:
            response = tiny.request(method, "/api/designs/tiny-dense", headers={"If-Match": bad}, **kwargs)
            assert response.status_code == 400, (method, bad)
            assert response.json()["error"]["code"] == "invalid_precondition"
    assert tiny.put("/api/designs/tiny-dense", json=design, headers={"If-None-Match": '"1"'}).status_code == 400
    assert tiny.get("/api/designs/tiny-dense").json()["version"] == 1


def test_unknown_routes_and_methods_answer_json_problems(client):
    missing = client.get("/api/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.patch("/api/designs")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


# ---- validate and compile ----


@pytest.mark.parametrize("name", CASES)
def test_validate_agrees_with_every_conformance_vector(client, name):
    case = CASES[name]
    design, expected = case["design"], case["expected"]
    design_id = design["id"] if isinstance(design, dict) and isinstance(design.get("id"), str) and ID_SHAPE.match(design["id"]) else "case"
    response = client.post(f"/api/designs/{design_id}/validate", json=design)
    assert response.status_code == (200 if expected["valid"] else 422)
    result = response.json()
    assert result["valid"] is expected["valid"]
    assert sorted((e["code"], e["component"]) for e in result["errors"]) == sorted((e["code"], e["component"]) for e in expected["errors"])
    assert (result["paramCount"], result["paramCountExact"], result["estimatedMemory"]) == (
        expected["paramCount"],
        expected["paramCountExact"],
        expected["estimatedMemory"],
    )


@pytest.mark.parametrize("name", TEMPLATES)
def test_validate_counts_a_template_exactly(client, name):
    design = template(name)
    response = client.post(f"/api/designs/{design['id']}/validate", json=design)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is True and result["errors"] == []
    assert result["paramCountExact"] == param_count(build_model(design))
    assert result["paramCount"] == pytest.approx(result["paramCountExact"] / 1e6)
    assert result["estimatedMemory"] > 0


def test_validate_names_the_offending_component(client):
    design = template("moe-router")
    router = next(c for c in design["components"] if c["type"] == "load_balance_router")
    router["props"]["top_k"] = 6  # more than the 4 experts it feeds
    response = client.post("/api/designs/moe-router/validate", json=design)
    assert response.status_code == 422
    assert [(e["code"], e["component"]) for e in response.json()["errors"]] == [("top_k_exceeds_experts", router["id"])]


def test_compile_writes_the_generated_module(tiny, tmp_path):
    validated = tiny.post("/api/designs/tiny-dense/validate", json=template("tiny-dense")).json()
    response = tiny.post("/api/designs/tiny-dense/compile")
    assert response.status_code == 200
    result = response.json()
    path = tmp_path / "generated" / "tiny-dense.py"
    assert result["source_path"] == "generated/tiny-dense.py" and path.is_file()
    assert result["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result["paramCountExact"] == validated["paramCountExact"]
    assert param_count(instantiate(load_generated(path))) == result["paramCountExact"]


def test_compile_of_an_invalid_stored_design_is_422_with_its_errors(client, tmp_path):
    create(client, unknown_block_design())
    response = client.post("/api/designs/with-conv/compile")
    assert response.status_code == 422
    assert [(e["code"], e["component"]) for e in response.json()["error"]["errors"]] == [("unknown_block_type", "conv")]
    assert not (tmp_path / "generated" / "with-conv.py").exists()
    assert client.post("/api/designs/missing/compile").status_code == 404


# ---- training ----


def test_train_answers_202_with_the_run(trained):
    client, run_id, accepted = trained.client, trained.run_id, trained.accepted
    assert accepted.status_code == 202
    assert accepted.headers["location"] == f"/api/runs/{run_id}" == accepted.json()["status_url"]
    assert accepted.json()["events_url"] == f"/api/runs/{run_id}/events"
    assert ID_SHAPE.match(run_id)
    status = client.get(accepted.headers["location"])
    assert status.status_code == 200
    assert client.get("/api/designs/tiny-dense/runs").json()["runs"] == [status.json()]


def test_a_finished_run_shows_status_progress_and_summary(trained):
    run = trained.client.get(f"/api/runs/{trained.run_id}").json()
    done = trained.events[-1].data
    assert run["status"] == "completed" and run["design_id"] == "tiny-dense" and run["design_version"] == 1
    assert run["budget"] == {"max_env_steps": 60000, "max_minutes": None}
    assert run["progress"] == 1.0 and run["has_checkpoint"] is True
    assert run["env_steps"] >= 60000 and run["updates"] == done["updates"] == len(trained.events) - 1
    assert run["last_seq"] == trained.events[-1].id
    assert run["started_at"] <= run["finished_at"]
    summary = run["summary"]
    assert summary == done["summary"] and summary["games"] > 0
    assert list(summary["reach"]) == REACH_TILES
    reach = [summary["reach"][tile] for tile in REACH_TILES]
    assert all(0.0 <= r <= 1.0 for r in reach) and reach == sorted(reach, reverse=True)


def test_stop_of_a_finished_run_is_200(trained):
    response = trained.client.post(f"/api/runs/{trained.run_id}/stop")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_unknown_runs_are_404(client):
    for method, path in [("GET", "/api/runs/run-nope"), ("GET", "/api/runs/run-nope/events"), ("POST", "/api/runs/run-nope/stop")]:
        response = client.request(method, path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "run_not_found"
    assert client.post("/api/designs/missing/train", json={"max_env_steps": 20000}).status_code == 404
    assert client.get("/api/designs/missing/runs").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"max_env_steps": 0},
        {"max_minutes": -1},
        {"max_minutes": 0},
        {"max_env_steps": "many"},
        {"max_env_steps": 1.5},
        {"seed": -1},
        {"epochs": 3},
        {"resume_from": "../../etc"},
        [],
        "go",
    ],
    ids=["steps-0", "minutes-negative", "minutes-0", "steps-string", "steps-fraction", "seed-negative", "unknown-field", "hostile-resume", "array", "string"],
)
def test_a_bad_budget_is_422_and_starts_nothing(tiny, body):
    response = tiny.post("/api/designs/tiny-dense/train", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_body"
    assert tiny.get("/api/designs/tiny-dense/runs").json()["runs"] == []


def test_resume_from_a_run_of_another_design_is_404(trained):
    client = trained.client
    response = client.post("/api/designs/fresh-dense/train", json={"max_env_steps": 20000, "resume_from": trained.run_id})
    assert response.status_code == 404 and response.json()["error"]["code"] == "run_not_found"
    response = client.post("/api/designs/tiny-dense/train", json={"max_env_steps": 20000, "resume_from": "run-never-was"})
    assert response.status_code == 404
    assert client.get("/api/designs/fresh-dense/runs").json()["runs"] == []
    assert [r["id"] for r in client.get("/api/designs/tiny-dense/runs").json()["runs"]] == [trained.run_id]


def test_while_a_run_trains_another_train_and_a_delete_are_409_naming_it(tmp_path):
    with serve(tmp_path) as client:
        create(client, template("tiny-dense"))
        create(client, template("tiny-dense", id="other-dense"))
        run_id = train(client, "tiny-dense", {})  # no budget: it trains until stopped
        for design_id in ["tiny-dense", "other-dense"]:  # one run at a time on this machine
            again = client.post(f"/api/designs/{design_id}/train", json={"max_env_steps": 20000})
            assert again.status_code == 409, design_id
            assert again.json()["error"] == {**again.json()["error"], "code": "run_active", "run_id": run_id}
        deleted = client.delete("/api/designs/tiny-dense")
        assert deleted.status_code == 409
        assert deleted.json()["error"]["run_id"] == run_id and run_id in deleted.json()["error"]["message"]
        assert client.get("/api/designs/tiny-dense").status_code == 200
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 202
        assert wait_for_run(client, run_id)["status"] == "stopped"
        # once it has stopped, the design can go, and its runs with it
        assert client.delete("/api/designs/tiny-dense").status_code == 204
        assert client.get(f"/api/runs/{run_id}").status_code == 404


def test_a_delete_racing_a_train_never_strands_a_run(tmp_path):
    """One phone deletes a design as another starts training it. Either the delete wins (the train
    is 404) or the train does (the delete is 409 naming the run), never a 500, and never a run that
    trains on with its design and its row gone, where no one can see or stop it."""
    with serve(tmp_path) as client, ThreadPoolExecutor(max_workers=2) as pool:
        started = None
        for round_ in range(10):  # until the train wins once (then a run is active and later trains are 409)
            design_id = f"race-{round_}"
            create(client, template("tiny-dense", id=design_id))
            barrier = threading.Barrier(2)

            def call(method: str, path: str, **kwargs):
                barrier.wait()
                return client.request(method, path, **kwargs)

            trained = pool.submit(call, "POST", f"/api/designs/{design_id}/train", json={"max_env_steps": 20000})
            deleted = pool.submit(call, "DELETE", f"/api/designs/{design_id}")
            outcome = (trained.result().status_code, deleted.result().status_code)
            assert outcome in {(404, 204), (202, 409)}, (round_, outcome)
            if outcome == (202, 409):
                started = trained.result().json()["run_id"]
                assert deleted.result().json()["error"]["run_id"] == started
                assert client.get(f"/api/designs/{design_id}").status_code == 200
                break
            assert client.get(f"/api/designs/{design_id}").status_code == 404
        if started is not None:
            assert client.post(f"/api/runs/{started}/stop").status_code == 202
            assert wait_for_run(client, started)["status"] == "stopped"


def test_stop_ends_the_run_stopped_with_a_checkpoint(tmp_path):
    with serve(tmp_path) as client:
        create(client, template("tiny-dense"))
        run_id = train(client, "tiny-dense", {})
        with client.stream("GET", f"/api/runs/{run_id}/events") as response:
            [first] = read_events(response, stop_after=1)
        assert first.type == "training_update"
        stopping = client.post(f"/api/runs/{run_id}/stop")
        assert stopping.status_code == 202
        assert stopping.json()["id"] == run_id and stopping.json()["status"] in ACTIVE
        run = wait_for_run(client, run_id)
        assert run["status"] == "stopped" and run["has_checkpoint"] is True and run["progress"] is None
        done = stream(client, run_id)[-1]
        assert done.type == "done" and done.data["status"] == "stopped"
        assert load_checkpoint(done.data["checkpoint"])["update"] == run["updates"] >= 1
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 200


def test_resume_continues_a_finished_run_in_a_new_run(tmp_path):
    with serve(tmp_path) as client:
        create(client, template("tiny-dense"))
        first = wait_for_run(client, train(client, "tiny-dense", {"max_env_steps": 20000}))
        assert first["status"] == "completed"
        second_id = train(client, "tiny-dense", {"max_env_steps": 20000, "resume_from": first["id"]})
        assert second_id != first["id"]
        events = stream(client, second_id)
        updates = [e.data for e in events if e.type == "training_update"]
        assert updates[0]["update"] == first["updates"] + 1
        assert updates[0]["env_steps"] > first["env_steps"]
        second = client.get(f"/api/runs/{second_id}").json()
        assert second["status"] == "completed" and second["resume_from"] == first["id"] and second["progress"] == 1.0
        assert second["env_steps"] - first["env_steps"] >= 20000  # the budget counts from the resume
        # the design's runs, newest first
        assert [r["id"] for r in client.get("/api/designs/tiny-dense/runs").json()["runs"]] == [second_id, first["id"]]


# ---- server-sent events ----


def test_events_are_numbered_updates_then_done(trained):
    events = trained.events
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events] == ["training_update"] * (len(events) - 1) + ["done"]
    assert len(events) >= 5  # 60,000 moves take four updates of 16,384
    assert [e.data["update"] for e in events[:-1]] == list(range(1, len(events)))
    steps = [e.data["env_steps"] for e in events[:-1]]
    assert steps == sorted(steps) and steps[-1] >= 60000
    assert all(e.data["run_id"] == trained.run_id for e in events)
    assert events[-1].data["status"] == "completed"


def test_last_event_id_replays_exactly_what_came_after(trained):
    client, run_id, events = trained.client, trained.run_id, trained.events
    for after in range(len(events) + 1):
        replay = stream(client, run_id, headers={"Last-Event-ID": str(after)})
        assert replay == events[after:], after
    assert stream(client, run_id, params={"last_event_id": "2"}) == events[2:]
    assert stream(client, run_id, headers={"Last-Event-ID": "999"}) == []  # past the end: it ends at once


def test_moe_events_carry_expert_usage(tmp_path):
    """The MoE template's events, from the real manager and child process; the PPO batch is
    shrunk (the MoE template needs ~8 s per default update on two cores)."""
    design = template("moe-router")
    layers = [c for c in design["components"] if c["type"] == "moe_layer"]
    with serve(tmp_path, make_runner=SmallBatchRunner) as client:
        create(client, design)
        run_id = train(client, "moe-router", {"max_env_steps": 2 * SmallBatchRunner.STEPS_PER_UPDATE})
        events = stream(client, run_id)
    assert [e.type for e in events] == ["training_update", "training_update", "done"]
    for event in events[:-1]:
        usage = event.data["moe"]["expert_usage"]
        assert [len(layer) for layer in usage] == [layer["props"]["n_experts"] for layer in layers]
        assert all(sum(layer) == pytest.approx(1.0) and min(layer) >= 0.0 for layer in usage)
        assert event.data["losses"]["lb_loss"] >= 0.0
    assert events[-1].data["status"] == "completed"


class SmallBatchRunner(LocalRunner):
    """`LocalRunner` (the real manager and child process) with a PPO batch of 128 moves."""

    STEPS_PER_UPDATE = 16 * 8

    def start(self, request: RunRequest) -> None:
        config = PPOConfig(seed=request.seed, num_envs=16, num_steps=8, minibatch_size=64, update_epochs=1, torch_threads=1)
        self.manager.start(request.design_json, config=config, budget=request.budget, run_id=request.run_id, resume_from=request.resume_from)


def test_a_dropped_stream_resumes_with_every_event_exactly_once(client):
    """The phone loses the connection after k events, reconnects with Last-Event-ID: k, and ends up
    with every event once, in order, through `done`."""
    create(client, template("tiny-dense"))
    run_id = train(client, "tiny-dense", {"max_env_steps": 60000})  # four updates
    with client.stream("GET", f"/api/runs/{run_id}/events", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in response.headers["cache-control"]
        assert "content-encoding" not in response.headers
        assert "x-request-id" in response.headers
        before = read_events(response, stop_after=2)
    # the connection is gone; the run goes on
    assert client.get(f"/api/runs/{run_id}").json()["status"] == "running"
    after = stream(client, run_id, headers={"Last-Event-ID": str(before[-1].id)})
    union = before + after
    assert [e.id for e in union] == list(range(1, len(union) + 1))
    assert [e.type for e in union] == ["training_update"] * (len(union) - 1) + ["done"]
    assert len(union) >= 5 and union[-1].data["status"] == "completed"
    assert union == stream(client, run_id)  # what a fresh reader replays


# ---- export ----


def test_onnx_export_of_an_untrained_design_has_fresh_weights(trained):
    response = trained.client.get("/api/designs/fresh-dense/export", params={"fmt": "onnx"})
    assert response.status_code == 200
    assert response.headers["x-model-weights"].startswith("fresh")
    assert 'filename="fresh-dense.onnx"' in response.headers["content-disposition"]
    session = onnx_session(response.content)
    inputs = {i.name: i for i in session.get_inputs()}
    assert set(inputs) == {"board", "action_mask"}
    assert inputs["board"].type == "tensor(int64)" and inputs["board"].shape[1] == 16
    assert inputs["action_mask"].type == "tensor(bool)" and inputs["action_mask"].shape[1] == 4
    assert not isinstance(inputs["board"].shape[0], int)  # the batch axis is dynamic
    board, mask = boards(5)
    logits, value = session.run(None, {"board": board, "action_mask": mask})
    assert logits.shape == (5, 4) and value.shape == (5,)
    model = build_model(trained.fresh).eval()  # the compiler's model with seed-0 weights
    with torch.no_grad():
        expected_logits, expected_value = model(torch.from_numpy(board), torch.from_numpy(mask))
    np.testing.assert_allclose(logits[mask], expected_logits.numpy()[mask], atol=1e-4)
    np.testing.assert_allclose(value, expected_value.numpy(), atol=1e-4)


def test_pt_export_of_an_untrained_design_has_fresh_weights(trained):
    response = trained.client.get("/api/designs/fresh-dense/export", params={"fmt": "pt"})
    assert response.status_code == 200 and response.headers["x-model-weights"].startswith("fresh")
    exported = torch.load(io.BytesIO(response.content), weights_only=True)
    expected = build_model(trained.fresh).state_dict()
    assert exported["model_state_dict"].keys() == expected.keys()
    assert all(torch.equal(exported["model_state_dict"][k], expected[k]) for k in expected)
    assert json.loads(exported["design"]) == trained.fresh


def test_py_export_is_the_compiled_source(trained):
    response = trained.client.get("/api/designs/fresh-dense/export", params={"fmt": "py"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/x-python")
    compiled = trained.client.post("/api/designs/fresh-dense/compile").json()
    assert response.content == (trained.data_dir / compiled["source_path"]).read_bytes()
    assert "class GeneratedModel" in response.text


def test_export_after_a_run_uses_its_checkpoint(trained):
    client, run_id = trained.client, trained.run_id
    checkpoint = load_checkpoint(trained.events[-1].data["checkpoint"])["model_state_dict"]
    for params in ({"fmt": "pt"}, {"fmt": "pt", "run": run_id}):
        response = client.get("/api/designs/tiny-dense/export", params=params)
        assert response.status_code == 200, params
        assert run_id in response.headers["x-model-weights"]
        assert f'filename="tiny-dense-{run_id}.pt"' in response.headers["content-disposition"]
        exported = torch.load(io.BytesIO(response.content), weights_only=True)["model_state_dict"]
        assert exported.keys() == checkpoint.keys()
        assert all(torch.equal(exported[k], checkpoint[k]) for k in checkpoint)


def test_onnx_export_of_a_run_plays_like_its_checkpoint(trained):
    response = trained.client.get("/api/designs/tiny-dense/export", params={"fmt": "onnx", "run": trained.run_id})
    assert response.status_code == 200
    model = build_model(trained.design)
    model.load_state_dict(load_checkpoint(trained.events[-1].data["checkpoint"])["model_state_dict"])
    board, mask = boards(8, seed=3)
    logits, value = onnx_session(response.content).run(None, {"board": board, "action_mask": mask})
    with torch.no_grad():
        expected_logits, expected_value = model.eval()(torch.from_numpy(board), torch.from_numpy(mask))
    np.testing.assert_allclose(logits[mask], expected_logits.numpy()[mask], atol=1e-4)
    np.testing.assert_allclose(value, expected_value.numpy(), atol=1e-4)


def test_a_repeated_export_is_served_from_the_cache(trained):
    client, exports = trained.client, trained.data_dir / "exports"
    create(client, template("tiny-dense", id="cached-dense"))
    before = set(exports.glob("*")) if exports.is_dir() else set()
    first = client.get("/api/designs/cached-dense/export", params={"fmt": "py"})
    [made] = set(exports.glob("*")) - before
    stamp = made.stat().st_mtime_ns
    second = client.get("/api/designs/cached-dense/export", params={"fmt": "py"})
    assert first.status_code == second.status_code == 200 and first.content == second.content == made.read_bytes()
    assert set(exports.glob("*")) - before == {made} and made.stat().st_mtime_ns == stamp


def test_export_of_an_unknown_run_is_404(trained):
    client = trained.client
    for design_id, run_id in [("tiny-dense", "run-never-was"), ("fresh-dense", trained.run_id), ("tiny-dense", "x" * 65)]:
        response = client.get(f"/api/designs/{design_id}/export", params={"fmt": "pt", "run": run_id})
        assert response.status_code == 404 and response.json()["error"]["code"] == "run_not_found", (design_id, run_id)
    assert client.get("/api/designs/missing/export").status_code == 404


# ---- telemetry ----


def _events(count: int) -> list[dict]:
    return [{"name": "compile_success", "at": "2026-12-01T10:00:00.000Z", "props": {"time_ms": 412 + i, "template": "tiny"}} for i in range(count)]


def test_telemetry_is_stored(client, tmp_path):
    response = client.post("/api/telemetry", json={"client_id": "phone-1", "events": _events(3)})
    assert response.status_code == 202 and response.json() == {"accepted": 3}
    rows = store_rows(tmp_path, "SELECT client_id, name, occurred_at, props FROM telemetry ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [("phone-1", "compile_success", "2026-12-01T10:00:00.000Z")] * 3
    assert [json.loads(r[3]) for r in rows] == [e["props"] for e in _events(3)]


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": _events(101)},
        {"events": [{"name": "Bad Name"}]},
        {"events": [{"name": "ok", "props": {"nested": {"a": 1}}}]},
        {"events": _events(1), "extra": True},
        {"events": "many"},
    ],
    ids=["empty", "over-100", "bad-name", "nested-prop", "unknown-field", "not-a-list"],
)
def test_a_bad_telemetry_batch_is_422(client, tmp_path, body):
    response = client.post("/api/telemetry", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_body"
    assert store_rows(tmp_path, "SELECT count(*) FROM telemetry") == [(0,)]


def test_a_telemetry_burst_is_429_with_retry_after(client, tmp_path):
    statuses = [client.post("/api/telemetry", json={"events": _events(100)}).status_code for _ in range(10)]
    assert statuses == [202] * 10
    refused = client.post("/api/telemetry", json={"events": _events(100)})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert store_rows(tmp_path, "SELECT count(*) FROM telemetry") == [(1000,)]


# ---- OpenAPI ----


def test_openapi_lists_every_route_and_its_errors(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    served = {
        (method.lower(), route.path)
        for route in client.app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods - {"HEAD"}
    }
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    assert documented == served
    problem = {"$ref": "#/components/schemas/Problem"}
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path == "/api/health":
                assert "401" not in responses and operation["security"] == []
                continue
            assert "401" in responses, (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"]
            for status, reply in responses.items():
                if int(status) < 400:
                    continue
                # by contract, 412 carries the server's copy and validate's 422 the validator's result
                if status == "412" or (status == "422" and path.endswith("/validate")):
                    continue
                assert reply["content"]["application/json"]["schema"] == problem, (method, path, status)
