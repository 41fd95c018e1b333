"""The HTTP API's request and response bodies.

Designs, validation and training events are `model_studio.contracts` types (the sources of
`schema/*.schema.json`); these structs wrap them for the routes. `/openapi.json` is generated from
both (see `model_studio.openapi`), so the spec, the server and the fuzzer share one description.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from model_studio.contracts import ID_PATTERN, DesignError, ModelArchitecture, ScoreSummary

RunState = Literal["queued", "running", "stopped", "completed", "failed", "interrupted"]
MAX_TRAIN_STEPS = 10_000_000_000  # board moves; about a week at full speed on a small machine
MAX_TRAIN_MINUTES = 7 * 24 * 60.0
MAX_SEED = 2**31 - 1
MAX_TELEMETRY_EVENTS = 100  # per batch
MAX_TELEMETRY_PROPS = 32
TELEMETRY_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$(?!\n)"
TELEMETRY_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$(?!\n)"

RunId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
Timestamp = Annotated[str, msgspec.Meta(max_length=40, description="UTC, ISO 8601, e.g. 2026-12-01T10:00:00.000Z")]


class ProblemDetail(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """`code` is stable and machine-readable; `message` is for people. `errors` lists the
    validator's errors when the design is invalid; `run_id` names the run a 409 is about."""

    code: str
    message: str
    errors: list[DesignError] = []
    run_id: str | None = None


class Problem(msgspec.Struct, forbid_unknown_fields=True):
    """The one error body of every 4xx and 5xx answer."""

    error: ProblemDetail


class Health(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["ok"]
    version: str


class DesignRecord(msgspec.Struct, forbid_unknown_fields=True):
    """A stored design. `version` starts at 1 and grows by one with every write; it is also the
    `ETag` of `GET /api/designs/{id}` and what `If-Match` must name to write."""

    id: str
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    design: ModelArchitecture


class DesignSummary(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class DesignList(msgspec.Struct, forbid_unknown_fields=True):
    """Every stored design, the most recently changed first."""

    designs: list[DesignSummary]


class TrainRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """How long to train: after `max_env_steps` board moves or `max_minutes`, whichever comes
    first; with neither, until stopped. The learning rate anneals to 0 over that budget.
    `resume_from` continues another run of this design from its checkpoint (its architecture must
    be unchanged): with neither limit, for what is left of that run's budget, on the same learning
    rate schedule (409 if it is spent); with a limit, for that much more, the schedule re-planned
    over the extended total."""

    max_env_steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_TRAIN_STEPS)] | None = None
    max_minutes: Annotated[float, msgspec.Meta(gt=0, le=MAX_TRAIN_MINUTES)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEED)] = 0
    resume_from: RunId | None = None


class TrainAccepted(msgspec.Struct, forbid_unknown_fields=True):
    run_id: str
    status_url: str
    events_url: str


class RunBudget(msgspec.Struct, forbid_unknown_fields=True):
    max_env_steps: int | None
    max_minutes: float | None


class RunStatus(msgspec.Struct, forbid_unknown_fields=True):
    """A run as the store knows it. `budget` is what the run ends at and its learning rate anneals
    over; for a resumed run, the total of the runs it continues (the first one's budget, extended
    by each resume that gave one; see `TrainRequest`), counted from the first run's start, or from
    the resume if the runs before had no budget. `progress` is the fraction of it spent (null
    without a budget); `env_steps` and `elapsed_s` include the runs it continues; `last_seq` is the
    `id` of its latest stored event; `summary` covers its latest games (null until the run ends)."""

    id: str
    design_id: str
    design_version: int
    status: RunState
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    message: str | None
    budget: RunBudget
    seed: int
    resume_from: str | None
    progress: float | None
    updates: int
    env_steps: int
    elapsed_s: float
    last_seq: int
    has_checkpoint: bool
    summary: ScoreSummary | None


class RunList(msgspec.Struct, forbid_unknown_fields=True):
    """A design's runs, the newest first."""

    runs: list[RunStatus]


TelemetryValue = Annotated[str, msgspec.Meta(max_length=200)] | int | float | bool | None


class TelemetryEvent(msgspec.Struct, forbid_unknown_fields=True):
    """One client event, e.g. `compile_success` with `{"time_ms": 412}`."""

    name: Annotated[str, msgspec.Meta(pattern=TELEMETRY_NAME_PATTERN)]
    at: Timestamp | None = None
    props: Annotated[dict[Annotated[str, msgspec.Meta(pattern=TELEMETRY_KEY_PATTERN)], TelemetryValue], msgspec.Meta(max_length=MAX_TELEMETRY_PROPS)] = {}


class TelemetryBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Events a client stored while offline, sent together. `client_id` tells devices apart."""

    events: Annotated[list[TelemetryEvent], msgspec.Meta(min_length=1, max_length=MAX_TELEMETRY_EVENTS)]
    client_id: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)] | None = None


class TelemetryAccepted(msgspec.Struct, forbid_unknown_fields=True):
    accepted: int


# ---- predict: the server's answer for boards, to check an exported model against ----

PREDICT_CELLS = 16  # the ONNX input `board`: a 4x4 board, row by row
PREDICT_MAX_EXPONENT = 15  # a cell holds 0 (empty) or the tile's exponent: 1 -> 2, 11 -> 2048
PREDICT_ACTIONS = 4  # the ONNX input `action_mask`: up, right, down, left
MAX_PREDICT_BOARDS = 64

Exponent = Annotated[int, msgspec.Meta(ge=0, le=PREDICT_MAX_EXPONENT)]
Board = Annotated[list[Exponent], msgspec.Meta(min_length=PREDICT_CELLS, max_length=PREDICT_CELLS)]
ActionMask = Annotated[list[bool], msgspec.Meta(min_length=PREDICT_ACTIONS, max_length=PREDICT_ACTIONS)]


class PredictRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Boards as the exported `.onnx` takes them (`board`, `action_mask`), one mask per board.
    `run` picks that run's checkpoint, as `?run=` does for the export; without it, the weights
    are the ones the export would use now."""

    boards: Annotated[list[Board], msgspec.Meta(min_length=1, max_length=MAX_PREDICT_BOARDS)]
    masks: Annotated[list[ActionMask], msgspec.Meta(min_length=1, max_length=MAX_PREDICT_BOARDS)]
    run: RunId | None = None


class PredictResult(msgspec.Struct, forbid_unknown_fields=True):
    """torch's eval-mode answer, one row per board: `logits` as the `.onnx` gives them (illegal
    moves at the float32 minimum, -3.4028234663852886e38), `values` the value head. `weights` is
    the export's `X-Model-Weights` for the same weights; `design_sha256` the architecture's hash
    (also in the `.onnx` metadata, `model_studio.design_sha256`)."""

    logits: list[list[float]]
    values: list[float]
    weights: str
    design_sha256: str
