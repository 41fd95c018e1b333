"""The tuple network block (`ntuple`): its fixed tuples and board symmetries, exact parameter and
activation counts, the index arithmetic on a hand-made board, and the code the compiler writes for it."""

import json

import pytest
import torch
from torch import nn

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.codegen import build_model, generate_source
from model_studio.nn.runtime import BOARD_SYMMETRIES, NTUPLE_ROWS, NTUPLES, NTupleNetwork

TEMPLATE = json.loads((SCHEMA_DIR / "templates" / "tuple-network.json").read_text())
# Row-major cells, 0-3 the top row.
ROWS = [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15)]
COLUMNS = [(0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15)]
SQUARES = [(0, 1, 4, 5), (1, 2, 5, 6), (2, 3, 6, 7), (4, 5, 8, 9), (5, 6, 9, 10), (6, 7, 10, 11), (8, 9, 12, 13), (9, 10, 13, 14), (10, 11, 14, 15)]
# Exponents 1..15 then an empty cell, row by row.
BOARD = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]])


def _spec():
    return load_catalogue().blocks["ntuple"]


def _formula(kind, symmetries=1, **env):
    catalogue = load_catalogue()
    block = catalogue.blocks["ntuple"]
    return getattr(block, kind)({**catalogue.constants, "symmetries": symmetries, **env})


def _grid_symmetry(board, index):
    """Board symmetry `index` by torch's own flips on the 4x4 grid, apart from the runtime's cell
    arithmetic: mirror left-right (bit 0), top-bottom (bit 1), then transpose (bit 2)."""
    grid = board.view(-1, 4, 4)
    if index & 1:
        grid = grid.flip(2)
    if index & 2:
        grid = grid.flip(1)
    if index & 4:
        grid = grid.transpose(1, 2)
    return grid.reshape(-1, 16)


def test_the_tuples_are_the_rows_then_the_columns_then_the_squares():
    assert list(NTUPLES) == ROWS + COLUMNS + SQUARES
    props = _spec().spec.props
    assert props["n_tuples"].max == len(NTUPLES) == 17 and props["n_tuples"].min == 1
    assert props["n_tuples"].default == 8  # every row and column
    assert NTUPLE_ROWS == 16**4 == load_catalogue().constants["vocab"] ** 4
    assert _spec().spec.inputs.accepts == ("board",) and _spec().spec.output.kind == "vector"


def test_the_symmetries_are_the_squares_eight_in_their_documented_order():
    assert BOARD_SYMMETRIES[0] == tuple(range(16))
    assert len(set(BOARD_SYMMETRIES)) == 8 and all(sorted(perm) == list(range(16)) for perm in BOARD_SYMMETRIES)
    composed = {tuple(a[b[cell]] for cell in range(16)) for a in BOARD_SYMMETRIES for b in BOARD_SYMMETRIES}
    assert composed == set(BOARD_SYMMETRIES)  # a group: the dihedral group of the square
    # Symmetry 1 mirrors left-right: its top row reads cells 3, 2, 1, 0.
    assert BOARD_SYMMETRIES[1][:4] == (3, 2, 1, 0)
    board = torch.arange(16).unsqueeze(0)
    for index, perm in enumerate(BOARD_SYMMETRIES):
        assert board[0, list(perm)].tolist() == _grid_symmetry(board, index)[0].tolist()
    props = _spec().spec.props
    assert (props["symmetries"].min, props["symmetries"].max, props["symmetries"].default) == (1, 8, 1)


@pytest.mark.parametrize(("n_tuples", "units", "symmetries"), [(1, 1, 1), (2, 4, 1), (8, 32, 1), (17, 3, 1), (2, 4, 8), (17, 3, 5)])
def test_parameter_count_is_the_catalogues_and_is_right_by_hand(n_tuples, units, symmetries):
    block = NTupleNetwork(n_tuples, units, symmetries)
    by_hand = n_tuples * 65536 * units + units  # one 65536-row table per tuple, one bias; symmetries share them
    assert sum(p.numel() for p in block.parameters()) == by_hand == _formula("params", n_tuples=n_tuples, units=units, symmetries=symmetries)
    # The fixed tuples and place values are buffers outside the state dict: only weights are saved.
    assert set(block.state_dict()) == {"table.weight", "bias"}


def test_a_board_indexes_each_tuples_own_block_of_rows():
    indices = NTupleNetwork(17, 2).indices(BOARD)
    assert indices.shape == (1, 17)
    # Tuple 0 is the top row, exponents 1, 2, 3, 4.
    assert indices[0, 0].item() == 1 * 4096 + 2 * 256 + 3 * 16 + 4 == 4660
    # Tuple 1, the second row (5, 6, 7, 8), starts one table further on.
    assert indices[0, 1].item() == 65536 + 5 * 4096 + 6 * 256 + 7 * 16 + 8
    # Tuple 3, the bottom row (13, 14, 15, empty).
    assert indices[0, 3].item() == 3 * 65536 + 13 * 4096 + 14 * 256 + 15 * 16 + 0
    # Tuple 4, the first column (1, 5, 9, 13).
    assert indices[0, 4].item() == 4 * 65536 + 1 * 4096 + 5 * 256 + 9 * 16 + 13
    # Tuple 8, the top-left square (cells 0, 1, 4, 5: exponents 1, 2, 5, 6).
    assert indices[0, 8].item() == 8 * 65536 + 1 * 4096 + 2 * 256 + 5 * 16 + 6
    # Tuple 16, the bottom-right square (cells 10, 11, 14, 15: exponents 11, 12, 15, empty).
    assert indices[0, 16].item() == 16 * 65536 + 11 * 4096 + 12 * 256 + 15 * 16 + 0
    # The empty board reads row 0 of every table; the fullest cells the last row.
    assert NTupleNetwork(3, 1).indices(torch.zeros(1, 16, dtype=torch.long)).tolist() == [[0, 65536, 131072]]
    assert NTupleNetwork(1, 1).indices(torch.full((1, 16), 15)).tolist() == [[65535]]


def test_forward_sums_the_looked_up_rows_plus_the_bias():
    torch.manual_seed(0)
    block = NTupleNetwork(17, 5)
    with torch.no_grad():
        block.table.weight.normal_()
        block.bias.normal_()
    boards = torch.randint(0, 16, (6, 16))
    expected = torch.stack(
        [
            sum(block.table.weight[t * 65536 + sum(int(board[c]) * 16 ** (3 - i) for i, c in enumerate(cells))] for t, cells in enumerate(NTUPLES))
            + block.bias
            for board in boards
        ]
    )
    torch.testing.assert_close(block(boards), expected)


@pytest.mark.parametrize("symmetries", [2, 8])
def test_each_symmetry_reads_the_turned_board_through_the_same_tables(symmetries):
    """Output block k is the one-symmetry network's output on the board under symmetry k."""
    torch.manual_seed(1)
    block, plain = NTupleNetwork(17, 3, symmetries), NTupleNetwork(17, 3)
    with torch.no_grad():
        block.table.weight.normal_()
        block.bias.normal_()
    plain.load_state_dict(block.state_dict())  # the same tables: symmetries add no parameters
    boards = torch.randint(0, 16, (5, 16))
    expected = torch.cat([plain(_grid_symmetry(boards, index)) for index in range(symmetries)], 1)
    assert block(boards).shape == (5, symmetries * 3) == (5, _formula("output_width", units=3, symmetries=symmetries))
    torch.testing.assert_close(block(boards), expected)
    with pytest.raises(ValueError, match="symmetries must be 1 to 8"):
        NTupleNetwork(1, 1, 9)


def test_a_mirrored_pattern_trains_the_same_table_row():
    """With the left-right mirror, a row read backwards updates the row its mirror image reads."""
    block, head = NTupleNetwork(1, 2, symmetries=2), nn.Linear(4, 1)
    head(block(BOARD)).sum().backward()
    touched = block.table.weight.grad.coalesce().indices()[0].tolist()
    assert touched == sorted([1 * 4096 + 2 * 256 + 3 * 16 + 4, 4 * 4096 + 3 * 256 + 2 * 16 + 1])  # 1,2,3,4 and 4,3,2,1


def test_training_starts_at_zero_and_touches_only_the_rows_it_read():
    block, head = NTupleNetwork(2, 3), nn.Linear(3, 1)
    assert block(BOARD).abs().sum().item() == 0.0  # a zero table: unlearned patterns add nothing
    head(block(BOARD)).sum().backward()
    grad = block.table.weight.grad
    assert grad.is_sparse  # the trainer's SparseAdam then updates only these rows
    touched = grad.coalesce().to_dense().abs().sum(1).nonzero().squeeze(1).tolist()
    assert touched == block.indices(BOARD)[0].tolist() == [4660, 65536 + 5 * 4096 + 6 * 256 + 7 * 16 + 8]
    assert block.bias.grad.abs().sum() > 0


@pytest.mark.parametrize(("n_tuples", "units", "symmetries"), [(1, 4, 1), (8, 32, 1), (17, 7, 1), (17, 7, 8), (3, 5, 2)])
def test_activation_formula_is_what_autograd_keeps(n_tuples, units, symmetries):
    """The block keeps its int64 indices (2 floats each); the next layer keeps its (B, symmetries * units) output."""
    block, after = NTupleNetwork(n_tuples, units, symmetries), nn.Linear(symmetries * units, 2)
    batch, saved = 5, []

    def pack(tensor):
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = after(block(torch.randint(0, 16, (batch, 16))))
    params = {p.data_ptr() for p in after.parameters()}
    kept = sum(t.numel() * t.element_size() for t in saved if t.data_ptr() not in params)
    assert kept == batch * 4 * _formula("activations", n_tuples=n_tuples, units=units, symmetries=symmetries)
    assert out.shape == (batch, 2)


def test_template_compiles_to_one_readable_line_per_block():
    source = generate_source(TEMPLATE)
    assert "self.tuples = NTupleNetwork(n_tuples=17, units=32, symmetries=1)  # tuples: ntuple" in source
    assert "x_tuples = self.tuples(x_board)  # tuples: ntuple -> vector (B, 32)" in source
    model = build_model(TEMPLATE)
    assert sum(p.numel() for p in model.parameters()) == 17 * 65536 * 32 + 32 + (32 * 64 + 64) + (64 * 5 + 5) == 35_654_053
    logits, value = model(BOARD.repeat(3, 1), torch.ones(3, 4, dtype=torch.bool))
    assert logits.shape == (3, 4) and value.shape == (3,)
