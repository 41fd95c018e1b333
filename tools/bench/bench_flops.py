"""Arithmetic rate: how much of this CPU's matrix-product speed the dense templates' training uses.

Per template built of dense layers, at our defaults (`PPOConfig()`, on the threads a run gets while
nothing else runs): the matrix products of one whole update (the rollout's forwards, then every
minibatch's forward and backward), counted in floating-point operations by torch's
`FlopCounterMode` and divided by the update's env steps; the env-steps/s of whole updates over
timed windows (bench-train's method); and so the rate at which training does that arithmetic.
Beside them, the same process's rate for bf16 matrix products alone, on the same threads: a square
product of 2,048, and the transformer layers' own feed-forward shape in a 512-board minibatch
(8,192 cell tokens, 64 wide, into 256). Products are all the counter counts: lookups, norms,
activations, the optimizer and the env count nothing, so a template's rate against the ceiling says
what share of its time goes into matrix products at the CPU's best speed for them, and `ceiling
env-steps/s` (the ceiling over the products per env step) bounds what any speed lever that keeps
the arithmetic can reach. One more update runs under torch.profiler, which says how much of its
time the products take, the rate they run at there, and which other operations take the most.

Run: `just bench-flops`, or `.venv/bin/python tools/bench/bench_flops.py [--windows 3]
[--window-s 4] [--out PATH]` (about two minutes). Result: tools/bench/results/flops.json
(`--out`). No goal: the figures explain the learning goals that bench-learn judges.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

import common
from bench_train import design, timed_window
from model_studio.codegen import build_model
from model_studio.training.ppo import PPOConfig, PPOTrainer, bf16_supported
from model_studio.training.threads import AdaptiveThreads, set_torch_threads

RESULT = common.RESULTS / "flops.json"
# The designs whose time goes into dense layers. Not the tuple network: its 35.7M parameters are
# lookup tables, and its few products (the 32-to-64 layer and the heads) say nothing of its speed.
TEMPLATES = ("tiny-dense", "small-transformer", "moe-router", "tuple-transformer")
WINDOWS = 3
WINDOW_S = 4.0
SQUARE = 2048
FEED_FORWARD = (512 * 16, 64, 256)  # (rows, inner, columns): a 512-board minibatch of cell tokens, d_model 64, ff 4x
PRODUCT_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}  # the products FlopCounterMode counts here
TOP_OTHER_OPS = 6


def update_flops(trainer: PPOTrainer) -> int:
    """Floating-point operations of the matrix products in one whole `trainer.update()`."""
    with FlopCounterMode(display=False) as counter:
        trainer.update()
    return counter.get_total_flops()


def update_profile(trainer: PPOTrainer, flops: float) -> dict:
    """Where one whole update's time goes, by torch.profiler's self CPU time per op: the matrix
    products' share and the rate they run at, and the other ops that take the most."""
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        trainer.update()
    self_s = {event.key: event.self_cpu_time_total / 1e6 for event in profiled.key_averages()}
    total_s = sum(self_s.values())
    products_s = sum(seconds for op, seconds in self_s.items() if op in PRODUCT_OPS)
    others = sorted(((op, seconds) for op, seconds in self_s.items() if op not in PRODUCT_OPS), key=lambda item: -item[1])
    return {"total_s": total_s, "products_share": products_s / total_s, "products_gflops": flops / products_s / 1e9,
            "top_other_ops": {op: seconds / total_s for op, seconds in others[:TOP_OTHER_OPS]}}


def product_rate(rows: int, inner: int, columns: int, dtype: torch.dtype, window_s: float, windows: int) -> float:
    """Best of `windows` timed windows, in GFLOP/s, of (rows x inner) @ (inner x columns) in `dtype`."""
    left, right = torch.randn(rows, inner).to(dtype), torch.randn(inner, columns).to(dtype)
    flops = 2 * rows * inner * columns
    left @ right  # oneDNN builds its kernel for the shape once
    rates = []
    for _ in range(windows):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < window_s / 4:  # a product's rate settles far sooner than training's
            left @ right
            done += 1
        rates.append(done * flops / (time.perf_counter() - start) / 1e9)
    return max(rates)


def main(argv: list[str] | None = None) -> None:
    parser = common.Parser(prog="bench_flops.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    common.add_windows(parser, WINDOWS, WINDOW_S)
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    args = parser.parse_args(argv)
    common.check_windows(parser, args)
    threads = AdaptiveThreads().most  # what a run gets while nothing else runs
    set_torch_threads(threads)
    dtype = torch.bfloat16 if bf16_supported() else torch.float32  # what training's products run in
    result = {
        "benchmark": "bench_flops",
        "about": ("Matrix-product arithmetic of training at our defaults: `flops_per_env_step` counted by torch's "
                  "FlopCounterMode over one whole update (products only), `env_steps_per_s` over timed windows of "
                  "whole updates (best and median), `gflops` the median's rate of that arithmetic; `ceiling` the "
                  "best rate of plain matrix products in the dtype training computes in, on the same threads: a "
                  "square one and the cell transformer's feed-forward shape; `ceiling_env_steps_per_s` the square "
                  "ceiling over flops_per_env_step; `profile` one more update under torch.profiler: self CPU time "
                  "`total_s`, the products' share of it and the rate they run at, and the other ops' largest shares."),
        "date": common.now(),
        **common.source(),
        "machine": {**common.machine(threads), "loadavg_start": common.loadavg()},
        "windows": args.windows,
        "window_s": args.window_s,
        "config": PPOConfig(torch_threads=threads).to_dict(),
        "product_dtype": str(dtype).removeprefix("torch."),
    }
    ceiling = {"square": {"shape": [SQUARE] * 3, "gflops": product_rate(SQUARE, SQUARE, SQUARE, dtype, args.window_s, args.windows)},
               "feed_forward": {"shape": list(FEED_FORWARD), "gflops": product_rate(*FEED_FORWARD, dtype, args.window_s, args.windows)}}
    result["ceiling"] = ceiling
    print(f"torch threads: {threads}; {result['product_dtype']} matrix products alone: {ceiling['square']['gflops']:.0f} GFLOP/s "
          f"at {SQUARE}^3, {ceiling['feed_forward']['gflops']:.0f} GFLOP/s at {' x '.join(map(str, FEED_FORWARD))} (rows x inner x out)")
    print(f"  {'design':<18} {'MFLOP/step':>10} {'env-steps/s':>12} {'GFLOP/s':>8} {'of ceiling':>10} {'ceiling env-steps/s':>20}")
    rows = []
    for name in TEMPLATES:
        config = PPOConfig(torch_threads=threads)
        trainer = PPOTrainer(build_model(design(name)), config)
        trainer.update()  # warm-up: allocator, oneDNN kernels
        flops = update_flops(trainer)
        flops_per_step = flops / trainer.config.batch_size
        profiled = update_profile(trainer, flops)
        rates = [timed_window(trainer, args.window_s) for _ in range(args.windows)]
        median = statistics.median(rates)
        row = {"design": name, "update_epochs": trainer.config.update_epochs, "flops_per_env_step": flops_per_step,
               "env_steps_per_s": rates, "best": max(rates), "median": median, "gflops": flops_per_step * median / 1e9,
               "ceiling_env_steps_per_s": ceiling["square"]["gflops"] * 1e9 / flops_per_step, "profile": profiled}
        rows.append(row)
        print(f"  {name:<18} {flops_per_step / 1e6:10.2f} {median:12,.0f} {row['gflops']:8.1f} "
              f"{row['gflops'] / ceiling['square']['gflops']:10.0%} {row['ceiling_env_steps_per_s']:20,.0f}", flush=True)
        others = ", ".join(f"{op.removeprefix('aten::')} {share:.0%}" for op, share in profiled["top_other_ops"].items())
        print(f"  {'':<18} products: {profiled['products_share']:.0%} of a profiled update, at {profiled['products_gflops']:.0f} GFLOP/s; "
              f"then {others}", flush=True)
    result["rows"] = rows
    result["machine"]["loadavg_end"] = common.loadavg()
    print(f"wrote {common.write(args.out, result)}")


if __name__ == "__main__":
    main()
