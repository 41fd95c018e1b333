"""Exports for the API: made off the event loop, each kept once made.

An ONNX export traces the model and checks it in onnxruntime, seconds of CPU that would stall
every request if done in the server's process. So exports run in one spawned worker process, and
each result is kept under `<data_dir>/exports/`, keyed by what determines it: the design's
architecture hash, the format, and the checkpoint file (path, size, modification time). The
same export asked for twice, or by several clients at once, is made once.

The same worker answers `predict`: torch's logits and values for a few boards, from the model
built exactly as the export builds it, so the phone can check the `.onnx` it downloaded against
them. It runs there, not in a thread of the server, because loading a checkpoint and importing
generated code hold the GIL, and because that worker is already warm from the export just made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

from model_studio.codegen import DEFAULT_SEED, GENERATOR_VERSION, architecture_sha256, generate, valid_analysis, write_atomic
from model_studio.export import ExportError, Format, _model, export_bytes
from model_studio.training.checkpoint import CheckpointError, load_checkpoint

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


@dataclass(frozen=True)
class PredictJob:
    """Boards for the model an `ExportJob` with the same design and checkpoint would export."""

    design_json: str
    checkpoint: Path | None
    boards: list[list[int]]
    masks: list[list[bool]]


def _predict(design_json: str, checkpoint: str | None, boards: list[list[int]], masks: list[list[bool]]) -> tuple[list[list[float]], list[float]]:
    """In the worker process: torch's eval-mode logits and values, from the model built exactly as
    `export_bytes` builds it (same seed, same checkpoint check, same `_model`)."""
    import torch

    torch.set_num_threads(1)
    analysis = valid_analysis(design_json)
    try:
        state = load_checkpoint(checkpoint, architecture_sha256(analysis))["model_state_dict"] if checkpoint is not None else None
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    model = _model(generate(analysis.design), state, DEFAULT_SEED)
    with torch.no_grad():
        logits, values = model(torch.tensor(boards, dtype=torch.int64), torch.tensor(masks, dtype=torch.bool))
    return logits.tolist(), values.tolist()


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

    async def predict(self, job: PredictJob) -> tuple[list[list[float]], list[float]]:
        """Logits and values for `job.boards`, computed in the export worker (after any export
        already queued there); `ExportError` for a checkpoint that does not fit."""
        checkpoint = None if job.checkpoint is None else str(job.checkpoint)
        return await asyncio.wrap_future(self._workers().submit(_predict, job.design_json, checkpoint, job.boards, job.masks))

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
