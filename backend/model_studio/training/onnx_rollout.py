"""A rollout's forward passes through onnxruntime, reading the model's live parameters.

A rollout step runs the policy on one board per env: at the few boards of SB3's settings (8 envs)
eager torch spends most of each forward on per-op overhead, and an onnxruntime session ran a
rollout's forwards 1.6 to 2.4 times faster there (small-transformer and tiny-dense on a 2-core
CPU when this module was written; 1.25x for small-transformer's 8-board forward on a 2-core AMD
EPYC of family 25 since). What that buys a whole update is bench-train's "onnxruntime rollouts"
lever: 1.05x at SB3's settings, where the optimisation takes most of an update.

The graph is traced once per trainer, with torch's TorchScript exporter and `export_params=False`,
so that every parameter becomes a graph input named as in `model.named_parameters()`. Each such
input is bound, by pointer, to its parameter's memory: the optimizer updates parameters in place,
so the session reads the current weights on every call with nothing copied. Before each rollout
`refresh()` checks that no parameter moved to new memory (rebinding if one did). At build time the
session must reproduce torch's outputs on random boards, first on a traced copy whose parameters
all differ (see `__init__`), then on the model itself, or it is not used.

Designs with a routed MoE layer stay in torch: the rollout records each forward's expert usage for
the heat map, and the layer's routing (a data-dependent row count per expert) does not trace.
"""

from __future__ import annotations

import copy
import io
import logging
import warnings

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from model_studio.nn.runtime import ACTIONS, CELLS, VOCAB

log = logging.getLogger(__name__)

INPUT_NAMES = ["board", "action_mask"]
OUTPUT_NAMES = ["logits", "value"]
PARITY_BOARDS = 96  # not the trace's batch of 2, so a batch size baked into the graph shows
PARITY_TOLERANCE = 1e-4  # max abs difference on legal-move logits and on values
SHADOW_STD = 0.1  # the traced copy's parameters: distinct, and small enough to keep activations tame


def traceable(model: nn.Module) -> str | None:
    """Why `model`'s rollouts cannot run in onnxruntime, or None if they can."""
    # Generated modules inline the runtime, so their MoE layers are not `runtime.MoELayer`: look
    # for what matters here, a block that records expert usage on every forward.
    if any(hasattr(module, "latest_usage") for module in model.modules()):
        return "a routed MoE layer's per-forward expert usage"
    if any(parameter.dtype != torch.float32 for parameter in model.parameters()):
        return "parameters that are not float32"
    return None


class OnnxRolloutPolicy:
    """`policy(boards, masks) -> (logits, value)` like `model(boards, masks)` in inference mode,
    computed by onnxruntime on the model's current parameters, on one thread: at a few boards per
    forward a second one costs more to wake than it saves."""

    def __init__(self, model: nn.Module) -> None:
        reason = traceable(model)
        if reason is not None:
            raise ValueError(reason)
        # The exporter merges parameters that hold equal values (every fresh LayerNorm's ones,
        # say) into one graph input, which training would then tell apart. So trace a copy whose
        # parameters are all distinct, and check the session on that copy before on the model.
        shadow = copy.deepcopy(model)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for parameter in shadow.parameters():
                parameter.normal_(0.0, SHADOW_STD, generator=generator)
        graph = _trace(shadow)
        self.graph_inputs = {value.name for value in onnx.load_from_string(graph).graph.input}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # the trace's example batch of 2 shows up as shape warnings
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.binding = self.session.io_binding()
        self._read(shadow)
        self._read(model)

    def _read(self, model: nn.Module) -> None:
        """Bind the session to `model`'s parameters, then check it reproduces `model`."""
        self.model = model
        # A parameter the policy never reads (an aux head's) is pruned from the graph's inputs.
        self.parameters = {name: parameter for name, parameter in model.named_parameters() if name in self.graph_inputs}
        for name, parameter in self.parameters.items():
            if not parameter.is_contiguous():
                raise ValueError(f"parameter {name} is not contiguous; onnxruntime cannot read it in place")
        self.pointers: dict[str, int] = {}  # parameter name -> the memory its binding reads
        self.refresh()
        self._check_parity()

    def refresh(self) -> None:
        """Rebind any parameter that was reallocated (`param.data = ...`) since the last call:
        binding by pointer trusts that memory, so the trainer calls this before every rollout."""
        for name, parameter in self.parameters.items():
            pointer = parameter.data_ptr()
            if self.pointers.get(name) != pointer:
                self.binding.bind_input(name, "cpu", 0, np.float32, list(parameter.shape), pointer)
                self.pointers[name] = pointer

    def __call__(self, boards: np.ndarray, masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, 4), illegal moves at the float minimum, and values (B,), for int exponents
        `boards` (B, 16) and bool `masks` (B, 4)."""
        binding = self.binding
        binding.bind_cpu_input("board", np.ascontiguousarray(boards, dtype=np.int64))
        binding.bind_cpu_input("action_mask", np.ascontiguousarray(masks))
        for name in OUTPUT_NAMES:
            binding.bind_output(name)
        self.session.run_with_iobinding(binding)
        logits, values = binding.copy_outputs_to_cpu()
        return torch.from_numpy(logits), torch.from_numpy(values)

    def _check_parity(self) -> None:
        generator = torch.Generator().manual_seed(0)
        boards = torch.randint(0, VOCAB, (PARITY_BOARDS, CELLS), generator=generator)
        masks = torch.rand(PARITY_BOARDS, ACTIONS, generator=generator) < 0.7
        masks[:, 0] = True  # at least one legal move per board, as the env guarantees
        logits, values = self(boards.numpy(), masks.numpy())
        with torch.inference_mode():
            torch_logits, torch_values = self.model(boards, masks)
        logit_gap = float((logits - torch_logits).abs()[masks].max())
        value_gap = float((values - torch_values).abs().max())
        if max(logit_gap, value_gap) > PARITY_TOLERANCE:
            raise ValueError(f"onnxruntime disagrees with torch (logits by {logit_gap:.2e}, values by {value_gap:.2e})")


def _trace(model: nn.Module) -> bytes:
    """The model's forward (in eval mode) as ONNX bytes whose parameters are graph inputs."""
    was_training = model.training
    model.eval()
    example = (torch.zeros(2, CELLS, dtype=torch.long), torch.ones(2, ACTIONS, dtype=torch.bool))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                model,
                example,
                buffer,
                dynamo=False,
                export_params=False,
                input_names=INPUT_NAMES,
                output_names=OUTPUT_NAMES,
                dynamic_axes={"board": {0: "boards"}, "action_mask": {0: "boards"}},
                do_constant_folding=False,
            )
    finally:
        model.train(was_training)
    return buffer.getvalue()


def rollout_policy(model: nn.Module) -> OnnxRolloutPolicy | None:
    """An `OnnxRolloutPolicy` for `model`, or None (with one log line saying why) if it cannot
    be built or does not reproduce torch."""
    try:
        return OnnxRolloutPolicy(model)
    except Exception as error:  # noqa: BLE001 - any failure means rollouts stay in torch
        log.info("rollouts stay in torch: %s", str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return None
