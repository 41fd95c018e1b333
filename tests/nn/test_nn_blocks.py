"""The runtime blocks: parameter counts from the catalogue, attention, MoE routing and its
losses, aux targets, masking, and that gradient checkpointing really recomputes."""

import ast
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.codegen import build_model
from model_studio.nn import runtime
from model_studio.nn.runtime import (
    ActionOutput,
    AuxLossHead,
    Dense,
    GameTransformer,
    MoELayer,
    TileEmbedding,
    TransformerLayer,
    aux_target,
)

CASES = SCHEMA_DIR / "cases"


def _case_design(name):
    return json.loads((CASES / f"{name}.json").read_text())["design"]


def _numel(module):
    return sum(p.numel() for p in module.parameters())


def _formula(block, **env):
    catalogue = load_catalogue()
    return catalogue.blocks[block].params({**catalogue.constants, **env})


def test_runtime_constants_are_the_catalogues():
    constants = load_catalogue().constants
    assert (runtime.CELLS, runtime.VOCAB, runtime.ACTIONS) == (constants["T"], constants["vocab"], constants["actions"])


def test_runtime_imports_only_torch_math_and_typing():
    tree = ast.parse(Path(runtime.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"torch", "math", "typing"}


@pytest.mark.parametrize("w", [8, 24])
@pytest.mark.parametrize("ff_mult", [1, 3])
def test_module_parameter_counts_follow_the_catalogue(w, ff_mult):
    feat = 16 * w
    assert _numel(TileEmbedding(w, positional=True)) == _formula("embedding", d_model=w, positional=1)
    assert _numel(TileEmbedding(w, positional=False)) == _formula("embedding", d_model=w, positional=0)
    assert _numel(TransformerLayer(w, n_heads=4, ff_mult=ff_mult)) == _formula("transformer_layer", w=w, ff_mult=ff_mult, n_heads=4)
    moe = MoELayer(w, n_experts=3, ff_mult=ff_mult, top_k=2, lb_coef=0.1)
    assert _numel(moe) == _formula("moe_layer", w=w, n_experts=3, ff_mult=ff_mult, top_k=2)
    assert _numel(Dense(feat, units=5, activation="tanh")) == _formula("dense", feat=feat, units=5)
    assert _numel(nn.LayerNorm(w)) == _formula("layer_norm", w=w, feat=feat)
    assert _numel(AuxLossHead(feat, "max_tile", 1.0)) == _formula("aux_loss_head", feat=feat)
    assert _numel(ActionOutput(feat)) == _formula("action_output", feat=feat)


def test_attention_matches_torch_multihead_attention():
    torch.manual_seed(0)
    layer = TransformerLayer(16, n_heads=4, ff_mult=2)
    reference = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(layer.qkv.weight)
        reference.in_proj_bias.copy_(layer.qkv.bias)
        reference.out_proj.weight.copy_(layer.attention_out.weight)
        reference.out_proj.bias.copy_(layer.attention_out.bias)
    x = torch.randn(3, 16, 16)
    expected, _ = reference(x, x, x, need_weights=False)
    torch.testing.assert_close(layer.attention(x), expected)


def _reference_moe(moe, x):
    """Token by token: softmax gate, top-k, renormalised weighted sum of expert outputs."""
    tokens = moe.norm(x).reshape(-1, x.shape[-1])
    rows = []
    for token in tokens:
        probs = moe.gate(token).softmax(-1)
        weights, experts = probs.topk(moe.top_k)
        weights = weights / weights.sum()
        rows.append(sum(w * moe.experts[int(e)](token) for w, e in zip(weights, experts)))
    return x + torch.stack(rows).view_as(x)


@pytest.mark.parametrize("top_k", [1, 2])
def test_moe_routes_each_token_to_its_top_k_experts(top_k):
    torch.manual_seed(1)
    moe = MoELayer(8, n_experts=4, ff_mult=2, top_k=top_k, lb_coef=0.1)
    x = torch.randn(5, 16, 8)
    with torch.no_grad():
        out = moe(x)
        torch.testing.assert_close(out, _reference_moe(moe, x))
        tokens = moe.norm(x).reshape(-1, 8)
        probs = moe.gate(tokens).softmax(-1)
        chosen = torch.zeros_like(probs).scatter(-1, probs.topk(top_k).indices, 1.0)
        combine = chosen * probs / (chosen * probs).sum(-1, keepdim=True)
        # The static-shape path used for export computes the same mixture.
        torch.testing.assert_close(moe.mix_dense(tokens, combine), moe.mix_sparse(tokens, chosen, combine))
    counts = chosen.sum(0)
    torch.testing.assert_close(moe.latest_usage, counts / counts.sum())
    assert moe.latest_usage.sum().item() == pytest.approx(1.0)
    expected_loss = 4 * ((counts / counts.sum()) * probs.mean(0)).sum()
    torch.testing.assert_close(moe.latest_balance_loss, expected_loss)


def test_moe_row_padding_adds_nothing_to_any_gradient():
    # 80 tokens over 4 experts: every expert's rows are padded up to a multiple of 64 with copies
    # of token 0 at weight 0; the gradients must be those of the token-by-token reference.
    torch.manual_seed(2)
    moe = MoELayer(8, n_experts=4, ff_mult=2, top_k=2, lb_coef=0.1)
    x = torch.randn(5, 16, 8, requires_grad=True)
    target = torch.randn(5, 16, 8)
    grads = []
    for forward in (moe, lambda board: _reference_moe(moe, board)):
        moe.zero_grad()
        x.grad = None
        ((forward(x) - target) ** 2).sum().backward()
        grads.append([x.grad.clone()] + [parameter.grad.clone() for parameter in moe.experts.parameters()])
    assert runtime.EXPERT_ROW_BUCKET > 80 // 4  # padding happens in this case
    for padded, reference in zip(*grads):
        torch.testing.assert_close(padded, reference)


def test_balance_loss_is_one_when_every_token_uses_every_expert():
    moe = MoELayer(8, n_experts=3, ff_mult=1, top_k=3, lb_coef=0.5)
    moe(torch.randn(2, 16, 8))
    torch.testing.assert_close(moe.latest_usage, torch.full((3,), 1 / 3))
    assert moe.latest_balance_loss.item() == pytest.approx(1.0)


def test_balance_loss_trains_the_gate():
    moe = MoELayer(8, n_experts=4, ff_mult=1, top_k=1, lb_coef=0.01)
    moe(torch.randn(2, 16, 8))
    moe.latest_balance_loss.backward()
    assert moe.gate.weight.grad.abs().sum() > 0


def _board(rows):
    return torch.tensor([sum(rows, [])])


def test_aux_targets_read_the_board():
    board = _board([[0, 1, 1, 0], [2, 2, 2, 0], [0, 0, 15, 3], [0, 0, 3, 3]])
    assert aux_target(board, "empty_cells").item() == pytest.approx(7 / 16)
    assert aux_target(board, "max_tile").item() == pytest.approx(1.0)
    # across: (1,1), (2,2) twice, (3,3); down: (3,3) in the last column; empty pairs never count
    assert aux_target(board, "merge_pairs").item() == pytest.approx(5 / 24)
    assert aux_target(torch.full((1, 16), 5), "merge_pairs").item() == 1.0
    assert aux_target(torch.zeros(1, 16, dtype=torch.long), "merge_pairs").item() == 0.0
    with pytest.raises(ValueError, match="unknown aux target"):
        aux_target(board, "score")


def test_aux_loss_is_weighted_mse_of_the_last_forward():
    model = build_model(_case_design("valid-aux-on-tokens"))
    heads = [m for m in model.modules() if type(m).__name__ == "AuxLossHead"]
    assert heads
    board = torch.randint(0, runtime.VOCAB, (6, 16))
    model(board)
    expected = sum(h.weight * F.mse_loss(h.latest_prediction, aux_target(board, h.target)) for h in heads)
    torch.testing.assert_close(model.aux_loss(board), expected)
    model.aux_loss(board).backward()
    assert all(h.linear.weight.grad is not None for h in heads)


def test_aux_loss_is_zero_without_aux_heads():
    model = build_model(_case_design("valid-tiny-dense"))
    board = torch.randint(0, runtime.VOCAB, (2, 16))
    model(board)
    assert model.aux_loss(board).item() == 0.0


def test_masked_moves_get_the_float_minimum_and_heads_are_averaged():
    model = GameTransformer()
    first = (torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([1.0]))
    second = (torch.tensor([[3.0, 2.0, 1.0, 0.0]]), torch.tensor([3.0]))
    mask = torch.tensor([[True, False, True, False]])
    logits, value = model.policy_and_value([first, second], mask)
    assert logits.tolist() == [[2.0, torch.finfo(torch.float32).min, 2.0, torch.finfo(torch.float32).min]]
    assert value.tolist() == [2.0]
    unmasked, _ = model.policy_and_value([first, second], None)
    assert unmasked.tolist() == [[2.0, 2.0, 2.0, 2.0]]


def test_model_exposes_lb_loss_and_expert_usage_per_moe_layer():
    design = _case_design("valid-moe-routed")
    model = build_model(design)
    moe_ids = [c["id"] for c in design["components"] if c["type"] == "moe_layer"]
    board = torch.randint(0, runtime.VOCAB, (4, 16))
    logits, value = model(board, torch.ones(4, 4, dtype=torch.bool))
    assert logits.shape == (4, 4) and value.shape == (4,)
    assert len(model.latest_expert_usage) == len(moe_ids)
    for usage in model.latest_expert_usage:
        assert usage.dim() == 1 and usage.sum().item() == pytest.approx(1.0)
    layers = [m for m in model.modules() if type(m).__name__ == "MoELayer"]
    expected = sum(layer.lb_coef * layer.latest_balance_loss for layer in layers)
    torch.testing.assert_close(model.latest_lb_loss, expected)
    assert model.latest_lb_loss.requires_grad


def _count_calls(module):
    """Count calls with a pre-hook: a recomputation stops early, once it has rebuilt the saved
    tensors the backward needs, so forward (post-)hooks do not see it."""
    calls = []
    module.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls


def test_checkpointed_blocks_are_recomputed_in_backward():
    model = build_model(_case_design("valid-checkpointed-transformers"))
    checkpointed = _count_calls(model.t1)
    board = torch.randint(0, runtime.VOCAB, (3, 16))
    model.train()
    logits, value = model(board)
    assert len(checkpointed) == 1
    (logits.sum() + value.sum()).backward()
    assert len(checkpointed) == 2  # run again during backward: its activations were not kept

    model.eval()
    logits, value = model(board)
    (logits.sum() + value.sum()).backward()
    assert len(checkpointed) == 3  # eval: a plain call
    model.train()
    with torch.no_grad():
        model(board)
    assert len(checkpointed) == 4  # no gradients: a plain call


def test_checkpointing_does_not_change_gradients():
    checkpointed = build_model(_case_design("valid-checkpointed-transformers"), seed=3)
    plain = build_model(_case_design("valid-unchecked-twin"), seed=3)
    plain.load_state_dict(checkpointed.state_dict())
    board = torch.randint(0, runtime.VOCAB, (3, 16))
    for model in (checkpointed, plain):
        logits, value = model(board)
        (logits.square().sum() + value.sum()).backward()
    for (name, a), (_, b) in zip(checkpointed.named_parameters(), plain.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_checkpointed_moe_still_trains_its_gate_from_the_balance_loss():
    model = build_model(_case_design("valid-checkpoint-router"))
    layers = [m for m in model.modules() if type(m).__name__ == "MoELayer"]
    calls = _count_calls(layers[0])
    board = torch.randint(0, runtime.VOCAB, (3, 16))
    logits, value = model(board)
    (logits.sum() + value.sum() + 10 * model.latest_lb_loss).backward()
    assert len(calls) == 2
    assert layers[0].gate.weight.grad.abs().sum() > 0
