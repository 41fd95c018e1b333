"""The seam between the API and training: start, stop, status and events.

The routes and `RunHub` talk to training only through `Runner`, so a runner that puts runs on a
cluster can replace the local one without touching them. A runner is built with an `EventSink`:
it calls it with each `TrainingUpdate` and the final `TrainingDone` of every run, in order per
run, from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from model_studio.contracts import TrainingEvent
from model_studio.training import Budget, PPOConfig, TrainingManager
from model_studio.training.checkpoint import CHECKPOINT_NAME
from model_studio.training.manager import RUNS_DIR

EventSink = Callable[[TrainingEvent], None]


@dataclass(frozen=True)
class RunRequest:
    """One run: the exact design JSON it trains, its seed and budget, and an optional checkpoint
    (of the same architecture) to continue from. With a checkpoint, `budget` is what to train
    beyond it, `Budget()` what is left of its own (the rules: `training.budget`)."""

    run_id: str
    design_json: str
    seed: int
    budget: Budget
    resume_from: Path | None = None


class Runner(Protocol):
    def start(self, request: RunRequest) -> None:
        """Begin the run and return at once; raises `TrainingBusyError` at the concurrency limit,
        `CheckpointError` for an unusable `resume_from`."""

    def stop(self, run_id: str) -> bool:
        """Ask the run to stop (it checkpoints, then sends `done`); False if it is not active."""

    def active_runs(self) -> list[str]:
        """The runs still training (whose `done` has not been delivered)."""

    def checkpoint(self, run_id: str) -> Path | None:
        """The run's latest checkpoint, if it wrote one (also for a run a dead server left)."""

    def close(self) -> None:
        """Stop every run, waiting a few seconds for each to checkpoint (server shutdown)."""


class LocalRunner:
    """Each run in a child process on this machine (`training.TrainingManager`), its checkpoints
    under `<data_dir>/runs/<run_id>/`."""

    def __init__(self, data_dir: Path, on_event: EventSink, max_concurrent_runs: int = 1) -> None:
        self.data_dir = data_dir
        self.manager = TrainingManager(data_dir, on_event, max_concurrent_runs=max_concurrent_runs)

    def start(self, request: RunRequest) -> None:
        self.manager.start(
            request.design_json,
            config=PPOConfig(seed=request.seed),
            budget=request.budget,
            run_id=request.run_id,
            resume_from=request.resume_from,
        )

    def stop(self, run_id: str) -> bool:
        return self.manager.stop(run_id)

    def active_runs(self) -> list[str]:
        return self.manager.active_runs()

    def checkpoint(self, run_id: str) -> Path | None:
        path = self.data_dir / RUNS_DIR / run_id / CHECKPOINT_NAME
        return path if path.is_file() else None

    def close(self) -> None:
        self.manager.close()
