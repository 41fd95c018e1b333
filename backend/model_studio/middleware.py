"""ASGI middleware for every request: request ids and the access log, Host checks against DNS
rebinding, bearer-token auth, and security headers. Each is a plain ASGI class, outermost first
in `app.create_app`."""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Iterable

import msgspec
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model_studio.api_types import Problem, ProblemDetail
from model_studio.pairing import tokens_equal

access_log = logging.getLogger("model_studio.access")
MAX_REQUEST_ID = 64  # characters

# What the PWA needs and nothing more: its own scripts, workers, styles and fetches. React Flow
# positions nodes with inline style attributes, hence 'unsafe-inline' for styles only. No
# 'unsafe-eval': the PWA ships its schema validator precompiled (pwa/scripts/gen-validators.mjs),
# so nothing calls eval or `new Function`. 'wasm-unsafe-eval' is for onnxruntime-web's WebAssembly.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


async def _send_problem(send: Send, status: int, code: str, message: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = msgspec.json.encode(Problem(error=ProblemDetail(code=code, message=message)))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _sane_request_id(value: bytes) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID and value.isascii() and value.replace(b"-", b"").isalnum()


class RequestIdMiddleware:
    """Tags every response with `x-request-id` (the client's, if it sent a sane one) and writes
    one access-log line per request with that id, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("x-request-id", "").encode("latin-1")
        request_id = sent if _sane_request_id(sent) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(
                '%s "%s %s" %s %.1fms rid=%s',
                client[0],
                scope["method"],
                scope["path"],
                status or "-",
                1000 * (time.perf_counter() - started),
                request_id.decode(),
            )


def host_allowed(host: str, allowed_names: frozenset[str]) -> bool:
    """An IP literal, `localhost`, or a name the server was told to answer to. A DNS-rebinding page
    reaches the server under its own domain name, which is none of these."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # strip a port from name:port or v4:port
    if name.startswith("[") and "]" in name:
        name = name[1 : name.index("]")]
    name = name.lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name == "localhost" or name in allowed_names


class HostGuardMiddleware:
    """Refuses (400) any request whose Host header is not allowed by `host_allowed`."""

    def __init__(self, app: ASGIApp, allowed_names: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_names = frozenset(name.lower().rstrip(".") for name in allowed_names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if not host_allowed(host, self.allowed_names):
            await _send_problem(send, 400, "invalid_host", "This server does not answer to that Host name (add it with --allowed-host).")
            return
        await self.app(scope, receive, send)


class BearerAuthMiddleware:
    """Every `/api` route and `/openapi.json` need `Authorization: Bearer <token>`, compared in
    constant time; `/api/health` and the static app shell do not (the shell holds no data)."""

    PUBLIC_API_PATHS = frozenset({"/api/health"})

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def _protected(self, path: str) -> bool:
        return (path == "/api" or path.startswith("/api/") or path == "/openapi.json") and path not in self.PUBLIC_API_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens_equal(given.strip(), self.token):
            challenge = [(b"www-authenticate", b'Bearer realm="model-studio"')]
            await _send_problem(send, 401, "unauthorized", "A valid bearer token is required: pair this device again.", challenge)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS` to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
