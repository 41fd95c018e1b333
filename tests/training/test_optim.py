"""DenseSparseAdam: sparse tables get lazy Adam (untouched rows stay put; RowAdam computes torch's
SparseAdam bit for bit), gradient clipping agrees with torch's own, and its state round-trips (as
a plain Adam state without sparse tables)."""

import copy

import pytest
import torch
from torch import nn

from model_studio.training.optim import ADAM_EPS, DenseSparseAdam, RowAdam


class TableNet(nn.Module):
    def __init__(self, sparse: bool):
        super().__init__()
        self.table = nn.Embedding(50, 3, sparse=sparse)
        self.head = nn.Linear(3, 1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.table(rows).sum(1)).squeeze(-1)


ROWS = torch.tensor([[1, 2], [2, 7], [9, 1]])


def loss_of(model: nn.Module) -> torch.Tensor:
    return (model(ROWS) - torch.tensor([10.0, -4.0, 3.0])).pow(2).mean()


def test_clipping_sparse_gradients_matches_torch_on_the_same_dense_ones():
    torch.manual_seed(0)
    sparse = TableNet(sparse=True)
    dense = TableNet(sparse=False)
    dense.load_state_dict(sparse.state_dict())
    loss_of(sparse).backward()
    loss_of(dense).backward()
    norm = DenseSparseAdam(sparse, lr=1e-3).clip_grad_norm_(0.5)
    expected_norm = nn.utils.clip_grad_norm_(dense.parameters(), 0.5)
    assert norm.item() == pytest.approx(expected_norm.item(), rel=1e-6)
    assert norm > 0.5  # the case where clipping does something
    torch.testing.assert_close(sparse.table.weight.grad.to_dense(), dense.table.weight.grad)
    torch.testing.assert_close(sparse.head.weight.grad, dense.head.weight.grad)


def test_only_the_rows_a_batch_read_move():
    torch.manual_seed(1)
    model = TableNet(sparse=True)
    before = model.table.weight.detach().clone()
    optimizer = DenseSparseAdam(model, lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss_of(model).backward()
        optimizer.clip_grad_norm_(1.0)
        optimizer.step()
    moved = (model.table.weight.detach() != before).any(1).nonzero().squeeze(1).tolist()
    assert moved == sorted(set(ROWS.flatten().tolist()))
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.1]  # both parts follow the schedule


@pytest.mark.parametrize("sparse", [False, True])
def test_state_round_trips_and_resumes_identically(sparse):
    torch.manual_seed(2)
    model = TableNet(sparse=sparse)
    optimizer = DenseSparseAdam(model, lr=0.05)

    def step(net: nn.Module, opt: DenseSparseAdam) -> None:
        opt.zero_grad()
        loss_of(net).backward()
        opt.step()

    step(model, optimizer)
    state = optimizer.state_dict()
    assert ("parts" in state) == sparse  # without sparse tables: exactly Adam's own state dict
    twin = copy.deepcopy(model)
    twin_optimizer = DenseSparseAdam(twin, lr=0.05)
    twin_optimizer.load_state_dict(copy.deepcopy(state))
    step(model, optimizer)
    step(twin, twin_optimizer)
    for mine, theirs in zip(model.parameters(), twin.parameters()):
        assert torch.equal(mine, theirs)


def test_a_state_for_other_tables_is_refused():
    dense_state = DenseSparseAdam(TableNet(sparse=False), lr=0.1).state_dict()
    with pytest.raises(ValueError, match="other sparse tables"):
        DenseSparseAdam(TableNet(sparse=True), lr=0.1).load_state_dict(dense_state)


def test_row_adam_is_torch_sparse_adam_bit_for_bit_and_loads_its_state():
    torch.manual_seed(3)
    ours, theirs = TableNet(sparse=True), TableNet(sparse=True)
    theirs.load_state_dict(ours.state_dict())
    initial = ours.table.weight.detach().clone()
    row_adam = RowAdam([ours.table.weight], lr=0.05, eps=ADAM_EPS)
    sparse_adam = torch.optim.SparseAdam([theirs.table.weight], lr=0.05, eps=ADAM_EPS)
    for step in range(4):
        for model, optimizer in ((ours, row_adam), (theirs, sparse_adam)):
            optimizer.zero_grad()
            # Rows repeat within the batch (1 and 2 twice), so coalescing sums them.
            loss_of(model).backward()
            optimizer.step()
        assert torch.equal(ours.table.weight, theirs.table.weight), step
    assert not torch.equal(ours.table.weight, initial)  # it did train
    twin = RowAdam([copy.deepcopy(ours.table.weight)], lr=0.05, eps=ADAM_EPS)
    twin.load_state_dict(sparse_adam.state_dict())
    for key in ("exp_avg", "exp_avg_sq"):
        assert torch.equal(twin.state[twin.param_groups[0]["params"][0]][key], row_adam.state[ours.table.weight][key])
