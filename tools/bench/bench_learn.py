"""Learning benchmark: train a template for 10 minutes of wall clock through the real
TrainingManager (a child process, the default PPOConfig), then play 200 evaluation games with the
stochastic policy and print the mean score and reach rates next to the anchors and the goal.

Run: `just bench-learn`, or `.venv/bin/python tools/bench/bench_learn.py [--minutes M]
[--design tiny-dense] [--set gamma=0.99 --set num_envs=512 ...]` (--set overrides PPOConfig fields,
for tuning). Other work on the machine slows training and so lowers the score: note the load.

Anchors, recorded on this 2-core machine by peers (not measured here):
  random legal moves: mean 1,096, 256 in 7.7% of games, 1024 never;
  sb3-contrib MaskablePPO, 2x64 MLP, 10 minutes (2.9 M steps): mean 4,190-4,386, 512 in 32%, 1024 in 2.5%.
Goal: mean >= 8,000 and 1024 in >= 25% of games.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

from model_studio.contracts import TrainingDone, TrainingEvent
from model_studio.training import Budget, PPOConfig, TrainingManager, format_summary, load_checkpoint, model_from_checkpoint, play_games
from model_studio.training.ppo import set_torch_threads

TEMPLATES = Path(__file__).resolve().parents[2] / "schema" / "templates"
DEFAULT_DESIGN = "tiny-dense"  # the best template in a 10-minute CPU budget (see the report in the README)
MINUTES = 10.0
EVAL_GAMES = 200
EVAL_SEED = 12345  # evaluation games differ from the training games
PRINT_EVERY_S = 30.0
GOAL_MEAN = 8000.0
GOAL_1024 = 0.25


def overrides(pairs: list[str]) -> dict:
    """`name=value` pairs for PPOConfig fields; values are Python literals."""
    fields = {field.name for field in dataclasses.fields(PPOConfig)}
    values = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in fields:
            sys.exit(f"unknown PPOConfig field {name!r}")
        values[name] = ast.literal_eval(text)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default=DEFAULT_DESIGN, help="template name in schema/templates")
    parser.add_argument("--minutes", type=float, default=MINUTES)
    parser.add_argument("--games", type=int, default=EVAL_GAMES)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a PPOConfig field")
    args = parser.parse_args()
    config = PPOConfig(**overrides(args.set))
    design = json.loads((TEMPLATES / f"{args.design}.json").read_text())
    print(f"{args.design}, {args.minutes:g} min, load average {os.getloadavg()[0]:.1f} at start")
    print(f"config: {config}")

    finished = threading.Event()
    result: list[TrainingDone] = []
    last_print = [0.0]

    def on_event(event: TrainingEvent) -> None:
        if isinstance(event, TrainingDone):
            result.append(event)
            finished.set()
        elif event.elapsed_s - last_print[0] >= PRINT_EVERY_S:
            last_print[0] = event.elapsed_s
            episodes = event.episodes
            score = f"{episodes.mean_score:7.0f}" if episodes.mean_score is not None else "      -"
            print(
                f"  {event.elapsed_s:5.0f} s  update {event.update:5d}  {event.env_steps / 1e6:6.2f} M steps"
                f"  {event.env_steps_per_s:7.0f} steps/s  training score {score}  entropy {event.losses.entropy:.3f}",
                flush=True,
            )

    with tempfile.TemporaryDirectory(prefix="bench-learn-") as data_dir:
        manager = TrainingManager(data_dir, on_event)
        manager.start(design, config=config, budget=Budget(max_minutes=args.minutes))
        finished.wait()
        done = result[0]
        if done.status != "completed":
            sys.exit(f"training {done.status}: {done.message}")
        print(f"trained {done.updates} updates, {done.env_steps / 1e6:.2f} M steps in {done.elapsed_s:.0f} s "
              f"({done.env_steps / done.elapsed_s:,.0f} steps/s), load average {os.getloadavg()[0]:.1f} at the end")
        set_torch_threads(config.torch_threads)
        model = model_from_checkpoint(load_checkpoint(done.checkpoint))
        summary = play_games(model, args.games, greedy=False, seed=EVAL_SEED)
    print(f"evaluation, {args.games} games, stochastic policy:")
    print(format_summary(summary))
    reached = summary.reach["1024"]
    meets = summary.mean_score >= GOAL_MEAN and reached >= GOAL_1024
    print(f"goal: mean >= {GOAL_MEAN:,.0f} and 1024 in >= {GOAL_1024:.0%}: {'meets' if meets else 'MISSES'}")
    print("anchors (recorded, not this run): random 1,096; SB3 MaskablePPO 2x64 MLP, 10 min: 4,190-4,386, 1024 in 2.5%")


if __name__ == "__main__":
    main()
