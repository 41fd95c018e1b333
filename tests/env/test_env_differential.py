"""Differential tests: both environments against a deliberately naive reference of the rules.

The reference works on a 4x4 list of tile *values* (2, 4, 8, ...), moves a grid by
turning it so that the move becomes "left", and shares no code with the package.
"""

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model_studio.env import BatchedGame2048, Game2048Env
from model_studio.env.game2048 import move
from model_studio.env.tables import decode_board, encode_board
from model_studio.env.vector import move_boards

LARGEST_TILE = 32768  # the package stores 4-bit exponents; two 32768 tiles do not merge


def ref_merge_left(row):
    """Slide a row left, merging each pair once; return (row, score)."""
    out, score, just_merged = [], 0, False
    for value in (v for v in row if v):
        if out and not just_merged and out[-1] == value and value < LARGEST_TILE:
            out[-1] *= 2
            score += out[-1]
            just_merged = True
        else:
            out.append(value)
            just_merged = False
    return out + [0] * (4 - len(out)), score


def ref_transpose(grid):
    return [list(col) for col in zip(*grid)]


def ref_mirror(grid):
    return [row[::-1] for row in grid]


# Turn the grid so that each action (0 up, 1 right, 2 down, 3 left) becomes a left move, and back.
REF_TURN = {
    0: (ref_transpose, ref_transpose),
    1: (ref_mirror, ref_mirror),
    2: (lambda g: ref_mirror(ref_transpose(g)), lambda g: ref_transpose(ref_mirror(g))),
    3: (lambda g: g, lambda g: g),
}


def ref_move(grid, action):
    """Return (grid, score, changed) for ``action`` on a list-of-lists grid of tile values."""
    turn, unturn = REF_TURN[action]
    merged = [ref_merge_left(row) for row in turn(grid)]
    result = unturn([row for row, _ in merged])
    return result, sum(score for _, score in merged), result != grid


def to_grid(exponents):
    values = [2**e if e else 0 for e in exponents]
    return [values[r * 4 : r * 4 + 4] for r in range(4)]


def to_exponents(grid):
    return [v.bit_length() - 1 if v else 0 for row in grid for v in row]


# Narrow alphabets make merges and full rows common; 14 and 15 exercise the largest tiles.
boards = st.one_of(
    st.lists(st.integers(0, 15), min_size=16, max_size=16),
    st.lists(st.sampled_from([0, 1, 2]), min_size=16, max_size=16),
    st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=16, max_size=16),
    st.lists(st.sampled_from([0, 14, 15]), min_size=16, max_size=16),
)


@settings(max_examples=400, deadline=None)
@given(boards)
def test_moves_and_masks_agree_with_reference(exponents):
    grid = to_grid(exponents)
    expected = [ref_move(grid, action) for action in range(4)]
    expected_mask = [int(changed) for _, _, changed in expected]
    board = encode_board(exponents)

    # Single env: pure move function, and the mask of a board given to reset.
    for action, (ref_grid, ref_score, _) in enumerate(expected):
        moved, score = move(board, action)
        assert (decode_board(moved), score) == (to_exponents(ref_grid), ref_score)
    _, info = Game2048Env().reset(seed=0, options={"board": exponents})
    assert info["action_mask"].tolist() == expected_mask

    # Batched env: the same board under all four actions in one call.
    moved, scores = move_boards(np.full(4, board, np.uint64), np.arange(4))
    assert [decode_board(int(b)) for b in moved] == [to_exponents(g) for g, _, _ in expected]
    assert scores.tolist() == [s for _, s, _ in expected]
    envs = BatchedGame2048(1, seed=0)
    envs.reset(boards=np.array([exponents]))
    assert envs.action_mask()[0].tolist() == [bool(m) for m in expected_mask]


def test_many_random_boards_agree_in_one_batch():
    rng = random.Random(7)
    exponents = [[rng.choice([0, 0, 1, 1, 2, 3, rng.randint(0, 15)]) for _ in range(16)] for _ in range(2000)]
    actions = [rng.randrange(4) for _ in exponents]
    boards = np.array([encode_board(e) for e in exponents], np.uint64)
    moved, scores = move_boards(boards, np.array(actions))
    envs = BatchedGame2048(len(exponents), seed=0)
    envs.reset(boards=np.array(exponents))
    masks = envs.action_mask()
    for i, (e, action) in enumerate(zip(exponents, actions)):
        ref_grid, ref_score, _ = ref_move(to_grid(e), action)
        assert decode_board(int(moved[i])) == to_exponents(ref_grid)
        assert scores[i] == ref_score
        assert masks[i].tolist() == [ref_move(to_grid(e), a)[2] for a in range(4)]


def assert_one_spawn(before_spawn, after):
    """``after`` is ``before_spawn`` plus one 2 or 4 in a cell that was empty."""
    differing = [i for i in range(16) if before_spawn[i] != after[i]]
    assert len(differing) == 1
    assert before_spawn[differing[0]] == 0 and after[differing[0]] in (1, 2)


def test_single_env_episodes_follow_reference():
    env = Game2048Env()
    rng = random.Random(3)
    for episode in range(3):
        obs, info = env.reset(seed=episode)
        assert sorted(obs.tolist())[:14] == [0] * 14 and set(obs[obs > 0].tolist()) <= {1, 2}
        score, terminated = 0, False
        while not terminated:
            grid = to_grid(obs.tolist())
            action = rng.randrange(4)  # invalid moves included on purpose
            ref_grid, ref_score, changed = ref_move(grid, action)
            obs, reward, terminated, truncated, info = env.step(action)
            assert reward == ref_score and not truncated
            if changed:
                assert_one_spawn(to_exponents(ref_grid), obs.tolist())
            else:
                assert to_grid(obs.tolist()) == grid
            score += ref_score
            ref_mask = [ref_move(to_grid(obs.tolist()), a)[2] for a in range(4)]
            assert info["action_mask"].tolist() == ref_mask
            assert terminated == (not any(ref_mask))
            assert info["score"] == score
            assert info["max_tile"] == 2 ** max(obs.tolist())


def test_batched_env_episodes_follow_reference():
    num_envs = 32
    envs = BatchedGame2048(num_envs, seed=11)
    obs = envs.reset()
    rng = np.random.default_rng(5)
    scores = np.zeros(num_envs, np.int64)
    lengths = np.zeros(num_envs, np.int64)
    finished = 0
    for _ in range(400):
        actions = rng.integers(0, 4, num_envs)
        expected = [ref_move(to_grid(o), a) for o, a in zip(obs.tolist(), actions.tolist())]
        obs, reward, terminated, info = envs.step(actions)
        scores += reward.astype(np.int64)
        lengths += 1
        for i, (ref_grid, ref_score, changed) in enumerate(expected):
            assert reward[i] == ref_score
            if terminated[i]:
                finished += 1
                assert info["final_score"][i] == scores[i] and info["final_length"][i] == lengths[i]
                largest_before_spawn = max(to_exponents(ref_grid))
                assert info["final_max_tile"][i] in (2**largest_before_spawn, 4)
                scores[i] = lengths[i] = 0
            elif changed:
                assert_one_spawn(to_exponents(ref_grid), obs[i].tolist())
            else:
                assert obs[i].tolist() == to_exponents(ref_grid)
        mask = info["action_mask"]
        ref_masks = [[ref_move(to_grid(o), a)[2] for a in range(4)] for o in obs.tolist()]
        assert mask.tolist() == ref_masks
    assert finished > 0
