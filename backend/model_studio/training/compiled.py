"""A model's forward through `torch.compile`, for `PPOConfig.torch_compile`.

Inductor, torch.compile's backend, turns each traced graph into C++ that the machine's C++ compiler
builds; a machine without one (or whose compiler fails) still trains, eagerly, after one warning.
Compiled graphs are cached on disk by Inductor (TORCHINDUCTOR_CACHE_DIR), so a second run of the
same design and batch shapes skips most of the compile.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


class CompiledModel:
    """Calls `model` through `torch.compile(model, dynamic=False)`: one graph per batch shape and
    grad/autocast mode (the rollout's, the minibatch's), compiled on its first call. If Inductor
    cannot build a graph, it logs a warning once and calls `model` eagerly from then on. Parameters,
    buffers and the attributes a forward sets (`latest_lb_loss`, ...) stay `model`'s own."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.compiled = torch.compile(model, dynamic=False)
        self.failure: str | None = None  # why compiling failed; None while it works

    def __call__(self, *args: Any) -> Any:
        if self.failure is None:
            try:
                return self.compiled(*args)
            except torch._dynamo.exc.BackendCompilerFailed as error:
                self.failure = str(error).strip().splitlines()[0]
                log.warning("torch.compile failed, training eagerly: %s", self.failure)
        return self.model(*args)
