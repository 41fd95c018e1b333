"""Proximal Policy Optimization for any compiled design, on the batched 2048 env; one file, in
the manner of CleanRL's `ppo.py`.

One update = a rollout (`num_steps` moves on each of `num_envs` boards, sampled from the current
policy with illegal moves masked out), generalized advantage estimation, then `update_epochs`
passes of minibatch Adam on

    loss = clipped policy loss + vf_coef * value loss - ent_coef * entropy
           + model.latest_lb_loss + model.aux_loss(board)

The last two terms come from the design (a routed MoE layer's Switch load-balancing loss times
its router's lb_coef; an aux head's MSE times its weight) and are zero for designs without them.

Everything random is drawn from generators seeded by `PPOConfig.seed` (the env's spawns, action
sampling, minibatch order; the manager draws the initial weights with `codegen.instantiate(module,
seed)`). So on one machine the same seed, design and thread count give the same metrics (all
but the timings) when the run has a steps budget or none. Under a minutes budget they do not: how
many updates fit, and so each update's learning rate (annealed by the fraction of the budget
spent), depend on the machine's speed and load. A resumed run continues the counters, the clock
and the learning-rate schedule, but plays new games (`PPOTrainer.load_state`), so its metrics are
not the ones the run would have had without the interruption.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from model_studio.catalogue import load_catalogue
from model_studio.contracts import EpisodeStats, LossStats, MoEStats, TrainingUpdate
from model_studio.env.vector import BatchedGame2048
from model_studio.training.compiled import CompiledModel
from model_studio.training.onnx_rollout import rollout_policy
from model_studio.training.optim import DenseSparseAdam
from model_studio.training.threads import AdaptiveThreads, runnable_elsewhere, set_torch_threads

REWARDS = ("score", "log2")
# Below this many boards a forward is mostly per-call overhead: casting weights to bf16 costs more
# than it saves, and onnxruntime runs a rollout's forward faster than eager torch (`onnx_rollouts`).
SMALL_BATCH = 64
# Boards per gradient step that the designer's memory estimate assumes (the catalogue's 512).
MEMORY_MINIBATCH = load_catalogue().doc.memory.minibatch
# Bounds that keep a config's memory finite: boards in play (a rollout forward runs on all of them
# at once; evaluation plays 1,024), samples per update (64 times the default's 16,384) and boards
# per gradient step (activations grow with it).
MAX_ENVS = 4096
MAX_SAMPLES = 1 << 20
MAX_MINIBATCH = 32 * MEMORY_MINIBATCH


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters. The defaults were tuned on tiny-dense (10-minute runs on a shared
    2-core CPU, or runs of a fixed number of env steps) and checked on small-transformer and
    tuple-network (4-minute runs alone on the machine), each run then playing fresh games on
    tuning seeds, never those `bench-learn` reports. The notes on each field say what was
    compared; each comparison is one training seed, so differences under about 10% are noise.
    Fields without a comparison keep CleanRL's value."""

    seed: int = 0
    # Seeds the env's spawns, action sampling and minibatch order; the manager also draws the
    # initial weights from it (`codegen.instantiate(module, seed)`).
    num_envs: int = 256
    # Boards played in parallel. Hundreds make each forward pass a big, cheap batch and give
    # decorrelated samples; 2048 games are long (hundreds of moves), so many boards are needed
    # for a steady stream of finished games to report.
    num_steps: int = 64
    # Moves per board per rollout: num_envs * num_steps = 16,384 samples per update, about half a
    # second for tiny-dense: a metrics event every second or so. Fewer moves per rollout (more
    # updates for the same samples and Adam steps) lost on small-transformer (10-minute runs,
    # tuning seed 0: 6,029 at 16 and 6,580 at 32 vs 7,961): at 16 it learned fastest at first,
    # then its policy's entropy fell to about 0.05 and its scores fell back; a learning rate of
    # 5e-4 or an entropy bonus of 0.01 with it did no better (7,186 and 6,898). 1,024 boards x 16
    # moves (the same samples per update, about 20% more steps/s for tuple-network) split
    # tuple-network's two tuning seeds: 33,685 vs 31,951 and 27,158 vs 31,312 (10-minute runs).
    learning_rate: float = 1e-3
    # Adam step size at the start. Larger than CleanRL's Atari 2.5e-4: the templates are small, the
    # batches large (16k samples), and a 10-minute run cannot afford a slow start. 4-minute runs,
    # tuning games: small-transformer 3,897 at 5e-4, 5,408 at 1e-3, 5,861 at 2e-3 (within the
    # noise) and 2,829 at 4e-3 (unstable); tuple-network 21,587 at 1e-3, 15,401 at 2e-3, and its
    # tables alone at 10x did worse too (11,040 vs 14,160, 8 tuples). Lower did worse as well:
    # tuple-network at 5e-4, 10-minute runs side by side, seeds 0 and 1: 19,929 vs 23,985. And
    # 2e-3 lost on small-transformer over 10 minutes, each run alone, seeds 0 and 1: 6,222 vs
    # 6,887 and 6,041 vs 6,961 (tools/bench/results/small-transformer-levers/).
    anneal_lr: bool = True
    # Decay the learning rate linearly to 0 over the run's budget (steps or minutes, whichever
    # runs out first), as CleanRL does; without a budget it stays constant. A constant rate lost
    # on tuple-network (10-minute runs, tuning seed 0: 24,245 vs the template's 26,087 to 32,355),
    # though it led mid-run; holding it for half the run, then decaying it, did no better (26,272).
    gamma: float = 0.999
    # Discount. Score comes from surviving: a game that reaches 1024 lasts ~1,000 moves, and the
    # merges that keep a board alive pay off hundreds of moves later. 0.999 (a ~1,000-move horizon)
    # beat 0.995 (3-minute runs: 9,430 vs 8,784; again with lambda 0.65 and log2 rewards, 3 M
    # steps: 10,104 vs 9,682; tuple-network, 4-minute runs: 21,587 vs 19,474 at 0.998); with
    # normalised rewards the values stay small. Longer did worse: tuple-network at 0.9995,
    # 10-minute runs, seeds 0 to 2, 23,573 vs 25,020 (seed 2, the two side by side: 21,803 vs 24,819);
    # alone on the machine, tuning seed 0: 26,464 vs the template's 26,087 to 32,355 (no better).
    gae_lambda: float = 0.65
    # GAE bias/variance trade-off. Lower than the usual 0.95, as PufferLib's 2048 PPO uses: a
    # 2048 return sums hundreds of dice-rolled spawns, so long lambda-returns are mostly noise
    # (tiny-dense, 3 M steps, tuning games: 8,854 at 0.65 with gamma 0.995 vs 7,902 with the old
    # defaults, 0.95 and gamma 0.999). Like the reward below, it speeds up the first millions of
    # steps; after 10 minutes (about 23 M steps) tiny-dense ends near 16,500 either way. 0.8 on
    # tuple-network showed no gain either (10-minute runs; see tools/bench/results/README.md), and
    # 0.95 lost on small-transformer (10-minute runs, tuning seed 0: 7,164 vs 7,961).
    minibatch_size: int = MEMORY_MINIBATCH
    # Boards per gradient step: the catalogue's `memory.minibatch` (512), because the memory
    # estimate shown in the designer assumes exactly this. 1024 gained nothing (4-minute runs:
    # tuple-network 21,521 vs 21,587, small-transformer 5,338 vs 5,408), nor did 256, twice the
    # Adam steps per sample (report runs, 10 minutes, 3 seeds, means within 2% of 512's:
    # small-transformer 8,258 against 8,301, moe-router 8,511 against 8,619).
    update_epochs: int | None = None
    # Passes over each rollout. None, the default, lets the design decide: 1 for a model with
    # sparse lookup tables (an `ntuple` or `tuple_embedding` block), 2 for the rest. A table row
    # learns only from the samples that visit it, so for tables fresh samples beat a second pass
    # over the same ones; dense weights learn from every sample, and there a second pass beats the
    # extra samples.
    # Report runs, 10 minutes, 3 seeds each, 1 epoch against 2: tuple-network 27,862 against
    # 26,038, 2048 in 65.5% against 58.5% (33.7 M steps against 20.0 M); tiny-dense 14,797
    # against 16,355, 1024 in 62.2% against 70.5% (35.1 M against 21.1 M); small-transformer
    # 7,199 against 8,301, 1024 in 15.2% against 24.5% (3.9 M against 2.4 M); moe-router 8,326
    # against 8,619, 1024 in 24.2% against 27.3% (3.7 M against 2.2 M). Fewer than CleanRL's
    # four: on a CPU the optimisation dominates the cost (tiny-dense, 10 minutes: 17,033 with 2
    # epochs and 15.2 M steps, 13,505 with 4 and 9.4 M).
    norm_adv: bool = True
    # Normalise advantages per minibatch (zero mean, unit std), as CleanRL does.
    clip_coef: float = 0.2
    # PPO's ratio clip, the paper's value.
    ent_coef: float = 0.003
    # Entropy bonus. Small: masking already removes the pointless moves, and a random move late in
    # a game can end it; 0.01 did no better (3-minute runs: 8,558 vs 8,784, within the noise), nor
    # did 0.001 on tuple-network (4-minute runs: 22,765 vs 21,587, within the noise; 10-minute runs
    # side by side, seeds 0 and 1: 23,400 vs 23,337 and 26,570 vs 27,378), nor 0.01 on
    # small-transformer (10-minute runs, tuning seed 0: 7,994 vs 7,961).
    vf_coef: float = 0.5
    # Weight of the value loss (shared trunk), CleanRL's value. 1.0 on tuple-network showed no gain
    # that the machine's drift between runs could not explain (see tools/bench/results/README.md).
    max_grad_norm: float = 0.5
    # Global gradient-norm clip, CleanRL's value.
    target_kl: float | None = None
    # Stop an update's epochs early once the mean approximate KL exceeds this; off, as in CleanRL
    # (few epochs keep each update's policy change small: with two, approx KL stayed around 0.005).
    reward: str = "log2"
    # What a move earns: "score", the merge score (4 for two 2s, 2048 for two 1024s), or "log2",
    # log2(1 + merge score), which compresses the late game's huge merges (PufferLib's 2048
    # lever) so that early merges still register in the value targets (tiny-dense, 3 M steps,
    # tuning games, lambda 0.65 and gamma 0.995: 9,682 with log2 vs 8,854 with score; tuple-network,
    # 10-minute runs, tuning seed 0: score no better, 26,628 vs the template's 26,087 to 32,355).
    normalize_reward: bool = True
    # Divide rewards (merge scores, from 4 up to tens of thousands) by a running standard
    # deviation of the discounted return, so value targets stay near unit scale as scores grow.
    torch_threads: int = 0
    # Torch intra-op threads for the training process; 0 adapts between updates: every core
    # while nothing else on the machine is runnable, one fewer while something is (see
    # `training.threads`). Metrics repeat exactly only with a fixed count.
    bf16: bool = True
    # Autocast the model's matrix products to bfloat16 where the CPU computes bf16 natively
    # (AVX-512 BF16 or AMX; `bf16_supported()`), for batches of at least SMALL_BATCH boards.
    # Softmaxes, norms, the action heads and the loss stay float32. Measured with
    # `tools/bench/bench_train.py`: see the README for the speed-up per template. It costs no
    # learning that one seed shows: small-transformer in float32 (10-minute run, tuning seed 0)
    # ended at 7,420 against 7,961, on 1.88 M steps against 2.36 M.
    torch_compile: bool = False
    # Run the model's forward and backward through torch.compile (`training.compiled`; Inductor
    # needs a C++ compiler, and without one the trainer warns and stays eager). The first update
    # pays a one-off compile per batch shape: about 30 s for small-transformer and 50 s for
    # deep-checkpointed on the 2-core machine, less when Inductor's disk cache holds the graphs.
    # It pays for plain layers (bench-train's last three runs, small-transformer: 1.03x to 1.18x at
    # SB3's settings, 1.09x to 1.14x at ours, medians of window pairs), little or not at all for
    # routed MoE layers (0.95x to 1.11x), whose data-dependent routing breaks the graph. Off by
    # default: a 10-minute run spends ~5% of itself compiling, and its first metrics event waits.
    onnx_rollouts: bool = True
    # With fewer than SMALL_BATCH envs (SB3's settings use 8), run the rollout's forwards in
    # onnxruntime (`training.onnx_rollout`), which reads the live parameters: the same policy,
    # without eager torch's per-op overhead. Not with torch_compile, nor for designs with a routed
    # MoE layer (they stay in torch). At 256 boards torch was as fast or faster (small-transformer,
    # tuple-network, tiny-dense), so big rollouts stay in torch. What it buys a whole update:
    # `training.onnx_rollout`'s docstring and bench-train's "onnxruntime rollouts" lever.

    def __post_init__(self) -> None:
        positive = ("num_envs", "num_steps", "minibatch_size", "update_epochs")
        for name in positive:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):  # inf or nan: no comparison below catches nan
                raise ValueError(f"{field.name} must be a finite number")
        if self.num_envs > MAX_ENVS:
            raise ValueError(f"num_envs must be at most {MAX_ENVS:,}")
        if self.batch_size > MAX_SAMPLES:
            raise ValueError(f"num_envs * num_steps must be at most {MAX_SAMPLES:,} samples per update")
        if self.minibatch_size > MAX_MINIBATCH:
            raise ValueError(f"minibatch_size must be at most {MAX_MINIBATCH:,}")
        if not (0.0 < self.gamma <= 1.0 and 0.0 <= self.gae_lambda <= 1.0):
            raise ValueError("gamma must be in (0, 1] and gae_lambda in [0, 1]")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {', '.join(REWARDS)}")
        if self.learning_rate <= 0 or self.torch_threads < 0:
            raise ValueError("learning_rate must be positive and torch_threads not negative")

    @property
    def batch_size(self) -> int:
        """Samples per update."""
        return self.num_envs * self.num_steps

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> PPOConfig:
        """Rebuild from `to_dict`, ignoring unknown keys (a checkpoint from another version)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def bf16_supported() -> bool:
    """Whether this CPU multiplies bfloat16 natively (oneDNN's check: AVX-512 BF16 or AMX);
    elsewhere bf16 autocast would be emulated and slower than float32."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


# ---- the pieces, each unit-tested against hand-computed values ----


def autocast_bf16(enabled: bool) -> torch.autocast:
    """The context a model's forward runs in: bf16 matrix products when enabled, else a no-op."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def masked_log_probs(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the masked categorical: illegal moves get probability 0 (and a log-prob
    of -inf's stand-in, the dtype minimum, which is never sampled)."""
    return logits.masked_fill(~mask, torch.finfo(logits.dtype).min).log_softmax(-1)


def sample_masked(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One action per row of `probs` (B, 4): exactly what `torch.multinomial(probs, 1, generator=
    generator).squeeze(1)` returns, with the same draws from `generator`. For one sample ATen's
    multinomial is argmax(probs / q), q ~ Exp(1) (the Gumbel-max trick), after input checks that
    cost more than the sampling at a batch of 8; the probabilities here come from a softmax, so
    the checks cannot fail. Illegal moves have probability 0 and are never chosen."""
    return (probs / torch.empty_like(probs).exponential_(1, generator=generator)).argmax(-1)


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Entropy over the legal moves only; illegal moves contribute exactly 0 (not 0 * -huge)."""
    return -torch.where(mask, log_probs.exp() * log_probs, 0.0).sum(-1)


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminated: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation over a (T, N) rollout; returns (advantages, returns).

    `terminated[t]` means the move at step t ended its game: the env has already started a new
    game on that board, so nothing after it is bootstrapped. `next_value` (N,) is the value of the
    boards after the last step. 2048 has no time limit, so there is no truncation to handle.
    """
    # The per-step terms for all steps at once (the same elementwise operations in the same order
    # as a step-by-step loop), then only the recursion A[t] = delta[t] + gamma * lambda * alive[t]
    # * A[t+1] step by step, on numpy views: a few hundred small torch calls cost milliseconds.
    following = torch.cat([values[1:], next_value[None]])
    alive = 1.0 - terminated.to(rewards.dtype)
    delta = rewards + gamma * following * alive - values
    decay = (gamma * gae_lambda * alive).numpy()
    advantages = delta.clone()
    advantages_np, delta_np = advantages.numpy(), delta.numpy()
    for t in range(rewards.shape[0] - 2, -1, -1):
        advantages_np[t] = delta_np[t] + decay[t] * advantages_np[t + 1]
    return advantages, advantages + values


@dataclass
class LossTerms:
    policy: torch.Tensor  # clipped surrogate, to minimise
    value: torch.Tensor  # 0.5 * mean squared error
    approx_kl: torch.Tensor  # k3 estimator of KL(old || new), no gradient
    clip_fraction: torch.Tensor  # share of samples outside the clip range, no gradient


def ppo_loss_terms(
    new_log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    new_value: torch.Tensor,
    returns: torch.Tensor,
    clip_coef: float,
) -> LossTerms:
    """PPO's clipped policy loss and the value loss for one minibatch (advantages as given: the
    caller normalises them). The value loss is not clipped: Andrychowicz et al. (2021) found value
    clipping no help or harmful."""
    log_ratio = new_log_prob - old_log_prob
    ratio = log_ratio.exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef)
    with torch.no_grad():
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > clip_coef).float().mean()
    return LossTerms(
        policy=torch.max(unclipped, clipped).mean(),
        value=0.5 * (new_value - returns).pow(2).mean(),
        approx_kl=approx_kl,
        clip_fraction=clip_fraction,
    )


def combined_loss(terms: LossTerms, entropy: torch.Tensor, lb_loss: torch.Tensor, aux_loss: torch.Tensor, config: PPOConfig) -> torch.Tensor:
    """The minimised loss: PPO's three terms plus the design's own, already weighted, losses."""
    return terms.policy + config.vf_coef * terms.value - config.ent_coef * entropy + lb_loss + aux_loss


class RunningReturnScale:
    """Scales rewards by 1 / std of the discounted return, tracked per board with a running
    variance (Chan et al.'s parallel update), as gymnasium's NormalizeReward and CleanRL do."""

    EPSILON = 1e-8

    def __init__(self, num_envs: int, gamma: float) -> None:
        self.gamma = gamma
        self.returns = np.zeros(num_envs)
        self.mean, self.var, self.count = 0.0, 1.0, self.EPSILON

    def __call__(self, rewards: np.ndarray, terminated: np.ndarray) -> np.ndarray:
        self.returns = returns = self.returns * self.gamma + rewards
        # ndarray.mean() and .var() computed as numpy computes them (same sums, same rounding),
        # without their Python-level wrappers: this runs once per env step.
        batch_count = len(returns)
        batch_mean = np.add.reduce(returns) / batch_count
        centred = returns - batch_mean
        batch_var = np.add.reduce(centred * centred) / batch_count
        delta, total = batch_mean - self.mean, self.count + batch_count
        self.mean += delta * batch_count / total
        self.var = (self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total) / total
        self.count = total
        self.returns[terminated] = 0.0
        return rewards / np.sqrt(self.var + self.EPSILON)

    def state(self) -> dict[str, float]:
        return {"mean": float(self.mean), "var": float(self.var), "count": float(self.count)}

    def load_state(self, state: dict[str, float]) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]


def episode_stats(scores: np.ndarray, lengths: np.ndarray, max_tiles: np.ndarray) -> EpisodeStats:
    """Summarise the games finished in one update."""
    if len(scores) == 0:
        return EpisodeStats(count=0, mean_score=None, max_score=None, mean_length=None, max_tile={})
    tiles, counts = np.unique(max_tiles, return_counts=True)
    return EpisodeStats(
        count=len(scores),
        mean_score=float(scores.mean()),
        max_score=int(scores.max()),
        mean_length=float(lengths.mean()),
        max_tile={str(tile): int(count) for tile, count in zip(tiles.tolist(), counts.tolist())},
    )


@dataclass
class Rollout:
    """One rollout, (T, N, ...) tensors, plus the games it finished."""

    boards: torch.Tensor  # int8 exponents (T, N, 16): 8x smaller than int64, widened per minibatch
    masks: torch.Tensor  # bool (T, N, 4)
    actions: torch.Tensor  # int64 (T, N)
    log_probs: torch.Tensor  # (T, N) log-prob of the action under the rollout policy
    values: torch.Tensor  # (T, N)
    rewards: torch.Tensor  # (T, N), scaled
    terminated: torch.Tensor  # bool (T, N)
    next_value: torch.Tensor  # (N,) value of the boards after the last step
    episodes: EpisodeStats
    expert_usage: list[list[float]]  # per MoE layer, averaged over the rollout's forwards


class PPOTrainer:
    """Trains `model` (a compiled design's `GameTransformer`) with PPO; call `update()` in a loop.

    Not thread-safe: one thread drives a trainer. `update()` returns the update's metrics event,
    or None when `should_stop` interrupted the rollout (no weights changed then).
    """

    def __init__(self, model: nn.Module, config: PPOConfig = PPOConfig(), run_id: str = "run") -> None:
        set_torch_threads(config.torch_threads)
        self.adaptive_threads = AdaptiveThreads() if config.torch_threads == 0 else None
        self.optimizer = DenseSparseAdam(model, config.learning_rate)
        if config.update_epochs is None:  # the design decides (see the field); checkpoints hold the choice
            config = dataclasses.replace(config, update_epochs=1 if self.optimizer.sparse else 2)
        self.config = config
        self.run_id = run_id
        self.model = model.train()  # train mode: gradient checkpointing applies to gradient passes
        self.forward = CompiledModel(model) if config.torch_compile else model  # what rollouts and minibatches call
        self.envs = BatchedGame2048(config.num_envs, seed=config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.reward_scale = RunningReturnScale(config.num_envs, config.gamma)
        self.boards = self.envs.reset()
        self.masks = self.envs.action_mask()
        bf16 = config.bf16 and bf16_supported()
        self.rollout_bf16 = bf16 and config.num_envs >= SMALL_BATCH
        self.update_bf16 = bf16 and config.minibatch_size >= SMALL_BATCH
        use_onnx = config.onnx_rollouts and config.num_envs < SMALL_BATCH and not config.torch_compile
        self.onnx_policy = rollout_policy(model) if use_onnx else None
        self.update_count = 0
        self.env_steps = 0
        self.started = time.perf_counter()

    # -- checkpoint state: the tensors and numbers `training.checkpoint` saves --

    def state(self) -> dict:
        return {
            "model_state_dict": self.model.state_dict(),
            "optimizer_state_dict": self.optimizer.state_dict(),
            "config": self.config.to_dict(),
            "update": self.update_count,
            "env_steps": self.env_steps,
            "reward_scale": self.reward_scale.state(),
            "elapsed_s": time.perf_counter() - self.started,
        }

    def load_state(self, state: dict) -> None:
        """Continue from a checkpoint: weights, optimizer, counters, reward statistics and the clock
        (`elapsed_s`, so events' elapsed_s count the whole run, as env_steps do; 0 for checkpoints
        without it). The env starts new games, reseeded from (seed, update), so a resumed run does
        not replay its past."""
        self.started = time.perf_counter() - float(state.get("elapsed_s", 0.0))
        self.model.load_state_dict(state["model_state_dict"])
        self.optimizer.load_state_dict(state["optimizer_state_dict"])
        self.update_count = int(state["update"])
        self.env_steps = int(state["env_steps"])
        self.reward_scale.load_state(state["reward_scale"])
        resumed_seed = np.random.SeedSequence([self.config.seed, self.update_count])
        self.boards = self.envs.reset(seed=resumed_seed)
        self.masks = self.envs.action_mask()
        self.generator.manual_seed(int(resumed_seed.generate_state(1, np.uint64)[0] >> np.uint64(1)))

    # -- one update --

    def update(self, progress: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> TrainingUpdate | None:
        """Collect a rollout and optimise on it. `progress` in [0, 1] is how much of the run's
        budget is spent (for the learning-rate schedule; None: no budget). `should_stop` is polled
        at every env step and minibatch: during the rollout it abandons the update; during the
        optimisation it ends the epochs early, like a KL early stop, and the update still counts."""
        config = self.config
        started = time.perf_counter()
        learning_rate = config.learning_rate
        if config.anneal_lr and progress is not None:
            learning_rate *= max(0.0, 1.0 - progress)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        if self.adaptive_threads is not None:
            torch.set_num_threads(self.adaptive_threads.choose(runnable_elsewhere()))

        rollout = self.collect(should_stop)
        if rollout is None:
            return None
        advantages, returns = compute_gae(
            rollout.rewards, rollout.values, rollout.terminated, rollout.next_value, config.gamma, config.gae_lambda
        )
        losses = self.optimise(rollout, advantages, returns, should_stop)

        self.update_count += 1
        self.env_steps += config.batch_size
        now = time.perf_counter()
        return TrainingUpdate(
            run_id=self.run_id,
            update=self.update_count,
            env_steps=self.env_steps,
            env_steps_per_s=config.batch_size / (now - started),
            elapsed_s=now - self.started,
            learning_rate=learning_rate,
            episodes=rollout.episodes,
            losses=losses,
            moe=MoEStats(expert_usage=rollout.expert_usage, lb_reward=0.0 - losses.lb_loss),  # not -lb_loss: -0.0 without MoE
        )

    @torch.inference_mode()
    def collect(self, should_stop: Callable[[], bool]) -> Rollout | None:
        """Play `num_steps` moves on every board with the current policy.

        With a few boards each step is dominated by per-call overhead, so the loop keeps it small:
        the env's arrays are stored with numpy slice assignments and the model's outputs in lists
        (converted or stacked once at the end), and the action is sampled as `sample_masked`."""
        steps, envs = self.config.num_steps, self.config.num_envs
        boards = np.empty((steps, envs, 16), np.int8)
        masks = np.empty((steps, envs, 4), bool)
        rewards = np.empty((steps, envs), np.float32)
        terminated = np.empty((steps, envs), bool)
        actions: list[torch.Tensor] = []
        log_probs: list[torch.Tensor] = []
        values: list[torch.Tensor] = []
        finished: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        usage_sums: list[torch.Tensor] = []
        if self.onnx_policy is not None:
            self.onnx_policy.refresh()

        for step in range(steps):
            if should_stop():
                return None
            boards[step], masks[step] = self.boards, self.masks
            logits, value = self.rollout_forward(self.boards, self.masks)
            values.append(value)
            step_log_probs = masked_log_probs(logits, torch.from_numpy(self.masks))
            action = sample_masked(step_log_probs.exp(), self.generator)
            actions.append(action)
            log_probs.append(step_log_probs.gather(1, action[:, None]).squeeze(1))
            usage = self.model.latest_expert_usage
            usage_sums = [total + layer for total, layer in zip(usage_sums, usage)] if usage_sums else list(usage)

            self.boards, reward, done, info = self.envs.step(action.numpy())
            self.masks = info["action_mask"]
            if self.config.reward == "log2":
                reward = np.log2(1.0 + reward)
            if self.config.normalize_reward:
                reward = self.reward_scale(reward, done)
            rewards[step] = reward  # float64 -> float32 rounds as astype(np.float32) does
            terminated[step] = done
            if done.any():
                finished.append((info["final_score"][done], info["final_length"][done], info["final_max_tile"][done]))

        stacked_log_probs = torch.stack(log_probs)
        if stacked_log_probs.isnan().any():  # torch.multinomial's check, once per rollout instead of per step
            raise RuntimeError("the policy's probabilities contain NaN (diverged weights?)")
        next_value = self.rollout_forward(self.boards, self.masks)[1]
        if finished:
            scores, lengths, tiles = (np.concatenate(column) for column in zip(*finished))
        else:
            scores = lengths = tiles = np.zeros(0, np.int64)
        return Rollout(
            boards=torch.from_numpy(boards),
            masks=torch.from_numpy(masks),
            actions=torch.stack(actions),
            log_probs=stacked_log_probs,
            values=torch.stack(values),
            rewards=torch.from_numpy(rewards),
            terminated=torch.from_numpy(terminated),
            next_value=next_value,
            episodes=episode_stats(scores, lengths, tiles),
            expert_usage=[(total / steps).tolist() for total in usage_sums],
        )

    def rollout_forward(self, boards: np.ndarray, masks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The policy's logits and values on the env's current boards, as a rollout computes them:
        in onnxruntime where `onnx_policy` is set, else in torch (bf16 autocast where enabled)."""
        if self.onnx_policy is not None:
            return self.onnx_policy(boards, masks)
        with autocast_bf16(self.rollout_bf16):
            return self.forward(torch.from_numpy(boards).long(), torch.from_numpy(masks))

    def optimise(self, rollout: Rollout, advantages: torch.Tensor, returns: torch.Tensor, should_stop: Callable[[], bool]) -> LossStats:
        """`update_epochs` passes of shuffled minibatch Adam over the rollout; mean loss terms."""
        config, model = self.config, self.model
        boards = rollout.boards.reshape(-1, 16)
        masks = rollout.masks.reshape(-1, 4)
        actions, old_log_probs = rollout.actions.reshape(-1), rollout.log_probs.reshape(-1)
        advantages, returns = advantages.reshape(-1), returns.reshape(-1)
        sums = torch.zeros(7)  # policy, value, entropy, approx_kl, clip_fraction, lb, aux
        minibatches = 0

        stopped = False
        for _ in range(config.update_epochs):
            order = torch.randperm(config.batch_size, generator=self.generator)
            # One gather per tensor and epoch; each minibatch is then a contiguous slice.
            epoch_boards, epoch_masks, epoch_actions = boards[order].long(), masks[order], actions[order, None]
            epoch_old, epoch_advantages, epoch_returns = old_log_probs[order], advantages[order], returns[order]
            for start in range(0, config.batch_size, config.minibatch_size):
                if should_stop():
                    stopped = True
                    break
                end = start + config.minibatch_size
                board, mask = epoch_boards[start:end], epoch_masks[start:end]
                with autocast_bf16(self.update_bf16):
                    logits, value = self.forward(board, mask)
                log_probs = masked_log_probs(logits, mask)
                new_log_prob = log_probs.gather(1, epoch_actions[start:end]).squeeze(1)
                entropy = masked_entropy(log_probs, mask).mean()
                advantage = epoch_advantages[start:end]
                if config.norm_adv:
                    advantage = (advantage - advantage.mean()) / (advantage.std(correction=0) + 1e-8)
                terms = ppo_loss_terms(new_log_prob, epoch_old[start:end], advantage, value, epoch_returns[start:end], config.clip_coef)
                lb_loss, aux_loss = model.latest_lb_loss, model.aux_loss(board)
                loss = combined_loss(terms, entropy, lb_loss, aux_loss, config)

                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.clip_grad_norm_(config.max_grad_norm)
                self.optimizer.step()
                parts = (terms.policy, terms.value, entropy, terms.approx_kl, terms.clip_fraction, lb_loss, aux_loss)
                sums += torch.stack([part.detach() for part in parts])
                minibatches += 1
            kl_exceeded = config.target_kl is not None and sums[3] / max(1, minibatches) > config.target_kl
            if stopped or kl_exceeded:
                break

        means = (sums / max(1, minibatches)).tolist()
        return LossStats(
            policy_loss=means[0],
            value_loss=means[1],
            entropy=means[2],
            approx_kl=means[3],
            clip_fraction=means[4],
            lb_loss=means[5],
            aux_loss=means[6],
        )
