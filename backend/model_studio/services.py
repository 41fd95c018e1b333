"""What the routes share: the server's settings and its long-lived services, built once by the app's
lifespan and reached through `services(request)`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from model_studio.contracts import ID_PATTERN
from model_studio.exports import ExportService
from model_studio.hub import RunHub
from model_studio.responses import ProblemError, problem
from model_studio.runner import EventSink, LocalRunner, Runner
from model_studio.store import Store

STORE_FILE = "model-studio.sqlite3"
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class ServerSettings:
    """`data_dir` holds the SQLite store, `generated/`, `runs/` and `exports/`. `allowed_hosts`
    are the names (beyond IP literals and localhost) the server answers to."""

    data_dir: Path
    token: str
    static_dir: Path | None = None
    allowed_hosts: tuple[str, ...] = ()
    make_runner: Callable[[Path, EventSink], Runner] = LocalRunner

    @property
    def store_path(self) -> Path:
        return self.data_dir / STORE_FILE


class RateLimiter:
    """A token bucket: `capacity` at once, refilled at `per_second`."""

    def __init__(self, capacity: float, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.per_second, self.clock = capacity, per_second, clock
        self.tokens, self.stamp = capacity, clock()

    def take(self, amount: float) -> float:
        """Take `amount`; 0 when allowed, else the seconds until it would be."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if amount <= self.tokens:
            self.tokens -= amount
            return 0.0
        return (amount - self.tokens) / self.per_second


@dataclass
class Services:
    settings: ServerSettings
    store: Store
    hub: RunHub
    exports: ExportService
    telemetry_limit: RateLimiter = field(default_factory=lambda: RateLimiter(capacity=1000, per_second=10))


def services(request: Request) -> Services:
    return request.app.state.services


def path_id(request: Request, name: str) -> str:
    """A path parameter that must be an id; anything else is a 400 before it reaches the store."""
    value = request.path_params[name]
    if not _ID.match(value):
        raise ProblemError(problem(400, "invalid_id", f"{name} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit."))
    return value
