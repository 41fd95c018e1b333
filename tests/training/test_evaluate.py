"""Evaluation games, summaries of training updates, and the score table."""

import numpy as np
import pytest
import torch
from torch import nn

from model_studio.contracts import EpisodeStats, LossStats, MoEStats, ScoreSummary, TrainingUpdate
from model_studio.training.evaluate import format_summary, play_games, score_summary, summary_of_updates


class PreferUp(nn.Module):
    """A stand-in policy: logits [3, 2, 1, 0] (up, right, down, left), masked like a GameTransformer."""

    def forward(self, board, action_mask):
        logits = torch.tensor([3.0, 2.0, 1.0, 0.0]).expand(len(board), 4)
        return logits.masked_fill(~action_mask, torch.finfo(torch.float32).min), torch.zeros(len(board))


def update(number: int, count: int, mean: float, best: int, tiles: dict[str, int]) -> TrainingUpdate:
    return TrainingUpdate(
        run_id="run",
        update=number,
        env_steps=number * 100,
        env_steps_per_s=1.0,
        elapsed_s=1.0,
        learning_rate=1e-3,
        episodes=EpisodeStats(count=count, mean_score=mean if count else None, max_score=best if count else None, mean_length=10.0 if count else None, max_tile=tiles),
        losses=LossStats(policy_loss=0, value_loss=0, entropy=0, approx_kl=0, clip_fraction=0, lb_loss=0, aux_loss=0),
        moe=MoEStats(expert_usage=[], lb_reward=0.0),
    )


def test_each_board_plays_exactly_one_game_and_seeds_repeat():
    summary = play_games(PreferUp(), games=37, greedy=True, seed=1)
    assert summary.games == 37
    assert summary == play_games(PreferUp(), games=37, greedy=True, seed=1)
    assert summary.mean_score > 0 and summary.max_score >= summary.mean_score
    assert set(summary.reach) == {"256", "512", "1024", "2048", "4096", "8192"}
    stochastic = play_games(PreferUp(), games=37, greedy=False, seed=1)
    assert stochastic.games == 37 and stochastic != summary


def test_score_summary_reach_rates_are_at_least_the_tile():
    summary = score_summary(np.array([1000, 3000, 9000, 20000, 70000]), np.array([100, 200, 500, 900, 2500]), np.array([128, 256, 1024, 2048, 4096]))
    assert summary.reach == {"256": 0.8, "512": 0.6, "1024": 0.6, "2048": 0.4, "4096": 0.2, "8192": 0.0}
    assert (summary.games, summary.mean_score, summary.max_score, summary.mean_length) == (5, 20600.0, 70000, 840.0)


def test_summary_of_updates_takes_the_latest_updates_with_enough_games():
    updates = [update(1, 5, 100.0, 200, {"64": 5}), update(2, 0, 0, 0, {}), update(3, 2, 1000.0, 1500, {"256": 1, "512": 1}), update(4, 2, 2000.0, 3000, {"512": 1, "8192": 1})]
    summary = summary_of_updates(updates, min_games=3)  # updates 4 and 3: 4 games
    assert summary.games == 4
    assert summary.mean_score == 1500.0 and summary.max_score == 3000
    assert summary.reach == {"256": 1.0, "512": 0.75, "1024": 0.25, "2048": 0.25, "4096": 0.25, "8192": 0.25}
    assert summary_of_updates(updates, min_games=100).games == 9  # all there is
    assert summary_of_updates([update(1, 0, 0, 0, {})]).games == 0


def test_the_table_shows_scores_reach_rates_and_the_checkpoint():
    reach = {"256": 0.75, "512": 0.5, "1024": 0.5, "2048": 0.25, "4096": 0.125, "8192": 0.0}
    table = format_summary(ScoreSummary(games=4, mean_score=8250.0, max_score=20000, mean_length=425.0, reach=reach), "runs/x/checkpoint.pt")
    assert "mean score    8,250" in table and "checkpoint    runs/x/checkpoint.pt" in table
    assert "reached 1024  50.0%" in table and "reached 4096  12.5%" in table and "reached 8192  0.0%" in table
    empty = format_summary(ScoreSummary(games=0, mean_score=None, max_score=None, mean_length=None, reach={}))
    assert "mean score    -" in empty and "reached 8192  -" in empty


def test_zero_games_is_refused():
    with pytest.raises(ValueError):
        play_games(PreferUp(), games=0)
