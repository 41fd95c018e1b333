"""PPO learns: a short run on tiny-dense plays clearly better than random, and a PPO with its
advantage's sign flipped does not (so the bar separates learning from not learning).

The run: `PPOTrainer` on schema/templates/tiny-dense.json, seed 0, a steps budget of 40 updates
of 128 boards x 64 moves (327,680 env steps; the learning rate annealed by
`Budget.progress`, as the manager does), one torch thread, float32 (bf16 autocast off, so the
run is the same on CPUs with and without bf16), every PPOConfig field the test relies on written
out below (the defaults are being tuned). Then `play_games` on 200 fresh games (seed 1000; the
training games come from seed 0), moves sampled from the policy, against a uniform policy (all
logits equal: a random legal move) on the same 200 games through the same code path. The bar:
twice the larger of the measured random mean and RANDOM_ANCHOR (1,096, the random-legal-move mean
measured independently).

Measured on the shared 2-core development machine: random 1,092; trained 3,322 (3.0x random;
the bar is 2,192, margin +52%). While choosing the config, other training seeds (0-7, evaluated on
other games) reached 2.65x to 4.1x random with it; 30 updates, or a learning rate of 1e-3 or 2e-3,
fell below 2x for some seeds. With the advantage's sign flipped (compute_gae monkeypatched to
return -advantages): 577 (0.53x random), far below the bar. Checked: the learning test run with
that flip applied (a scratch pytest plugin, not committed) fails, 577 against 2,192; the second
test below keeps that check. Training takes 14-16 s per run, evaluation under a second: about
15 s per test, 30 s for the file.
"""

from __future__ import annotations

import json
import time

import torch
from torch import nn

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model
from model_studio.training import Budget, PPOConfig, PPOTrainer, play_games
from model_studio.training import ppo

RANDOM_ANCHOR = 1096.0  # mean score of a random legal move, measured independently
BAR_RATIO = 2.0
EVAL_GAMES = 200
EVAL_SEED = 1000
UPDATES = 40
CONFIG = PPOConfig(
    seed=0,
    num_envs=128,
    num_steps=64,
    learning_rate=3e-3,
    anneal_lr=True,
    gamma=0.999,
    gae_lambda=0.95,
    minibatch_size=512,
    update_epochs=2,
    norm_adv=True,
    clip_coef=0.2,
    ent_coef=0.003,
    vf_coef=0.5,
    max_grad_norm=0.5,
    target_kl=None,
    normalize_reward=True,
    torch_threads=1,
    bf16=False,
    reward="score",
)


class UniformPolicy(nn.Module):
    """All logits equal: `play_games` then samples a uniformly random legal move."""

    def forward(self, board: torch.Tensor, action_mask: torch.Tensor | None = None):
        return torch.zeros(board.shape[0], 4), torch.zeros(board.shape[0])


def train_tiny_dense() -> tuple[nn.Module, float]:
    """The short run; returns the trained model and the seconds it took."""
    started = time.perf_counter()
    design = json.loads((SCHEMA_DIR / "templates" / "tiny-dense.json").read_text())
    trainer = PPOTrainer(build_model(design, seed=CONFIG.seed), CONFIG, run_id="learning-test")
    budget = Budget(max_env_steps=UPDATES * CONFIG.batch_size)
    while (progress := budget.progress(trainer.env_steps, 0.0)) < 1.0:
        assert trainer.update(progress) is not None
    assert trainer.update_count == UPDATES
    return trainer.model.eval(), time.perf_counter() - started


def score_and_bar() -> tuple[float, float, str]:
    model, train_s = train_tiny_dense()
    started = time.perf_counter()
    trained = play_games(model, EVAL_GAMES, seed=EVAL_SEED).mean_score
    random = play_games(UniformPolicy(), EVAL_GAMES, seed=EVAL_SEED).mean_score
    assert 0.8 * RANDOM_ANCHOR <= random <= 1.25 * RANDOM_ANCHOR, f"the random policy scored {random:.0f}: is evaluation broken?"
    bar = BAR_RATIO * max(random, RANDOM_ANCHOR)
    timing = f"trained {trained:,.0f}, random {random:,.0f}, bar {bar:,.0f}; training {train_s:.1f} s, evaluation {time.perf_counter() - started:.1f} s"
    print(timing)
    return trained, bar, timing


def test_a_short_run_plays_at_least_twice_as_well_as_random():
    trained, bar, timing = score_and_bar()
    assert trained >= bar, timing


def test_with_the_advantage_sign_flipped_the_same_run_stays_below_the_bar(monkeypatch):
    compute_gae = ppo.compute_gae

    def flipped(*args, **kwargs):
        advantages, returns = compute_gae(*args, **kwargs)
        return -advantages, returns

    monkeypatch.setattr(ppo, "compute_gae", flipped)
    trained, bar, timing = score_and_bar()
    assert trained < bar, timing
