"""TrainingManager: each run in its own process, its metrics streamed back as events.

A run is a `spawn`ed child process (a fresh interpreter: no forked locks or threads, and a crash,
an out-of-memory kill or a stuck torch op cannot take the server down). The child generates the
design's module in memory from the design it was started with (`codegen.generate`: the same
source `compile_design` writes to `<data_dir>/generated/<id>.py`), trains it with
`ppo.PPOTrainer`, checkpoints to `<data_dir>/runs/<run_id>/checkpoint.pt`, and sends one
`TrainingUpdate` per PPO update and a final `TrainingDone` through a pipe. A reader thread in the
parent decodes them and calls `on_event`.

## A run trains exactly what it was started with
The child neither reads nor writes `generated/<id>.py`: that file is keyed by design id alone, so
compiling an edited design while a run starts would otherwise swap the architecture under it.
After importing the generated module, the child checks that its `CONFIG["design_sha256"]` is the
hash `start` computed, and fails the run if not.

## Threads
`on_event(event)` runs on the run's reader thread, never on the caller's: events of one run come
in order from that one thread. Keep the callback short (the pipe buffers while it runs) and hand
events to your own thread; from asyncio, `loop.call_soon_threadsafe(queue.put_nowait, event)`.
The manager's methods are thread-safe, and the callback may call them (a `done` event is
delivered after its run stopped counting as active, so the callback can start the next run).

## One run at a time
`start` refuses a second concurrent run with `TrainingBusyError` (the API answers 409): the
machine this is built for has a couple of cores, and two runs would each train at less than half
speed while making the server sluggish. `max_concurrent_runs` raises the limit on bigger machines.

## Stop and budgets
`stop(run_id)` is honoured at the next env step or minibatch: within a rollout the partial update
is dropped, within the optimisation its remaining minibatches are skipped; then the child saves a
checkpoint and sends `done` (status "stopped"). That takes one env step or minibatch plus the
checkpoint write: milliseconds for small designs, about 1.2 s for the slowest template
(deep-checkpointed, one 512-board minibatch) on the 2-core machine, so within 2 s. A time budget
is checked the same way; a step budget after each update (a run may overshoot it by less than one
update's samples). Time is training time: the trainer's clock, which a resumed run continues
(the time between a stop and the resume does not count).

## Resuming
A run started with `resume_from` continues the checkpoint's budget and learning-rate schedule, by
the rules in `training.budget`'s docstring.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import secrets
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import msgspec

from model_studio.codegen import DesignInput, architecture_sha256, generate, import_generated, instantiate, valid_analysis
from model_studio.contracts import ID_PATTERN, TrainingDone, TrainingEvent, TrainingUpdate
from model_studio.training.budget import Budget, Schedule, read_resume_schedule, resume_schedule
from model_studio.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from model_studio.training.evaluate import summary_of_updates
from model_studio.training.ppo import PPOConfig, PPOTrainer
from model_studio.training.threads import set_torch_threads

RUNS_DIR = "runs"
DEFAULT_CHECKPOINT_EVERY = 20  # updates between checkpoints (about half a minute for small designs)
MAX_SAVE_SHARE = 0.03  # of a run's time, the most that periodic checkpoints may take (see checkpoint_due)
KEPT_UPDATES = 1000  # latest update events kept per run, for the summary of a run that died
STOP_GRACE_S = 5.0  # close(): how long a run may take to honour stop before it is killed
_SPAWN = multiprocessing.get_context("spawn")
_ID = re.compile(ID_PATTERN)
_DECODER = msgspec.json.Decoder(TrainingEvent)
_log = logging.getLogger(__name__)


class TrainingBusyError(RuntimeError):
    """A run is already in progress (the limit is `max_concurrent_runs`)."""


class DesignMismatchError(RuntimeError):
    """The module generated in the child is not the architecture the run was started with."""


@dataclass(frozen=True)
class RunSpec:
    """Everything the child needs; pickled to it by `spawn`. `budget` as given to `start` (with
    `resume_from`, applied to the checkpoint's schedule by `resume_schedule`)."""

    run_id: str
    design_json: str
    design_sha256: str
    data_dir: str
    config: PPOConfig
    budget: Budget
    checkpoint_every: int
    resume_from: str | None

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.data_dir) / RUNS_DIR / self.run_id / CHECKPOINT_NAME


def load_run_module(spec: RunSpec) -> ModuleType:
    """The run's generated module, built in memory from `spec.design_json` (never from the shared
    `generated/<id>.py`, which a concurrent compile may replace), and checked against the hash
    the run was started with."""
    module = import_generated(generate(spec.design_json))
    compiled = module.CONFIG["design_sha256"]
    if compiled != spec.design_sha256:
        raise DesignMismatchError(
            f"run {spec.run_id} was started with architecture {spec.design_sha256[:12]}, but its design compiled to {compiled[:12]}"
        )
    return module


def checkpoint_due(update: int, every: int, since_save_s: float, last_save_s: float) -> bool:
    """Whether to write a periodic checkpoint after `update`: every `every` updates, but not while
    the last save (which took `last_save_s`, ending `since_save_s` ago) would make saving more than
    MAX_SAVE_SHARE of the time. Small designs save in milliseconds, so only `every` counts; a tuple
    network's 428 MB checkpoint took about a second, and saved every 20 updates (7 to 9 s) it took
    13-14% of a run (2-minute runs on the 2-core Xeon: 15-17 saves; with this rule 4-5 saves and
    13-16% more env steps in the same time). Streamed to the file, without the in-memory copy those
    runs made, a save takes 0.5-0.8 s there. The final checkpoint is always written."""
    return update % every == 0 and last_save_s <= MAX_SAVE_SHARE * (since_save_s + last_save_s)


def run_training(spec: RunSpec, send: Callable[[TrainingEvent], None], stop_requested: Callable[[], bool]) -> None:
    """Train one run to its end in this process, sending each event; an error becomes a `failed` event."""
    started = time.monotonic()
    updates: deque[TrainingUpdate] = deque(maxlen=KEPT_UPDATES)
    trainer: PPOTrainer | None = None
    saved: str | None = None
    last_save_s, last_saved_at = 0.0, time.perf_counter()  # how long the last save took, and when it ended

    def elapsed_s() -> float:
        """The run's training seconds: the trainer's clock, which a resumed run continues."""
        return time.perf_counter() - trainer.started

    def done(status: str, message: str | None = None) -> TrainingDone:
        return TrainingDone(
            run_id=spec.run_id,
            status=status,
            message=message,
            checkpoint=saved,
            updates=trainer.update_count if trainer else 0,
            env_steps=trainer.env_steps if trainer else 0,
            elapsed_s=elapsed_s() if trainer else time.monotonic() - started,
            summary=summary_of_updates(updates),
        )

    try:
        set_torch_threads(spec.config.torch_threads)
        trainer = PPOTrainer(instantiate(load_run_module(spec), spec.config.seed), spec.config, spec.run_id)
        schedule = Schedule(spec.budget)
        if spec.resume_from is not None:
            checkpoint = load_checkpoint(spec.resume_from, spec.design_sha256)
            schedule = resume_schedule(checkpoint, spec.budget)
            trainer.load_state(checkpoint)
            del checkpoint
        spec.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        deadline_s = schedule.deadline_s

        def should_stop() -> bool:
            return stop_requested() or elapsed_s() >= deadline_s

        def save() -> None:
            nonlocal saved, last_save_s, last_saved_at
            began = time.perf_counter()
            state = {**trainer.state(), "budget": schedule.to_dict()}
            saved = str(save_checkpoint(spec.checkpoint_path, state, spec.design_json, spec.design_sha256))
            last_saved_at = time.perf_counter()
            last_save_s = last_saved_at - began

        while True:
            progress = schedule.progress(trainer.env_steps, elapsed_s())
            if progress is not None and progress >= 1.0:
                status = "completed"
                break
            if stop_requested():
                status = "stopped"
                break
            event = trainer.update(progress, should_stop)
            if event is not None:
                updates.append(event)
                send(event)
                if checkpoint_due(event.update, spec.checkpoint_every, time.perf_counter() - last_saved_at, last_save_s):
                    save()
        save()
        send(done(status))
    except Exception as exc:  # the run fails; the process ends normally
        traceback.print_exc()
        send(done("failed", f"{type(exc).__name__}: {exc}"))


def _child_main(spec: RunSpec, connection: multiprocessing.connection.Connection, stop: threading.Event) -> None:
    """Entry point of the spawned process. It ignores SIGINT: Ctrl-C at a terminal reaches the whole
    process group, and the parent decides whether that stops the run (with a checkpoint). A parent
    that dies without a word (kill -9) is noticed at the next env step or minibatch, when this
    process is handed to another parent: the run then stops as if asked, keeping a checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def send(event: TrainingEvent) -> None:
        try:
            connection.send_bytes(msgspec.json.encode(event))
        except OSError:  # the parent is gone; nobody is left to tell
            pass

    with connection:
        run_training(spec, send, lambda: stop.is_set() or os.getppid() != parent)


def new_run_id() -> str:
    """`run-YYYYmmdd-HHMMSS-xxxxxx`: sortable by start time, unique, and a valid id."""
    return f"run-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class _Run:
    spec: RunSpec
    process: multiprocessing.process.BaseProcess
    connection: multiprocessing.connection.Connection
    stop: threading.Event  # a multiprocessing Event, shared with the child
    started: float
    updates: deque[TrainingUpdate] = dataclasses.field(default_factory=lambda: deque(maxlen=KEPT_UPDATES))
    done: TrainingDone | None = None
    finished: threading.Event = dataclasses.field(default_factory=threading.Event)


class TrainingManager:
    """Starts, streams, stops and resumes training runs; see the module docstring.

    `data_dir` holds `runs/<run_id>/checkpoint.pt`; runs never touch its `generated/` files.
    """

    def __init__(self, data_dir: str | Path, on_event: Callable[[TrainingEvent], None], max_concurrent_runs: int = 1) -> None:
        self.data_dir = Path(data_dir)
        self.on_event = on_event
        self.max_concurrent_runs = max_concurrent_runs
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}

    def start(
        self,
        design: DesignInput,
        config: PPOConfig = PPOConfig(),
        budget: Budget = Budget(),
        run_id: str | None = None,
        resume_from: str | Path | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> str:
        """Start a run in a child process and return its id (a new one unless `run_id` is given).
        Takes milliseconds (validation and process creation); the child's start-up (importing
        torch, compiling) happens after, and its first event follows a few seconds later.

        With `resume_from`, `budget` is what to train beyond the checkpoint (`Budget()`: what is
        left of its budget); see `training.budget` for the rules.

        Raises `codegen.InvalidDesignError` for an invalid design, `CheckpointError` /
        `CheckpointMismatchError` when `resume_from` is unreadable or belongs to another design,
        `BudgetSpentError` when it is resumed without a budget and its budget is spent,
        `TrainingBusyError` when the concurrent-run limit is reached, and ValueError for a bad id.
        """
        analysis = valid_analysis(design)
        design_sha256 = architecture_sha256(analysis)
        run_id = run_id or new_run_id()
        if not _ID.match(run_id):
            raise ValueError(f"invalid run id {run_id!r}")
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        if resume_from is not None:  # refuse here, synchronously, not in the child
            read_resume_schedule(resume_from, budget, design_sha256)
        spec = RunSpec(
            run_id=run_id,
            design_json=msgspec.json.encode(analysis.design).decode(),
            design_sha256=design_sha256,
            data_dir=str(self.data_dir.resolve()),
            config=config,
            budget=budget,
            checkpoint_every=checkpoint_every,
            resume_from=None if resume_from is None else str(Path(resume_from).resolve()),
        )
        with self._lock:
            active = [run for run in self._runs.values() if run.done is None]
            if len(active) >= self.max_concurrent_runs:
                raise TrainingBusyError(f"run {active[0].spec.run_id} is still training; stop it or wait for it to finish")
            if run_id in self._runs and self._runs[run_id].done is None:
                raise TrainingBusyError(f"run {run_id} is already training")
            receiver, sender = _SPAWN.Pipe(duplex=False)
            stop = _SPAWN.Event()
            process = _SPAWN.Process(target=_child_main, args=(spec, sender, stop), name=f"model-studio-{run_id}", daemon=True)
            process.start()
            sender.close()  # the child holds the only writer now, so its death reads as EOF here
            run = _Run(spec=spec, process=process, connection=receiver, stop=stop, started=time.monotonic())
            self._runs[run_id] = run
        threading.Thread(target=self._read, args=(run,), name=f"model-studio-events-{run_id}", daemon=True).start()
        return run_id

    def stop(self, run_id: str) -> bool:
        """Ask a run to stop (it checkpoints and sends `done`); False if it is not training."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or run.done is not None:
            return False
        run.stop.set()
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> TrainingDone | None:
        """Block until the run's `done` event is final; return it (None on timeout, KeyError for a
        run this manager never started)."""
        with self._lock:
            run = self._runs[run_id]
        return run.done if run.finished.wait(timeout) else None

    def active_runs(self) -> list[str]:
        """Ids of the runs still training."""
        with self._lock:
            return [run_id for run_id, run in self._runs.items() if run.done is None]

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every run, waiting up to `grace_s` for each before killing it (server shutdown)."""
        for run_id in self.active_runs():
            self.stop(run_id)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if not run.finished.wait(grace_s):
                run.process.kill()
                run.finished.wait(grace_s)

    def _read(self, run: _Run) -> None:
        """The run's reader thread: decode events until `done` or EOF (the child died)."""
        done = None
        try:
            while done is None:
                event = _DECODER.decode(run.connection.recv_bytes())
                if isinstance(event, TrainingDone):
                    done = event
                else:
                    run.updates.append(event)
                    self._deliver(event)
        except EOFError:
            pass  # the child died; _death_notice says how
        except msgspec.DecodeError:
            _log.exception("run %s sent an unreadable event; killing it", run.spec.run_id)
            run.process.kill()
        finally:
            run.connection.close()
        if done is None:
            run.process.join()  # for its exit code
            done = self._death_notice(run)
        with self._lock:
            run.done = done
            run.updates.clear()  # only a death notice needs them; a long-lived server keeps every run's `done`
        run.finished.set()
        self._deliver(done)
        run.process.join()  # the child is only shutting its interpreter down: reap it after telling

    def _deliver(self, event: TrainingEvent) -> None:
        """Call `on_event`; a failing callback is logged, and the stream goes on."""
        try:
            self.on_event(event)
        except Exception:
            _log.exception("on_event failed for %s event of run %s", type(event).__name__, event.run_id)

    @staticmethod
    def _death_notice(run: _Run) -> TrainingDone:
        """The `failed` event for a child that died without saying `done`."""
        code = run.process.exitcode
        if code is not None and code < 0:
            cause = f"killed by signal {signal.Signals(-code).name}"
        else:
            cause = f"exited with status {code}"
        checkpoint = run.spec.checkpoint_path
        last = run.updates[-1] if run.updates else None
        return TrainingDone(
            run_id=run.spec.run_id,
            status="failed",
            message=f"the training process {cause} before finishing",
            checkpoint=str(checkpoint) if checkpoint.exists() else None,
            updates=last.update if last else 0,
            env_steps=last.env_steps if last else 0,
            elapsed_s=time.monotonic() - run.started,
            summary=summary_of_updates(run.updates),
        )
