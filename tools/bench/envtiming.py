"""How bench_env times a single Gymnasium-style env, shared with env_peer.py, which runs the same
loop inside the peer venv: so it imports nothing from the project, only numpy and the stdlib."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import numpy as np

WINDOWS = 3
WINDOW_S = 2.0
SEED = 0


def rate(run_window: Callable[[], int], windows: int = WINDOWS) -> tuple[float, float]:
    """Best and median steps per second over `windows` windows, after one warm-up window;
    `run_window` returns its step count."""
    run_window()
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        steps = run_window()
        rates.append(steps / (time.perf_counter() - start))
    return max(rates), statistics.median(rates)


def single_window(env, legal_only: bool, window_s: float = WINDOW_S) -> Callable[[], int]:
    """Step `env` with random actions for `window_s` seconds per call: legal ones from
    `info["action_mask"]`, or any of the four (the peers have no masks)."""
    rand = random.Random(SEED).random
    legal_by_mask: dict[bytes, tuple[int, ...]] = {}  # cached: np.flatnonzero per step would cost ~10%
    _, info = env.reset(seed=SEED)

    def window() -> int:
        nonlocal info
        steps, deadline = 0, time.perf_counter() + window_s
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
