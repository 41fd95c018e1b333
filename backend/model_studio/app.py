"""The ASGI app: the JSON API under `/api` and the built PWA at `/`, on one origin (no CORS).

`create_app(settings)` builds the routes from `OPERATIONS`, the same table `/openapi.json` is
generated from. Middleware, outermost first: request id and access log, security headers, Host
check, bearer auth. The lifespan opens the store, marks runs that a dead server left behind as
interrupted, and on shutdown stops runs (each checkpoints) before closing the store.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles

from model_studio import __version__
from model_studio.api_types import (
    MAX_TELEMETRY_EVENTS,
    DesignList,
    DesignRecord,
    Health,
    PredictRequest,
    PredictResult,
    Problem,
    RunList,
    RunStatus,
    TelemetryAccepted,
    TelemetryBatch,
    TrainAccepted,
    TrainRequest,
)
from model_studio.contracts import CompileResult, ModelArchitecture, TrainingDone, TrainingUpdate, ValidationResult
from model_studio.design_routes import (
    ETAG_PATTERN,
    compile_design_route,
    create_design,
    delete_design,
    export_design_route,
    get_design,
    list_designs,
    predict_design_route,
    put_design,
    validate_design_route,
)
from model_studio.exports import ExportService
from model_studio.hub import RunHub
from model_studio.middleware import SECURITY_HEADERS, BearerAuthMiddleware, HostGuardMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from model_studio.openapi import Operation, Param, Reply, build_spec
from model_studio.responses import MsgspecResponse, ProblemError, decode_body, problem
from model_studio.run_routes import get_run, list_design_runs, run_events, stop_run, train_design
from model_studio.services import ServerSettings, Services, services
from model_studio.store import Store

PWA_DIST = Path(__file__).resolve().parents[2] / "pwa" / "dist"
TELEMETRY_KEPT_ROWS = 100_000  # the table is pruned to the newest rows past this
_log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    return MsgspecResponse(Health(status="ok", version=__version__))


async def openapi(request: Request) -> Response:
    return MsgspecResponse(request.app.state.openapi)


async def store_telemetry(request: Request) -> Response:
    state = services(request)
    batch = await decode_body(request, TelemetryBatch)
    wait_s = state.telemetry_limit.take(len(batch.events))
    if wait_s:
        return problem(429, "rate_limited", "Too many telemetry events; try again later.", headers={"Retry-After": str(max(1, round(wait_s)))})
    rows = [(event.name, event.at, msgspec.json.encode(event.props).decode()) for event in batch.events]
    accepted = await state.store.add_telemetry(batch.client_id, rows)
    if await state.store.telemetry_count() > TELEMETRY_KEPT_ROWS:
        await state.store.prune_telemetry(TELEMETRY_KEPT_ROWS)
    return MsgspecResponse(TelemetryAccepted(accepted=accepted), status_code=202)


def _links(operation: str, parameter: str, source: str) -> dict[str, dict]:
    return {operation: {"operationId": operation, "parameters": {parameter: source}}}


DESIGN_LINKS = {
    **_links("get_design", "design_id", "$response.body#/id"),
    **_links("validate_design_route", "design_id", "$response.body#/id"),
    **_links("compile_design_route", "design_id", "$response.body#/id"),
    **_links("train_design", "design_id", "$response.body#/id"),
    **_links("list_design_runs", "design_id", "$response.body#/id"),
    **_links("delete_design", "design_id", "$response.body#/id"),
}
RUN_LINKS = {
    **_links("get_run", "run_id", "$response.body#/run_id"),
    **_links("run_events", "run_id", "$response.body#/run_id"),
    **_links("stop_run", "run_id", "$response.body#/run_id"),
}
NOT_FOUND = Reply("No such design.", Problem)
INVALID_DESIGN = Reply("The body is not a design (not JSON, or not the schema).", Problem)
IF_MATCH = Param("If-Match", "header", {"type": "string", "pattern": f"^{ETAG_PATTERN}$"}, 'Update only over this version, e.g. "3".')
IF_NONE_MATCH = Param("If-None-Match", "header", {"type": "string", "enum": ["*"]}, "`*` to create under the path's id.")
EVENT_ID = {"type": "string", "pattern": "^[0-9]{1,16}$"}

OPERATIONS = [
    Operation("GET", "/api/health", health, "Is the server up (no auth)", {200: Reply("Up.", Health)}, auth=False),
    Operation("GET", "/api/designs", list_designs, "List stored designs", {200: Reply("Every design, newest change first.", DesignList)}),
    Operation(
        "POST",
        "/api/designs",
        create_design,
        "Store a new design",
        {
            201: Reply("Stored as version 1.", DesignRecord, headers=("Location", "ETag"), links=DESIGN_LINKS),
            409: Reply("The id is taken.", Problem),
            422: INVALID_DESIGN,
        },
        body=ModelArchitecture,
    ),
    Operation(
        "GET",
        "/api/designs/{design_id}",
        get_design,
        "Read a design",
        {200: Reply("The design.", DesignRecord, headers=("ETag",)), 304: Reply("Unchanged since the ETag sent."), 404: NOT_FOUND},
        params=(Param("If-None-Match", "header", {"type": "string"}, "The ETag held: 304 if unchanged."),),
    ),
    Operation(
        "PUT",
        "/api/designs/{design_id}",
        put_design,
        "Sync a design: update over a version, or create under a client-made id",
        {
            200: Reply("Updated (or the same create repeated).", DesignRecord, headers=("ETag",)),
            201: Reply("Created.", DesignRecord, headers=("Location", "ETag"), links=DESIGN_LINKS),
            404: Reply("No such design to update.", Problem),
            409: Reply("The id is taken, differing in case.", Problem),
            412: Reply("The version is stale: the server's copy.", DesignRecord, headers=("ETag",)),
            422: INVALID_DESIGN,
            428: Reply("Neither If-Match nor If-None-Match was sent.", Problem),
        },
        body=ModelArchitecture,
        params=(IF_MATCH, IF_NONE_MATCH),
    ),
    Operation(
        "DELETE",
        "/api/designs/{design_id}",
        delete_design,
        "Delete a design and its runs",
        {
            204: Reply("Deleted."),
            404: NOT_FOUND,
            409: Reply("A run of it is training.", Problem),
            412: Reply("If-Match named a stale version: the server's copy.", DesignRecord, headers=("ETag",)),
        },
        params=(IF_MATCH,),
    ),
    Operation(
        "POST",
        "/api/designs/{design_id}/validate",
        validate_design_route,
        "Validate a design (rules, shapes, sizes)",
        {
            200: Reply("Valid, with its sizes.", ValidationResult),
            422: Reply("Invalid: the validator's errors; or a Problem (`id_mismatch`) when the body's id is not the path's.", (ValidationResult, Problem)),
        },
        body=ModelArchitecture,
    ),
    Operation(
        "POST",
        "/api/designs/{design_id}/compile",
        compile_design_route,
        "Compile the stored design to generated/<id>.py",
        {200: Reply("Compiled.", CompileResult), 404: NOT_FOUND, 422: Reply("The design is invalid: the validator's errors.", Problem)},
    ),
    Operation(
        "POST",
        "/api/designs/{design_id}/train",
        train_design,
        "Start training the stored design with PPO",
        {
            202: Reply("Started.", TrainAccepted, headers=("Location",), links=RUN_LINKS),
            404: Reply("No such design, or no such run to resume.", Problem),
            409: Reply("A run is already training (named), or the run cannot be resumed.", Problem),
            422: Reply("The design or the body is invalid.", Problem),
        },
        body=TrainRequest,
        body_required=False,
    ),
    Operation(
        "GET",
        "/api/designs/{design_id}/runs",
        list_design_runs,
        "A design's runs, newest first",
        {200: Reply("The runs.", RunList), 404: NOT_FOUND},
    ),
    Operation(
        "GET",
        "/api/designs/{design_id}/export",
        export_design_route,
        "Download the model as .onnx, .pt or .py",
        {
            200: Reply("The file; X-Model-Weights says whose weights.", media_type="application/octet-stream", headers=("Content-Disposition",)),
            404: Reply("No such design, or no such run of it.", Problem),
            409: Reply("The run has no checkpoint yet.", Problem),
            422: Reply("The design is invalid, or the export failed its checks.", Problem),
        },
        params=(
            Param("fmt", "query", {"type": "string", "enum": ["onnx", "pt", "py"], "default": "pt"}, "File format."),
            Param("run", "query", {"type": "string", "maxLength": 64}, "Export this run's checkpoint (default: the latest that fits)."),
        ),
    ),
    Operation(
        "POST",
        "/api/designs/{design_id}/predict",
        predict_design_route,
        "torch's logits and values for boards, with the weights the export would use (to check an .onnx against)",
        {
            200: Reply("One row of logits and one value per board; `weights` as the export's X-Model-Weights.", PredictResult),
            404: Reply("No such design, or no such run of it.", Problem),
            409: Reply("The run has no checkpoint yet.", Problem),
            422: Reply("Not boards (16 exponents 0-15 each, 1-64 of them, one 4-move mask each), or the design is invalid.", Problem),
        },
        body=PredictRequest,
    ),
    Operation("GET", "/api/runs/{run_id}", get_run, "A run's status, progress and summary", {200: Reply("The run.", RunStatus), 404: Reply("No such run.", Problem)}),
    Operation(
        "GET",
        "/api/runs/{run_id}/events",
        run_events,
        "The run's training_update events, then done, as server-sent events (replays after Last-Event-ID)",
        {
            200: Reply("text/event-stream: `id: <seq>`, `event: training_update | done`, `data: <JSON>`.", media_type="text/event-stream"),
            404: Reply("No such run.", Problem),
        },
        params=(
            Param("Last-Event-ID", "header", EVENT_ID, "Replay only the events after this id."),
            Param("last_event_id", "query", EVENT_ID, "The same, for clients that cannot set headers."),
        ),
    ),
    Operation(
        "POST",
        "/api/runs/{run_id}/stop",
        stop_run,
        "Stop a run (it checkpoints first)",
        {200: Reply("It had already ended.", RunStatus), 202: Reply("Stopping.", RunStatus), 404: Reply("No such run.", Problem)},
    ),
    Operation(
        "POST",
        "/api/telemetry",
        store_telemetry,
        f"Store a batch of up to {MAX_TELEMETRY_EVENTS} client events",
        {
            202: Reply("Stored.", TelemetryAccepted),
            422: Reply("Not a telemetry batch.", Problem),
            429: Reply("Too many events; wait Retry-After seconds.", Problem, headers=("Retry-After",)),
        },
        body=TelemetryBatch,
    ),
]
# The event schemas are part of the contract too, though SSE carries them as text.
EVENT_TYPES = (TrainingUpdate, TrainingDone)


async def _problem_response(request: Request, exc: Exception) -> Response:
    return exc.response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette sends this from its outermost middleware, outside ours: add their headers here.
    _log.exception("unhandled error in %s %s", request.method, request.url.path)
    request_id = request.state.request_id
    headers = {"x-request-id": request_id, **{name.decode(): value.decode() for name, value in SECURITY_HEADERS}}
    return problem(500, "internal_error", f"Something went wrong on the server (request {request_id}).", headers=headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, "not_found", "No such route.")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with `Allow` (RFC 9110): every method some route serves at this path, not only those of
    the first route Starlette matched (GET, PUT and DELETE of a design are separate routes)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return problem(405, "method_not_allowed", f"{request.method} is not allowed here.", headers={"Allow": ", ".join(sorted(methods))})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings: ServerSettings = app.state.settings
    store = await Store.open(settings.store_path)
    hub = exports = None
    try:
        hub = RunHub(store, lambda sink: settings.make_runner(settings.data_dir, sink))
        interrupted = await hub.recover()
        if interrupted:
            _log.warning("marked %d run(s) interrupted: the server stopped while they trained", len(interrupted))
        exports = ExportService(settings.data_dir)
        app.state.services = Services(settings=settings, store=store, hub=hub, exports=exports)
        yield
    finally:
        if hub is not None:
            await hub.close()
        if exports is not None:
            await anyio.to_thread.run_sync(exports.close)
        await store.close()


def create_app(settings: ServerSettings) -> Starlette:
    routes: list[Route | Mount] = [Route(op.path, op.endpoint, methods=[op.method]) for op in OPERATIONS]
    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    if settings.static_dir is not None and settings.static_dir.is_dir():
        routes.append(Mount("/", StaticFiles(directory=settings.static_dir, html=True), name="pwa"))
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(SecurityHeadersMiddleware),
        Middleware(HostGuardMiddleware, allowed_names=settings.allowed_hosts),
        Middleware(BearerAuthMiddleware, token=settings.token),
    ]
    handlers = {ProblemError: _problem_response, 404: _not_found, 405: _method_not_allowed, Exception: _unexpected}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.settings = settings
    app.state.openapi = build_spec(OPERATIONS, EVENT_TYPES)
    return app
