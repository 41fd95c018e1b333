"""The optimizer PPO trains with: Adam, with sparse embedding tables handled sparsely.

A tuple network's table has millions of rows (65,536 per tuple) and a minibatch of 512 boards
touches a few thousand of them. Dense Adam would still read and write every row's weight and
both moments at every step: for the 16.8M-parameter template that is most of the update's time.
So embeddings built with `sparse=True` get `torch.optim.SparseAdam` (it updates only the rows a
minibatch touched: "lazy" Adam, the usual choice for embedding tables), and every other
parameter gets ordinary fused Adam.
"""

from __future__ import annotations

import torch
from torch import nn

ADAM_EPS = 1e-5  # CleanRL's PPO value


class DenseSparseAdam:
    """Adam for the dense parameters, SparseAdam for the sparse embedding tables; the small part
    of `torch.optim.Optimizer`'s interface that training uses."""

    def __init__(self, model: nn.Module, lr: float) -> None:
        sparse_ids = {id(module.weight) for module in model.modules() if isinstance(module, nn.Embedding) and module.sparse}
        self.dense = [parameter for parameter in model.parameters() if id(parameter) not in sparse_ids]
        self.sparse = [parameter for parameter in model.parameters() if id(parameter) in sparse_ids]
        self.parts: list[torch.optim.Optimizer] = []
        if self.dense:
            self.parts.append(torch.optim.Adam(self.dense, lr=lr, eps=ADAM_EPS, fused=True))
        if self.sparse:
            self.parts.append(torch.optim.SparseAdam(self.sparse, lr=lr, eps=ADAM_EPS))

    @property
    def param_groups(self) -> list[dict]:
        return [group for part in self.parts for group in part.param_groups]

    def zero_grad(self) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=True)

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """`nn.utils.clip_grad_norm_` over every parameter, sparse gradients included (torch's
        own cannot take a norm of a sparse tensor); returns the norm before clipping."""
        dense = [parameter for parameter in self.dense if parameter.grad is not None]
        sparse = [parameter.grad for parameter in self.sparse if parameter.grad is not None]
        # torch's norm of the dense gradients (one fused kernel for all of them), then the tables'.
        norms = [nn.utils.get_total_norm([parameter.grad for parameter in dense])] if dense else []
        norms += [grad.coalesce().values().norm() for grad in sparse]
        total = torch.stack(norms).norm() if norms else torch.zeros(())
        nn.utils.clip_grads_with_norm_(dense, max_norm, total)  # torch's rule, epsilon and all
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)  # the same rule for the tables
        for grad in sparse:
            grad.mul_(scale)
        return total

    def step(self) -> None:
        for part in self.parts:
            part.step()

    def state_dict(self) -> dict:
        """A plain Adam state dict when the model has no sparse tables (as checkpoints always held
        before), else one per part."""
        if len(self.parts) == 1 and self.dense:
            return self.parts[0].state_dict()
        return {"parts": [part.state_dict() for part in self.parts]}

    def load_state_dict(self, state: dict) -> None:
        states = state["parts"] if "parts" in state else [state]
        if len(states) != len(self.parts):
            raise ValueError("the optimizer state is for a model with other sparse tables")
        for part, part_state in zip(self.parts, states):
            part.load_state_dict(part_state)
