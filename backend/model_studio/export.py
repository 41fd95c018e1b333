"""Export a design's model as `.onnx`, `.pt` or `.py`, with fresh seeded or checkpointed weights.

- `.onnx`: inputs `board` (int64, [N, 16]) and `action_mask` (bool, [N, 4]), outputs `logits`
  ([N, 4], illegal moves at the float minimum) and `value` ([N]), with a dynamic batch axis N.
  Written only after `onnx.checker` passes and onnxruntime reproduces torch on random boards.
- `.pt`: `torch.save` of {"model_state_dict", "config", "design"} (design as JSON text), loadable
  with `torch.load(..., weights_only=True)`.
- `.py`: the generated source (see `model_studio.codegen`); it needs only torch.

A training checkpoint is a `torch.save` dict with at least `model_state_dict` and `design_sha256`;
it is refused unless that hash equals `codegen.design_sha256(design)`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import onnx
import onnxruntime
import torch

from model_studio.codegen import (
    DEFAULT_SEED,
    DesignInput,
    GeneratedModule,
    architecture_sha256,
    generate,
    import_generated,
    instantiate,
    valid_analysis,
    write_atomic,
)
from model_studio.nn.runtime import ACTIONS, CELLS, VOCAB
from model_studio.training.checkpoint import CheckpointError, load_checkpoint

Format = Literal["onnx", "pt", "py"]
FORMATS: tuple[Format, ...] = ("onnx", "pt", "py")
INPUT_NAMES = ["board", "action_mask"]
OUTPUT_NAMES = ["logits", "value"]
TRACE_BATCH = 2  # example batch for tracing; the exported batch axis is dynamic
PARITY_BOARDS = 64  # random boards onnxruntime must reproduce before an export is written
PARITY_TOLERANCE = 1e-4  # max abs difference on legal-move logits and on values
LEGAL_MOVE_PROBABILITY = 0.7


# torch.export keeps global state, and the quieting below swaps process-wide settings: one at a time.
_ONNX_EXPORT_LOCK = threading.Lock()


class ExportError(ValueError):
    """The export cannot be made: a bad checkpoint, or an ONNX file that fails its checks."""


@contextlib.contextmanager
def _quiet_onnx_exporter() -> Iterator[None]:
    """Silence torch's exporter chatter that says nothing about our model: its log lines about
    optional torchvision ops and a deprecation inside torch's own pytree code."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def random_inputs(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` random boards (every exponent equally likely) and random action masks."""
    generator = torch.Generator().manual_seed(seed)
    boards = torch.randint(0, VOCAB, (count, CELLS), generator=generator)
    masks = torch.rand(count, ACTIONS, generator=generator) < LEGAL_MOVE_PROBABILITY
    return boards, masks


def onnx_parity(model: torch.nn.Module, onnx_bytes: bytes, boards: torch.Tensor, masks: torch.Tensor) -> tuple[float, float]:
    """Max abs difference between onnxruntime and torch eval: on legal-move logits, on values."""
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    logits, values = session.run(OUTPUT_NAMES, {"board": boards.numpy(), "action_mask": masks.numpy()})
    was_training = model.training
    model.eval()
    with torch.no_grad():
        torch_logits, torch_values = model(boards, masks)
    model.train(was_training)
    legal = masks.numpy()
    logit_gap = float(np.abs(logits - torch_logits.numpy())[legal].max(initial=0.0))
    return logit_gap, float(np.abs(values - torch_values.numpy()).max(initial=0.0))


def onnx_model(model: torch.nn.Module, config: dict[str, Any]) -> onnx.ModelProto:
    """Export `model` (in eval mode) to a checked ONNX proto with the design's ids in its metadata."""
    model.eval()
    boards, masks = random_inputs(TRACE_BATCH, DEFAULT_SEED)
    # One named Dim on the board; the mask's batch is tied to it by the masking, so it follows.
    dynamic_shapes = {"board": {0: torch.export.Dim("batch")}, "action_mask": {0: torch.export.Dim.DYNAMIC}}
    with _ONNX_EXPORT_LOCK, _quiet_onnx_exporter():
        program = torch.onnx.export(
            model,
            (boards, masks),
            dynamo=True,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_shapes=dynamic_shapes,
            external_data=False,
            verbose=False,
        )
    proto = program.model_proto
    for key in ("design_id", "design_sha256", "generator_version"):
        proto.metadata_props.add(key=f"model_studio.{key}", value=str(config[key]))
    onnx.checker.check_model(proto)
    return proto


def export_bytes(design: DesignInput, fmt: Format, checkpoint: str | os.PathLike[str] | None = None, seed: int = DEFAULT_SEED) -> bytes:
    """The exported file's content; see the module docstring for each format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    analysis = valid_analysis(design)
    try:
        state = load_checkpoint(checkpoint, architecture_sha256(analysis))["model_state_dict"] if checkpoint is not None else None
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    generated = generate(analysis.design)
    if fmt == "py":
        return generated.source.encode("utf-8")
    model = _model(generated, state, seed)
    if fmt == "pt":
        buffer = io.BytesIO()
        design_text = msgspec.json.encode(analysis.design).decode("utf-8")
        torch.save({"model_state_dict": model.state_dict(), "config": generated.config, "design": design_text}, buffer)
        return buffer.getvalue()
    proto = onnx_model(model, generated.config)
    data = proto.SerializeToString()
    gaps = onnx_parity(model, data, *random_inputs(PARITY_BOARDS, seed))
    if max(gaps) > PARITY_TOLERANCE:
        raise ExportError(f"onnxruntime disagrees with torch (logits by {gaps[0]:.2e}, values by {gaps[1]:.2e}); not writing the export")
    return data


def _model(generated: GeneratedModule, state: dict[str, Any] | None, seed: int) -> torch.nn.Module:
    model = instantiate(import_generated(generated), seed)
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ExportError(f"checkpoint weights do not fit the model: {exc}") from None
    return model.eval()


def export_design(
    design: DesignInput, fmt: Format, out: str | os.PathLike[str], checkpoint: str | os.PathLike[str] | None = None, seed: int = DEFAULT_SEED
) -> Path:
    """Write the export to `out` atomically and return its path."""
    data = export_bytes(design, fmt, checkpoint, seed)
    path = Path(out)
    write_atomic(path, data)
    return path
