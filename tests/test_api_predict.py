"""`POST /api/designs/{id}/predict`: the server's answer that the phone checks its downloaded
`.onnx` against. The answer must be what onnxruntime computes from the real export bytes of the
same design and run, with fresh weights and after real training, and bad boards are 422s.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime
import pytest
from starlette.testclient import TestClient

from model_studio.api_types import MAX_PREDICT_BOARDS, PREDICT_ACTIONS, PREDICT_CELLS, PREDICT_MAX_EXPONENT
from model_studio.app import create_app
from model_studio.catalogue import SCHEMA_DIR
from model_studio.contracts import ScoreSummary, TrainingDone
from model_studio.nn.runtime import ACTIONS, CELLS, MAX_EXPONENT
from model_studio.runner import EventSink, RunRequest
from model_studio.services import ServerSettings

TOKEN = "predict-token_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TINY = json.loads((SCHEMA_DIR / "templates" / "tiny-dense.json").read_text())
TOLERANCE = 1e-4  # what the phone's check allows between onnxruntime and the server
FLOAT32_MIN = float(np.finfo(np.float32).min)  # the exported model's logit for an illegal move
TRAIN_BUDGET = {"max_env_steps": 20000}  # two PPO updates of tiny-dense: a few seconds
WAIT_S = 90.0  # generous: the training child imports torch first, and the machine is shared


@contextlib.contextmanager
def serve(data_dir: Path, **settings) -> Iterator[TestClient]:
    app = create_app(ServerSettings(data_dir=data_dir, token=TOKEN, allowed_hosts=("testserver",), **settings))
    with TestClient(app, headers=AUTH) as client:
        yield client


def create(client: TestClient, design_id: str) -> None:
    response = client.post("/api/designs", json={**TINY, "id": design_id})
    assert response.status_code == 201, response.text


def boards(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random boards and masks, including an all-legal and an all-illegal row."""
    rng = np.random.default_rng(seed)
    board = rng.integers(0, MAX_EXPONENT + 1, size=(count, CELLS), dtype=np.int64)
    mask = rng.random((count, ACTIONS)) < 0.6
    mask[0], mask[-1] = True, False
    return board, mask


def predict(client: TestClient, design_id: str, board: np.ndarray, mask: np.ndarray, **extra) -> dict:
    response = client.post(f"/api/designs/{design_id}/predict", json={"boards": board.tolist(), "masks": mask.tolist(), **extra})
    assert response.status_code == 200, response.text
    return response.json()


def export_onnx(client: TestClient, design_id: str, **params) -> tuple[bytes, str]:
    response = client.get(f"/api/designs/{design_id}/export", params={"fmt": "onnx", **params})
    assert response.status_code == 200, response.text
    return response.content, response.headers["x-model-weights"]


def assert_answer_is_onnxruntimes(answer: dict, onnx_bytes: bytes, board: np.ndarray, mask: np.ndarray) -> None:
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    logits, values = session.run(["logits", "value"], {"board": board, "action_mask": mask})
    served_logits, served_values = np.array(answer["logits"]), np.array(answer["values"])
    assert served_logits.shape == logits.shape == (len(board), ACTIONS) and served_values.shape == values.shape == (len(board),)
    np.testing.assert_allclose(served_logits[mask], logits[mask], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(served_values, values, rtol=0, atol=TOLERANCE)
    assert (served_logits[~mask] == FLOAT32_MIN).all() and (logits[~mask] == FLOAT32_MIN).all()
    metadata = {prop.key: prop.value for prop in onnx.load_from_string(onnx_bytes).metadata_props}
    assert answer["design_sha256"] == metadata["model_studio.design_sha256"]


def wait_for_run(client: TestClient, run_id: str) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = client.get(f"/api/runs/{run_id}").json()
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {WAIT_S} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """tiny-dense trained briefly (real PPO in a real child process), and `fresh-dense`, the same
    blocks under another id (so another architecture hash) and never trained."""
    with serve(tmp_path_factory.mktemp("predict")) as client:
        create(client, "tiny-dense")
        create(client, "fresh-dense")
        accepted = client.post("/api/designs/tiny-dense/train", json=TRAIN_BUDGET)
        assert accepted.status_code == 202, accepted.text
        run = wait_for_run(client, accepted.json()["run_id"])
        assert run["status"] == "completed" and run["has_checkpoint"], run
        yield SimpleNamespace(client=client, run=run)


def test_the_wire_limits_are_the_models_inputs():
    assert (PREDICT_CELLS, PREDICT_MAX_EXPONENT, PREDICT_ACTIONS) == (CELLS, MAX_EXPONENT, ACTIONS)


def test_fresh_weights_answer_as_the_exported_onnx_runs(server):
    board, mask = boards(8, seed=1)
    answer = predict(server.client, "fresh-dense", board, mask)
    onnx_bytes, weights = export_onnx(server.client, "fresh-dense")
    assert answer["weights"] == weights == "fresh, seed 0"
    assert_answer_is_onnxruntimes(answer, onnx_bytes, board, mask)


def test_an_illegal_move_is_the_finite_float32_minimum_on_the_wire(server):
    board, mask = boards(2, seed=2)
    response = server.client.post("/api/designs/fresh-dense/predict", json={"boards": board.tolist(), "masks": mask.tolist()})
    assert "-3.4028234663852886e38" in response.text and "Infinity" not in response.text
    assert json.loads(response.text)["logits"][-1] == [FLOAT32_MIN] * ACTIONS


@pytest.mark.parametrize("by_run", [False, True], ids=["latest", "named-run"])
def test_trained_weights_answer_as_the_exported_onnx_runs(server, by_run):
    run_id = server.run["id"]
    extra = {"run": run_id} if by_run else {}
    board, mask = boards(MAX_PREDICT_BOARDS, seed=3)
    answer = predict(server.client, "tiny-dense", board, mask, **extra)
    onnx_bytes, weights = export_onnx(server.client, "tiny-dense", **extra)
    assert answer["weights"] == weights == f"run {run_id}, update {server.run['updates']}"
    assert_answer_is_onnxruntimes(answer, onnx_bytes, board, mask)


def test_trained_weights_are_not_the_fresh_ones(server):
    """The check above could pass on fresh weights for both; training must have moved them."""
    board, mask = boards(8, seed=4)
    trained = np.array(predict(server.client, "tiny-dense", board, mask)["values"])
    fresh = np.array(predict(server.client, "fresh-dense", board, mask)["values"])
    assert np.abs(trained - fresh).max() > 100 * TOLERANCE


def _body(boards_: list, masks: list) -> dict:
    return {"boards": boards_, "masks": masks}


GOOD_BOARD, GOOD_MASK = [0] * CELLS, [True] * ACTIONS
BAD_BODIES = {
    "17-cells": _body([[0] * (CELLS + 1)], [GOOD_MASK]),
    "15-cells": _body([[0] * (CELLS - 1)], [GOOD_MASK]),
    "exponent-16": _body([[16] + [0] * (CELLS - 1)], [GOOD_MASK]),
    "exponent-minus-1": _body([[-1] + [0] * (CELLS - 1)], [GOOD_MASK]),
    "fractional-cell": _body([[1.5] + [0] * (CELLS - 1)], [GOOD_MASK]),
    "65-boards": _body([GOOD_BOARD] * (MAX_PREDICT_BOARDS + 1), [GOOD_MASK] * (MAX_PREDICT_BOARDS + 1)),
    "no-boards": _body([], []),
    "fewer-masks": _body([GOOD_BOARD] * 3, [GOOD_MASK] * 2),
    "more-masks": _body([GOOD_BOARD], [GOOD_MASK] * 2),
    "3-move-mask": _body([GOOD_BOARD], [[True] * 3]),
    "mask-of-ints": _body([GOOD_BOARD], [[1, 1, 1, 1]]),
    "unknown-field": {**_body([GOOD_BOARD], [GOOD_MASK]), "temperature": 1},
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_boards_are_422(server, body):
    response = server.client.post("/api/designs/fresh-dense/predict", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_body", "mask_count")


def test_mismatched_masks_say_so(server):
    response = server.client.post("/api/designs/fresh-dense/predict", json=BAD_BODIES["fewer-masks"])
    assert response.json()["error"] == {"code": "mask_count", "message": "Send one action mask per board: 3 boards, 2 masks."}


def test_a_missing_design_or_run_is_404(server):
    client, body = server.client, _body([GOOD_BOARD], [GOOD_MASK])
    assert client.post("/api/designs/missing/predict", json=body).json()["error"]["code"] == "design_not_found"
    for design_id, run_id in [("tiny-dense", "run-never-was"), ("fresh-dense", server.run["id"])]:
        response = client.post(f"/api/designs/{design_id}/predict", json={**body, "run": run_id})
        assert response.status_code == 404 and response.json()["error"]["code"] == "run_not_found", (design_id, run_id)


class NoCheckpointRunner:
    """A runner seam whose runs never get as far as a checkpoint: stopped, they end without one."""

    def __init__(self, data_dir: Path, on_event: EventSink) -> None:
        self.on_event, self.active, self.lock = on_event, set(), threading.Lock()

    def start(self, request: RunRequest) -> None:
        with self.lock:
            self.active.add(request.run_id)

    def stop(self, run_id: str) -> bool:
        with self.lock:
            if run_id not in self.active:
                return False
            self.active.discard(run_id)
        summary = ScoreSummary(games=0, mean_score=None, max_score=None, mean_length=None, reach={})
        self.on_event(TrainingDone(run_id=run_id, status="stopped", message=None, checkpoint=None, updates=0, env_steps=0, elapsed_s=0.0, summary=summary))
        return True

    def active_runs(self) -> list[str]:
        with self.lock:
            return sorted(self.active)

    def checkpoint(self, run_id: str) -> Path | None:
        return None

    def close(self) -> None:
        for run_id in self.active_runs():
            self.stop(run_id)


def test_a_run_without_a_checkpoint_is_409(tmp_path):
    with serve(tmp_path, make_runner=NoCheckpointRunner) as client:
        create(client, "tiny-dense")
        run_id = client.post("/api/designs/tiny-dense/train", json=TRAIN_BUDGET).json()["run_id"]
        response = client.post("/api/designs/tiny-dense/predict", json={**_body([GOOD_BOARD], [GOOD_MASK]), "run": run_id})
        assert response.status_code == 409 and response.json()["error"]["code"] == "no_checkpoint"
        # Without `run`, the export's fallback applies: no checkpoint of this architecture yet, so fresh weights.
        fallback = client.post("/api/designs/tiny-dense/predict", json=_body([GOOD_BOARD], [GOOD_MASK]))
        assert fallback.status_code == 200 and fallback.json()["weights"] == "fresh, seed 0"
