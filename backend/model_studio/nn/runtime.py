"""The blocks and the `GameTransformer` base that every generated model builds on.

This file imports only torch, math and typing: the compiler inlines all of it after this docstring
into each generated module, so a `.py` export runs with nothing but torch installed.

Forward contract of every `GameTransformer`:
    model(board, action_mask=None) -> (logits, value)
    board: (B, 16) int64 tile exponents (0 = empty, k = tile 2**k), row-major.
    action_mask: (B, 4) bool, True where the move (up, right, down, left) is legal.
    logits: (B, 4) float, illegal moves set to the dtype's most negative value;
        with several action outputs, their logits and values are averaged.
    value: (B,) float.
After each forward the model also holds:
    latest_lb_loss: scalar tensor, the sum over MoE layers of lb_coef * Switch load-balancing loss,
        ready to add to the PPO loss (zero without routed MoE layers).
    latest_expert_usage: one 1-D tensor per MoE layer (in forward order), the fraction of
        token-to-expert assignments each expert received; each sums to 1.
and `aux_loss(board)` gives the weighted auxiliary loss of that forward.
Under torch.export (the ONNX export) none of this is recorded, since module attributes cannot hold
traced tensors, and MoE layers run every expert on every token so the graph has static shapes.
"""

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

BOARD_SIDE = 4
CELLS = BOARD_SIDE * BOARD_SIDE
VOCAB = 16  # exponents 0..15, as the catalogue says: the env's 4-bit cells stop at the 32768 tile
ACTIONS = 4
MAX_EXPONENT = VOCAB - 1
ADJACENT_PAIRS = 2 * BOARD_SIDE * (BOARD_SIDE - 1)  # 12 horizontal + 12 vertical neighbours
EMBEDDING_INIT_STD = 0.02
POLICY_INIT_GAIN = 0.01  # near-uniform initial policy, as CleanRL's PPO does
VALUE_INIT_GAIN = 1.0
EXPERT_ROW_BUCKET = 64  # MoE expert batches are padded to a multiple of this many rows (see `MoELayer.mix_sparse`)
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "none": nn.Identity}


def aux_target(board: torch.Tensor, target: str) -> torch.Tensor:
    """A (B,) float target in [0, 1] read from (B, 16) tile exponents.

    empty_cells: empty cells / 16; max_tile: largest exponent / 15;
    merge_pairs: horizontally or vertically adjacent equal non-empty tiles / 24.
    """
    if target == "empty_cells":
        return (board == 0).float().sum(1) / CELLS
    if target == "max_tile":
        return board.max(1).values.float() / MAX_EXPONENT
    if target == "merge_pairs":
        grid = board.view(-1, BOARD_SIDE, BOARD_SIDE)
        across = (grid[:, :, 1:] == grid[:, :, :-1]) & (grid[:, :, 1:] != 0)
        down = (grid[:, 1:, :] == grid[:, :-1, :]) & (grid[:, 1:, :] != 0)
        return (across.flatten(1).sum(1) + down.flatten(1).sum(1)).float() / ADJACENT_PAIRS
    raise ValueError(f"unknown aux target {target!r}")


class TileEmbedding(nn.Module):
    """(B, 16) exponents -> (B, 16, d_model) tokens, plus a learned vector per cell."""

    def __init__(self, d_model: int, positional: bool):
        super().__init__()
        self.tiles = nn.Embedding(VOCAB, d_model)
        nn.init.normal_(self.tiles.weight, std=EMBEDDING_INIT_STD)
        self.positions = nn.Parameter(torch.randn(CELLS, d_model) * EMBEDDING_INIT_STD) if positional else None

    def forward(self, board: torch.Tensor) -> torch.Tensor:
        tokens = self.tiles(board)
        return tokens + self.positions if self.positions is not None else tokens


class TransformerLayer(nn.Module):
    """Pre-norm encoder layer: multi-head self-attention over the tokens (cells or tuples), then a
    GELU feed-forward net, each with a residual. No dropout: PPO's data is its own regulariser."""

    def __init__(self, width: int, n_heads: int, ff_mult: int):
        super().__init__()
        self.n_heads = n_heads
        self.head_width = width // n_heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.ff_norm = nn.LayerNorm(width)
        self.ff_in = nn.Linear(width, ff_mult * width)
        self.ff_out = nn.Linear(ff_mult * width, width)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        tokens, width = x.shape[1], x.shape[2]
        # (B, T, 3, H, d) -> three (B, H, T, d) tensors. The batch is -1, not read from the shape:
        # tracing tuple tokens for the rollouts' ONNX session (training.onnx_rollout) recorded it
        # as the example's constant batch of 2.
        q, k, v = self.qkv(x).view(-1, tokens, 3, self.n_heads, self.head_width).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_width)
        mixed = scores.float().softmax(-1) @ v  # float: bf16 autocast's mixed softmax is slow
        return self.attention_out(mixed.transpose(1, 2).reshape(-1, tokens, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x))
        return x + self.ff_out(F.gelu(self.ff_in(self.ff_norm(x))))


class MoELayer(nn.Module):
    """Pre-norm mixture-of-experts feed-forward with a residual.

    A bias-free linear gate scores the experts per token; each token goes to its top_k experts
    (softmax over all experts, weights renormalised over the chosen k). Experts are 2-layer GELU
    MLPs. Each forward stores `latest_usage` (fraction of assignments per expert, detached) and
    `latest_balance_loss`, the Switch loss n_experts * sum_i f_i * P_i (f_i: fraction of
    assignments to expert i, P_i: mean router probability), before any lb_coef weighting.
    """

    def __init__(self, width: int, n_experts: int, ff_mult: int, top_k: int, lb_coef: float):
        super().__init__()
        self.n_experts = n_experts
        self.top_k = top_k
        self.lb_coef = lb_coef
        self.norm = nn.LayerNorm(width)
        self.gate = nn.Linear(width, n_experts, bias=False)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(width, ff_mult * width), nn.GELU(), nn.Linear(ff_mult * width, width))
            for _ in range(n_experts)
        )
        self.latest_usage = torch.full((n_experts,), 1.0 / n_experts)
        self.latest_balance_loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.norm(x).reshape(-1, x.shape[-1])
        probs = self.gate(tokens).float().softmax(-1)  # float: bf16 autocast's mixed softmax is slow
        top_probs, top_experts = probs.topk(self.top_k, dim=-1)
        top_weights = top_probs / top_probs.sum(-1, keepdim=True)
        combine = torch.zeros_like(probs).scatter(-1, top_experts, top_weights)
        if torch.compiler.is_exporting():
            return x + self.mix_dense(tokens, combine).view_as(x)
        chosen = torch.zeros_like(probs).scatter(-1, top_experts, 1.0)
        assigned = chosen.mean(0) / self.top_k
        self.latest_usage = assigned.detach()
        self.latest_balance_loss = self.n_experts * (assigned * probs.mean(0)).sum()
        return x + self.mix_sparse(tokens, chosen, combine).view_as(x)

    def mix_sparse(self, tokens: torch.Tensor, chosen: torch.Tensor, combine: torch.Tensor) -> torch.Tensor:
        """Run each expert on only the tokens routed to it: compute scales with top_k.

        Each expert's rows are padded up to a multiple of EXPERT_ROW_BUCKET with copies of row 0
        at weight 0, which add exactly nothing to the mixture or to any gradient. Why: oneDNN
        builds a matmul kernel per shape and keeps a bounded cache of them, and the routed row
        count changes on every call; unpadded, bf16 training rebuilt kernels all the time
        (bench-learn, moe-router: 3,604 env-steps/s padded, 2,457 before)."""
        mixed = torch.zeros_like(tokens)
        for index, expert in enumerate(self.experts):
            rows = chosen[:, index].nonzero().squeeze(1)
            weights = combine[rows, index, None]
            padding = -rows.shape[0] % EXPERT_ROW_BUCKET
            if padding:
                rows = torch.cat([rows, rows.new_zeros(padding)])
                weights = torch.cat([weights, weights.new_zeros(padding, 1)])
            # Under bf16 autocast the expert computes in bf16; the sum stays in the tokens' dtype.
            mixed.index_add_(0, rows, (expert(tokens[rows]) * weights).to(mixed.dtype))
        return mixed

    def mix_dense(self, tokens: torch.Tensor, combine: torch.Tensor) -> torch.Tensor:
        """The same sum with every expert on every token (zero weight where not chosen), so the
        exported graph has static shapes."""
        outputs = torch.stack([expert(tokens) for expert in self.experts], 1)
        return (combine.unsqueeze(-1) * outputs).sum(1)


# The tuples an `NTupleNetwork` reads, in row-major cell numbering (cell 4*row + column); a block
# with n_tuples uses the first n. The 4 rows, then the 4 columns, then the 9 2x2 squares in
# row-major order of their top-left cell, each square's cells row-major too.
NTUPLES = (
    tuple((4 * row, 4 * row + 1, 4 * row + 2, 4 * row + 3) for row in range(BOARD_SIDE))
    + tuple((col, col + 4, col + 8, col + 12) for col in range(BOARD_SIDE))
    + tuple(
        (4 * row + col, 4 * row + col + 1, 4 * row + col + 4, 4 * row + col + 5)
        for row in range(BOARD_SIDE - 1)
        for col in range(BOARD_SIDE - 1)
    )
)
NTUPLE_CELLS = 4
NTUPLE_ROWS = VOCAB**NTUPLE_CELLS  # 65536 table rows per tuple: every pattern of 4 exponents


def _board_symmetry(index: int) -> tuple[int, ...]:
    """Symmetry `index` (0-7) of the board as a cell permutation (cell c of the transformed
    board is cell perm[c] of the original): mirror left-right if bit 0 is set, top-bottom if
    bit 1 is, then transpose if bit 2 is. So 0 is the identity, 3 the half turn, and 4-7 are
    the first four followed by the transpose."""
    perm = []
    for cell in range(BOARD_SIDE * BOARD_SIDE):
        row, col = divmod(cell, BOARD_SIDE)
        if index & 4:
            row, col = col, row
        if index & 2:
            row = BOARD_SIDE - 1 - row
        if index & 1:
            col = BOARD_SIDE - 1 - col
        perm.append(BOARD_SIDE * row + col)
    return tuple(perm)


BOARD_SYMMETRIES = tuple(_board_symmetry(index) for index in range(8))


class TupleTables(nn.Module):
    """The lookup that `NTupleNetwork` and `TupleEmbedding` share: tuple t reads its 4 cells'
    exponents e0..e3 as one index e0*16^3 + e1*16^2 + e2*16 + e3 into its own 65536-row block of
    one shared embedding table, on each of the first `symmetries` board symmetries.

    The table starts at zero, as tuple networks are usually initialised: most of the
    n_tuples * 65536 rows are never visited in training, and a zero row adds nothing for a pattern
    the network has not learned, where random rows would add noise that no gradient ever removes.
    Training still starts: the layers after it are randomly initialised, so every visited row gets
    a non-zero gradient, different for each unit.
    """

    def __init__(self, n_tuples: int, units: int, symmetries: int):
        super().__init__()
        if not 1 <= n_tuples <= len(NTUPLES):
            raise ValueError(f"n_tuples must be 1 to {len(NTUPLES)}, not {n_tuples}")
        if not 1 <= symmetries <= len(BOARD_SYMMETRIES):
            raise ValueError(f"symmetries must be 1 to {len(BOARD_SYMMETRIES)}, not {symmetries}")
        self.symmetries = symmetries
        # sparse: a minibatch touches a few thousand of these rows, and its gradient says which.
        self.table = nn.Embedding(n_tuples * NTUPLE_ROWS, units, sparse=True)
        nn.init.zeros_(self.table.weight)
        # Constants of the design, not learned, so kept out of the state dict.
        cells = [[perm[cell] for tuple_cells in NTUPLES[:n_tuples] for cell in tuple_cells] for perm in BOARD_SYMMETRIES[:symmetries]]
        self.register_buffer("cells", torch.tensor(cells).flatten(), persistent=False)  # (s*n*4,)
        place = [VOCAB ** (NTUPLE_CELLS - 1 - i) for i in range(NTUPLE_CELLS)]  # 4096, 256, 16, 1
        self.register_buffer("place", torch.tensor(place), persistent=False)
        self.register_buffer("offsets", (torch.arange(n_tuples) * NTUPLE_ROWS).repeat(symmetries), persistent=False)

    def indices(self, board: torch.Tensor) -> torch.Tensor:
        """(B, 16) exponents -> (B, symmetries * n_tuples) rows of the shared table, symmetry-major."""
        # index_select, not board[:, cells] with a 2-D index: it exports as one plain ONNX Gather.
        exponents = board.index_select(1, self.cells).unflatten(1, (-1, NTUPLE_CELLS))  # (B, s*n, 4)
        return (exponents * self.place).sum(-1) + self.offsets


class NTupleNetwork(TupleTables):
    """(B, 16) exponents -> (B, symmetries * units): a tuple network, as in the classic 2048 agents.

    The looked-up `units`-wide rows of all tuples (`TupleTables`) are summed, plus a bias that
    starts at zero like the table.

    With `symmetries` s > 1 the tuples are also read on the first s of the board's 8 symmetries
    (`BOARD_SYMMETRIES`: mirrors, turns, transposes), each symmetry through the same tables, and
    the s sums are concatenated in that fixed order. A table row then learns from s times as many
    patterns (the classic n-tuple trick: a pattern is worth the same wherever the board shows it),
    while the concatenation keeps the orientation the policy needs to tell left from right.
    """

    def __init__(self, n_tuples: int, units: int, symmetries: int = 1):
        super().__init__(n_tuples, units, symmetries)
        self.bias = nn.Parameter(torch.zeros(units))

    def forward(self, board: torch.Tensor) -> torch.Tensor:
        rows = self.table(self.indices(board)).unflatten(1, (self.symmetries, -1))  # (B, s, n, units)
        return (rows.sum(2) + self.bias).flatten(1)


class TupleEmbedding(TupleTables):
    """(B, 16) exponents -> (B, n_tuples, d_model) tokens: tuple t's looked-up row
    (`TupleTables`) is token t, plus a learned vector per tuple.

    The tokens of a transformer over rows, columns and squares instead of cells: each token
    already knows its tuple's exact pattern, which a cell token learns only through attention.
    The per-tuple vectors start small and random (as `TileEmbedding`'s positions do), so that the
    tokens differ from the first forward, while the zero tables add nothing yet.
    """

    def __init__(self, n_tuples: int, d_model: int):
        super().__init__(n_tuples, d_model, symmetries=1)
        self.positions = nn.Parameter(torch.randn(n_tuples, d_model) * EMBEDDING_INIT_STD)

    def forward(self, board: torch.Tensor) -> torch.Tensor:
        return self.table(self.indices(board)) + self.positions


class Dense(nn.Module):
    """Flatten (tokens keep their order), then Linear and an activation."""

    def __init__(self, in_features: int, units: int, activation: str):
        super().__init__()
        self.linear = nn.Linear(in_features, units)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x.flatten(1)))


class AuxLossHead(nn.Module):
    """Predicts an auxiliary board statistic (see `aux_target`) from flattened features.

    The prediction is sigmoid(Linear(features, 1)), in [0, 1] like its target; it is kept in
    `latest_prediction` for `GameTransformer.aux_loss` and never reaches the policy.
    """

    def __init__(self, in_features: int, target: str, weight: float):
        super().__init__()
        self.target = target
        self.weight = weight
        self.linear = nn.Linear(in_features, 1)
        self.latest_prediction: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prediction = torch.sigmoid(self.linear(x.flatten(1))).squeeze(-1)
        if not torch.compiler.is_exporting():
            self.latest_prediction = prediction
        return prediction


class ActionOutput(nn.Module):
    """Policy logits (B, 4) and value (B,) from flattened features."""

    def __init__(self, in_features: int):
        super().__init__()
        self.policy = nn.Linear(in_features, ACTIONS)
        self.value = nn.Linear(in_features, 1)
        nn.init.orthogonal_(self.policy.weight, POLICY_INIT_GAIN)
        nn.init.orthogonal_(self.value.weight, VALUE_INIT_GAIN)
        nn.init.zeros_(self.policy.bias)
        nn.init.zeros_(self.value.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        features = x.flatten(1).float()
        if torch.is_autocast_enabled("cpu"):
            # Training may autocast the trunk to bfloat16; the heads stay float32, since PPO's
            # probability ratios and value targets need more than bf16's 8 significant bits.
            with torch.autocast("cpu", enabled=False):
                return self.policy(features), self.value(features).squeeze(-1)
        return self.policy(features), self.value(features).squeeze(-1)


class GameTransformer(nn.Module):
    """Base of every generated model; see the module docstring for the forward contract.

    Subclasses build their blocks in `__init__` (in forward order) and write `forward` out block
    by block, ending with `return self.policy_and_value(heads, action_mask)`.
    """

    def __init__(self):
        super().__init__()
        self.latest_lb_loss = torch.zeros(())
        self.latest_expert_usage: List[torch.Tensor] = []
        # The MoE layers and aux heads, found on the first forward (subclasses add their blocks
        # after this constructor) instead of scanning `self.modules()` on every forward.
        self._moe_layers: Optional[List[MoELayer]] = None
        self._aux_heads: Optional[List[AuxLossHead]] = None

    def _special_blocks(self) -> Tuple[List[MoELayer], List[AuxLossHead]]:
        if self._moe_layers is None or self._aux_heads is None:
            self._moe_layers = [module for module in self.modules() if isinstance(module, MoELayer)]
            self._aux_heads = [module for module in self.modules() if isinstance(module, AuxLossHead)]
        return self._moe_layers, self._aux_heads

    def run_checkpointed(self, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Recompute `block` in the backward pass instead of storing its activations. Only when
        training with gradients: inference and export call the block plainly."""
        if self.training and torch.is_grad_enabled():
            return checkpoint(block, x, use_reentrant=False)
        return block(x)

    def policy_and_value(
        self, heads: List[Tuple[torch.Tensor, torch.Tensor]], action_mask: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Average the action outputs, mask illegal moves, and record the MoE statistics."""
        if len(heads) == 1:  # the mean of one: skip two ops per forward (most designs have one output)
            logits, value = heads[0]
        else:
            logits = torch.stack([head[0] for head in heads]).mean(0)
            value = torch.stack([head[1] for head in heads]).mean(0)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask, torch.finfo(logits.dtype).min)
        if torch.compiler.is_exporting():
            return logits, value
        layers = self._special_blocks()[0]
        self.latest_expert_usage = [layer.latest_usage for layer in layers]
        self.latest_lb_loss = sum(
            (layer.lb_coef * layer.latest_balance_loss for layer in layers), logits.new_zeros(())
        )
        return logits, value

    def aux_loss(self, board: torch.Tensor) -> torch.Tensor:
        """Sum over aux heads of weight * MSE(prediction, target) for the last forward on `board`;
        a zero scalar for a model without aux heads."""
        total = self.latest_lb_loss.new_zeros(())
        for head in self._special_blocks()[1]:
            if head.latest_prediction is not None:
                prediction = head.latest_prediction.float()  # bf16 under autocast: the loss in float32
                total = total + head.weight * F.mse_loss(prediction, aux_target(board, head.target))
        return total
