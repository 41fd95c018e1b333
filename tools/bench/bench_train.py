"""Training throughput: env-steps/s of PPOTrainer (rollout + optimisation, everything counted) for
tiny-dense (also narrowed to the peer's 2x64 width), small-transformer, moe-router, their layers
over tuple tokens (tuple-transformer and tuple-moe, beside SB3's transformer over cells, with no
goal) and the best template, tuple-network (beside SB3's MLP, with no goal), at the SB3 peer's PPO
settings and at our defaults, against the SB3 peer measured in the same run; then what each speed
lever buys on the attention and MoE rows (bf16 autocast, the second torch thread, onnxruntime
rollouts where they apply), measured by turning it off, and what the opt-in torch.compile buys
there, measured by turning it on (its one-off compile, from an empty Inductor cache, is the
warm-up and is reported apart).

Run: `just bench-train`, or `.venv/bin/python tools/bench/bench_train.py [--windows 3] [--window-s 4]
[--threads N] [--no-peer] [--out PATH]` (about fifteen minutes; the first run with the peer also
installs it, a few minutes more, once). Each figure is the best and the median of several timed
windows of whole updates, after one warm-up update. The machine's speed drifts by tens of percent
over minutes, so every comparison is measured in turn: the peer's window, then ours (or, for a
lever, the row's config, then the lever's), several times over, and a ratio is the median of the
window pairs' ratios; best over best is printed too. The load average around each measurement is
in the result file.

The peer (on by default, `--no-peer` to skip it): sb3-contrib MaskablePPO on gymnasium-2048 with
action masks, 8 envs, n_steps 256, batch 256, 4 epochs, the same torch threads as ours, with SB3's
2x64 MLP and with a small transformer (d_model 64, 2 layers, 4 heads over the 16 cells), run by
tools/bench/sb3_peer.py (kept running, and asked for one window at a time) in a venv of its own
(tools/bench/peers.py: pinned versions, torch from the local CPU wheel). It is on by default
because without it there is no honest ratio: the figures recorded earlier on another day's load
are not printed as if they were this run's. If the peer cannot be installed or run, one line says
so and ours are printed without ratios.

Goals (ours / SB3's figure, the median over window pairs; SB3 always runs at its own settings):
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
from model_studio.training.onnx_rollout import traceable
from model_studio.training.ppo import SMALL_BATCH, PPOConfig, PPOTrainer
from model_studio.training.threads import AdaptiveThreads, set_torch_threads

TEMPLATES = common.REPO / "schema" / "templates"
RESULT = common.RESULTS / "train.json"
PEER_SCRIPT = Path(__file__).resolve().parent / "sb3_peer.py"
PEER_SETTINGS = {"num_envs": 8, "num_steps": 256, "minibatch_size": 256, "update_epochs": 4}
MLP_WIDTH = 64  # the "2x64" row: tiny-dense with the peer MLP's hidden width
WINDOWS = 3
WINDOW_S = 4.0  # at least; a window always holds whole updates
PEER_START_S = 180.0  # the peer's imports, or its warm-up iteration
PEER_WINDOW_TIMEOUT_S = 60.0  # on top of 3x the window: one peer window, answered


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
    ("tuple-transformer", "tuple-transformer", design("tuple-transformer"), "transformer", {"peer": None, "ours": None}),
    ("tuple-moe", "tuple-moe", design("tuple-moe"), "transformer", {"peer": None, "ours": None}),
    ("tuple-network", "tuple-network", design("tuple-network"), "mlp", {"peer": None, "ours": None}),
)
# The speed levers, each measured by turning it off on the attention and MoE rows: the row's best
# over the lever-off best is what the lever buys.
LEVERS = {"bf16 autocast": {"bf16": False}, "2nd torch thread": {"torch_threads": 1}, "onnxruntime rollouts": {"onnx_rollouts": False}}
OPT_IN_LEVERS = {"torch.compile": {"torch_compile": True}}  # off by default: measured by turning it on
LEVER_ROWS = ("small-transformer", "moe-router")
SETTINGS = {
    "peer": "peer settings (8 envs x 256 steps, minibatch 256, 4 epochs)",
    "ours": "our defaults (PPOConfig())",
}


def timed_window(trainer: PPOTrainer, window_s: float) -> float:
    """Env-steps/s over whole updates lasting at least `window_s`, on the trainer's own thread
    count (a process-wide setting, and the trainers measured in turn may differ in it)."""
    set_torch_threads(trainer.config.torch_threads)
    first, start = trainer.env_steps, time.perf_counter()
    while time.perf_counter() - start < window_s:
        trainer.update()
    return (trainer.env_steps - first) / (time.perf_counter() - start)


def interleaved(measured: list[tuple[dict, PPOConfig]], windows: int, window_s: float,
                peer: peers.PeerSession | None = None) -> tuple[list[dict], dict | None]:
    """Figures for each (design, config) and for the peer (None without one), from windows taken in
    turn: the peer's, then each trainer's, `windows` times over, so that the machine's drift over
    minutes hits every side alike. Each trainer first has one warm-up update (allocator, oneDNN
    kernels, and torch.compile's compile when it is on), whose seconds are kept as `warmup_s`."""
    trainers, warmups = [], []
    for document, config in measured:
        trainer = PPOTrainer(build_model(document), config)
        start = time.perf_counter()
        trainer.update()
        warmups.append(time.perf_counter() - start)
        trainers.append(trainer)
    peer_rates: list[float] = []
    rates: list[list[float]] = [[] for _ in trainers]
    for _ in range(windows):
        if peer is not None:
            peer_rates.append(peer.ask(f"{window_s}", timeout_s=PEER_WINDOW_TIMEOUT_S + 3 * window_s)["env_steps_per_s"])
        for trainer, measured_rates in zip(trainers, rates):
            measured_rates.append(timed_window(trainer, window_s))
    figures_of_peer = figures(peer_rates) if peer is not None else None
    return [{**figures(measured_rates), "warmup_s": warmup, "update_epochs": trainer.config.update_epochs}  # the design's choice under None
            for measured_rates, warmup, trainer in zip(rates, warmups, trainers)], figures_of_peer


def figures(measured: list[float]) -> dict:
    return {"env_steps_per_s": measured, "best": max(measured), "median": statistics.median(measured)}


def paired(ours: dict, theirs: dict) -> dict:
    """Ours over theirs, window by window (each pair taken one after the other), and best over best."""
    pairs = [mine / other for mine, other in zip(ours["env_steps_per_s"], theirs["env_steps_per_s"])]
    return {"pairs": pairs, "median": statistics.median(pairs), "best": ours["best"] / theirs["best"]}


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


def versus_peer(figure: dict, peer_figure: dict | None, policy: str, goal: float | None) -> str:
    """Adds the peer's interleaved figures and the ratios to them (and whether `goal` is met, by
    the median of the window pairs) to `figure`; returns them as text."""
    if peer_figure is None:
        return "   (no same-run peer: no ratio)"
    ratio = paired(figure, peer_figure)
    figure.update(peer=peer_figure, ratio_pairs=ratio["pairs"], ratio_median=ratio["median"], ratio_best=ratio["best"])
    figure["meets"] = None if goal is None else ratio["median"] >= goal
    note = "(no goal at these settings)" if goal is None else f"goal {goal:g}x: {'meets' if figure['meets'] else 'MISSES'}"
    return (f"   {ratio['median']:5.2f}x SB3 {policy} {peer_figure['median']:,.0f}/s (pairs {' '.join(f'{r:.2f}' for r in ratio['pairs'])}; "
            f"best/best {ratio['best']:.2f}x)   {note}")


class SameRunPeer:
    """The SB3 peer's two policies, each in a session of its own (`--no-peer`: none), warmed up (one
    PPO iteration) before anything is timed; then both sleep until asked for a window. If the peer
    cannot be installed or fails mid-run, one line says so (`unavailable`) and the run goes on
    without it."""

    def __init__(self, stack: contextlib.ExitStack, threads: int, wanted: bool) -> None:
        self.sessions: dict[str, peers.PeerSession] = {}
        self.described: dict[str, dict] | None = None
        self.unavailable: str | None = None
        if not wanted:
            print("SB3 peer not measured (--no-peer): ours without ratios")
            return
        print("SB3 peer, same run (8 envs x 256 steps, batch 256, 4 epochs), its windows taken in turn with ours:", flush=True)
        try:
            python = peers.ensure_venv(peers.SB3)
            described = {}
            for policy in ("mlp", "transformer"):
                session = stack.enter_context(peers.PeerSession(python, PEER_SCRIPT, ["serve", "--policy", policy, "--threads", str(threads)], threads))
                described[policy] = session.ask("describe", timeout_s=PEER_START_S)
                session.ask("start", timeout_s=PEER_START_S)
                self.sessions[policy] = session
                print(f"  SB3 MaskablePPO, {policy:<12} ready   ({described[policy]['policy_description']})", flush=True)
            self.described = described
        except peers.PeerUnavailable as exc:
            self.give_up(f"SB3 peer unavailable: {exc}; printing ours without ratios", exc)

    def give_up(self, line: str, exc: peers.PeerUnavailable) -> None:
        print(line, flush=True)
        self.unavailable = str(exc)
        self.sessions.clear()

    def measure(self, measured: list[tuple[dict, PPOConfig]], policy: str, windows: int, window_s: float) -> tuple[list[dict], dict | None]:
        """`interleaved`, with the peer's `policy` while the peer works."""
        if policy in self.sessions:
            try:
                return interleaved(measured, windows, window_s, self.sessions[policy])
            except peers.PeerUnavailable as exc:
                self.give_up(f"SB3 peer unavailable from here on: {exc}", exc)
        return interleaved(measured, windows, window_s)


def onnx_rollouts_apply(document: dict, config: PPOConfig) -> bool:
    """Whether a trainer with `config` runs this design's rollouts in onnxruntime."""
    return config.num_envs < SMALL_BATCH and traceable(build_model(document)) is None


def measure_levers(rows: list[dict], configs: dict[str, PPOConfig], peer: SameRunPeer, windows: int, window_s: float) -> list[dict]:
    """What each lever buys on the attention and MoE rows, measured in turn against the row's own
    config; the opt-in levers' figures also against the peer."""
    levers = []
    print("levers: what each buys, measured in turn with the row's own config (median of the window pairs; best over best)", flush=True)
    for row in rows:
        if row["label"] not in LEVER_ROWS:
            continue
        document = next(entry[2] for entry in DESIGNS if entry[0] == row["label"])
        config = configs[row["settings"]]
        for lever, change in LEVERS.items():
            if change.get("torch_threads") == 1 and config.torch_threads < 2:
                continue  # no second thread to take away
            if "onnx_rollouts" in change and not onnx_rollouts_apply(document, config):
                continue  # the rollouts are in torch either way
            (default, off), _ = interleaved([(document, config), (document, dataclasses.replace(config, **change))], windows, window_s)
            gain = paired(default, off)
            levers.append({"label": row["label"], "settings": row["settings"], "lever": lever, "off": change, "default": default,
                           "without": off, "gain_pairs": gain["pairs"], "gain_median": gain["median"], "gain_best": gain["best"]})
            print(f"  {row['label']:<18} {row['settings']:<5} {lever:<17} {gain['median']:5.2f}x  (best/best {gain['best']:.2f}x; "
                  f"with / without: {default['median']:,.0f} / {off['median']:,.0f})", flush=True)
        for lever, change in OPT_IN_LEVERS.items():
            # A cold cache per measurement, so that warmup_s is the compile a first run pays.
            with tempfile.TemporaryDirectory(prefix="bench-inductor-") as cache, cache_dir(cache):
                (default, on), peer_figure = peer.measure([(document, config), (document, dataclasses.replace(config, **change))],
                                                          row["peer_policy"], windows, window_s)
            gain = paired(on, default)
            entry = {"label": row["label"], "settings": row["settings"], "lever": lever, "on": change, "default": default, "with": on,
                     "gain_pairs": gain["pairs"], "gain_median": gain["median"], "gain_best": gain["best"]}
            versus = versus_peer(entry["with"], peer_figure, row["peer_policy"], row["goal_ratio"])
            levers.append(entry)
            print(f"  {row['label']:<18} {row['settings']:<5} {lever:<17} {gain['median']:5.2f}x  (best/best {gain['best']:.2f}x; "
                  f"with / without: {on['median']:,.0f} / {default['median']:,.0f}, first update {on['warmup_s']:.0f} s){versus}", flush=True)
    return levers


def main(argv: list[str] | None = None) -> None:
    parser = common.Parser(prog="bench_train.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    common.add_windows(parser, WINDOWS, WINDOW_S)
    parser.add_argument("--threads", type=int, default=0, help="torch threads, ours and the peer's (default: what training uses)")
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True, help="measure the SB3 peer in the same run (default: on)")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    args = parser.parse_args(argv)
    common.check_windows(parser, args)
    if args.threads < 0:
        parser.error("--threads must be at least 0 (0: the default)")
    threads = args.threads or AdaptiveThreads().most  # what a run gets while nothing else runs
    configs = {"peer": PPOConfig(**PEER_SETTINGS, torch_threads=threads), "ours": PPOConfig(torch_threads=threads)}
    result = {
        "benchmark": "bench_train",
        "about": ("Env-steps/s of PPOTrainer.update() (rollout + optimisation) over timed windows of whole updates after "
                  "one warm-up update, taken in turn with the SB3 peer's (its window, then ours, `windows` times over): "
                  "`rows` holds ours per design and setting, each with `peer` (the peer's windows taken with it), "
                  "`ratio_pairs` (ours over the peer's, pair by pair), `ratio_median` (their median, which `meets` judges) "
                  "and `ratio_best` (best window over best window); the top-level `peer` describes the peer's policies "
                  "(null when not run or unavailable); `levers` what each lever buys on the attention and MoE rows, "
                  "measured in turn against the row's own config (`gain_pairs`, `gain_median`, `gain_best`); `warmup_s` "
                  "the warm-up update's seconds (with torch.compile on: its compile from an empty cache)."),
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

    with contextlib.ExitStack() as stack:
        peer = SameRunPeer(stack, threads, args.peer)
        result["peer"] = peer.described
        for key, config in configs.items():
            print(SETTINGS[key], flush=True)
            for label, described, document, policy, goals in DESIGNS:
                load_start = common.loadavg()
                (ours,), peer_figure = peer.measure([(document, config)], policy, args.windows, args.window_s)
                row = {"label": label, "design": described, "design_sha256": design_sha256(document), "settings": key, **ours,
                       "loadavg_start": load_start, "loadavg_end": common.loadavg(), "peer_policy": policy, "goal_ratio": goals[key]}
                line = f"  {label:<24} {row['best']:8,.0f} / {row['median']:8,.0f}" + versus_peer(row, peer_figure, policy, goals[key])
                print(line, flush=True)
                result["rows"].append(row)
        result["levers"] = measure_levers(result["rows"], configs, peer, args.windows, args.window_s)
        result["peer_unavailable"] = peer.unavailable
    result["machine"]["loadavg_end"] = common.loadavg()
    print(f"wrote {common.write(args.out, result)}")


if __name__ == "__main__":
    main()
