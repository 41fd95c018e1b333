"""Routes for training: start a run, read its status, stream its events, stop it, list a design's runs."""

from __future__ import annotations

from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from model_studio.api_types import RunBudget, RunList, RunStatus, TrainAccepted, TrainRequest
from model_studio.codegen import InvalidDesignError, architecture_sha256, valid_analysis
from model_studio.contracts import ScoreSummary
from model_studio.design_routes import invalid_design, stored_design
from model_studio.hub import RunConflict
from model_studio.responses import MsgspecResponse, ProblemError, decode_body, problem
from model_studio.services import path_id, services
from model_studio.sse import event_stream
from model_studio.store import ACTIVE_STATUSES, DesignNotFound, RunRow
from model_studio.training import Budget, CheckpointError
from model_studio.training.budget import Schedule

MAX_EVENT_ID = 2**53  # what a JavaScript client can hold exactly


def run_status(run: RunRow) -> RunStatus:
    config = msgspec.json.decode(run.config)
    if "schedule" in config:  # the run's budget as resuming made it; counters are the whole run's
        schedule = Schedule.from_dict(config["schedule"])
        budget, progress = schedule.budget, schedule.progress(run.env_steps, run.elapsed_s)
    else:  # a row stored before runs recorded their schedule
        budget = Budget(max_env_steps=config.get("max_env_steps"), max_minutes=config.get("max_minutes"))
        progress = budget.progress(run.env_steps - config.get("start_env_steps", 0), run.elapsed_s)
    if run.status == "completed":
        progress = 1.0 if progress is not None else None
    return RunStatus(
        id=run.id,
        design_id=run.design_id,
        design_version=run.design_version,
        status=run.status,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        message=run.message,
        budget=RunBudget(max_env_steps=budget.max_env_steps, max_minutes=budget.max_minutes),
        seed=config.get("seed", 0),
        resume_from=config.get("resume_from"),
        progress=progress,
        updates=run.updates,
        env_steps=run.env_steps,
        elapsed_s=run.elapsed_s,
        last_seq=run.last_seq,
        has_checkpoint=bool(run.checkpoint) and Path(run.checkpoint).is_file(),
        summary=msgspec.json.decode(run.summary, type=ScoreSummary) if run.summary else None,
    )


def run_location(run_id: str) -> str:
    return f"/api/runs/{run_id}"


async def stored_run(request: Request) -> RunRow:
    run_id = path_id(request, "run_id")
    run = await services(request).store.get_run(run_id)
    if run is None:
        raise ProblemError(problem(404, "run_not_found", f"No run {run_id!r} on this server."))
    return run


async def train_design(request: Request) -> Response:
    state = services(request)
    row = await stored_design(request, path_id(request, "design_id"))
    train = await decode_body(request, TrainRequest, empty=TrainRequest())
    try:
        analysis = valid_analysis(row.body)
    except InvalidDesignError as exc:
        raise invalid_design(exc) from None
    sha = architecture_sha256(analysis)
    if train.resume_from is not None:
        source = await state.store.get_run(train.resume_from)
        if source is None or source.design_id != row.id:
            raise ProblemError(problem(404, "run_not_found", f"Design {row.id!r} has no run {train.resume_from!r} to resume."))
        if source.design_sha256 != sha:
            raise ProblemError(problem(409, "cannot_resume", f"Run {source.id} trained another architecture of this design."))
    try:
        run = await state.hub.start(row.id, row.version, row.body, sha, train)
    except RunConflict as exc:
        raise ProblemError(problem(409, "run_active", str(exc), run_id=exc.run_id)) from None
    except DesignNotFound:  # deleted since it was read above
        raise ProblemError(problem(404, "design_not_found", f"No design {row.id!r} on this server.")) from None
    except (CheckpointError, ValueError) as exc:
        raise ProblemError(problem(409, "cannot_resume", str(exc))) from None
    accepted = TrainAccepted(run_id=run.id, status_url=run_location(run.id), events_url=f"{run_location(run.id)}/events")
    return MsgspecResponse(accepted, status_code=202, headers={"Location": run_location(run.id)})


async def list_design_runs(request: Request) -> Response:
    row = await stored_design(request, path_id(request, "design_id"))
    runs = await services(request).store.list_runs(row.id)
    return MsgspecResponse(RunList(runs=[run_status(run) for run in runs]))


async def get_run(request: Request) -> Response:
    return MsgspecResponse(run_status(await stored_run(request)))


async def stop_run(request: Request) -> Response:
    """202 when the stop was asked for (the run checkpoints, then ends); 200 if it had already ended."""
    run = await stored_run(request)
    if run.status not in ACTIVE_STATUSES:
        return MsgspecResponse(run_status(run))
    services(request).hub.stop(run.id)
    return MsgspecResponse(run_status(run), status_code=202)


def last_event_id(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or "0"
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 16 or int(raw) > MAX_EVENT_ID:
        raise ProblemError(problem(400, "invalid_event_id", "Last-Event-ID must be the id of an event: a whole number."))
    return int(raw)


async def run_events(request: Request) -> Response:
    run = await stored_run(request)
    after = last_event_id(request)
    state = services(request)
    return event_stream(state.store, state.hub, run.id, after)
