"""2048 environment speed: the batched env (goal: 3 M board-steps/s at N=4096) and the
single Gymnasium env (goal: 100 k steps/s), against peer packages where installed.

Run: `.venv/bin/python tools/bench/bench_env.py` (about a minute). Each figure is the best
of several timed windows, so that other work on the machine disturbs it less.

Peers are measured only when importable. They are not project dependencies: to compare,
install them in a throwaway venv and run this script with it, e.g.
    python -m venv /tmp/peers && /tmp/peers/bin/pip install gymnasium gym-2048-extended gymnasium-2048
    PYTHONPATH=backend /tmp/peers/bin/python tools/bench/bench_env.py
Peers have no action masks, so the comparison uses uniformly random actions for every env.
"""

from __future__ import annotations

import importlib
import random
import statistics
import time
from collections.abc import Callable

import numpy as np

from model_studio.env import BatchedGame2048, Game2048Env

BATCHED_GOAL = 3e6  # board-steps/s at N=4096
SINGLE_GOAL = 1e5  # steps/s
WINDOWS = 3
WINDOW_S = 2.0
SEED = 0

# Legal actions in a fixed order, for each 4-bool action mask packed little-endian into 4 bits,
# repeated to 12 columns (12 is divisible by 1, 2, 3 and 4) so that a random column is uniform.
_LEGAL_BY_BITS = np.array(
    [
        [legal[i % len(legal)] for i in range(12)] if legal else [0] * 12
        for legal in ([a for a in range(4) if bits >> a & 1] for bits in range(16))
    ]
)
PEERS = (  # (PyPI package, module, class)
    ("gym-2048-extended", "gym_2048", "Base2048Env"),
    ("gymnasium-2048", "gymnasium_2048.envs", "TwentyFortyEightEnv"),
)


def rate(run_window: Callable[[], int]) -> tuple[float, float]:
    """Best and median steps per second over ``WINDOWS`` windows; ``run_window`` returns its step count."""
    run_window()  # warm up
    rates = []
    for _ in range(WINDOWS):
        start = time.perf_counter()
        steps = run_window()
        rates.append(steps / (time.perf_counter() - start))
    return max(rates), statistics.median(rates)


def batched_window(num_envs: int) -> Callable[[], int]:
    envs = BatchedGame2048(num_envs, seed=SEED)
    envs.reset()
    rng = np.random.default_rng(SEED)

    def window() -> int:
        steps, deadline = 0, time.perf_counter() + WINDOW_S
        while time.perf_counter() < deadline:
            for _ in range(10):
                bits = np.packbits(envs.action_mask(), axis=1, bitorder="little").ravel()
                envs.step(_LEGAL_BY_BITS[bits, rng.integers(0, 12, num_envs)])
            steps += 10 * num_envs
        return steps

    return window


def single_window(env, legal_only: bool) -> Callable[[], int]:
    """Step ``env`` with random actions: legal ones from ``info["action_mask"]``, or any."""
    rand = random.Random(SEED).random
    legal_by_mask: dict[bytes, tuple[int, ...]] = {}  # cached: np.flatnonzero per step would cost ~10%
    _, info = env.reset(seed=SEED)

    def window() -> int:
        nonlocal info
        steps, deadline = 0, time.perf_counter() + WINDOW_S
        while time.perf_counter() < deadline:
            for _ in range(1000):
                if legal_only:
                    mask = info["action_mask"]
                    legal = legal_by_mask.get(mask.tobytes())
                    if legal is None:
                        legal = legal_by_mask[mask.tobytes()] = tuple(np.flatnonzero(mask).tolist())
                    action = legal[int(rand() * len(legal))]
                else:
                    action = int(rand() * 4)
                _, _, terminated, _, info = env.step(action)
                if terminated:
                    _, info = env.reset()
            steps += 1000
        return steps

    return window


def report(label: str, best: float, median: float, unit: str, note: str) -> None:
    scale = 1e6 if unit.startswith("M") else 1e3
    print(f"{label:<45} {best / scale:7.2f} / {median / scale:7.2f} {unit}   {note}")


def goal_note(best: float, goal: float, text: str) -> str:
    return f"goal {text}: {'meets' if best >= goal else 'MISSES'}"


def main() -> None:
    print(f"best / median of {WINDOWS} windows of {WINDOW_S:.0f} s")
    for num_envs in (1024, 4096):
        best, median = rate(batched_window(num_envs))
        note = goal_note(best, BATCHED_GOAL, "3 M/s") if num_envs == 4096 else "(goal is set at N=4096)"
        report(f"BatchedGame2048 N={num_envs}, random legal actions", best, median, "M board-steps/s", note)

    best, median = rate(single_window(Game2048Env(), legal_only=True))
    report("Game2048Env, random legal actions", best, median, "k steps/s", goal_note(best, SINGLE_GOAL, "100 k/s"))
    ours, median = rate(single_window(Game2048Env(), legal_only=False))
    report("Game2048Env, uniform random actions", ours, median, "k steps/s", "(compared with the peers below)")

    for package, module, cls in PEERS:
        try:
            env_class = getattr(importlib.import_module(module), cls)
        except ImportError:
            print(f"{package + ' (' + module + ')':<45} skipped: not installed (this script's docstring says how)")
            continue
        best, median = rate(single_window(env_class(), legal_only=False))
        report(f"{package}, uniform random actions", best, median, "k steps/s", f"Game2048Env is {ours / best:.1f}x")


if __name__ == "__main__":
    main()
