"""What every route shares: msgspec JSON responses, the one error body, and bounded body decoding."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from model_studio.api_types import Problem, ProblemDetail
from model_studio.contracts import DesignError

MAX_BODY_BYTES = 2 * 1024 * 1024  # a 1000-block design is well under 1 MiB
T = TypeVar("T")


class MsgspecResponse(Response):
    """JSON rendered by msgspec, so a response is exactly its wire type."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def problem(
    status: int,
    code: str,
    message: str,
    errors: list[DesignError] | None = None,
    run_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> MsgspecResponse:
    detail = ProblemDetail(code=code, message=message, errors=errors or [], run_id=run_id)
    return MsgspecResponse(Problem(error=detail), status_code=status, headers=headers)


class ProblemError(Exception):
    """Raised by a route or helper to answer with `response` (a `problem`) at once."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def _too_large() -> ProblemError:
    return ProblemError(problem(413, "body_too_large", f"Request bodies are limited to {MAX_BODY_BYTES} bytes."))


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (checked while streaming,
    so a client that lies about Content-Length gains nothing)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def decode_body(request: Request, kind: type[T], empty: T | None = None) -> T:
    """Decode the body as `kind`; an empty body gives `empty` when that is allowed. Anything that
    is not JSON of the right shape is a 422 `invalid_body` naming the offending field."""
    body = await read_body(request)
    if not body.strip() and empty is not None:
        return empty
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ProblemError(problem(422, "invalid_body", f"The body does not match {kind.__name__}: {exc}")) from None
    except RecursionError:
        raise ProblemError(problem(422, "invalid_json", "The body is nested too deeply.")) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(problem(422, "invalid_json", f"The body is not valid JSON: {exc}")) from None
