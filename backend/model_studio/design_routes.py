"""Routes for designs: list, create, read, sync writes, delete, validate, compile, export and predict.

Sync follows HTTP's conditional requests. A design's `version` is its ETag. `PUT` with
`If-Match: "<version>"` writes only over that version (compare-and-swap in the store); a stale
one gets 412 with the server's copy, so the client can choose, and nothing is overwritten
unseen. `If-None-Match: *` creates a design under a client-made id, and repeating that same
request is harmless. A `PUT` with neither gets 428.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from model_studio.api_types import DesignList, DesignRecord, DesignSummary, PredictRequest, PredictResult
from model_studio.codegen import InvalidDesignError, architecture_sha256, compile_design, valid_analysis
from model_studio.contracts import ModelArchitecture
from model_studio.export import FORMATS, ExportError
from model_studio.exports import ExportJob, PredictJob
from model_studio.responses import MsgspecResponse, ProblemError, decode_body, problem, read_body
from model_studio.services import path_id, services
from model_studio.store import DesignIdTaken, DesignNotFound, DesignRow, RunRow, VersionConflict
from model_studio.validation import DesignDecodeError, analyse, decode_design, validate_design

ETAG_PATTERN = r'(?:W/)?(?:"([0-9]{1,18})"|([0-9]{1,18}))'  # what If-Match may name; in the spec too
ETAG = re.compile(ETAG_PATTERN)
MEDIA_TYPES = {"onnx": "application/octet-stream", "pt": "application/octet-stream", "py": "text/x-python; charset=utf-8"}


def etag(version: int) -> str:
    return f'"{version}"'


def parse_etag(value: str) -> int:
    """`"3"` (or `W/"3"`, or a bare 3) -> 3; anything else is a 400."""
    match = ETAG.fullmatch(value.strip())
    if match is None:
        raise ProblemError(problem(400, "invalid_precondition", 'If-Match takes one quoted version, e.g. If-Match: "3".'))
    return int(match[1] or match[2])


def record(row: DesignRow) -> DesignRecord:
    design = msgspec.json.decode(row.body, type=ModelArchitecture)
    return DesignRecord(id=row.id, version=row.version, created_at=row.created_at, updated_at=row.updated_at, design=design)


def record_response(row: DesignRow, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return MsgspecResponse(record(row), status_code=status, headers={"ETag": etag(row.version), **(headers or {})})


def location(design_id: str) -> str:
    return f"/api/designs/{design_id}"


async def read_design(request: Request, design_id: str | None = None) -> ModelArchitecture:
    """The body as a design (structure and types only: half-built designs may be stored); with
    `design_id`, its id must be the path's."""
    try:
        design = decode_design(await read_body(request))
    except DesignDecodeError as exc:
        raise ProblemError(problem(422, exc.error.code, exc.error.message, errors=[exc.error])) from None
    if design_id is not None and design.id != design_id:
        raise ProblemError(problem(422, "id_mismatch", f"The body's id {design.id!r} is not the path's {design_id!r}."))
    return design


async def stored_design(request: Request, design_id: str) -> DesignRow:
    row = await services(request).store.get_design(design_id)
    if row is None:
        raise ProblemError(problem(404, "design_not_found", f"No design {design_id!r} on this server."))
    return row


def invalid_design(error: InvalidDesignError) -> ProblemError:
    return ProblemError(problem(422, "invalid_design", "The design is not valid; see errors.", errors=error.errors))


def canonical(design: ModelArchitecture) -> str:
    return msgspec.json.encode(design).decode()


def taken(error: DesignIdTaken) -> ProblemError:
    return ProblemError(problem(409, "design_exists", f"The id is taken by design {error.existing_id!r} (ids differ in more than case)."))


# ---- handlers ----


async def list_designs(request: Request) -> Response:
    rows = await services(request).store.list_designs()
    summaries = [DesignSummary(id=r.id, name=r.name, version=r.version, created_at=r.created_at, updated_at=r.updated_at) for r in rows]
    return MsgspecResponse(DesignList(designs=summaries))


async def create_design(request: Request) -> Response:
    design = await read_design(request)
    try:
        row = await services(request).store.create_design(design.id, design.name, canonical(design))
    except DesignIdTaken as exc:
        raise taken(exc) from None
    return record_response(row, 201, {"Location": location(row.id)})


async def get_design(request: Request) -> Response:
    row = await stored_design(request, path_id(request, "design_id"))
    if request.headers.get("if-none-match", "").strip() in (etag(row.version), f"W/{etag(row.version)}"):
        return Response(status_code=304, headers={"ETag": etag(row.version)})
    return record_response(row)


async def put_design(request: Request) -> Response:
    design_id = path_id(request, "design_id")
    if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
    if if_match is None and if_none_match is None:
        raise ProblemError(problem(428, "precondition_required", 'Send If-Match: "<version>" to update, or If-None-Match: * to create.'))
    if if_none_match is not None and if_none_match.strip() != "*":
        raise ProblemError(problem(400, "invalid_precondition", "If-None-Match on PUT must be *."))
    expected = parse_etag(if_match) if if_match is not None else None
    design = await read_design(request, design_id)
    store = services(request).store
    try:
        if expected is None:
            return record_response(await store.create_design(design_id, design.name, canonical(design)), 201, {"Location": location(design_id)})
        return record_response(await store.update_design(design_id, design.name, canonical(design), expected))
    except DesignIdTaken as exc:
        current = await store.get_design(design_id)
        if current is None:
            raise taken(exc) from None
        if current.body == canonical(design):
            return record_response(current)  # the same create, repeated: already done
        return record_response(current, 412)
    except VersionConflict as exc:
        return record_response(exc.current, 412)
    except DesignNotFound:
        raise ProblemError(problem(404, "design_not_found", f"No design {design_id!r} to update; create it with If-None-Match: *.")) from None


async def delete_design(request: Request) -> Response:
    design_id = path_id(request, "design_id")
    state = services(request)
    await stored_design(request, design_id)
    expected = parse_etag(if_match) if (if_match := request.headers.get("if-match")) is not None else None
    try:
        active = await state.hub.delete_design(design_id, expected)
    except VersionConflict as exc:
        return record_response(exc.current, 412)
    if active is not None:
        raise ProblemError(problem(409, "run_active", f"Run {active.id} is training this design; stop it first.", run_id=active.id))
    return Response(status_code=204)


async def validate_design_route(request: Request) -> Response:
    design_id = path_id(request, "design_id")
    body = await read_body(request)
    try:
        design = decode_design(body)
    except DesignDecodeError:
        return MsgspecResponse(validate_design(body), status_code=422)
    if design.id != design_id:
        raise ProblemError(problem(422, "id_mismatch", f"The body's id {design.id!r} is not the path's {design_id!r}."))
    result = analyse(design).result()
    return MsgspecResponse(result, status_code=200 if result.valid else 422)


async def compile_design_route(request: Request) -> Response:
    row = await stored_design(request, path_id(request, "design_id"))
    data_dir = services(request).settings.data_dir
    try:
        result = await anyio.to_thread.run_sync(compile_design, row.body, data_dir)
    except InvalidDesignError as exc:
        raise invalid_design(exc) from None
    return MsgspecResponse(result)


async def export_design_route(request: Request) -> Response:
    design_id = path_id(request, "design_id")
    fmt = request.query_params.get("fmt", "pt")
    if fmt not in FORMATS:
        raise ProblemError(problem(400, "invalid_format", f"fmt must be one of {', '.join(FORMATS)}."))
    row = await stored_design(request, design_id)
    weights = await chosen_weights(request, row, request.query_params.get("run"))
    try:
        path = await services(request).exports.export(ExportJob(weights.design_json, weights.design_sha256, fmt, weights.checkpoint))
    except ExportError as exc:
        raise ProblemError(problem(422, "export_failed", str(exc))) from None
    run = weights.run
    name = f"{design_id}.{fmt}" if run is None else f"{design_id}-{run.id}.{fmt}"
    headers = {"X-Model-Weights": weights.label, "Cache-Control": "no-store"}
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=name, headers=headers)


@dataclass(frozen=True)
class Weights:
    """What an export or a prediction runs: a run's checkpoint and the design it trained, or the
    stored design with fresh weights (`run` None)."""

    run: RunRow | None
    design_json: str
    design_sha256: str

    @property
    def checkpoint(self) -> Path | None:
        return Path(self.run.checkpoint) if self.run is not None and self.run.checkpoint else None

    @property
    def label(self) -> str:
        """Whose weights these are: the `X-Model-Weights` header."""
        return f"run {self.run.id}, update {self.run.updates}" if self.run is not None else "fresh, seed 0"


def _valid_sha(design_json: str) -> str:
    try:
        return architecture_sha256(valid_analysis(design_json))
    except InvalidDesignError as exc:
        raise invalid_design(exc) from None


async def chosen_weights(request: Request, row: DesignRow, run_id: str | None) -> Weights:
    """The named run's checkpoint and design; else the latest run checkpoint of this exact
    architecture; else the design itself with fresh weights."""
    store = services(request).store
    if run_id is not None:
        run = await store.get_run(run_id) if len(run_id) <= 64 else None
        if run is None or run.design_id != row.id:
            raise ProblemError(problem(404, "run_not_found", f"Design {row.id!r} has no run {run_id[:64]!r}."))
        if not run.checkpoint or not Path(run.checkpoint).is_file():
            raise ProblemError(problem(409, "no_checkpoint", f"Run {run.id} has no checkpoint yet."))
        return Weights(run, run.design_json, _valid_sha(run.design_json))
    sha = _valid_sha(row.body)
    for run in await store.list_runs(row.id):
        if run.design_sha256 == sha and run.checkpoint and Path(run.checkpoint).is_file():
            return Weights(run, run.design_json, sha)
    return Weights(None, row.body, sha)


async def predict_design_route(request: Request) -> Response:
    """torch's logits and values for the boards, with the weights the export of the same design
    and run would use, so a client can check the `.onnx` it downloaded."""
    design_id = path_id(request, "design_id")
    body = await decode_body(request, PredictRequest)
    if len(body.masks) != len(body.boards):
        raise ProblemError(problem(422, "mask_count", f"Send one action mask per board: {len(body.boards)} boards, {len(body.masks)} masks."))
    row = await stored_design(request, design_id)
    weights = await chosen_weights(request, row, body.run)
    try:
        logits, values = await services(request).exports.predict(PredictJob(weights.design_json, weights.checkpoint, body.boards, body.masks))
    except ExportError as exc:
        raise ProblemError(problem(422, "predict_failed", str(exc))) from None
    return MsgspecResponse(PredictResult(logits=logits, values=values, weights=weights.label, design_sha256=weights.design_sha256))
