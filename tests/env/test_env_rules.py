"""Hand-written rule cases, spawns, episode end, seeding and Gymnasium conformance of Game2048Env."""

import importlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import model_studio.env
from model_studio.env import ACTIONS, ENV_ID, Game2048Env
from model_studio.env.game2048 import move
from model_studio.env.tables import DOWN, LEFT, RIGHT, UP, decode_board, encode_board, slide_line

# A full board whose only moves are left and right; after left (2 + 2 -> 4) and any
# spawn (2 or 4) in the freed cell, no move is left.
NEARLY_OVER = [1, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 5, 6]


def values(exponents):
    return [2**e if e else 0 for e in exponents]


@pytest.mark.parametrize(
    ("row", "slid", "score"),
    [
        ([2, 2, 2, 2], [4, 4, 0, 0], 8),
        ([2, 2, 4, 0], [4, 4, 0, 0], 4),
        ([4, 2, 2, 0], [4, 4, 0, 0], 4),
        ([2, 2, 2, 0], [4, 2, 0, 0], 4),
        ([2, 0, 0, 2], [4, 0, 0, 0], 4),
        ([0, 0, 0, 2], [2, 0, 0, 0], 0),
        ([4, 4, 8, 8], [8, 16, 0, 0], 24),
        ([2, 4, 8, 16], [2, 4, 8, 16], 0),
        ([32768, 32768, 0, 0], [32768, 32768, 0, 0], 0),  # the largest tile does not merge
        ([16384, 16384, 0, 0], [32768, 0, 0, 0], 32768),
    ],
)
def test_slide_line_merges_each_tile_once(row, slid, score):
    exponents = [v.bit_length() - 1 if v else 0 for v in row]
    result, got_score = slide_line(exponents)
    assert (values(result), got_score) == (slid, score)


def test_moves_in_all_four_directions():
    # Column 0 is [2, 2, 2, 2] read top to bottom; row 0 is [2, 2, 0, 4] read left to right.
    board = encode_board([1, 1, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    expected = {
        UP: ([2, 1, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8),
        DOWN: ([0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 1, 0, 2], 8),
        LEFT: ([2, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], 4),
        RIGHT: ([0, 0, 2, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], 4),
    }
    for action, (exponents, score) in expected.items():
        moved, got_score = move(board, action)
        assert (decode_board(moved), got_score) == (exponents, score), ACTIONS[action]


def test_action_order_is_documented_constant():
    assert ACTIONS == ("up", "right", "down", "left")
    assert (UP, RIGHT, DOWN, LEFT) == (0, 1, 2, 3)


def test_reset_spawns_two_tiles_with_the_right_odds_in_uniform_cells():
    env = Game2048Env()
    env.reset(seed=0)
    cells = np.zeros(16)
    fours = tiles = 0
    for _ in range(4000):
        obs, info = env.reset()
        assert np.count_nonzero(obs) == 2 and set(obs[obs > 0].tolist()) <= {1, 2}
        assert info["score"] == 0 and info["max_tile"] == 2 ** obs.max()
        cells += obs > 0
        fours += int(np.sum(obs == 2))
        tiles += 2
    assert abs(fours / tiles - 0.1) < 0.015  # about 6 standard deviations
    assert np.all(np.abs(cells / 8000 * 16 - 1) < 0.25)


def test_spawn_after_a_move_is_uniform_over_empty_cells():
    # Only row 0 changes on left, leaving cells 1, 2 and 3 empty.
    start = [0, 0, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    env = Game2048Env()
    env.reset(seed=1)
    counts = np.zeros(16)
    for _ in range(3000):
        env.reset(options={"board": start})
        obs, reward, terminated, _, _ = env.step(LEFT)
        assert obs[0] == 1 and reward == 0 and not terminated
        counts += np.array(obs.tolist()) != np.array([1, 0, 0, 0] + start[4:])
    assert counts[[0] + list(range(4, 16))].sum() == 0
    assert np.all(np.abs(counts[1:4] / 1000 - 1) < 0.15)


def test_terminates_when_no_move_is_left():
    env = Game2048Env()
    obs, info = env.reset(seed=0, options={"board": NEARLY_OVER})
    assert obs.tolist() == NEARLY_OVER
    assert info["action_mask"].tolist() == [0, 1, 0, 1] and info["max_tile"] == 2**14
    obs, reward, terminated, truncated, info = env.step(LEFT)
    assert reward == 4.0 and terminated and not truncated
    assert obs[:3].tolist() == [2, 3, 4] and obs[3] in (1, 2)
    assert info["action_mask"].tolist() == [0, 0, 0, 0] and info["score"] == 4


def test_invalid_move_changes_nothing_and_goes_on():
    env = Game2048Env()
    obs, info = env.reset(seed=0, options={"board": NEARLY_OVER})
    state = env.np_random.bit_generator.state
    after, reward, terminated, truncated, after_info = env.step(UP)
    assert after.tolist() == obs.tolist() and reward == 0.0 and not terminated and not truncated
    assert after_info["score"] == 0 and after_info["action_mask"].tolist() == [0, 1, 0, 1]
    assert env.np_random.bit_generator.state == state  # no spawn drawn


def test_observation_and_info_types():
    env = Game2048Env()
    obs, info = env.reset(seed=4)
    assert obs.dtype == np.int8 and obs.shape == (16,) and obs in env.observation_space
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].shape == (4,)
    obs[:] = 0  # the caller owns what it was given
    assert np.count_nonzero(env.step(int(np.argmax(info["action_mask"])))[0]) >= 2
    with pytest.raises(ValueError):
        env.step(4)
    with pytest.raises(ValueError):
        env.reset(options={"board": [16] + [0] * 15})


def test_seeded_episodes_are_reproducible():
    def play(seed):
        env = Game2048Env()
        obs, info = env.reset(seed=seed)
        trace = [obs.tolist()]
        for step in range(300):
            legal = np.flatnonzero(info["action_mask"])
            obs, reward, terminated, _, info = env.step(int(legal[step % len(legal)]))
            trace.append((obs.tolist(), reward))
            if terminated:
                obs, info = env.reset()
        return trace

    assert play(42) == play(42)
    assert play(42) != play(43)


def test_passes_gymnasium_env_checker_without_warnings():
    # pytest turns warnings into errors, so any checker warning fails this test.
    check_env(gym.make(ENV_ID).unwrapped)


def test_registered_once_and_truncation_left_to_time_limit():
    importlib.reload(model_studio.env)  # re-registering would warn, and warnings are errors here
    env = gym.make(ENV_ID, max_episode_steps=3)
    _, info = env.reset(seed=0)
    truncated = False
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(int(np.argmax(info["action_mask"])))
        assert not terminated
    assert truncated


def test_ansi_render_shows_tile_values():
    env = Game2048Env(render_mode="ansi")
    env.reset(options={"board": [1, 11, 0, 0] + [0] * 12})
    text = env.render()
    assert text.splitlines()[0].split() == ["2", "2048", ".", "."]
    assert Game2048Env().render() is None
    with pytest.raises(ValueError):
        Game2048Env(render_mode="human")
