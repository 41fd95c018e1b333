"""BatchedGame2048: automatic reset, episode statistics, spawns and seeding."""

import numpy as np
import pytest

from model_studio.env import BatchedGame2048
from model_studio.env.tables import LEFT, UP, decode_board

NEARLY_OVER = [1, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 5, 6]  # see test_env_rules.py


def random_legal(rng, mask):
    return (rng.random(mask.shape) * mask).argmax(axis=1)


def test_terminal_step_returns_last_reward_and_a_fresh_board():
    envs = BatchedGame2048(3, seed=0)
    start = np.array([NEARLY_OVER, NEARLY_OVER, [0] * 15 + [1]])
    obs = envs.reset(boards=start)
    assert obs.tolist() == start.tolist()
    obs, reward, terminated, info = envs.step(np.array([LEFT, UP, LEFT]))
    assert terminated.tolist() == [True, False, False]
    assert reward.dtype == np.float32 and reward.tolist() == [4.0, 0.0, 0.0]
    # Board 0 finished: its observation is a new game; its final statistics are reported.
    assert np.count_nonzero(obs[0]) == 2 and set(obs[0][obs[0] > 0].tolist()) <= {1, 2}
    assert info["final_score"].tolist() == [4, 0, 0]
    assert info["final_length"].tolist() == [1, 0, 0]
    assert info["final_max_tile"].tolist() == [2**14, 0, 0]
    assert info["action_mask"][0].any() and (info["action_mask"] == envs.action_mask()).all()
    # Board 1 made an invalid move: unchanged, no spawn. Board 2 moved left and got a spawn.
    assert obs[1].tolist() == NEARLY_OVER
    assert obs[2][12] == 1 and np.count_nonzero(obs[2]) == 2
    assert info["action_mask"][1].tolist() == [False, True, False, True]


def test_statistics_over_many_auto_resets():
    num_envs = 256
    envs = BatchedGame2048(num_envs, seed=1)
    envs.reset()
    rng = np.random.default_rng(0)
    score = np.zeros(num_envs, np.int64)
    length = np.zeros(num_envs, np.int64)
    finished = 0
    for _ in range(600):
        obs, reward, terminated, info = envs.step(random_legal(rng, envs.action_mask()))
        score += reward.astype(np.int64)
        length += 1
        assert info["action_mask"].any(axis=1).all()
        assert (info["final_score"][terminated] == score[terminated]).all()
        assert (info["final_length"][terminated] == length[terminated]).all()
        assert (info["final_max_tile"][terminated] >= 16).all()
        for key in ("final_score", "final_length", "final_max_tile"):
            assert not info[key][~terminated].any()
        assert (np.count_nonzero(obs[terminated], axis=1) == 2).all()
        finished += int(terminated.sum())
        score[terminated] = 0
        length[terminated] = 0
        assert (envs.episode_score == score).all() and (envs.episode_length == length).all()
    assert finished > 300


def test_spawns_have_the_right_odds_and_uniform_cells():
    num_envs = 20000
    envs = BatchedGame2048(num_envs, seed=2)
    obs = envs.reset()
    assert (np.count_nonzero(obs, axis=1) == 2).all()
    assert abs(np.mean(obs[obs > 0] == 2) - 0.1) < 0.01
    assert np.all(np.abs(np.count_nonzero(obs, axis=0) / (2 * num_envs / 16) - 1) < 0.08)
    # After a move: row 0 becomes [2, 0, 0, 0] and the tile goes to cell 1, 2 or 3.
    start = [0, 0, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    envs.reset(boards=np.tile(start, (num_envs, 1)))
    obs, _, _, _ = envs.step(np.full(num_envs, LEFT))
    spawned = obs != np.array([1, 0, 0, 0] + start[4:])
    assert (spawned.sum(axis=1) == 1).all() and not spawned[:, [0, *range(4, 16)]].any()
    assert np.all(np.abs(spawned[:, 1:4].mean(axis=0) * 3 - 1) < 0.06)


def test_same_seed_same_games():
    def play(seed):
        envs = BatchedGame2048(64, seed=seed)
        rng = np.random.default_rng(9)
        trace = [envs.reset()]
        for _ in range(200):
            obs, reward, terminated, info = envs.step(random_legal(rng, envs.action_mask()))
            trace += [obs, reward, terminated, info["final_score"]]
        return trace

    first, again, other = play(5), play(5), play(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    envs = BatchedGame2048(64, seed=0)
    assert np.array_equal(envs.reset(seed=5), first[0])


def test_boards_observations_and_errors():
    envs = BatchedGame2048(8, seed=3)
    with pytest.raises(RuntimeError):
        envs.step(np.zeros(8, np.int64))
    obs = envs.reset()
    assert obs.dtype == np.int8 and obs.shape == (8, 16) and obs[0] in envs.single_observation_space
    assert [decode_board(int(b)) for b in envs.boards] == obs.tolist()
    with pytest.raises(ValueError):
        envs.step(np.full(8, 4))
    with pytest.raises(ValueError):
        envs.step(np.zeros(7, np.int64))
    with pytest.raises(ValueError):
        envs.reset(boards=np.zeros((7, 16), np.int8))


@pytest.mark.parametrize("num_envs", [1, 8, 16])
def test_small_batch_path_plays_the_same_games_as_the_numpy_path(num_envs, monkeypatch):
    """Up to `SMALL_BATCH` boards, `step` moves them with Python ints; it must draw and place the
    spawns exactly as the numpy path does."""
    import model_studio.env.vector as vector

    def play(small_batch):
        monkeypatch.setattr(vector, "SMALL_BATCH", small_batch)
        envs = BatchedGame2048(num_envs, seed=7)
        rng = np.random.default_rng(3)
        trace = [envs.reset()]
        for step in range(600):
            mask = envs.action_mask()
            # mostly legal moves (long games, many resets), sometimes any move (no-change steps)
            actions = random_legal(rng, mask) if step % 4 else rng.integers(0, 4, num_envs)
            obs, reward, terminated, info = envs.step(actions)
            trace += [obs, reward, terminated, envs.boards, envs.episode_score, *info.values()]
        return trace

    small, numpy_path = play(num_envs), play(0)
    assert any(array.any() for array in small[7::9])  # some games finished (info["final_score"])
    assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(small, numpy_path, strict=True))
    envs = BatchedGame2048(num_envs, seed=0)
    envs.reset()
    for bad in (np.full(num_envs, 4), np.full(num_envs, -1), np.zeros(num_envs + 1, int)):
        with pytest.raises(ValueError):
            envs.step(bad)
