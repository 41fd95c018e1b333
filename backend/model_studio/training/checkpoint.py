"""Training checkpoints: one `torch.save` dict per file, written atomically, read with
`weights_only=True` (no pickled code runs on load).

Keys (`model_studio.export` and the API rely on these names):
    model_state_dict, optimizer_state_dict: the torch state dicts;
    config: `PPOConfig.to_dict()`;
    design: the design as JSON text; design_sha256: `codegen.design_sha256(design)`;
    update, env_steps: counters at the time of saving;
    reward_scale: the running return statistics that scale rewards (see `ppo.RunningReturnScale`);
    elapsed_s: training seconds since the run began, resumed parts included (`PPOTrainer`'s clock);
    budget: the budget the learning rate anneals over, `budget.Schedule.to_dict()`: max_env_steps,
        max_minutes (either may be None), counted from start_env_steps and start_elapsed_s.

`elapsed_s` and `budget` are optional: checkpoints written before they existed load, and resume as a
run with no budget whose clock starts at 0 (see `budget.resume_schedule`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model_studio.codegen import atomic_file, build_model

CHECKPOINT_NAME = "checkpoint.pt"  # a run's latest checkpoint, inside its run folder
REQUIRED_KEYS = frozenset(
    {"model_state_dict", "optimizer_state_dict", "config", "design", "design_sha256", "update", "env_steps", "reward_scale"}
)


class CheckpointError(ValueError):
    """The file is unreadable or is not a Model Studio training checkpoint."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint was trained on another design (its architecture hash differs)."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any], design_json: str, design_sha256: str) -> Path:
    """Write `state` (`PPOTrainer.state()`) plus the design, streamed into a temp file, then fsync
    and `os.replace`, so a crash leaves the previous checkpoint or the new one, never a part. No
    copy in memory: a tuple network's checkpoint is 428 MB."""
    path = Path(path)
    with atomic_file(path) as handle:
        torch.save({**state, "design": design_json, "design_sha256": design_sha256}, handle)
    return path


def load_checkpoint(path: str | os.PathLike[str], design_sha256: str | None = None, mmap: bool = False) -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`; with `design_sha256`, refuse another design's.
    `mmap=True` maps the tensors instead of reading them: for a look at the counters and the
    budget, without loading a large model's weights into memory."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # a damaged file fails in many ways (struct, pickle, zip, EOF...)
        raise CheckpointError(f"cannot read checkpoint {os.fspath(path)!r}: {exc}") from None
    if not isinstance(checkpoint, dict) or not REQUIRED_KEYS <= checkpoint.keys():
        raise CheckpointError(f"{os.fspath(path)!r} is not a Model Studio checkpoint")
    if design_sha256 is not None and checkpoint["design_sha256"] != design_sha256:
        raise CheckpointMismatchError(
            f"checkpoint {os.fspath(path)!r} was trained on design {str(checkpoint['design_sha256'])[:12]}, "
            f"not on this design ({design_sha256[:12]})"
        )
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    """The checkpoint's design, compiled in memory, with its trained weights."""
    model = build_model(checkpoint["design"])
    model.load_state_dict(checkpoint["model_state_dict"])
    return model
