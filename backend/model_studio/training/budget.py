"""A run's budget and the learning-rate schedule it anneals over, and how a resumed run continues
them: arithmetic over env steps and training seconds (and a look at a checkpoint's counters),
shared by the `TrainingManager`, the CLI and the server's run hub.

A checkpoint carries the run's counters (env steps, training seconds) and its `Schedule`: the
budget the learning rate anneals over (linearly, from `PPOConfig.learning_rate` to 0, by the
fraction of that budget spent). A run started with `resume_from` continues it:

- With no budget (`Budget()`), it trains what is left of the checkpoint's budget, on the same
  schedule: a 10-minute run stopped at minute 4 trains 6 more minutes, its learning rate going on
  from 60% of the initial one, so the two parts together match the uninterrupted run's schedule
  and total (up to the overshoot of the last update, as for any run). A checkpoint whose budget
  is spent (a completed run) is refused with `BudgetSpentError`: give a budget to train further.
  A checkpoint of a run without a budget resumes without one (constant learning rate, until
  stopped); so does one written before checkpoints carried their schedule.
- With a budget, it trains that much more: the budget extends the total, and the schedule is
  re-planned as if the run had been started with the extended total (a 10-minute run stopped at
  minute 4 and resumed with 6 minutes ends at minute 10, with the original schedule; resumed with
  10 minutes it ends at minute 14, its learning rate stepping up at the resume from 60% to 71%
  (1 - 4/14) and annealing to 0 at minute 14; a completed 10-minute run resumed with 5 minutes
  anneals from 1/3 of the initial rate). The given budget replaces the kind of the original one:
  a steps run resumed with `max_minutes=5` stops after 5 more minutes, whatever its step budget
  was. A run without a budget (or an old checkpoint) resumed with one starts its schedule at the
  resume, from the full learning rate.

Resuming keeps the weights, the optimizer's moments, the reward statistics and the counters; the
games are new (`PPOTrainer.load_state`). The CLI (`train --resume`) and the server (`resume_from`
in a train request, `runner.LocalRunner`) both pass their budget straight to `start`, so both
follow these rules, and `hub.RunHub` records the resulting schedule for the run's progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from model_studio.training.checkpoint import load_checkpoint


class BudgetSpentError(ValueError):
    """Resuming without a budget from a checkpoint whose budget is spent: nothing is left to train."""


@dataclass(frozen=True)
class Budget:
    """When a run completes: after `max_env_steps` board moves and/or `max_minutes` of wall clock,
    whichever comes first; with neither, it runs until stopped (and the learning rate is constant)."""

    max_env_steps: int | None = None
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        if (self.max_env_steps is not None and self.max_env_steps < 1) or (self.max_minutes is not None and self.max_minutes <= 0):
            raise ValueError("budgets must be positive")

    def progress(self, env_steps: int, elapsed_s: float) -> float | None:
        """Fraction of the budget spent, in [0, 1]; None without a budget."""
        fractions = []
        if self.max_env_steps is not None:
            fractions.append(env_steps / self.max_env_steps)
        if self.max_minutes is not None:
            fractions.append(elapsed_s / (60.0 * self.max_minutes))
        return min(1.0, max(fractions)) if fractions else None

    @property
    def is_empty(self) -> bool:
        return self.max_env_steps is None and self.max_minutes is None


@dataclass(frozen=True)
class Schedule:
    """The budget a run ends at and its learning rate anneals over: `budget`, counted from
    `start_env_steps` env steps and `start_elapsed_s` training seconds of the run. Both starts are
    0 unless a run that had no budget was resumed with one (see the module docstring)."""

    budget: Budget = Budget()
    start_env_steps: int = 0
    start_elapsed_s: float = 0.0

    def progress(self, env_steps: int, elapsed_s: float) -> float | None:
        """Fraction of the budget spent at these run totals, in [0, 1]; None without a budget."""
        return self.budget.progress(max(0, env_steps - self.start_env_steps), max(0.0, elapsed_s - self.start_elapsed_s))

    @property
    def deadline_s(self) -> float:
        """The run's training seconds at which a minutes budget ends (inf without one)."""
        if self.budget.max_minutes is None:
            return float("inf")
        return self.start_elapsed_s + 60.0 * self.budget.max_minutes

    def to_dict(self) -> dict:
        """Plain numbers (a checkpoint is read with weights_only; the server stores it as JSON)."""
        return {
            "max_env_steps": self.budget.max_env_steps,
            "max_minutes": self.budget.max_minutes,
            "start_env_steps": self.start_env_steps,
            "start_elapsed_s": self.start_elapsed_s,
        }

    @classmethod
    def from_dict(cls, values: dict) -> Schedule:
        return cls(
            Budget(max_env_steps=values.get("max_env_steps"), max_minutes=values.get("max_minutes")),
            int(values.get("start_env_steps", 0)),
            float(values.get("start_elapsed_s", 0.0)),
        )


def resume_schedule(checkpoint: dict, budget: Budget) -> Schedule:
    """The schedule of a run resumed from `checkpoint` with `budget` (`Budget()`: none given), by
    the rules in the module docstring. Raises `BudgetSpentError` when no budget is given and the
    checkpoint's is spent."""
    env_steps, elapsed_s = int(checkpoint["env_steps"]), float(checkpoint.get("elapsed_s", 0.0))
    saved = Schedule.from_dict(checkpoint["budget"]) if isinstance(checkpoint.get("budget"), dict) else Schedule()
    if budget.is_empty:
        if saved.progress(env_steps, elapsed_s) == 1.0:
            raise BudgetSpentError(
                f"the checkpoint's budget is spent ({env_steps:,} env steps, {elapsed_s / 60:.1f} minutes of training); "
                "give a budget (steps or minutes) to train further"
            )
        return saved
    if saved.budget.is_empty:
        return Schedule(budget, env_steps, elapsed_s)
    spent_steps, spent_s = env_steps - saved.start_env_steps, elapsed_s - saved.start_elapsed_s
    extended = Budget(
        max_env_steps=None if budget.max_env_steps is None else spent_steps + budget.max_env_steps,
        max_minutes=None if budget.max_minutes is None else spent_s / 60.0 + budget.max_minutes,
    )
    return Schedule(extended, saved.start_env_steps, saved.start_elapsed_s)


def read_resume_schedule(path: str | os.PathLike[str], budget: Budget, design_sha256: str | None = None) -> Schedule:
    """`resume_schedule` of the checkpoint at `path`, read without loading its weights (mmap);
    raises `CheckpointError` / `CheckpointMismatchError` as `load_checkpoint` does."""
    return resume_schedule(load_checkpoint(path, design_sha256, mmap=True), budget)
