"""The server's persistent store: one SQLite file, reached through aiosqlite.

Usage::

    async with await Store.open("data/studio.db") as store:
        row = await store.create_design("tiny", "Tiny", body_json)

`Store.open` is a coroutine that connects and migrates; the store it returns is an async context
manager that closes it. Outside a `with` block, call `await store.close()`.

Tables (migration 1):

- `designs`: one row per design. `version` starts at 1 and grows by exactly 1 per update (a
  compare-and-swap on the expected version, so two phones never overwrite each other unseen).
  `body` is the design JSON text. Ids are unique ignoring ASCII case (`designs_id_nocase`) because
  the compiler writes `generated/<id>.py` and a case-insensitive file system would merge
  `Model.py` and `model.py`; lookups stay exact.
- `runs`: one row per training run, with a snapshot of the design it trained (`design_json` and
  its `design_sha256`), the opaque `config` JSON, the status and the progress counters.
  `last_seq` is the highest metric `seq` stored for the run.
- `metrics`: the run's event stream (`training_update`, `done`, ...), keyed by a per-run `seq`
  that the caller assigns 1, 2, 3 ... The SSE route replays `seq > Last-Event-ID` from here.
- `telemetry`: events the PWA posts, bounded by `prune_telemetry`.

Deleting a design deletes its runs and their metrics (`ON DELETE CASCADE`). Times are UTC
ISO-8601 strings with milliseconds and a `Z`, so they sort as text.

Settings, on each connection: `journal_mode=WAL`, `synchronous=FULL`, `foreign_keys=ON`,
`busy_timeout=5000`. One connection does every write; an `asyncio.Lock` keeps each write
transaction (`BEGIN IMMEDIATE ... COMMIT`, rolled back on any error) from interleaving with
another coroutine's. A second, read-only connection serves plain reads, so a long metrics replay
never queues behind writes; in WAL mode it sees every transaction committed before the read began.

Schema versions live in `PRAGMA user_version`: `MIGRATIONS[i]` takes the file from version `i` to
`i + 1`, and all pending ones run in one transaction. A file from a newer Model Studio is refused
rather than misread.

Durability: when a write method returns, its transaction is in the WAL and fsynced
(`synchronous=FULL`), so it survives the process being killed and, given a disk that honours
fsync, a power cut. A transaction that had not returned leaves nothing behind: a metrics batch
and the run progress it carries land together or not at all. Each commit costs an fsync, so
callers batch metrics rather than writing one event per transaction.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

MIGRATIONS: list[str] = [
    """
    CREATE TABLE designs (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX designs_id_nocase ON designs (id COLLATE NOCASE);

    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        design_id TEXT NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
        design_version INTEGER NOT NULL,
        design_sha256 TEXT NOT NULL,
        design_json TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('queued', 'running', 'stopped', 'completed', 'failed', 'interrupted')),
        config TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        message TEXT,
        checkpoint TEXT,
        updates INTEGER NOT NULL DEFAULT 0,
        env_steps INTEGER NOT NULL DEFAULT 0,
        elapsed_s REAL NOT NULL DEFAULT 0,
        summary TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_design_created ON runs (design_id, created_at);

    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;

    CREATE TABLE telemetry (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        client_id TEXT,
        name TEXT NOT NULL,
        occurred_at TEXT,
        props TEXT NOT NULL
    );
    """,
]

PRAGMAS = ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON", "busy_timeout = 5000")
RUN_STATUSES = frozenset({"queued", "running", "stopped", "completed", "failed", "interrupted"})
ACTIVE_STATUSES = frozenset({"queued", "running"})
MUTABLE_RUN_FIELDS = frozenset(
    {"status", "started_at", "finished_at", "message", "checkpoint", "updates", "env_steps", "elapsed_s", "summary"}
)
INTERRUPTED_MESSAGE = "the server stopped while this run was training"


def utc_now() -> str:
    """The current UTC time as ISO-8601 with milliseconds and a `Z`: `2026-12-01T10:00:00.123Z`."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StoreError(Exception):
    """Base for the errors the store raises on purpose."""


class DesignNotFound(StoreError):
    def __init__(self, design_id: str) -> None:
        super().__init__(f"no design {design_id!r}")
        self.design_id = design_id


class DesignIdTaken(StoreError):
    """The id, compared ignoring case, is already used; `existing_id` is the stored spelling."""

    def __init__(self, design_id: str, existing_id: str) -> None:
        super().__init__(f"design id {design_id!r} is taken by {existing_id!r} (ids are unique ignoring case)")
        self.design_id = design_id
        self.existing_id = existing_id


class VersionConflict(StoreError):
    """The caller edited a stale version; `current` is the server's copy, to merge against."""

    def __init__(self, expected_version: int, current: DesignRow) -> None:
        super().__init__(
            f"design {current.id!r} is at version {current.version}, not {expected_version}"
        )
        self.expected_version = expected_version
        self.current = current


class RunNotFound(StoreError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}")
        self.run_id = run_id


class DesignRow(msgspec.Struct, frozen=True):
    id: str
    version: int
    name: str
    body: str
    created_at: str
    updated_at: str


class RunRow(msgspec.Struct, frozen=True):
    id: str
    design_id: str
    design_version: int
    design_sha256: str
    design_json: str
    status: str
    config: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    message: str | None
    checkpoint: str | None
    updates: int
    env_steps: int
    elapsed_s: float
    summary: str | None
    last_seq: int


class MetricRow(msgspec.Struct, frozen=True):
    seq: int
    type: str
    body: str


_DESIGN_COLUMNS = ", ".join(DesignRow.__struct_fields__)
_RUN_COLUMNS = ", ".join(RunRow.__struct_fields__)
_ACTIVE_IN = "(" + ", ".join(f"'{status}'" for status in sorted(ACTIVE_STATUSES)) + ")"


def _run_assignments(fields: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """`SET` clauses for the run columns a caller may change; anything else is a bug upstream."""
    unknown = sorted(set(fields) - MUTABLE_RUN_FIELDS)
    if unknown:
        raise ValueError(f"run fields that cannot be updated: {', '.join(unknown)}")
    if "status" in fields and fields["status"] not in RUN_STATUSES:
        raise ValueError(f"unknown run status {fields['status']!r}")
    return [f"{name} = ?" for name in fields], list(fields.values())


async def _connect(database: str, *, uri: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: sqlite3 opens no implicit transactions; the store says BEGIN itself.
    connection = await aiosqlite.connect(database, uri=uri, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            await connection.execute_fetchall(f"PRAGMA {pragma}")
        ((mode,),) = await connection.execute_fetchall("PRAGMA journal_mode")
        if mode != "wal":
            raise StoreError(f"{database}: SQLite would not use WAL here (journal_mode is {mode!r})")
    except BaseException:
        await connection.close()
        raise
    return connection


class Store:
    """Designs, runs, metrics and telemetry on one file. Build it with `await Store.open(path)`."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, clock: Callable[[], str] = utc_now) -> Store:
        """Create the parent folder, connect the writer, migrate, then connect the reader.

        `clock` gives every timestamp the store writes; tests pass a fake one to order rows.
        """
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(str(path))
        try:
            await _migrate(writer, path)
            reader = await _connect(path.as_uri() + "?mode=ro", uri=True)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader, clock)

    async def close(self) -> None:
        """Close both connections, after any write transaction in progress has finished."""
        await self._reader.close()
        async with self._write_lock:
            await self._writer.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the writer: committed if the block returns, else rolled back.

        IMMEDIATE takes the write lock at BEGIN, so a transaction that reads then writes cannot
        fail half way with SQLITE_BUSY. The asyncio lock stops another coroutine's statements
        from landing inside this transaction while it awaits.
        """
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
                await self._writer.execute("COMMIT")
            except BaseException:
                # Queued behind any statement still running (a cancelled await does not stop it),
                # and a no-op when SQLite has already rolled back by itself.
                await self._writer.rollback()
                raise

    # designs

    async def create_design(self, design_id: str, name: str, body: str) -> DesignRow:
        """Store a new design at version 1; `DesignIdTaken` if the id exists ignoring case."""
        now = self._clock()
        async with self._transaction() as db:
            taken = await db.execute_fetchall(
                "SELECT id FROM designs WHERE id = ? COLLATE NOCASE", (design_id,)
            )
            if taken:
                raise DesignIdTaken(design_id, taken[0][0])
            (row,) = await db.execute_fetchall(
                f"INSERT INTO designs ({_DESIGN_COLUMNS}) VALUES (?, 1, ?, ?, ?, ?) RETURNING {_DESIGN_COLUMNS}",
                (design_id, name, body, now, now),
            )
        return DesignRow(*row)

    async def update_design(self, design_id: str, name: str, body: str, expected_version: int) -> DesignRow:
        """Replace the design if it is still at `expected_version`, and bump the version by 1.

        The check and the write are one UPDATE, so of two phones editing the same version exactly
        one wins; the other gets `VersionConflict` with the winner's row.
        """
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                "UPDATE designs SET version = version + 1, name = ?, body = ?, updated_at = ?"
                f" WHERE id = ? AND version = ? RETURNING {_DESIGN_COLUMNS}",
                (name, body, self._clock(), design_id, expected_version),
            )
            if rows:
                return DesignRow(*rows[0])
            current = await db.execute_fetchall(
                f"SELECT {_DESIGN_COLUMNS} FROM designs WHERE id = ?", (design_id,)
            )
        if not current:
            raise DesignNotFound(design_id)
        raise VersionConflict(expected_version, DesignRow(*current[0]))

    async def get_design(self, design_id: str) -> DesignRow | None:
        """The design with exactly this id (case matters here), or None."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_DESIGN_COLUMNS} FROM designs WHERE id = ?", (design_id,)
        )
        return DesignRow(*rows[0]) if rows else None

    async def list_designs(self) -> list[DesignRow]:
        """Every design, most recently updated first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_DESIGN_COLUMNS} FROM designs ORDER BY updated_at DESC, id DESC"
        )
        return [DesignRow(*row) for row in rows]

    async def all_designs(self) -> list[DesignRow]:
        """Every design in id order, so `dump-designs` output is stable between dumps."""
        rows = await self._reader.execute_fetchall(f"SELECT {_DESIGN_COLUMNS} FROM designs ORDER BY id")
        return [DesignRow(*row) for row in rows]

    async def delete_design(self, design_id: str, expected_version: int | None = None) -> bool:
        """Delete the design with its runs and their metrics; False if there was none. With
        `expected_version`, only that version is deleted (compare-and-delete): another one raises
        `VersionConflict` carrying it."""
        async with self._transaction() as db:
            if expected_version is None:
                cursor = await db.execute("DELETE FROM designs WHERE id = ?", (design_id,))
            else:
                cursor = await db.execute("DELETE FROM designs WHERE id = ? AND version = ?", (design_id, expected_version))
                if cursor.rowcount == 0:
                    rows = await db.execute_fetchall(f"SELECT {_DESIGN_COLUMNS} FROM designs WHERE id = ?", (design_id,))
                    if rows:
                        raise VersionConflict(expected_version, DesignRow(*rows[0]))
            return cursor.rowcount > 0

    # runs

    async def create_run(
        self,
        run_id: str,
        design_id: str,
        design_version: int,
        design_sha256: str,
        design_json: str,
        config: str,
    ) -> RunRow:
        """Record a queued run of the given design snapshot; `DesignNotFound` if the design is gone."""
        async with self._transaction() as db:
            if not await db.execute_fetchall("SELECT 1 FROM designs WHERE id = ?", (design_id,)):
                raise DesignNotFound(design_id)
            (row,) = await db.execute_fetchall(
                "INSERT INTO runs"
                " (id, design_id, design_version, design_sha256, design_json, status, config, created_at)"
                f" VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING {_RUN_COLUMNS}",
                (run_id, design_id, design_version, design_sha256, design_json, config, self._clock()),
            )
        return RunRow(*row)

    async def update_run(self, run_id: str, **fields: Any) -> RunRow:
        """Set some of the run's mutable columns (`MUTABLE_RUN_FIELDS`); `ValueError` for others."""
        assignments, params = _run_assignments(fields)
        if not assignments:
            rows = await self._reader.execute_fetchall(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        else:
            async with self._transaction() as db:
                rows = await db.execute_fetchall(
                    f"UPDATE runs SET {', '.join(assignments)} WHERE id = ? RETURNING {_RUN_COLUMNS}",
                    (*params, run_id),
                )
        if not rows:
            raise RunNotFound(run_id)
        return RunRow(*rows[0])

    async def get_run(self, run_id: str) -> RunRow | None:
        rows = await self._reader.execute_fetchall(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return RunRow(*rows[0]) if rows else None

    async def list_runs(self, design_id: str) -> list[RunRow]:
        """The design's runs, newest first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE design_id = ? ORDER BY created_at DESC, id DESC",
            (design_id,),
        )
        return [RunRow(*row) for row in rows]

    async def active_runs(self) -> list[RunRow]:
        """Runs that are queued or training, oldest first."""
        rows = await self._reader.execute_fetchall(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status IN {_ACTIVE_IN} ORDER BY created_at, id"
        )
        return [RunRow(*row) for row in rows]

    async def mark_interrupted(self) -> list[str]:
        """At server start, close out the runs a previous process left queued or running.

        Nothing is training them any more; leaving them active would show the phone a run that
        never progresses. Returns their ids, sorted.
        """
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, message = ?"
                f" WHERE status IN {_ACTIVE_IN} RETURNING id",
                (self._clock(), INTERRUPTED_MESSAGE),
            )
        return sorted(run_id for (run_id,) in rows)

    # metrics

    async def append_metrics(
        self, run_id: str, rows: Iterable[MetricRow], run_fields: Mapping[str, Any] | None = None
    ) -> None:
        """Store a batch of the run's events and its progress in one transaction.

        The caller numbers events 1, 2, 3 ... per run. `runs.last_seq` becomes the batch's highest
        seq and `run_fields` (as for `update_run`) are applied, so the run never claims progress
        whose events are missing. A seq already stored fails the whole batch with
        `sqlite3.IntegrityError` and changes nothing.
        """
        rows = list(rows)
        assignments, params = _run_assignments(run_fields or {})
        last_seq = max((row.seq for row in rows), default=0)
        async with self._transaction() as db:
            cursor = await db.execute(
                f"UPDATE runs SET {', '.join(['last_seq = max(last_seq, ?)', *assignments])} WHERE id = ?",
                (last_seq, *params, run_id),
            )
            if cursor.rowcount == 0:
                raise RunNotFound(run_id)
            await db.executemany(
                "INSERT INTO metrics (run_id, seq, type, body) VALUES (?, ?, ?, ?)",
                [(run_id, row.seq, row.type, row.body) for row in rows],
            )

    async def metrics_after(self, run_id: str, after_seq: int, limit: int = 500) -> list[MetricRow]:
        """Up to `limit` events with `seq > after_seq`, in order: one page of an SSE replay."""
        if limit < 1:
            raise ValueError("limit must be at least 1")  # SQLite reads a negative LIMIT as "no limit"
        rows = await self._reader.execute_fetchall(
            "SELECT seq, type, body FROM metrics WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, limit),
        )
        return [MetricRow(*row) for row in rows]

    async def count_metrics(self, run_id: str) -> int:
        ((count,),) = await self._reader.execute_fetchall(
            "SELECT count(*) FROM metrics WHERE run_id = ?", (run_id,)
        )
        return count

    # telemetry

    async def add_telemetry(self, client_id: str | None, events: Iterable[tuple[str, str | None, str]]) -> int:
        """Store `(name, occurred_at, props_json)` events from one client; returns how many."""
        received_at = self._clock()
        values = [(received_at, client_id, name, occurred_at, props) for name, occurred_at, props in events]
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO telemetry (received_at, client_id, name, occurred_at, props) VALUES (?, ?, ?, ?, ?)",
                values,
            )
        return len(values)

    async def telemetry_count(self) -> int:
        ((count,),) = await self._reader.execute_fetchall("SELECT count(*) FROM telemetry")
        return count

    async def prune_telemetry(self, keep: int) -> int:
        """Delete all but the newest `keep` events, so telemetry cannot fill the disk."""
        if keep < 0:
            raise ValueError("keep must not be negative")
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM telemetry WHERE id <= (SELECT id FROM telemetry ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (keep,),
            )
            return cursor.rowcount


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Bring the file up to `len(MIGRATIONS)`, all pending steps in one transaction."""
    ((version,),) = await db.execute_fetchall("PRAGMA user_version")
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path} is at schema version {version}, but this Model Studio knows only up to "
            f"{len(MIGRATIONS)}: it was written by a newer release, so upgrade rather than risk it"
        )
    if version == len(MIGRATIONS):
        return
    # executescript commits any open transaction before it runs, so BEGIN and COMMIT go inside it.
    script = "".join(MIGRATIONS[version:])
    try:
        await db.executescript(f"BEGIN IMMEDIATE;\n{script};\nPRAGMA user_version = {len(MIGRATIONS)};\nCOMMIT;")
    except BaseException:
        await db.rollback()
        raise
