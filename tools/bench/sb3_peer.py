"""The SB3 peer of the benchmarks: sb3-contrib's MaskablePPO on gymnasium-2048, with action masks.

Runs only inside the peer venv that tools/bench/peers.py installs (pinned sb3-contrib,
stable-baselines3, gymnasium-2048; torch from the local CPU wheel); it imports nothing from the
project. bench_train.py and bench_learn.py call it; by hand:
    printf 'describe\nstart\n4\n4\nstop\n' | .setup/peers/sb3/bin/python tools/bench/sb3_peer.py serve --policy mlp --threads 1
    .setup/peers/sb3/bin/python tools/bench/sb3_peer.py learn --policy transformer --minutes 10 --games 200 --out /tmp/l.json

Settings (the ones the peer anchors were recorded with): 8 envs (DummyVecEnv, in this process),
n_steps 256 (2,048 samples per iteration), batch_size 256, n_epochs 4; every other PPO setting is
SB3's default (learning rate 3e-4, gamma 0.99, GAE 0.95, clip 0.2, no entropy bonus, raw merge
scores as rewards). gymnasium-2048 has no action mask of its own: the mask is each move's
legality (a tile has an empty or equal neighbour on that side), computed per step by a few numpy
comparisons; `check-masks` checks it against the env's own `apply_action` on 20,000 boards.

Policies:
  mlp          SB3's MlpPolicy: the flattened (4, 4, 16) one-hot board, separate 2x64 tanh MLPs for
               the policy and the value (SB3's default net_arch).
  transformer  the 16 cells as tokens: Linear(16 -> 64) of each cell's one-hot exponent plus a
               learned position, 2 pre-norm encoder layers (d_model 64, 4 heads, GELU feed-forward
               4x64, no dropout), a final LayerNorm, flattened to 1,024 features shared by linear
               policy and value heads: the same shape as the project's small-transformer template.

`serve`: for interleaving with bench_train's own windows (`peers.PeerSession`). One JSON line
per line on stdin: the first line (any) gets the description of the policy and settings; the
next starts training, and is answered once the warm-up iteration is done; after that each line
SECONDS is answered with env-steps/s over one window of whole PPO iterations (rollout +
optimisation) lasting at least SECONDS; `stop` ends it. See `Served`.
`learn`: trains for --minutes of wall clock, then plays --games evaluation games with the
stochastic policy (masked), game i starting from env.reset(seed=eval_seed + i), in batches.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time

import numpy as np
import torch
from gymnasium_2048.envs import TwentyFortyEightEnv
from sb3_contrib import MaskablePPO
from sb3_contrib.common.wrappers import ActionMasker
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

NUM_ENVS = 8
SETTINGS = {"n_steps": 256, "batch_size": 256, "n_epochs": 4}
REACH_TILES = (256, 512, 1024, 2048, 4096, 8192)
EVAL_BATCH = 64  # games played at once in evaluation: one batched forward pass per move
CELLS, D_MODEL, LAYERS, HEADS, FF_MULT = 16, 64, 2, 4, 4


def legal_moves(env) -> np.ndarray:
    """The moves (0 up, 1 right, 2 down, 3 left) that change the board: a tile has an empty or
    equal neighbour on that side. The same as `TwentyFortyEightEnv.apply_action(...)[2]` for each
    move (`check_masks` compares them), at a fraction of the cost, so the peer is not slowed by
    a mask it would not need to compute that way."""
    b = env.unwrapped.board
    return legal_on(b)


def legal_on(b: np.ndarray) -> np.ndarray:
    def toward(tiles: np.ndarray, neighbours: np.ndarray) -> bool:
        return bool(((tiles != 0) & ((neighbours == 0) | (neighbours == tiles))).any())

    return np.array([toward(b[1:], b[:-1]), toward(b[:, :-1], b[:, 1:]), toward(b[:-1], b[1:]), toward(b[:, 1:], b[:, :-1])])


def check_masks(boards: int = 20000, seed: int = 0) -> None:
    """`legal_on` against the env's own `apply_action` on boards from random games."""
    env, rng = TwentyFortyEightEnv(), np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(boards):
        board = env.unwrapped.board
        slow = np.array([TwentyFortyEightEnv.apply_action(board, action)[2] for action in range(4)])
        assert (legal_on(board) == slow).all(), (board, slow)
        legal = np.flatnonzero(slow)
        _, _, terminated, _, _ = env.step(int(rng.choice(legal)))
        if terminated:
            env.reset()


def make_env() -> ActionMasker:
    return ActionMasker(TwentyFortyEightEnv(), legal_moves)


class CellTransformer(BaseFeaturesExtractor):
    """The 16 cells of the (4, 4, 16) one-hot board as tokens, through a small transformer."""

    def __init__(self, observation_space):
        super().__init__(observation_space, features_dim=CELLS * D_MODEL)
        self.embed = nn.Linear(observation_space.shape[-1], D_MODEL)
        self.positions = nn.Parameter(torch.randn(CELLS, D_MODEL) * 0.02)
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF_MULT * D_MODEL, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D_MODEL)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(observations.reshape(observations.shape[0], CELLS, -1).float()) + self.positions
        return self.norm(self.encoder(tokens)).flatten(1)


POLICIES = {
    "mlp": {"policy": "MlpPolicy", "policy_kwargs": None,
            "describe": "MlpPolicy, separate 2x64 tanh MLPs for policy and value over the flattened one-hot board"},
    "transformer": {"policy": "MlpPolicy", "policy_kwargs": {"features_extractor_class": CellTransformer, "net_arch": []},
                    "describe": "16 cell tokens, d_model 64, 2 pre-norm layers, 4 heads, GELU FF 4x, LayerNorm, flatten, linear heads"},
}


def build(policy: str, seed: int) -> MaskablePPO:
    spec = POLICIES[policy]
    envs = make_vec_env(make_env, n_envs=NUM_ENVS, seed=seed)
    return MaskablePPO(spec["policy"], envs, policy_kwargs=spec["policy_kwargs"], seed=seed, device="cpu", verbose=0, **SETTINGS)


def describe(model: MaskablePPO, policy: str) -> dict:
    packages = {name: importlib.metadata.version(name) for name in ("sb3-contrib", "stable-baselines3", "gymnasium-2048", "gymnasium", "torch", "numpy")}
    return {
        "algorithm": "sb3_contrib.MaskablePPO",
        "env": "gymnasium_2048 TwentyFortyEightEnv in a DummyVecEnv; masks: per-move legality (numpy, equal to the env's apply_action)",
        "policy": policy,
        "policy_description": POLICIES[policy]["describe"],
        "parameters": sum(p.numel() for p in model.policy.parameters()),
        "packages": packages,
        "torch_threads": torch.get_num_threads(),
        "settings": {
            "n_envs": NUM_ENVS, **SETTINGS,
            "learning_rate": model.learning_rate, "gamma": model.gamma, "gae_lambda": model.gae_lambda,
            "clip_range": 0.2, "ent_coef": model.ent_coef, "vf_coef": model.vf_coef, "max_grad_norm": model.max_grad_norm,
            "normalize_advantage": model.normalize_advantage, "reward": "raw merge score (no normalisation)",
        },
    }


def next_line() -> str:
    """The next command on stdin; its end reads as `stop`."""
    return sys.stdin.readline().strip() or "stop"


class Served(BaseCallback):
    """Timed windows of PPO iterations on request, for `serve`. After the warm-up iteration it
    answers the start line with {"ready": true}; then each line `SECONDS` starts a window
    at the next iteration boundary, answered with {"env_steps_per_s": ..., "iterations": ...} at
    the first boundary SECONDS or more later. `stop` (or the end of stdin) ends training. Between
    a window's end and the next line, training waits on stdin, using no CPU."""

    def __init__(self):
        super().__init__()
        self.iterations = 0
        self.window: tuple[float, float, int] | None = None  # (seconds, start time, start steps)
        self.window_iterations = 0
        self.done = False

    def _on_rollout_start(self) -> None:
        now, steps = time.perf_counter(), self.model.num_timesteps
        self.iterations += 1
        if self.iterations == 1:
            return  # the warm-up iteration starts here
        if self.window is None:
            answer = {"ready": True}
        else:
            seconds, start, start_steps = self.window
            self.window_iterations += 1
            if now - start < seconds:
                return
            answer = {"env_steps_per_s": (steps - start_steps) / (now - start), "iterations": self.window_iterations}
        print(json.dumps(answer), flush=True)
        line = next_line()
        if line == "stop":
            self.done = True
            return
        self.window = (float(line), time.perf_counter(), self.model.num_timesteps)
        self.window_iterations = 0

    def _on_step(self) -> bool:
        return not self.done


class Deadline(BaseCallback):
    """Stops training once `seconds` have passed (mid-rollout: that last rollout is not trained on)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def _on_training_start(self) -> None:
        self.started = time.monotonic()

    def _on_step(self) -> bool:
        return time.monotonic() - self.started < self.seconds


def play(model: MaskablePPO, games: int, eval_seed: int) -> dict:
    """Play `games` games, EVAL_BATCH at once, each to its end, sampling from the masked policy."""
    torch.manual_seed(eval_seed)
    scores, lengths, tiles = [], [], []
    playing: list[list] = []  # [env, observation, length]
    started = 0
    while playing or started < games:
        while len(playing) < EVAL_BATCH and started < games:
            env = TwentyFortyEightEnv()
            observation, _ = env.reset(seed=eval_seed + started)
            playing.append([env, observation, 0])
            started += 1
        masks = np.stack([legal_moves(env) for env, _, _ in playing])
        actions, _ = model.predict(np.stack([obs for _, obs, _ in playing]), action_masks=masks, deterministic=False)
        still = []
        for game, action in zip(playing, actions):
            env = game[0]
            game[1], _, terminated, truncated, info = env.step(int(action))
            game[2] += 1
            if terminated or truncated:
                scores.append(info["total_score"])
                lengths.append(game[2])
                tiles.append(2 ** info["max"])
                env.close()
            else:
                still.append(game)
        playing = still
    scores, tiles = np.array(scores), np.array(tiles)
    return {
        "games": len(scores),
        "mean_score": float(scores.mean()),
        "max_score": int(scores.max()),
        "mean_length": float(np.mean(lengths)),
        "reach": {str(tile): float(np.mean(tiles >= tile)) for tile in REACH_TILES},
        "scores": scores.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-masks")
    serve = sub.add_parser("serve")
    learn = sub.add_parser("learn")
    learn.add_argument("--minutes", type=float, required=True)
    learn.add_argument("--games", type=int, default=200)
    learn.add_argument("--eval-seed", type=int, required=True)
    learn.add_argument("--out", required=True)
    for command in (serve, learn):
        command.add_argument("--policy", choices=sorted(POLICIES), required=True)
        command.add_argument("--threads", type=int, required=True)
        command.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command == "check-masks":
        check_masks()
        print("masks agree with apply_action")
        return
    torch.set_num_threads(args.threads)
    model = build(args.policy, args.seed)
    result = describe(model, args.policy)
    result["seed"] = args.seed
    if args.command == "serve":
        if next_line() != "stop":  # the first line: describe
            print(json.dumps({**result, "samples_per_iteration": NUM_ENVS * SETTINGS["n_steps"]}), flush=True)
            if next_line() != "stop":  # the second: start (answered by Served once warm)
                model.learn(total_timesteps=10**12, callback=Served())
        return
    deadline = Deadline(60 * args.minutes)
    start = time.monotonic()
    model.learn(total_timesteps=10**12, callback=deadline)
    elapsed = time.monotonic() - start
    result.update({"minutes": args.minutes, "iterations": model._n_updates // SETTINGS["n_epochs"], "env_steps": model.num_timesteps,
                   "elapsed_s": elapsed, "env_steps_per_s": model.num_timesteps / elapsed})
    evaluation_start = time.monotonic()
    result["evaluation"] = {"eval_seed": args.eval_seed, "games_seeded": f"env.reset(seed={args.eval_seed} + i)",
                            "policy": "stochastic (masked)", **play(model, args.games, args.eval_seed)}
    result["evaluation"]["elapsed_s"] = time.monotonic() - evaluation_start
    with open(args.out, "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    main()
