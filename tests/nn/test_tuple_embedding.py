"""The tuple embedding block (`tuple_embedding`): one token per tuple of 4 cells, looked up in the
tuple's own table. Exact parameter, activation and token counts against the catalogue, the
tokens on a hand-made board, sparse training from zero tables, and the template built on it."""

import json

import pytest
import torch
from torch import nn

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.codegen import build_model, generate_source
from model_studio.nn.runtime import NTUPLES, TupleEmbedding
from model_studio.training.optim import DenseSparseAdam
from model_studio.validation import analyse, decode_design

TEMPLATE = json.loads((SCHEMA_DIR / "templates" / "tuple-transformer.json").read_text())
# Exponents 1..15 then an empty cell, row by row (cells 0-3 are the top row).
BOARD = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]])


def _formula(kind, **props):
    catalogue = load_catalogue()
    return getattr(catalogue.blocks["tuple_embedding"], kind)({**catalogue.constants, **props})


def test_it_reads_the_board_and_makes_one_token_per_tuple():
    spec = load_catalogue().blocks["tuple_embedding"].spec
    assert spec.inputs.accepts == ("board",) and spec.output.kind == "tokens"
    assert (spec.props["n_tuples"].min, spec.props["n_tuples"].max) == (1, len(NTUPLES)) == (1, 17)
    assert spec.props["d_model"].meta == "d_model"
    for n_tuples in (1, 8, 17):
        assert _formula("output_tokens", n_tuples=n_tuples, d_model=64) == n_tuples
        assert TupleEmbedding(n_tuples, 8)(BOARD.repeat(3, 1)).shape == (3, n_tuples, 8)


@pytest.mark.parametrize(("n_tuples", "d_model"), [(1, 8), (2, 16), (8, 64), (17, 8)])
def test_parameter_count_is_the_catalogues_and_is_right_by_hand(n_tuples, d_model):
    block = TupleEmbedding(n_tuples, d_model)
    by_hand = n_tuples * 65536 * d_model + n_tuples * d_model  # a 65536-row table and one vector per tuple
    assert sum(p.numel() for p in block.parameters()) == by_hand == _formula("params", n_tuples=n_tuples, d_model=d_model)
    assert _formula("sparse_params", n_tuples=n_tuples, d_model=d_model) == block.table.weight.numel() == n_tuples * 65536 * d_model
    assert set(block.state_dict()) == {"table.weight", "positions"}


def test_token_t_is_tuple_ts_table_row_plus_its_own_vector():
    torch.manual_seed(0)
    block = TupleEmbedding(17, 3)
    with torch.no_grad():
        block.table.weight.normal_()
    tokens = block(BOARD)[0]
    # Token 0 is the top row (exponents 1, 2, 3, 4), read from the first table.
    torch.testing.assert_close(tokens[0], block.table.weight[1 * 4096 + 2 * 256 + 3 * 16 + 4] + block.positions[0])
    # Token 4 is the first column (1, 5, 9, 13), read from the fifth table.
    torch.testing.assert_close(tokens[4], block.table.weight[4 * 65536 + 1 * 4096 + 5 * 256 + 9 * 16 + 13] + block.positions[4])
    # Token 16 is the bottom-right square (cells 10, 11, 14, 15: 11, 12, 15, empty), from the last table.
    torch.testing.assert_close(tokens[16], block.table.weight[16 * 65536 + 11 * 4096 + 12 * 256 + 15 * 16] + block.positions[16])


def test_training_starts_from_empty_tables_and_touches_only_the_rows_it_read():
    torch.manual_seed(0)
    block, head = TupleEmbedding(2, 4), nn.Linear(8, 1)
    tokens = block(BOARD)
    torch.testing.assert_close(tokens[0], block.positions)  # zero tables: the tokens differ by their vectors alone
    assert block.positions.abs().min() > 0
    head(tokens.flatten(1)).sum().backward()
    grad = block.table.weight.grad
    assert grad.is_sparse  # the trainer's SparseAdam then updates only these rows
    touched = grad.coalesce().to_dense().abs().sum(1).nonzero().squeeze(1).tolist()
    assert touched == block.indices(BOARD)[0].tolist() == [4660, 65536 + 5 * 4096 + 6 * 256 + 7 * 16 + 8]
    assert DenseSparseAdam(nn.Sequential(block, head), 1e-3).sparse == [block.table.weight]


@pytest.mark.parametrize(("n_tuples", "d_model"), [(1, 8), (8, 16), (17, 8)])
def test_activation_formula_is_what_autograd_keeps(n_tuples, d_model):
    """The block keeps its int64 indices (2 floats each); the next layer keeps its (B, n_tuples, d_model) tokens."""
    block = TupleEmbedding(n_tuples, d_model)
    after = nn.Linear(n_tuples * d_model, 2)
    batch, saved = 5, []

    def pack(tensor):
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = after(block(torch.randint(0, 16, (batch, 16))).flatten(1))
    params = {p.data_ptr() for p in after.parameters()}
    kept = sum(t.numel() * t.element_size() for t in saved if t.data_ptr() not in params)
    assert kept == batch * 4 * _formula("activations", n_tuples=n_tuples, d_model=d_model)
    assert out.shape == (batch, 2)


def test_template_attends_over_the_17_tuple_tokens():
    analysis = analyse(decode_design(TEMPLATE))
    assert analysis.errors == []
    assert analysis.props["tuples"] == {"n_tuples": 17, "d_model": 40}  # every row, column and 2x2 square, as drawn
    assert {cid: (shape.tokens, shape.width) for cid, shape in analysis.shapes.items() if shape and shape.kind == "tokens"} == {
        "tuples": (17, 40), "layer1": (17, 40), "layer2": (17, 40), "norm": (17, 40)
    }  # fmt: skip
    source = generate_source(TEMPLATE)
    assert "self.tuples = TupleEmbedding(n_tuples=17, d_model=40)  # tuples: tuple_embedding" in source
    assert "x_layer1 = self.layer1(x_tuples)  # layer1: transformer_layer -> tokens (B, 17, 40)" in source
    assert "self.policy = ActionOutput(in_features=680)  # policy: action_output" in source
    # Tables and vectors; two layers of width 40 (LayerNorms 2*80, QKV 40*120 + 120, output 40*40 + 40,
    # feed-forward 40*160 + 160 and 160*40 + 40); the final LayerNorm 80; the heads on 17*40 = 680 features.
    layer = 2 * 80 + (40 * 120 + 120) + (40 * 40 + 40) + (40 * 160 + 160) + (160 * 40 + 40)
    by_hand = 17 * 65536 * 40 + 17 * 40 + 2 * layer + 80 + (680 * 5 + 5)
    model = build_model(TEMPLATE)
    assert sum(p.numel() for p in model.parameters()) == by_hand == analysis.param_total == 44_608_085
    logits, value = model(BOARD.repeat(3, 1), torch.ones(3, 4, dtype=torch.bool))
    assert logits.shape == (3, 4) and value.shape == (3,)
