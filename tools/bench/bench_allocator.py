"""What keeping freed memory buys training: env-steps/s and minor page faults per update with the
trainer's glibc thresholds (`training/allocator.py`) against glibc's own dynamic ones.

The setting is process-wide, so each side is a process of its own: two trainers of the same design
and config, one as `PPOTrainer` sets it up and one whose environment sets glibc's allocator to its
defaults (`GLIBC_TUNABLES=glibc.malloc.tcache_count=7`, a tunable that leaves the dynamic thresholds
on, and any `glibc.malloc.*` tunable makes the trainer leave the allocator alone). After a warm-up
update each, they take timed windows of whole updates in turn, so that the machine's drift hits
both, and a ratio is the median of the window pairs' ratios (bench-train's method).

Run: `just bench-allocator`, or `.venv/bin/python tools/bench/bench_allocator.py [--windows 6]
[--window-s 3] [--out PATH]` (about six minutes). Linux with glibc only. Result:
tools/bench/results/allocator.json (`--out`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import common
from bench_train import PEER_SETTINGS, design
from model_studio.training.allocator import environment_sets_allocator
from model_studio.training.threads import AdaptiveThreads

RESULT = common.RESULTS / "allocator.json"
ROWS = (("small-transformer", "ours"), ("small-transformer", "peer"), ("moe-router", "ours"), ("moe-router", "peer"),
        ("tiny-dense", "ours"), ("tuple-network", "ours"))
GLIBC_DEFAULTS = "glibc.malloc.tcache_count=7"  # glibc's default count: the allocator as glibc ships it
WINDOWS = 6
WINDOW_S = 3.0
SIDES = ("kept", "glibc")


def config_for(settings: str, threads: int):
    from model_studio.training.ppo import PPOConfig

    return PPOConfig(torch_threads=threads, **(PEER_SETTINGS if settings == "peer" else {}))


def trainer_process(connection, name: str, settings: str, threads: int, window_s: float) -> None:
    """One side: build the trainer, warm it up, then answer each "window" with (env-steps/s,
    minor faults per update) until told to stop."""
    from model_studio.codegen import build_model
    from model_studio.training.ppo import PPOTrainer

    trainer = PPOTrainer(build_model(design(name)), config_for(settings, threads))
    trainer.update()
    connection.send("ready")
    while connection.recv() == "window":
        steps, updates = trainer.env_steps, trainer.update_count
        faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        while time.perf_counter() - start < window_s:
            trainer.update()
        elapsed = time.perf_counter() - start
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        connection.send(((trainer.env_steps - steps) / elapsed, faults / (trainer.update_count - updates)))


def measure(name: str, settings: str, threads: int, windows: int, window_s: float) -> dict:
    context = multiprocessing.get_context("spawn")
    connections, processes = {}, {}
    tunables = os.environ.get("GLIBC_TUNABLES")
    try:
        for side in SIDES:
            if side == "glibc":
                os.environ["GLIBC_TUNABLES"] = GLIBC_DEFAULTS  # a spawned child starts with the environment as it is now
            ours, theirs = context.Pipe()
            processes[side] = context.Process(target=trainer_process, args=(theirs, name, settings, threads, window_s))
            processes[side].start()
            connections[side] = ours
        if tunables is None:
            del os.environ["GLIBC_TUNABLES"]
        else:
            os.environ["GLIBC_TUNABLES"] = tunables
        for side in SIDES:
            connections[side].recv()
        rates: dict[str, list[float]] = {side: [] for side in SIDES}
        faults: dict[str, list[float]] = {side: [] for side in SIDES}
        for _ in range(windows):
            for side in SIDES:
                connections[side].send("window")
                rate, fault = connections[side].recv()
                rates[side].append(rate)
                faults[side].append(fault)
    finally:
        for side, connection in connections.items():
            connection.send("stop")
            processes[side].join(timeout=60)
    pairs = [kept / glibc for kept, glibc in zip(rates["kept"], rates["glibc"])]
    return {"design": name, "settings": settings, "env_steps_per_s": rates, "faults_per_update": faults,
            "median": {side: statistics.median(rates[side]) for side in SIDES},
            "faults_median": {side: statistics.median(faults[side]) for side in SIDES},
            "gain_pairs": pairs, "gain_median": statistics.median(pairs)}


def main(argv: list[str] | None = None) -> None:
    parser = common.Parser(prog="bench_allocator.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--windows", type=int, default=WINDOWS, help="timed windows per side")
    parser.add_argument("--window-s", type=float, default=WINDOW_S, help="seconds per window, at least")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    args = parser.parse_args(argv)
    if args.windows < 1:
        parser.error("--windows must be at least 1")
    if not args.window_s > 0:
        parser.error("--window-s must be more than 0")
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        parser.exit(2, "bench_allocator.py: measures glibc's allocator, on Linux only\n")
    if environment_sets_allocator():
        parser.exit(2, "bench_allocator.py: the environment sets glibc's allocator (MALLOC_*_ or GLIBC_TUNABLES); unset it\n")

    threads = AdaptiveThreads().most  # what a run gets while nothing else runs
    result = {
        "benchmark": "bench_allocator",
        "about": ("Env-steps/s and minor page faults per update of two trainer processes taking timed windows in turn: "
                  "`kept`, the trainer's glibc thresholds (training/allocator.py), and `glibc`, glibc's dynamic ones "
                  f"(GLIBC_TUNABLES={GLIBC_DEFAULTS}); `gain_pairs` kept over glibc window by window, `gain_median` "
                  "their median; settings `ours` (PPOConfig()) or `peer` (the SB3 peer's, as in bench-train)."),
        "date": common.now(),
        **common.source(),
        "machine": {**common.machine(threads), "loadavg_start": common.loadavg()},
        "windows": args.windows,
        "window_s": args.window_s,
        "settings": {key: dataclasses.asdict(config_for(key, threads)) for key in ("ours", "peer")},
        "rows": [],
    }
    print(f"torch threads: {threads}; kept thresholds over glibc's own, median of {args.windows} window pairs of >= {args.window_s:g} s")
    for name, settings in ROWS:
        row = measure(name, settings, threads, args.windows, args.window_s)
        result["rows"].append(row)
        print(f"  {name:<18} {settings:<5} {row['gain_median']:5.2f}x  (pairs {' '.join(f'{pair:.2f}' for pair in row['gain_pairs'])}; "
              f"env-steps/s {row['median']['kept']:,.0f} / {row['median']['glibc']:,.0f}; minor faults per update "
              f"{row['faults_median']['kept']:,.0f} / {row['faults_median']['glibc']:,.0f})", flush=True)
    result["machine"]["loadavg_end"] = common.loadavg()
    print(f"wrote {common.write(args.out, result)}")


if __name__ == "__main__":
    main()
