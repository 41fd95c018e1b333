"""Training throughput: env-steps/s of PPOTrainer (rollout + optimisation, everything counted)
for tiny-dense (also narrowed to the peer's 2x64 width) and small-transformer, at the PPO
settings the peers were measured with and at our defaults.

Run: `just bench-train`, or `.venv/bin/python tools/bench/bench_train.py` (about three minutes).
Each figure is the best and the median of several timed windows of whole updates, after one
warm-up update. The machine is shared with other work, so figures move by tens of percent from
run to run: read the best as "what the code can do", the median as "what it did".

Peers, recorded on this 2-core machine (sb3-contrib is not installed here, so these are not
same-run figures): sb3-contrib MaskablePPO on gymnasium-2048, 8 envs, n_steps 256, batch 256,
4 epochs: about 5.5 k steps/s with a 2x64 MLP and 1.0 k with a d64, 2-layer transformer.
Goals: at least 5x the peer for the MLP-class design and 2x for the transformer, at the peer's
settings. Figures at our defaults (big batched rollouts, what training really uses) are printed too,
but they compare settings as well as code.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from model_studio.codegen import build_model
from model_studio.training.ppo import PPOConfig, PPOTrainer, default_torch_threads

TEMPLATES = Path(__file__).resolve().parents[2] / "schema" / "templates"
PEER_SETTINGS = {"num_envs": 8, "num_steps": 256, "minibatch_size": 256, "update_epochs": 4}
SB3_MLP, SB3_TRANSFORMER = 5.5e3, 1.0e3  # recorded SB3 env-steps/s: 2x64 MLP; d64, 2-layer transformer
MLP_WIDTH = 64  # the "2x64" row: tiny-dense with the peer MLP's hidden width
WINDOWS = 3
WINDOW_S = 4.0  # at least; a window always holds whole updates


def design(name: str, units: int | None = None) -> dict:
    document = json.loads((TEMPLATES / f"{name}.json").read_text())
    for component in document["components"]:
        if units is not None and component["type"] == "dense":
            component["props"]["units"] = units
    return document


# (label, design, recorded peer rate, goal ratio at the peer's settings)
DESIGNS = (
    ("tiny-dense (2x256 MLP)", design("tiny-dense"), SB3_MLP, 5.0),
    ("tiny-dense at 2x64", design("tiny-dense", MLP_WIDTH), SB3_MLP, 5.0),
    ("small-transformer", design("small-transformer"), SB3_TRANSFORMER, 2.0),
)


def rates(document: dict, config: PPOConfig, windows: int, window_s: float) -> list[float]:
    trainer = PPOTrainer(build_model(document), config)
    trainer.update()  # warm-up: allocator, oneDNN kernels
    measured = []
    for _ in range(windows):
        first, start = trainer.env_steps, time.perf_counter()
        while time.perf_counter() - start < window_s:
            trainer.update()
        measured.append((trainer.env_steps - first) / (time.perf_counter() - start))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--window-s", type=float, default=WINDOW_S)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: what training uses)")
    args = parser.parse_args()
    threads = args.threads or default_torch_threads()
    print(f"torch threads: {threads}; best / median of {args.windows} windows of >= {args.window_s:g} s, env-steps/s")
    settings = {
        "peer settings (8 envs x 256 steps, minibatch 256, 4 epochs)": PPOConfig(**PEER_SETTINGS, torch_threads=threads),
        "our defaults (256 envs x 64 steps, minibatch 512, 2 epochs)": PPOConfig(torch_threads=threads),
    }
    for (label, config), like_for_like in zip(settings.items(), (True, False)):
        print(label)
        for name, document, peer, goal in DESIGNS:
            measured = rates(document, config, args.windows, args.window_s)
            best, median = max(measured), statistics.median(measured)
            ratio = best / peer
            verdict = f"goal {goal:g}x: {'meets' if ratio >= goal else 'MISSES'}" if like_for_like else "(other settings: not the goal's comparison)"
            print(f"  {name:<24} {best:8,.0f} / {median:8,.0f}   {ratio:4.1f}x the recorded SB3 {peer:,.0f}/s   {verdict}")


if __name__ == "__main__":
    main()
