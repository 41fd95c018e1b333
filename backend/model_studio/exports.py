"""Exports for the API: made off the event loop, each kept once made.

An ONNX export traces the model and checks it in onnxruntime, seconds of CPU that would stall
every request if done in the server's process. So exports run in one spawned worker process, and
each result is kept under `<data_dir>/exports/`, keyed by what determines it: the design's
architecture hash, the format, and the checkpoint file (path, size, modification time). The
same export asked for twice, or by several clients at once, is made once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

from model_studio.codegen import GENERATOR_VERSION, write_atomic
from model_studio.export import Format, export_bytes

EXPORTS_DIR = "exports"
KEPT_EXPORTS = 64  # files kept in the cache; the least recently made go first
_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class ExportJob:
    design_json: str
    design_sha256: str
    fmt: Format
    checkpoint: Path | None

    def key(self) -> str:
        stamp = "fresh"
        if self.checkpoint is not None:
            stat = self.checkpoint.stat()
            stamp = f"{self.checkpoint.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        text = f"{GENERATOR_VERSION}:{self.design_sha256}:{self.fmt}:{stamp}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _make_export(design_json: str, fmt: Format, checkpoint: str | None, path: str) -> str:
    """In the worker process: build the export and write it atomically."""
    import torch

    torch.set_num_threads(1)
    write_atomic(Path(path), export_bytes(design_json, fmt, checkpoint))
    return path


class ExportService:
    """`await export(job)` gives the path of the finished file (`ExportError` for a bad checkpoint
    or a failed ONNX check, `InvalidDesignError` for an invalid design)."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / EXPORTS_DIR
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._inflight: dict[str, asyncio.Future[Path]] = {}

    async def export(self, job: ExportJob) -> Path:
        path = self.directory / f"{job.key()}.{job.fmt}"
        if path.is_file():
            return path
        if (pending := self._inflight.get(path.name)) is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._inflight[path.name] = future
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            checkpoint = None if job.checkpoint is None else str(job.checkpoint)
            await asyncio.wrap_future(self._workers().submit(_make_export, job.design_json, job.fmt, checkpoint, str(path)))
            self._prune()
            future.set_result(path)
            return path
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._inflight[path.name]

    def _workers(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=_SPAWN)
        return self._pool

    def _prune(self) -> None:
        files = sorted(self.directory.glob("*.*"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in files[KEPT_EXPORTS:]:
            stale.unlink(missing_ok=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def cache_size(directory: Path) -> int:
    return sum(1 for _ in directory.glob("*.*")) if directory.is_dir() else 0


os.environ.setdefault("OMP_NUM_THREADS", "1")  # the worker is one of two processes on a two-core machine
