"""Training throughput: env-steps/s of PPOTrainer (rollout + optimisation, everything counted)
for tiny-dense (also narrowed to the peer's 2x64 width), small-transformer and moe-router, at the
SB3 peer's PPO settings and at our defaults, against the SB3 peer measured in the same run; then
what each speed lever buys on the attention and MoE rows (bf16 autocast, the second torch thread),
measured by turning it off, and what the opt-in torch.compile buys there, measured by turning it
on (its one-off compile, from an empty Inductor cache, is the warm-up and is reported apart).

Run: `just bench-train`, or `.venv/bin/python tools/bench/bench_train.py [--windows 3] [--window-s 4]
[--threads N] [--no-peer] [--out PATH]` (about eight minutes; the first run with the peer also
installs it, a few minutes more, once). Each figure is the best and the median of several timed
windows of whole updates, after one warm-up update. The machine is shared with other work, so
figures move by tens of percent from run to run: read the best as "what the code can do", the
median as "what it did"; the load average around each measurement is in the result file.

The peer (on by default, `--no-peer` to skip it): sb3-contrib MaskablePPO on gymnasium-2048 with
action masks, 8 envs, n_steps 256, batch 256, 4 epochs, the same torch threads as ours, with SB3's
2x64 MLP and with a small transformer (d_model 64, 2 layers, 4 heads over the 16 cells), run by
tools/bench/sb3_peer.py in a venv of its own (tools/bench/peers.py: pinned versions, torch from the
local CPU wheel). It is on by default because without it there is no honest ratio: the figures
recorded earlier on another day's load are not printed as if they were this run's. If the peer
cannot be installed or run, one line says so and ours are printed without ratios.

Goals (ours / SB3's figure, best window against best window; SB3 always runs at its own settings):
  ours at the peer's settings: MLP-class (tiny-dense, both widths) >= 5x SB3's MLP, small-transformer
  >= 2x SB3's transformer;
  ours at our defaults (256 envs x 64 steps, big batched rollouts, what training really uses; these
  compare settings as well as code): small-transformer >= 4x SB3's transformer. The MLP-class rows
  at our defaults have no goal; their ratio is printed for reference.
Result: tools/bench/results/train.json (`--out`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import common
import peers
from model_studio.codegen import build_model, design_sha256
from model_studio.training.ppo import PPOConfig, PPOTrainer
from model_studio.training.threads import AdaptiveThreads

TEMPLATES = common.REPO / "schema" / "templates"
RESULT = common.RESULTS / "train.json"
PEER_SCRIPT = Path(__file__).resolve().parent / "sb3_peer.py"
PEER_SETTINGS = {"num_envs": 8, "num_steps": 256, "minibatch_size": 256, "update_epochs": 4}
MLP_WIDTH = 64  # the "2x64" row: tiny-dense with the peer MLP's hidden width
WINDOWS = 3
WINDOW_S = 4.0  # at least; a window always holds whole updates
PEER_START_S = 180.0  # on top of the windows: the peer's imports and warm-up iteration


def design(name: str, units: int | None = None) -> dict:
    document = json.loads((TEMPLATES / f"{name}.json").read_text())
    for component in document["components"]:
        if units is not None and component["type"] == "dense":
            component["props"]["units"] = units
    return document


# (label, design, the SB3 policy it is compared with, goal ratio per setting: "peer" / "ours")
DESIGNS = (
    ("tiny-dense (2x256 MLP)", "tiny-dense", design("tiny-dense"), "mlp", {"peer": 5.0, "ours": None}),
    ("tiny-dense at 2x64", "tiny-dense, dense units 64", design("tiny-dense", MLP_WIDTH), "mlp", {"peer": 5.0, "ours": None}),
    ("small-transformer", "small-transformer", design("small-transformer"), "transformer", {"peer": 2.0, "ours": 4.0}),
    ("moe-router", "moe-router", design("moe-router"), "transformer", {"peer": None, "ours": None}),
)
# The speed levers, each measured by turning it off on the attention and MoE rows: the row's best
# over the lever-off best is what the lever buys.
LEVERS = {"bf16 autocast": {"bf16": False}, "2nd torch thread": {"torch_threads": 1}}
OPT_IN_LEVERS = {"torch.compile": {"torch_compile": True}}  # off by default: measured by turning it on
LEVER_ROWS = ("small-transformer", "moe-router")
SETTINGS = {
    "peer": "peer settings (8 envs x 256 steps, minibatch 256, 4 epochs)",
    "ours": "our defaults (PPOConfig())",
}


def rates(document: dict, config: PPOConfig, windows: int, window_s: float) -> dict:
    """Figures of `windows` timed windows after one warm-up update (allocator, oneDNN kernels, and
    torch.compile's compile when it is on), whose seconds are kept as `warmup_s`."""
    trainer = PPOTrainer(build_model(document), config)
    start = time.perf_counter()
    trainer.update()
    warmup_s = time.perf_counter() - start
    measured = []
    for _ in range(windows):
        first, start = trainer.env_steps, time.perf_counter()
        while time.perf_counter() - start < window_s:
            trainer.update()
        measured.append((trainer.env_steps - first) / (time.perf_counter() - start))
    return {**figures(measured), "warmup_s": warmup_s}


def figures(measured: list[float]) -> dict:
    return {"env_steps_per_s": measured, "best": max(measured), "median": statistics.median(measured)}


@contextlib.contextmanager
def cache_dir(path: str):
    """Inductor's compile cache in `path` while the block runs."""
    before = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path
    try:
        yield
    finally:
        if before is None:
            del os.environ["TORCHINDUCTOR_CACHE_DIR"]
        else:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = before


def versus_peer(figure: dict, peer: dict | None, policy: str, goal: float | None) -> str:
    """Adds the ratios to the peer (and whether `goal` is met) to `figure`; returns them as text."""
    if peer is None:
        return "   (no same-run peer: no ratio)"
    theirs = peer[policy]
    figure["ratio_best"] = figure["best"] / theirs["best"]
    figure["ratio_median"] = figure["median"] / theirs["median"]
    figure["meets"] = None if goal is None else figure["ratio_best"] >= goal
    note = "(no goal at these settings)" if goal is None else f"goal {goal:g}x: {'meets' if figure['meets'] else 'MISSES'}"
    return f"   {figure['ratio_best']:5.2f}x SB3 {policy} {theirs['best']:,.0f}/s (median {figure['ratio_median']:.2f}x)   {note}"


def measure_peers(threads: int, windows: int, window_s: float) -> dict:
    """{"mlp": {...}, "transformer": {...}} from the SB3 peer; raises PeerUnavailable."""
    python = peers.ensure_venv(peers.SB3)
    measured = {}
    for policy in ("mlp", "transformer"):
        load_start = common.loadavg()
        result = peers.run_peer(python, PEER_SCRIPT, ["speed", "--policy", policy, "--threads", str(threads), "--windows", str(windows),
                                                       "--window-s", str(window_s)],
                                timeout_s=PEER_START_S + 3 * windows * window_s, threads=threads)
        result.update(figures(result["env_steps_per_s"]), loadavg_start=load_start, loadavg_end=common.loadavg())
        print(f"  SB3 MaskablePPO, {policy:<12} {result['best']:8,.0f} / {result['median']:8,.0f}   ({result['policy_description']})", flush=True)
        measured[policy] = result
    return measured


def main(argv: list[str] | None = None) -> None:
    parser = common.Parser(prog="bench_train.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--windows", type=int, default=WINDOWS, help="timed windows per figure")
    parser.add_argument("--window-s", type=float, default=WINDOW_S, help="seconds per window, at least")
    parser.add_argument("--threads", type=int, default=0, help="torch threads, ours and the peer's (default: what training uses)")
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True, help="measure the SB3 peer in the same run (default: on)")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    args = parser.parse_args(argv)
    if args.windows < 1:
        parser.error("--windows must be at least 1")
    if not args.window_s > 0:
        parser.error("--window-s must be more than 0")
    if args.threads < 0:
        parser.error("--threads must be at least 0 (0: the default)")
    threads = args.threads or AdaptiveThreads().most  # what a run gets while nothing else runs
    configs = {"peer": PPOConfig(**PEER_SETTINGS, torch_threads=threads), "ours": PPOConfig(torch_threads=threads)}
    result = {
        "benchmark": "bench_train",
        "about": ("Env-steps/s of PPOTrainer.update() (rollout + optimisation) over timed windows of whole updates after "
                  "one warm-up update: `rows` holds ours per design and setting, `peer` the SB3 MaskablePPO peer measured "
                  "in the same run (null when not run or unavailable), `ratio_best` ours' best window over the peer's best; "
                  "`levers` what each lever buys on the attention and MoE rows, `warmup_s` the warm-up update's seconds "
                  "(with torch.compile on: its compile from an empty cache)."),
        "date": common.now(),
        **common.source(),
        "machine": {**common.machine(threads), "loadavg_start": common.loadavg()},
        "windows": args.windows,
        "window_s": args.window_s,
        "settings": {key: dataclasses.asdict(config) for key, config in configs.items()},
        "goals": {"mlp_class_at_peer_settings": 5.0, "small_transformer_at_peer_settings": 2.0, "small_transformer_at_our_defaults": 4.0},
        "peer": None,
        "peer_unavailable": None,
        "rows": [],
    }
    print(f"torch threads: {threads}; best / median of {args.windows} windows of >= {args.window_s:g} s, env-steps/s; "
          f"load average {' '.join(map(str, result['machine']['loadavg_start']))}", flush=True)

    peer = None
    if args.peer:
        print("SB3 peer, same run (8 envs x 256 steps, batch 256, 4 epochs):", flush=True)
        try:
            peer = measure_peers(threads, args.windows, args.window_s)
        except peers.PeerUnavailable as exc:
            print(f"SB3 peer unavailable: {exc}; printing ours without ratios", flush=True)
            result["peer_unavailable"] = str(exc)
        result["peer"] = peer
    else:
        print("SB3 peer not measured (--no-peer): ours without ratios")

    for key, config in configs.items():
        print(SETTINGS[key], flush=True)
        for label, described, document, policy, goals in DESIGNS:
            load_start = common.loadavg()
            row = {"label": label, "design": described, "design_sha256": design_sha256(document), "settings": key,
                   **rates(document, config, args.windows, args.window_s),
                   "loadavg_start": load_start, "loadavg_end": common.loadavg(), "peer_policy": policy, "goal_ratio": goals[key]}
            line = f"  {label:<24} {row['best']:8,.0f} / {row['median']:8,.0f}" + versus_peer(row, peer, policy, goals[key])
            print(line, flush=True)
            result["rows"].append(row)
    if threads < 2:
        LEVERS.pop("2nd torch thread")
    result["levers"] = []
    print("levers: what each buys (the row's best over its best with the lever off; torch.compile, off by default: "
          "its best with it on over the row's best)", flush=True)
    for row in result["rows"]:
        if row["label"] not in LEVER_ROWS:
            continue
        document = next(entry[2] for entry in DESIGNS if entry[0] == row["label"])
        for lever, change in LEVERS.items():
            off = rates(document, dataclasses.replace(configs[row["settings"]], **change), args.windows, args.window_s)
            gain = row["best"] / off["best"]
            result["levers"].append({"label": row["label"], "settings": row["settings"], "lever": lever, "off": change, **off, "gain_best": gain})
            print(f"  {row['label']:<18} {row['settings']:<5} {lever:<17} {gain:5.2f}x  (without it: {off['best']:,.0f} / {off['median']:,.0f})", flush=True)
        for lever, change in OPT_IN_LEVERS.items():
            # A cold cache per measurement, so that warmup_s is the compile a first run pays.
            with tempfile.TemporaryDirectory(prefix="bench-inductor-") as cache, cache_dir(cache):
                on = rates(document, dataclasses.replace(configs[row["settings"]], **change), args.windows, args.window_s)
            gain = on["best"] / row["best"]
            entry = {"label": row["label"], "settings": row["settings"], "lever": lever, "on": change, **on, "gain_best": gain}
            versus = versus_peer(entry, peer, row["peer_policy"], row["goal_ratio"])
            result["levers"].append(entry)
            print(f"  {row['label']:<18} {row['settings']:<5} {lever:<17} {gain:5.2f}x  (with it: {on['best']:,.0f} / {on['median']:,.0f}, "
                  f"first update {on['warmup_s']:.0f} s){versus}", flush=True)
    result["machine"]["loadavg_end"] = common.loadavg()
    print(f"wrote {common.write(args.out, result)}")


if __name__ == "__main__":
    main()
