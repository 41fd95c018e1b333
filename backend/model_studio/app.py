"""The ASGI app: the JSON API under `/api` and the built PWA at `/`, on one origin."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model_studio import __version__
from model_studio.contracts import ID_PATTERN
from model_studio.validation import validate_design

MAX_BODY_BYTES = 2 * 1024 * 1024  # a 1000-block design is well under 1 MiB
PWA_DIST = Path(__file__).resolve().parents[2] / "pwa" / "dist"
_ID = re.compile(ID_PATTERN)


class MsgspecResponse(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return msgspec.json.encode(content)


def problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class RequestIdMiddleware:
    """Tags every response with `x-request-id` (the client's, if it sent a sane one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"")
        request_id = sent if 0 < len(sent) <= 64 and sent.isascii() and sent.replace(b"-", b"").isalnum() else uuid.uuid4().hex.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


async def read_body(request: Request) -> bytes | Response:
    """The request body, or a 413 once it passes MAX_BODY_BYTES (checked while streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return problem(413, "body_too_large", f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return problem(413, "body_too_large", f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def validate(request: Request) -> Response:
    design_id = request.path_params["design_id"]
    if not _ID.match(design_id):
        return problem(400, "invalid_id", "Design ids are 1-64 letters, digits, '_' or '-'.")
    body = await read_body(request)
    if isinstance(body, Response):
        return body
    result = validate_design(body)
    return MsgspecResponse(result, status_code=200 if result.valid else 422)


def create_app(static_dir: Path | None = PWA_DIST) -> Starlette:
    routes = [
        Route("/api/health", health, methods=["GET"]),
        Route("/api/designs/{design_id}/validate", validate, methods=["POST"]),
    ]
    if static_dir is not None and static_dir.is_dir():
        routes.append(Mount("/", StaticFiles(directory=static_dir, html=True), name="pwa"))
    return Starlette(routes=routes, middleware=[Middleware(RequestIdMiddleware)])
