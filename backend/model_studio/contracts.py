"""The wire types shared with the PWA.

These msgspec structs are the source of `schema/*.schema.json` (written by
`model-studio schema --write`, checked in CI by `tests/test_schema_files.py`). Size limits come
from the block catalogue, so the schema, the server and the phone share one set of numbers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from model_studio.catalogue import CatalogueDoc, load_catalogue

_LIMITS = load_catalogue().limits
_BLOCK_DEFAULTS = {
    spec.meta: spec.default
    for block in load_catalogue().doc.blocks.values()
    for spec in block.props.values()
    if spec.meta
}

SCHEMA_VERSION = 1
# `$(?!\n)`: Python's `$` also matches before a final newline; JavaScript's never does.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$(?!\n)"
PROP_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$(?!\n)"
MAX_COORDINATE = 1_000_000.0
MAX_STRING_PROP = 64
MAX_DESCRIPTION = 1000

Identifier = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, description="Letters, digits, '_' and '-'; 1-64 characters, not starting with '_' or '-'.")]
PropName = Annotated[str, msgspec.Meta(pattern=PROP_NAME_PATTERN)]
PropValue = int | float | Annotated[str, msgspec.Meta(max_length=MAX_STRING_PROP)] | bool
Coordinate = Annotated[float, msgspec.Meta(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
Dimension = Annotated[int, msgspec.Meta(ge=1, le=65536)]


class Position(msgspec.Struct, forbid_unknown_fields=True):
    """Where a block sits on the canvas. Layout only: it never affects the model."""

    x: Coordinate = 0.0
    y: Coordinate = 0.0


class ModelComponent(msgspec.Struct, forbid_unknown_fields=True):
    """One block: its type from the catalogue, its props, and its canvas position."""

    id: Identifier
    type: Annotated[str, msgspec.Meta(max_length=64)]
    props: Annotated[dict[PropName, PropValue], msgspec.Meta(max_length=_LIMITS.max_props)] = {}
    position: Position = msgspec.field(default_factory=Position)


class DesignMeta(msgspec.Struct, forbid_unknown_fields=True):
    """Design-wide defaults that blocks inherit when their own prop is unset."""

    d_model: Dimension = _BLOCK_DEFAULTS["d_model"]
    n_heads: Dimension = _BLOCK_DEFAULTS["n_heads"]


class ModelArchitecture(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A design: blocks and the directed edges `[source_id, target_id]` that wire them."""

    id: Identifier
    name: Annotated[str, msgspec.Meta(max_length=_LIMITS.max_name_length)]
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] = ""
    components: Annotated[list[ModelComponent], msgspec.Meta(max_length=_LIMITS.max_components)]
    edges: Annotated[list[tuple[Identifier, Identifier]], msgspec.Meta(max_length=_LIMITS.max_edges)]
    meta: DesignMeta = msgspec.field(default_factory=DesignMeta)
    schemaVersion: Annotated[int, msgspec.Meta(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)] = SCHEMA_VERSION


class DesignError(msgspec.Struct, forbid_unknown_fields=True):
    """One validation error. `code` is stable (see the catalogue's `errors`); `component` is the
    offending block's id, or null for the design as a whole; `hint` suggests a fix where one exists."""

    code: str
    message: str
    component: str | None = None
    hint: str | None = None


class MemoryBreakdown(msgspec.Struct, forbid_unknown_fields=True):
    """What training memory is made of, in MiB. `weightsAndOptimizer` and `activations` are the two
    parts of `estimatedMemory`, each rounded up on its own as the total is, so they add up to it or
    to 1 MiB more; `runtimeBaseline` is the training process itself, on top of the estimate."""

    weightsAndOptimizer: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description=(
                "The weights, their gradients and Adam's two moments (no dense gradient for a sparse table's S parameters): "
                "bytes_per_float * ((P - S) * floats_per_param + S * floats_per_sparse_param) / 2^20, rounded up."
            ),
        ),
    ]
    activations: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="One PPO minibatch's activations kept for the backward pass: bytes_per_float * minibatch * (stored + recompute_peak) / 2^20, rounded up.",
        ),
    ]
    runtimeBaseline: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="The catalogue's memory.runtime_baseline_mb: a torch training process's resident memory before any model (interpreter, torch, the env). The same for every design.",
        ),
    ]


class ValidationResult(msgspec.Struct, forbid_unknown_fields=True):
    """`paramCount` is in millions, as in the seed; `paramCountExact` is the integer count that
    equals `sum(p.numel())` of the compiled model.

    `estimatedMemory` is the training memory the design adds, in MiB, rounded up: its weights,
    their gradients and Adam's two moments, and the activations of one PPO minibatch (see the
    catalogue's `memory`). It leaves out the training process itself (about
    `memoryBreakdown.runtimeBaseline` MiB of interpreter, torch and env), the rollout buffer and
    the allocator's caching, so a process training it holds more. `memoryBreakdown` splits it into
    its parts and gives that baseline. A document that cannot be read has 0 parameters and memory."""

    valid: bool
    paramCount: float
    paramCountExact: int
    estimatedMemory: int
    memoryBreakdown: MemoryBreakdown
    errors: list[DesignError]


class CompileResult(msgspec.Struct, forbid_unknown_fields=True):
    """Where the generated module was written and what it holds."""

    import_path: str
    paramCount: float
    paramCountExact: int
    config: dict[str, Any]
    source_path: str
    source_sha256: str


class ExpectedError(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    component: str | None


class ExpectedResult(msgspec.Struct, forbid_unknown_fields=True):
    valid: bool
    errors: list[ExpectedError]
    paramCount: float
    paramCountExact: int
    estimatedMemory: int
    memoryBreakdown: MemoryBreakdown


class ConformanceCase(msgspec.Struct, forbid_unknown_fields=True):
    """A file in `schema/cases/`: any JSON as the design, and what every validator must answer.
    Errors compare as a multiset of (code, component) pairs."""

    description: str
    design: Any
    expected: ExpectedResult


# ---- training metrics: the events a run streams (see model_studio.training) ----

REACH_TILES = (256, 512, 1024, 2048, 4096, 8192)  # the tiles whose reach rates summaries report
TileKey = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,5}$", description="A tile value in decimal, e.g. \"1024\".")]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class EpisodeStats(msgspec.Struct, forbid_unknown_fields=True):
    """Games finished since the previous update. The means and the maximum are null when none
    finished. `max_tile` maps a tile value to the number of those games whose largest tile it was."""

    count: Count
    mean_score: float | None
    max_score: int | None
    mean_length: float | None
    max_tile: dict[TileKey, Count]


class LossStats(msgspec.Struct, forbid_unknown_fields=True):
    """Means over the update's minibatches. `lb_loss` and `aux_loss` are already weighted by the
    design's lb_coef and aux head weight (0 without routed MoE layers or aux heads); `approx_kl` is
    the k3 estimate of KL(old policy || new policy); `clip_fraction` the share of samples whose
    probability ratio left [1 - clip, 1 + clip]."""

    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    clip_fraction: Fraction
    lb_loss: float
    aux_loss: float


class MoEStats(msgspec.Struct, forbid_unknown_fields=True):
    """`expert_usage`: one list per MoE layer in forward order, the fraction of the update's
    token-to-expert assignments each expert received (each list sums to 1); empty without MoE.
    `lb_reward`: the update's load-balancing term as a reward, `-lb_loss` (the same weighted mean
    as `LossStats.lb_loss`), so it rises as the routers spread tokens more evenly; 0.0 for designs
    without routed MoE layers."""

    expert_usage: list[list[Fraction]]
    lb_reward: float


class TrainingUpdate(msgspec.Struct, forbid_unknown_fields=True, tag_field="type", tag="training_update"):
    """Sent after every PPO update (one rollout plus its optimisation epochs). `env_steps` counts
    board moves since the run began and `elapsed_s` its training seconds (both including the runs
    it was resumed from); `env_steps_per_s` is this update's rate."""

    run_id: Identifier
    update: Annotated[int, msgspec.Meta(ge=1)]
    env_steps: Count
    env_steps_per_s: float
    elapsed_s: float
    learning_rate: float
    episodes: EpisodeStats
    losses: LossStats
    moe: MoEStats


class ScoreSummary(msgspec.Struct, forbid_unknown_fields=True):
    """How a policy plays, over `games` finished games: score, length, and `reach`, the fraction of
    games whose largest tile was at least 256, 512, 1024, 2048, 4096 and 8192 (`REACH_TILES`).
    Null means and an empty `reach` when no game finished."""

    games: Count
    mean_score: float | None
    max_score: int | None
    mean_length: float | None
    reach: dict[TileKey, Fraction]


class TrainingDone(msgspec.Struct, forbid_unknown_fields=True, tag_field="type", tag="done"):
    """The last event of every run. `message` says why a run failed or was interrupted (null
    otherwise); `checkpoint` is the latest checkpoint's path (null if none was written); `summary`
    covers the games finished in the run's last updates (at least 200 games where the run played
    that many). `interrupted`: the server stopped while the run trained, and this event was written
    when it started again, from the updates it had stored."""

    run_id: Identifier
    status: Literal["completed", "stopped", "failed", "interrupted"]
    message: str | None
    checkpoint: str | None
    updates: Count
    env_steps: Count
    elapsed_s: float
    summary: ScoreSummary


TrainingEvent = TrainingUpdate | TrainingDone


SCHEMA_TYPES: dict[str, type] = {
    "catalogue": CatalogueDoc,
    "case": ConformanceCase,
    "model-architecture": ModelArchitecture,
    "validation-result": ValidationResult,
    "compile-result": CompileResult,
    "training-update": TrainingUpdate,
    "training-done": TrainingDone,
}
