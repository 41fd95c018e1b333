"""RunHub: runs between the runner, the store and the event streams.

Events arrive from the runner's threads and are handed to the event loop. There each gets the
next per-run `seq` (1, 2, 3 ...; the SSE `id`) and waits in a buffer that is written to the store
in one transaction every `FLUSH_INTERVAL_S` (or at once for `done`), together with the run's
progress, so a fast run does not fsync once per event and a batch lands whole or not at all.
Subscribers read only what is committed: replay and live delivery are the same query, a client
that reads slowly holds one page at most, and whatever a client saw survives a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path

import anyio
import msgspec

from model_studio.api_types import TrainRequest
from model_studio.contracts import TrainingDone, TrainingEvent, TrainingUpdate
from model_studio.runner import EventSink, Runner, RunRequest
from model_studio.store import INTERRUPTED_MESSAGE, MetricRow, RunRow, Store, utc_now
from model_studio.training import Budget, TrainingBusyError
from model_studio.training.evaluate import summary_of_updates
from model_studio.training.budget import Schedule, read_resume_schedule
from model_studio.training.manager import new_run_id

FLUSH_INTERVAL_S = 0.2  # the most a live event waits before it is stored and sent
FLUSH_MAX_EVENTS = 256  # a fuller buffer is written at once
RECENT_EVENTS = 256  # committed events kept in memory per run, so live streams need no query
DONE_GRACE_S = 2.0  # at shutdown, how long a stopped run's `done` may take to arrive
_log = logging.getLogger(__name__)
_UPDATE = msgspec.json.Decoder(TrainingUpdate)


class RunConflict(Exception):
    """Another run is active; `run_id` names it."""

    def __init__(self, run_id: str):
        super().__init__(f"run {run_id} is still training; stop it or wait for it to finish")
        self.run_id = run_id


class RunHub:
    """Starts and stops runs, stores their events in order, and wakes the streams that wait."""

    def __init__(self, store: Store, make_runner: Callable[[EventSink], Runner]) -> None:
        self.store = store
        self.runner = make_runner(self._from_thread)
        self._loop = asyncio.get_running_loop()
        self._next_seq: dict[str, int] = {}
        self._pending: dict[str, list[MetricRow]] = defaultdict(list)
        self._fields: dict[str, dict[str, object]] = {}
        self._committed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._recent: dict[str, deque[MetricRow]] = {}
        self._awaiting_done: set[str] = set()
        self._flush_soon: asyncio.TimerHandle | None = None
        self._flushing = asyncio.Lock()
        self._starting = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- start-up and shutdown ----

    async def recover(self) -> list[str]:
        """At start-up: runs that were training when the server died become `interrupted`, each with
        its latest periodic checkpoint (so it can be resumed) and a final `done` event built from its
        stored updates, so its stream ends properly."""
        interrupted = await self.store.mark_interrupted()
        for run_id in interrupted:
            checkpoint = self.runner.checkpoint(run_id)
            fields = {"checkpoint": str(checkpoint)} if checkpoint is not None else None
            run = await self.store.get_run(run_id)
            if run is not None:
                await self.store.append_metrics(run_id, [await self._interrupted_event(run, checkpoint)], fields)
        return interrupted

    async def _interrupted_event(self, run: RunRow, checkpoint: Path | None) -> MetricRow:
        updates = [_UPDATE.decode(row.body) for row in await self._all_events(run.id) if row.type == "training_update"]
        done = TrainingDone(
            run_id=run.id,
            status="interrupted",
            message=INTERRUPTED_MESSAGE,
            checkpoint=str(checkpoint) if checkpoint is not None else None,
            updates=updates[-1].update if updates else 0,
            env_steps=updates[-1].env_steps if updates else 0,
            elapsed_s=updates[-1].elapsed_s if updates else 0.0,
            summary=summary_of_updates(updates),
        )
        return MetricRow(seq=run.last_seq + 1, type="done", body=msgspec.json.encode(done).decode())

    async def _all_events(self, run_id: str) -> list[MetricRow]:
        rows, cursor = [], 0
        while page := await self.store.metrics_after(run_id, cursor):
            rows += page
            cursor = page[-1].seq
        return rows

    async def close(self) -> None:
        """Stop every run (each checkpoints and says `done`), store what is buffered, and mark as
        interrupted whatever did not finish in time."""
        await anyio.to_thread.run_sync(self.runner.close)
        with anyio.move_on_after(DONE_GRACE_S):  # a `done` may still be on its way from a runner thread
            while self._awaiting_done:
                await asyncio.sleep(0.01)
        await self.flush()
        await self.recover()

    # ---- runs ----

    async def start(self, design_id: str, design_version: int, design_json: str, design_sha256: str, request: TrainRequest) -> RunRow:
        """Create the run (queued), start it (running) and return its row. Raises `RunConflict`
        while another run is active, and what `Runner.start` raises for a bad checkpoint."""
        async with self._starting:  # two taps on Train start one run, not two
            active = await self.store.active_runs()
            if active:
                raise RunConflict(active[0].id)
            budget = Budget(max_env_steps=request.max_env_steps, max_minutes=request.max_minutes)
            resume_path, start_steps, schedule = await self._resume_point(request, budget)
            config = {
                "max_env_steps": request.max_env_steps,
                "max_minutes": request.max_minutes,
                "seed": request.seed,
                "resume_from": request.resume_from,
                "start_env_steps": start_steps,
                "schedule": schedule.to_dict(),  # what progress is measured against (`run_routes.run_status`)
            }
            run = await self.store.create_run(new_run_id(), design_id, design_version, design_sha256, design_json, msgspec.json.encode(config).decode())
            self._next_seq[run.id] = 1
            self._awaiting_done.add(run.id)
            try:
                await anyio.to_thread.run_sync(self.runner.start, RunRequest(run.id, design_json, request.seed, budget, resume_path))
            except BaseException as exc:
                self._awaiting_done.discard(run.id)
                message = "another run was still training" if isinstance(exc, TrainingBusyError) else str(exc)
                await self.store.update_run(run.id, status="failed", finished_at=utc_now(), message=message)
                if isinstance(exc, TrainingBusyError):
                    raise RunConflict(next(iter(self.runner.active_runs()), "unknown")) from None
                raise
            return await self.store.update_run(run.id, status="running", started_at=utc_now())

    async def delete_design(self, design_id: str, expected_version: int | None = None) -> RunRow | None:
        """Delete the design and its runs (only `expected_version`, if given: see
        `Store.delete_design`), unless one of its runs is active: then nothing is deleted and that
        run is returned. Under the start lock, so no run of the design can start between the check
        and the delete (it would lose its row while its process trains on)."""
        async with self._starting:
            active = [run for run in await self.store.active_runs() if run.design_id == design_id]
            if active:
                return active[0]
            await self.store.delete_design(design_id, expected_version)
            return None

    async def _resume_point(self, request: TrainRequest, budget: Budget) -> tuple[Path | None, int, Schedule]:
        """The checkpoint to resume from, the source run's env steps, and the new run's schedule
        (`training.budget.resume_schedule`: what is left of the checkpoint's budget, or that
        budget extended by `budget`). Raises ValueError (`BudgetSpentError` among them) and
        `CheckpointError` for a run that cannot be resumed this way."""
        if request.resume_from is None:
            return None, 0, Schedule(budget)
        source = await self.store.get_run(request.resume_from)
        if source is None or not source.checkpoint or not Path(source.checkpoint).is_file():
            raise ValueError(f"run {request.resume_from} has no checkpoint to resume from")
        path = Path(source.checkpoint)
        schedule = await anyio.to_thread.run_sync(read_resume_schedule, path, budget)
        return path, source.env_steps, schedule

    def stop(self, run_id: str) -> bool:
        return self.runner.stop(run_id)

    # ---- events ----

    def _from_thread(self, event: TrainingEvent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._accept, event)
        except RuntimeError:  # the loop has closed: the server is gone, and `recover` will mark the run
            _log.warning("dropped a %s event of run %s after shutdown", type(event).__name__, event.run_id)

    def _accept(self, event: TrainingEvent) -> None:
        run_id = event.run_id
        seq = self._next_seq.get(run_id, 1)
        self._next_seq[run_id] = seq + 1
        kind = "done" if isinstance(event, TrainingDone) else "training_update"
        self._pending[run_id].append(MetricRow(seq=seq, type=kind, body=msgspec.json.encode(event).decode()))
        fields = self._fields.setdefault(run_id, {})
        fields.update(updates=event.updates if isinstance(event, TrainingDone) else event.update, env_steps=event.env_steps, elapsed_s=event.elapsed_s)
        if isinstance(event, TrainingDone):
            self._awaiting_done.discard(run_id)
            fields.update(
                status=event.status,
                finished_at=utc_now(),
                message=event.message,
                checkpoint=event.checkpoint,
                summary=msgspec.json.encode(event.summary).decode(),
            )
            self._spawn(self.flush())
        elif sum(map(len, self._pending.values())) >= FLUSH_MAX_EVENTS:
            self._spawn(self.flush())
        elif self._flush_soon is None:
            self._flush_soon = self._loop.call_later(FLUSH_INTERVAL_S, lambda: self._spawn(self.flush()))

    def _spawn(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Write every buffered event, one transaction per run, then wake that run's streams."""
        async with self._flushing:
            if self._flush_soon is not None:
                self._flush_soon.cancel()
                self._flush_soon = None
            batches, self._pending = self._pending, defaultdict(list)
            fields, self._fields = self._fields, {}
            for run_id, rows in batches.items():
                try:
                    await self.store.append_metrics(run_id, rows, fields.get(run_id))
                except Exception:
                    _log.exception("could not store %d events of run %s", len(rows), run_id)
                    continue
                if fields.get(run_id, {}).get("status") is not None:
                    self._next_seq.pop(run_id, None)
                self._recent.setdefault(run_id, deque(maxlen=RECENT_EVENTS)).extend(rows)
                self._committed.pop(run_id, asyncio.Event()).set()

    def recent_after(self, run_id: str, after_seq: int) -> list[MetricRow] | None:
        """The committed events after `after_seq` from memory, or None when they are not all there
        (read the store). Fifty phones following one run then cost no query per event."""
        recent = self._recent.get(run_id)
        if not recent or recent[0].seq > after_seq + 1:
            return None
        return [row for row in recent if row.seq > after_seq]

    def is_training(self, run_id: str) -> bool:
        """Whether this server is still waiting for the run's `done`."""
        return run_id in self._awaiting_done

    async def wait_for_events(self, run_id: str, after_seq: int, timeout_s: float) -> bool:
        """Wait until an event after `after_seq` is committed; False after `timeout_s` without one."""
        recent = self._recent.get(run_id)
        if recent and recent[-1].seq > after_seq:
            return True
        with anyio.move_on_after(timeout_s):
            await self._committed[run_id].wait()
            return True
        return False
