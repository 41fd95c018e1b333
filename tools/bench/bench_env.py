"""2048 environment speed: the batched env (goal: 3 M board-steps/s at N=4096) and the
single Gymnasium env (goal: 100 k steps/s), against peer packages measured in the same run.

Run: `just bench-env`, or `.venv/bin/python tools/bench/bench_env.py [--no-peer] [--out PATH]`
(about a minute; the first run with the peers also installs them, once). Each figure is the best
and the median of several timed windows, so that other work on the machine disturbs it less.

The peers (on by default, `--no-peer` to skip them): gym-2048-extended's and gymnasium-2048's
envs, in a venv of their own (tools/bench/peers.py, `peers.ENV`: pinned versions, no torch), timed
by tools/bench/env_peer.py with the same loop as ours (tools/bench/envtiming.py). They have no
action masks, so that comparison uses uniformly random actions for every env. If the peers cannot
be installed or run, one line says so and ours are printed without ratios.
Result: tools/bench/results/env.json (`--out`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import common
import peers
from envtiming import SEED, WINDOW_S, WINDOWS, rate, single_window
from model_studio.env import BatchedGame2048, Game2048Env

BATCHED_GOAL = 3e6  # board-steps/s at N=4096
SINGLE_GOAL = 1e5  # steps/s
RESULT = common.RESULTS / "env.json"
PEER_SCRIPT = Path(__file__).resolve().parent / "env_peer.py"
PEER_TIMEOUT_S = 120.0

# Legal actions in a fixed order, for each 4-bool action mask packed little-endian into 4 bits,
# repeated to 12 columns (12 is divisible by 1, 2, 3 and 4) so that a random column is uniform.
_LEGAL_BY_BITS = np.array(
    [
        [legal[i % len(legal)] for i in range(12)] if legal else [0] * 12
        for legal in ([a for a in range(4) if bits >> a & 1] for bits in range(16))
    ]
)


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


def figure(label: str, best: float, median: float, unit: str, goal: float | None = None, note: str = "") -> dict:
    """Print one line and return the figure for the result file."""
    scale = 1e6 if unit.startswith("M") else 1e3
    if goal is not None:
        note = f"goal {goal / scale:g} {unit.split()[0]}/s: {'meets' if best >= goal else 'MISSES'}"
    print(f"{label:<45} {best / scale:7.2f} / {median / scale:7.2f} {unit}   {note}", flush=True)
    return {"label": label, "best": best, "median": median, "unit": unit.split()[-1], "goal": goal,
            "meets": None if goal is None else best >= goal}


def main(argv: list[str] | None = None) -> None:
    parser = common.Parser(prog="bench_env.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True, help="measure the peer envs in the same run (default: on)")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    args = parser.parse_args(argv)
    result = {
        "benchmark": "bench_env",
        "about": ("Steps/s over timed windows (best and median) of the batched env with random legal actions and of the "
                  "single env with random legal or uniformly random actions; `peers` the peer packages' envs with "
                  "uniformly random actions, measured in the same run (null when not run or unavailable)."),
        "date": common.now(),
        **common.source(),
        "machine": {**{key: value for key, value in common.machine(0).items() if key != "torch_threads"}, "loadavg_start": common.loadavg()},
        "windows": WINDOWS,
        "window_s": WINDOW_S,
        "figures": [],
        "peers": None,
        "peer_unavailable": None,
    }
    print(f"best / median of {WINDOWS} windows of {WINDOW_S:g} s", flush=True)
    figures = result["figures"]
    for num_envs in (1024, 4096):
        best, median = rate(batched_window(num_envs))
        label = f"BatchedGame2048 N={num_envs}, random legal actions"
        goal = BATCHED_GOAL if num_envs == 4096 else None
        figures.append(figure(label, best, median, "M board-steps/s", goal, "(goal is set at N=4096)"))
    best, median = rate(single_window(Game2048Env(), legal_only=True))
    figures.append(figure("Game2048Env, random legal actions", best, median, "k steps/s", SINGLE_GOAL))
    ours, median = rate(single_window(Game2048Env(), legal_only=False))
    figures.append(figure("Game2048Env, uniform random actions", ours, median, "k steps/s", note="(compared with the peers below)"))

    if args.peer:
        try:
            measured = peers.run_peer(peers.ensure_venv(peers.ENV), PEER_SCRIPT, [], timeout_s=PEER_TIMEOUT_S)["peers"]
        except peers.PeerUnavailable as exc:
            print(f"env peers unavailable: {exc}", flush=True)
            result["peer_unavailable"] = str(exc)
        else:
            for peer in measured:
                speed = peer["steps_per_s"]
                peer["ours_over_peer_best"] = ours / speed["best"]
                figure(f"{peer['package']} {peer['version']}, uniform random actions", speed["best"], speed["median"],
                       "k steps/s", note=f"Game2048Env is {peer['ours_over_peer_best']:.1f}x")
            result["peers"] = measured
    else:
        print("env peers not measured (--no-peer)")
    result["machine"]["loadavg_end"] = common.loadavg()
    print(f"wrote {common.write(args.out, result)}")


if __name__ == "__main__":
    main()
