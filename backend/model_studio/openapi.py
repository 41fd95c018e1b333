"""`/openapi.json`, generated from the route table and its msgspec types (never written by hand).

Each route is an `Operation`: its method, path, handler, body type and responses by status. The
app builds its Starlette routes from the same list, so the spec cannot name a route that does not
exist, and schemathesis fuzzes exactly what is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from model_studio import __version__
from model_studio.api_types import Problem
from model_studio.contracts import ID_PATTERN

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Param:
    """A query or header parameter (path parameters are read off the path: ids, `ID_PATTERN`)."""

    name: str
    location: str  # "query" or "header"
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Reply:
    """One documented response: its body type (None: no body; a tuple: any one of them), media
    type, headers and links."""

    description: str
    body: type | tuple[type, ...] | None = None
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: Callable[..., Any]
    summary: str
    replies: dict[int, Reply]
    body: type | None = None
    body_required: bool = True
    params: tuple[Param, ...] = ()
    auth: bool = True

    @property
    def operation_id(self) -> str:
        return self.endpoint.__name__


HEADER_DOCS = {
    "ETag": "The design's version, quoted.",
    "Location": "Where the new resource lives.",
    "Content-Disposition": "The file name to save as.",
    "Retry-After": "Seconds to wait before trying again.",
    "WWW-Authenticate": "The auth scheme: Bearer.",
}
COMMON_REPLIES = {
    400: Reply("A malformed id, Host header or precondition.", Problem),
    401: Reply("No valid bearer token.", Problem, headers=("WWW-Authenticate",)),
    413: Reply("The body passes the size limit.", Problem),
}


def _kinds(body: type | tuple[type, ...] | None) -> tuple[type, ...]:
    return () if body is None else body if isinstance(body, tuple) else (body,)


def build_spec(operations: list[Operation], extra_types: tuple[type, ...] = ()) -> dict[str, Any]:
    """The OpenAPI document. `extra_types` are wire types no route body names (the SSE events):
    they join `components.schemas`, so clients generate them from the same document."""
    types: list[type] = [Problem, *extra_types]
    for op in operations:
        types += [kind for body in (op.body, *(reply.body for reply in op.replies.values())) for kind in _kinds(body)]
    schemas, components = msgspec.json.schema_components(list(dict.fromkeys(types)), ref_template=REF_TEMPLATE)
    refs = dict(zip(dict.fromkeys(types), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Model Studio", "version": __version__, "description": "Design, validate, compile, train and export 2048 networks."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The token from pairing."}},
        },
    }


def _operation(op: Operation, refs: dict[type, dict[str, Any]]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN, "maxLength": 64}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    parameters += [
        {"name": p.name, "in": p.location, "required": p.required, "schema": p.schema, "description": p.description} for p in op.params
    ]
    replies = {**({401: COMMON_REPLIES[401]} if op.auth else {}), **op.replies}
    if parameters:
        replies = {400: COMMON_REPLIES[400], **replies}
    if op.body is not None:
        replies = {413: COMMON_REPLIES[413], **replies}
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": {str(status): _reply(reply, refs) for status, reply in sorted(replies.items())},
        "security": [{"bearer": []}] if op.auth else [],
    }
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": refs[op.body]}}}
    return document


def _reply(reply: Reply, refs: dict[type, dict[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {"description": reply.description}
    if isinstance(reply.body, tuple):
        document["content"] = {reply.media_type: {"schema": {"anyOf": [refs[kind] for kind in reply.body]}}}
    elif reply.body is not None:
        document["content"] = {reply.media_type: {"schema": refs[reply.body]}}
    elif reply.media_type != "application/json":
        document["content"] = {reply.media_type: {"schema": {"type": "string", "format": "binary"}}}
    if reply.headers:
        document["headers"] = {name: {"description": HEADER_DOCS[name], "schema": {"type": "string"}} for name in reply.headers}
    if reply.links:
        document["links"] = reply.links
    return document
