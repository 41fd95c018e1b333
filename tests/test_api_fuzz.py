"""Fuzz the real ASGI app: schemathesis from its own `/openapi.json`, stateless and through the
spec's links, then raw bytes at every route that reads a body.

The app is built as `model-studio serve` builds it (a real store in a temporary data dir, the real
training runner, the bearer token and Host checks) and reached in-process through schemathesis's
ASGI transport, which runs the app's lifespan: the schemathesis pytest plugin ends it after each
test (stopping any run, which checkpoints) and the next request starts it again on the same
store, so state carries from one test to the next just as it does across server restarts.

Bounds, for a two-core machine: `POST /train` starts real training processes, so few cases are
generated for it and every run a case starts is stopped at once (the stateful machine stops its
runs at the end of each scenario); `GET /events` streams until a run ends, so it is cut after a
few events or seconds (schemathesis keeps what arrived); `GET /export` of a valid design takes
seconds the first time per architecture and format (then it is cached), so it gets few cases.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.python import asgi

from model_studio.app import create_app
from model_studio.contracts import ID_PATTERN
from model_studio.responses import MAX_BODY_BYTES
from model_studio.services import ServerSettings

REPO = Path(__file__).resolve().parents[1]
TOKEN = "fuzz-0123456789abcdef0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEEDED_ID = "0"  # the id the generators reach first: fuzzed calls meet a stored, valid design
TEMPLATE = json.loads((REPO / "schema" / "templates" / "tiny-dense.json").read_text())

# Status codes a schema-valid request may legitimately get, beyond schemathesis's defaults (2xx,
# 3xx, 401, 403, 404, 409, 429): what JSON Schema cannot say. A PUT needs one of two optional
# headers (428) and may meet another version (412); a body's id must be the path's, and a stored
# design may break the validator's rules (422).
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429]
OPERATION_CONFIG = {
    "put_design": {"checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 412, 422, 428]}}},
    "delete_design": {"checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 412]}}},
    "validate_design_route": {"checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}}},
    # Mismatched mask and board counts are a 422 the schema cannot express.
    "predict_design_route": {"generation": {"max-examples": 20}, "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}}},
    "compile_design_route": {"checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}}},
    # Each case may start a training process (one at a time; the rest get 409, and every run a case
    # starts is stopped at once). A `resume_from` naming no run of the design is a documented 404,
    # which `ensure_resource_availability` would take for "the design just created is gone".
    "train_design": {
        "generation": {"max-examples": 8},
        "checks": {
            "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]},
            "ensure_resource_availability": {"enabled": False},
        },
    },
    # A valid design's first export per format traces (and for ONNX, checks) a model; then it is cached.
    "export_design_route": {
        "generation": {"max-examples": 12},
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
    },
    # A live run's stream is cut after a few events or seconds; what arrived is checked.
    "run_events": {"max-stream-events": 3, "request-timeout": 3},
}


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 2048,
            "generation": {"max-examples": 100, "database": "none"},
            "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
            "operations": [{"include-operation-id": op_id, **config} for op_id, config in OPERATION_CONFIG.items()],
        }
    )


_DATA = tempfile.TemporaryDirectory(prefix="model-studio-fuzz-")
APP = create_app(ServerSettings(data_dir=Path(_DATA.name), token=TOKEN, allowed_hosts=("testserver", "localhost")))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=_config(), headers=AUTH)
CASES: Counter[str] = Counter()  # cases run per operation, over the whole module
STATUSES: dict[str, Counter[int]] = defaultdict(Counter)  # and the statuses they got
UNTOKENED = [0]  # cases sent without the token (or with a wrong one) on purpose


@pytest.fixture(scope="module", autouse=True)
def _data_dir():
    """Stop what the last test left running, then drop the data dir."""
    yield
    asgi.shutdown_lifespans()
    _DATA.cleanup()


@pytest.fixture(scope="module")
def client():
    """A plain HTTP client over the same in-process transport (and lifespan) schemathesis uses."""
    with asgi.get_client(APP) as session:
        session.headers.update(AUTH)
        yield session


def design(design_id: str, **changes) -> dict:
    return {**TEMPLATE, "id": design_id, **changes}


def put_valid(client, design_id: str, **changes) -> dict:
    """Store `design(design_id)` as its latest version, creating it if needed."""
    current = client.get(f"/api/designs/{design_id}")
    if current.status_code == 404:
        response = client.put(f"/api/designs/{design_id}", json=design(design_id, **changes), headers={"If-None-Match": "*"})
    else:
        response = client.put(f"/api/designs/{design_id}", json=design(design_id, **changes), headers={"If-Match": current.headers["etag"]})
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def seeded(client):
    """Every fuzzed operation meets `SEEDED_ID` stored and valid (an earlier test may have changed or deleted it)."""
    put_valid(client, SEEDED_ID)
    return client


TRAIN = "POST /api/designs/{design_id}/train"
CREATE = "POST /api/designs"
PUT = "PUT /api/designs/{design_id}"
ID = re.compile(ID_PATTERN)


def assert_token_honoured(response) -> None:
    """Some cases leave the token out or mangle it on purpose (and 401 is checked for them); the
    rest must get past auth."""
    if response.request.headers.get("Authorization") == AUTH["Authorization"]:
        assert response.status_code != 401, response.text
    else:
        UNTOKENED[0] += 1


def stop_run(client, case, response) -> None:
    if case.operation.label == TRAIN and response.status_code == 202:
        stopped = client.post(f"/api/runs/{response.json()['run_id']}/stop")
        assert stopped.status_code in (200, 202), stopped.text


# ---- stateless: every operation, every check ----


@schema.parametrize()
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # `seeded` is meant to run once per operation
def test_operation_conforms(case, seeded):
    """No 5xx, only documented statuses, content types, headers and bodies; schema-valid data
    accepted and invalid data rejected; auth not ignored; undeclared methods get 405 + Allow."""
    CASES[case.operation.label] += 1
    response = case.call_and_validate()
    STATUSES[case.operation.label][response.status_code] += 1
    assert_token_honoured(response)
    stop_run(seeded, case, response)


# ---- stateful: through the spec's links (create -> get/put/validate/compile/train -> runs -> stop ...) ----


class APIWorkflow(schema.as_state_machine()):
    """Fuzzed designs almost never pass the validator, so every other create stores the tiny-dense
    template (under the generated id where that is one): then the links reach compile, export and
    train of a valid design, and from a started run its status, events and stop.

    Hypothesis replays a scenario's steps and expects the same outcomes, so each scenario leaves
    the store as it found it: its runs are stopped and waited for, and its designs deleted."""

    def setup(self) -> None:
        self.run_ids: list[str] = []
        self.design_ids: list[str] = []
        self.creates = 0
        self.client = asgi.get_client(APP).__enter__()
        self.client.headers.update(AUTH)

    def before_call(self, case) -> None:
        super().before_call(case)
        if case.operation.label == CREATE:
            self.creates += 1
            if self.creates % 2:
                generated = case.body.get("id") if isinstance(case.body, dict) else None
                case.body = design(generated if isinstance(generated, str) and ID.match(generated) else f"wf-{self.creates}")
                meta = case.meta  # reading it revalidates the edited body, so the checks know it is schema-valid
                assert meta is None or all(info.mode.is_positive for where, info in meta.components.items() if where.value == "body")

    def after_call(self, response, case) -> None:
        super().after_call(response, case)
        CASES[f"stateful {case.operation.label}"] += 1
        STATUSES[f"stateful {case.operation.label}"][response.status_code] += 1
        assert_token_honoured(response)
        if case.operation.label == TRAIN and response.status_code == 202:
            self.run_ids.append(response.json()["run_id"])
        if case.operation.label in (CREATE, PUT) and response.status_code == 201:
            self.design_ids.append(response.json()["id"])

    def teardown(self) -> None:
        for run_id in self.run_ids:
            assert self.client.post(f"/api/runs/{run_id}/stop").status_code in (200, 202)
            wait_until_ended(self.client, run_id)
        for design_id in self.design_ids:
            assert self.client.delete(f"/api/designs/{design_id}").status_code in (204, 404)
        self.client.__exit__(None, None, None)
        super().teardown()


def wait_until_ended(client, run_id: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (status := client.get(f"/api/runs/{run_id}").json()["status"]) in ("queued", "running"):
        assert time.monotonic() < deadline, f"run {run_id} still {status} {timeout_s} s after stop"
        time.sleep(0.05)


TestStatefulWorkflow = APIWorkflow.TestCase
TestStatefulWorkflow.settings = hypothesis.settings(
    APIWorkflow.TestCase.settings, max_examples=12, stateful_step_count=12, database=None, derandomize=True
)


# ---- raw bytes at every route that reads a body ----

HUGE = [b"1" * 5000, b"1e999999", b"-1e-999999", b"123456789012345678901234567890", b"-0", b"1E400", b"0x10", b"01"]
NAN_LIKE = [b"NaN", b"nan", b"Infinity", b"-Infinity", b"inf", b"+1", b".5", b"1."]
TOKENS = [b"null", b"true", b"false", b'""', b"[]", b"{}", b"\x00", b"", b" ", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3\x28", b'"\\ud800"']
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
FIELDS = ["id", "name", "description", "components", "edges", "meta", "schemaVersion", "extra"]


@st.composite
def mutated_designs(draw) -> bytes:
    """The template with one field (or a block's field) replaced by an arbitrary JSON value."""
    body = design(SEEDED_ID)
    if draw(st.booleans()):
        body[draw(st.sampled_from(FIELDS))] = draw(json_values)
    else:
        block = dict(body["components"][draw(st.integers(0, len(body["components"]) - 1))])
        block[draw(st.sampled_from(["id", "type", "props", "position", "extra"]))] = draw(json_values)
        body["components"] = [block, *body["components"][1:]]
    return json.dumps(body, allow_nan=True).encode()


@st.composite
def nested(draw) -> bytes:
    depth = draw(st.sampled_from([50, 500, 5_000, 100_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"components":[', b"]}")]))
    return opener * depth + draw(st.sampled_from([b"1", b"null", b""])) + closer * draw(st.sampled_from([depth, 0]))


@st.composite
def spliced(draw) -> bytes:
    """A valid document with a hostile token spliced in somewhere."""
    text = json.dumps(design(SEEDED_ID)).encode()
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(HUGE + NAN_LIKE + TOKENS)) + text[at:]


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(HUGE + NAN_LIKE + TOKENS),
    json_values.map(lambda value: json.dumps(value, allow_nan=True).encode()),
    mutated_designs(),
    nested(),
    spliced(),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xef\xbb\xbf" + json.dumps(design(SEEDED_ID)).encode(), json.dumps(design(SEEDED_ID)).encode("utf-16")]),
)
RAW_SETTINGS = hypothesis.settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
INVALID_ID = "raw-invalid"  # stored, structurally a design, but fails the validator: training never starts


def assert_clean_refusal(response, allowed: set[int], validate: bool = False) -> None:
    text = response.text
    assert response.status_code < 500, text
    assert "Traceback (most recent call last)" not in text, text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert "x-request-id" in response.headers
    body = response.json()
    if validate and set(body) == {"valid", "paramCount", "paramCountExact", "estimatedMemory", "memoryBreakdown", "errors"}:
        assert response.status_code in (200, 422)
        assert response.status_code == 200 or (body["valid"] is False and body["errors"]), body
        return
    assert response.status_code in allowed, (response.status_code, text)
    if response.status_code == 412 or response.status_code < 300:  # bytes that happened to be a design or a batch
        assert isinstance(body, dict) and "error" not in body, body
    else:
        assert isinstance(body["error"]["code"], str) and body["error"]["code"], body


@pytest.fixture(scope="module")
def raw_targets(client):
    put_valid(client, SEEDED_ID)
    put_valid(client, INVALID_ID, components=[], edges=[])
    return client


@pytest.mark.parametrize(
    ("method", "path", "headers", "allowed"),
    [
        ("POST", "/api/designs", {}, {201, 409, 422}),
        ("PUT", f"/api/designs/{SEEDED_ID}", {"If-Match": '"999999"'}, {200, 412, 422}),
        ("PUT", "/api/designs/raw-new", {"If-None-Match": "*"}, {200, 201, 412, 422}),
        ("POST", f"/api/designs/{SEEDED_ID}/validate", {}, {422}),
        ("POST", f"/api/designs/{INVALID_ID}/train", {}, {422}),
        ("POST", "/api/telemetry", {}, {202, 422, 429}),
    ],
    ids=["create", "put-if-match", "put-if-none-match", "validate", "train", "telemetry"],
)
def test_raw_bodies_get_clean_refusals(raw_targets, method, path, headers, allowed):
    """Whatever the bytes: never a 5xx or a traceback; a JSON body with `error.code` (or, from
    validate, a ValidationResult) and a documented status."""

    @RAW_SETTINGS
    @given(body=RAW_BODIES, content_type=st.sampled_from(["application/json", "text/plain", "application/octet-stream", ""]))
    def check(body: bytes, content_type: str) -> None:
        CASES[f"raw {method} {path}"] += 1
        sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
        response = raw_targets.request(method, path, data=body, headers=sent)
        STATUSES[f"raw {method} {path}"][response.status_code] += 1
        assert_clean_refusal(response, allowed, validate=path.endswith("/validate"))

    check()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_oversized_body_is_413(raw_targets, declared):
    """A body past the limit is refused with 413, whether its length is declared or it streams
    in chunks (a generator body: no Content-Length)."""
    blob = b"[" + b"0," * (MAX_BODY_BYTES // 2) + b"0]"

    def chunks():
        yield from (blob[i : i + 65536] for i in range(0, len(blob), 65536))

    for path in ("/api/designs", f"/api/designs/{SEEDED_ID}/validate", f"/api/designs/{INVALID_ID}/train", "/api/telemetry"):
        response = raw_targets.post(path, data=blob if declared else chunks())
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "body_too_large"


# ---- the tally ----


def test_case_counts(capsys):
    """Every operation was fuzzed (this test reports how much); skipped when run on its own."""
    fuzzed = {label: n for label, n in CASES.items() if not label.startswith(("stateful ", "raw "))}
    if not fuzzed:
        pytest.skip("the fuzz tests did not run in this session")
    lines = [f"{n:6d}  {label}  {dict(sorted(STATUSES[label].items()))}" for label, n in sorted(CASES.items())]
    with capsys.disabled():
        print(f"\nfuzz cases ({sum(CASES.values())} in all, {UNTOKENED[0]} of them without the token):\n" + "\n".join(lines))
    operations = {op.label for op in (result.ok() for result in schema.get_all_operations())}
    missing = operations - set(fuzzed)
    assert not missing, f"never fuzzed: {sorted(missing)}"
    assert min(fuzzed.values()) >= 8 and sum(fuzzed.values()) >= 1000, fuzzed
    assert any(label.startswith("stateful ") for label in CASES) and STATUSES[f"stateful {TRAIN}"][202] >= 1, "no stateful run trained"
