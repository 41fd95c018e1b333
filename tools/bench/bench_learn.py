"""Learning benchmark: train a template for 10 minutes of wall clock through the real
TrainingManager (a child process, the default PPOConfig), once per seed, then play 200 evaluation
games per seed with the stochastic policy (the goals judge these) and the same boards again with the
greedy policy; report each seed and the mean over seeds with a 95% confidence interval, next to the
anchors and the goal.

Run: `just bench-learn`, or `.venv/bin/python tools/bench/bench_learn.py [--design NAME ...]
[--seeds 3] [--seed-base 0] [--minutes 10] [--steps N] [--games 200] [--purpose report|tune]
[--peer [transformer|mlp]] [--set gamma=0.99 --set num_envs=512 ...] [--out PATH]`. `--steps` also
ends each run after N env steps: for tuning by samples on a machine whose load varies, e.g.
`--purpose tune --steps 3e6 --minutes 60`. `--design` may be given several times or as
a comma list; `--set` overrides PPOConfig fields (true or false for a switch, a word for the
reward, numbers and None as Python literals). The runs take (designs + peer) x seeds x minutes,
one after another, each alone: 30 minutes with the defaults.
Other work on the machine slows training and so lowers the score: the load average at the start
and end of each seed is recorded.

Seeds: seed k trains with PPOConfig.seed = seed-base + k (the env's spawns, the action sampling,
the minibatch order and the initial weights), so seeds differ in everything random.

Statistics: the interval is a two-sided 95% Student t interval over the N per-seed figures (mean
score, reach rates, ...), each the mean over that seed's games: mean +- t(0.975, N-1) * sd / sqrt(N).
It describes how much the result moves between training seeds, the dominant noise (with equal
games per seed the pooled figure over all games is the same mean). N = 1 gives no interval. The
t interval knows nothing of the [0, 1] range of a reach rate: with few seeds it can cross 0 or 1.

Evaluation seeds: `--purpose report` (the default, for figures the README quotes) plays every
seed's games with play_games(seed=12345), whose boards are seeded from [12345, batch]; `--purpose
tune` (for comparing settings) plays them with seed 67890 instead. The two sets are disjoint, so
settings are never tuned on the games the README reports. The SB3 peer plays game i from
env.reset(seed=S + i) with the same S (12345 or 67890), also disjoint for up to 55,545 games.

Results: a JSON file per design, tools/bench/results/learn-<design>.json for report runs (the files
the README quotes; rewritten after every seed, "complete": false until the last), and
tools/bench/results/tune/learn-<design>-<UTC time>.json for tune runs: one file per run, so a
sweep keeps every setting's result, and git-ignored (tools/bench/results/tune/.gitignore), so
exploratory runs never pass for reported ones. `--out` overrides (with several designs it must
contain "{design}").

Goals: the attention and MoE templates (small-transformer, moe-router, tuple-transformer,
tuple-moe): mean >= 10,000 and 1024 in >= 40% of games; the best
template (tuple-network, the default design): mean >= 30,000 and 2048 in >= 60%. Each is judged on the
mean over seeds, and the interval's lower bound is reported next to it.

Anchors, recorded on this 2-core machine by peers (not measured here):
  random legal moves: mean 1,096, 256 in 7.7% of games, 1024 never;
  sb3-contrib MaskablePPO, 2x64 MLP, 10 minutes (2.9 M steps): mean 4,190-4,386, 512 in 32%, 1024 in 2.5%.
`--peer` trains sb3-contrib MaskablePPO (tools/bench/sb3_peer.py, default: the small transformer;
`--peer mlp`: SB3's 2x64 MLP) on gymnasium-2048 for the same minutes and seeds, in its own venv
(tools/bench/peers.py installs it once), and evaluates it on --games games: same-run figures.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import json
import os
import sys
import tempfile
import time
import typing
from pathlib import Path

import msgspec

import common
import peers
import stats
from model_studio.codegen import design_sha256
from model_studio.contracts import REACH_TILES, TrainingDone, TrainingEvent
from model_studio.training import Budget, PPOConfig, TrainingManager, format_summary, load_checkpoint, model_from_checkpoint, play_games
from model_studio.training.threads import AdaptiveThreads, set_torch_threads

TEMPLATES = common.REPO / "schema" / "templates"
DEFAULT_DESIGN = "tuple-network"  # the best template in a 10-minute CPU budget (see tools/bench/results/README.md)
MINUTES = 10.0
SEEDS = 3
EVAL_GAMES = 200
EVAL_SEEDS = {"report": 12345, "tune": 67890}  # evaluation games differ from the training games, and tune from report
MAX_GAMES = EVAL_SEEDS["tune"] - EVAL_SEEDS["report"]  # the peer's per-game seeds of the two sets stay disjoint
TUNE_DIR = common.RESULTS / "tune"
PRINT_EVERY_S = 30.0
PEER_SCRIPT = Path(__file__).resolve().parent / "sb3_peer.py"
PEER_EVAL_MARGIN_S = 1800.0  # on top of the training minutes: start-up and the evaluation games


@dataclasses.dataclass(frozen=True)
class Goal:
    applies_to: str
    mean_score: float
    tile: str
    rate: float

    def text(self) -> str:
        return f"mean >= {self.mean_score:,.0f} and {self.tile} in >= {self.rate:.0%} of games"

    def meets(self, mean_score: float | None, rate: float | None) -> bool | None:
        if mean_score is None or rate is None:
            return None
        return mean_score >= self.mean_score and rate >= self.rate


ATTENTION_GOAL = Goal("the attention and MoE templates", 10000.0, "1024", 0.40)
GOALS = {
    DEFAULT_DESIGN: Goal("the best template (the default design)", 30000.0, "2048", 0.60),
    "small-transformer": ATTENTION_GOAL,
    "moe-router": ATTENTION_GOAL,
    "tuple-transformer": ATTENTION_GOAL,
    "tuple-moe": ATTENTION_GOAL,
}
ANCHORS = {
    "note": "recorded earlier on this 2-core machine, not measured in this run",
    "random_legal_moves": {"mean_score": 1096, "reach": {"256": 0.077, "1024": 0.0}},
    "sb3_maskableppo_mlp_2x64_10min": {"mean_score": [4190, 4386], "env_steps": 2.9e6, "reach": {"512": 0.32, "1024": 0.025}},
}
METRICS = ("mean_score", "max_score", "mean_length") + tuple(f"reach_{tile}" for tile in REACH_TILES)
GREEDY_METRICS = ("greedy_mean_score", "greedy_reach_1024", "greedy_reach_2048")  # the same boards, greedy policy


# ---- arguments ----


def overrides(pairs: list[str], parser: common.Parser) -> dict:
    """`name=value` pairs for PPOConfig fields, each value read as its field's type."""
    kinds = typing.get_type_hints(PPOConfig)
    values = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals:
            parser.error(f"--set {pair!r}: expected FIELD=VALUE")
        if name not in kinds:
            parser.error(f"--set: unknown PPOConfig field {name!r}")
        if name == "seed":
            parser.error("--set seed: use --seed-base (each seed is a run of its own)")
        try:
            values[name] = override_value(text, kinds[name])
        except ValueError as exc:
            parser.error(f"--set {name}={text}: {exc}")
    return values


def override_value(text: str, kind: object) -> object:
    """One `--set` value as the field's type `kind` wants it: true or false (any case) for a bool,
    the text itself (quotes optional) for a string, else a Python literal of the field's type (an
    int where a float is wanted, None where the field allows it)."""
    allowed = typing.get_args(kind) or (kind,)
    if bool in allowed:
        words = {"true": True, "false": False}
        if text.lower() not in words:
            raise ValueError("expected true or false")
        return words[text.lower()]
    if str in allowed:
        return text.strip("'\"")
    expected = " or ".join({int: "an integer", float: "a number", type(None): "None"}[t] for t in allowed)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"expected {expected}") from None
    fits = type(value) in allowed or (type(value) is int and float in allowed)  # type(), not isinstance: True is no integer here
    if not fits:
        raise ValueError(f"expected {expected}")
    return float(value) if type(value) is int and int not in allowed else value


def parse_args(argv: list[str] | None = None):
    parser = common.Parser(prog="bench_learn.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--design", action="append", default=None, help="template name in schema/templates (repeat or comma list)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="training seeds, each a run of its own")
    parser.add_argument("--seed-base", type=int, default=0, help="the first seed (PPOConfig.seed)")
    parser.add_argument("--minutes", type=float, default=MINUTES, help="wall-clock budget of each run")
    parser.add_argument("--steps", type=float, default=None,
                        help="also end each run after this many env steps (tuning by samples, whatever the machine's load)")
    parser.add_argument("--games", type=int, default=EVAL_GAMES, help="evaluation games per seed")
    parser.add_argument("--purpose", choices=sorted(EVAL_SEEDS), default="report", help="report: the README's evaluation seeds; tune: a disjoint set")
    parser.add_argument("--peer", nargs="?", const="transformer", choices=("transformer", "mlp"), default=None,
                        help="also train and evaluate the SB3 MaskablePPO peer (default policy: transformer)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a PPOConfig field")
    parser.add_argument("--out", default=None, help='result file (with several designs: a path containing "{design}")')
    args = parser.parse_args(argv)

    names = [name.strip() for item in (args.design or [DEFAULT_DESIGN]) for name in item.split(",") if name.strip()]
    known = sorted(path.stem for path in TEMPLATES.glob("*.json"))
    for name in names:
        if name not in known:
            parser.error(f"unknown design {name!r} (templates: {', '.join(known)})")
    if not names:
        parser.error("--design: no design named")
    if len(set(names)) != len(names):
        parser.error("--design: a design is named twice")
    args.designs = names
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.seed_base < 0:
        parser.error("--seed-base must be at least 0")
    if not args.minutes > 0:
        parser.error("--minutes must be more than 0")
    if args.steps is not None and not 1 <= args.steps < 1e15:
        parser.error("--steps must be at least 1")
    args.steps = None if args.steps is None else int(args.steps)
    if not 1 <= args.games <= MAX_GAMES:
        parser.error(f"--games must be between 1 and {MAX_GAMES:,}")
    if args.out is not None and len(names) > 1 and "{design}" not in args.out:
        parser.error('--out with several designs must contain "{design}"')
    args.overrides = overrides(args.set, parser)
    try:
        args.config = PPOConfig(**args.overrides)
    except (TypeError, ValueError) as exc:
        parser.error(f"--set: {exc}")
    args.eval_seed = EVAL_SEEDS[args.purpose]
    args.seed_list = list(range(args.seed_base, args.seed_base + args.seeds))
    # torch_threads 0 adapts (all cores while the machine is otherwise idle); the peer gets that many.
    args.threads = args.config.torch_threads or AdaptiveThreads().most
    return args


def out_path(args, name: str, started: datetime.datetime) -> Path:
    if args.out is not None:
        return Path(args.out.replace("{design}", name))
    if args.purpose == "tune":
        return TUNE_DIR / f"learn-{name}-{started.strftime('%Y%m%d-%H%M%S')}.json"
    return common.RESULTS / f"learn-{name}.json"


# ---- statistics ----


def flat(summary: dict) -> dict:
    """One seed's evaluation summary as flat metrics: mean_score, ..., reach_256, ..."""
    values = {key: summary[key] for key in ("mean_score", "max_score", "mean_length")}
    values.update({f"reach_{tile}": summary["reach"].get(str(tile)) for tile in REACH_TILES})
    return values


def figure(run: dict, metric: str) -> float | None:
    """One seed's figure: a field of the run (env_steps, ...), a metric of its evaluation games, or
    with the prefix "greedy_" of the same boards played by the greedy policy (None without them)."""
    if metric in run:
        return run[metric]
    if metric.startswith("greedy_"):
        return flat(run["eval_greedy"])[metric.removeprefix("greedy_")] if "eval_greedy" in run else None
    return flat(run["eval"])[metric]


def aggregate(runs: list[dict], extra: tuple[str, ...] = ("env_steps", "env_steps_per_s")) -> dict:
    """Per metric: the mean over the seeds' figures with its 95% Student t interval; and the
    figures pooled over every game of every seed."""
    result = {"over": f"the {len(runs)} per-seed figures, each the mean over that seed's games",
              "interval": "two-sided 95% Student t, t(0.975, n-1) * sd / sqrt(n), none for n = 1"}
    for metric in METRICS + GREEDY_METRICS + extra:
        values = [figure(run, metric) for run in runs]
        values = [value for value in values if value is not None]
        if values:
            result[metric] = stats.mean_interval(values)
    games = sum(run["eval"]["games"] for run in runs)
    result["pooled"] = {
        "about": "every game of every seed as one sample (the same means when seeds play equal games)",
        "games": games,
        "mean_score": sum(run["eval"]["mean_score"] * run["eval"]["games"] for run in runs) / games,
        "max_score": max(run["eval"]["max_score"] for run in runs),
        "reach": {str(tile): sum(run["eval"]["reach"][str(tile)] * run["eval"]["games"] for run in runs) / games for tile in REACH_TILES},
    }
    return result


def verdict(goal: Goal, aggregate_: dict) -> dict:
    score, rate = aggregate_.get("mean_score", {}), aggregate_.get(f"reach_{goal.tile}", {})
    return {
        "applies_to": goal.applies_to,
        "goal": goal.text(),
        "mean_score": goal.mean_score,
        "reach": {goal.tile: goal.rate},
        "meets_mean_over_seeds": goal.meets(score.get("mean"), rate.get("mean")),
        "meets_interval_low": goal.meets(score.get("low"), rate.get("low")),
    }


# ---- printing ----


def cell(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if "reach_" in metric:
        return f"{value:.1%}"
    if metric == "env_steps":
        return f"{value / 1e6:.2f} M"
    return f"{value:,.0f}"


def table(runs: list[dict], agg: dict, seeds: list[int]) -> str:
    n = len(runs)
    header = f"  {'':<20}" + "".join(f"{'seed ' + str(seed):>11}" for seed in seeds[:n]) + f"{'mean':>11}"
    header += f"   95% interval (Student t, n={n})" if n > 1 else "   (one seed: no interval)"
    lines = [header]
    rows = ("mean_score", "reach_256", "reach_512", "reach_1024", "reach_2048", "reach_4096", "max_score", "mean_length") + GREEDY_METRICS
    for metric in rows + ("env_steps", "env_steps_per_s"):
        if metric not in agg:
            continue
        values = [figure(run, metric) for run in runs]
        label = metric.replace("reach_", "reached ").replace("_", " ")
        row = f"  {label:<20}" + "".join(f"{cell(metric, value):>11}" for value in values) + f"{cell(metric, agg[metric]['mean']):>11}"
        if agg[metric]["low"] is not None:
            row += f"   {cell(metric, agg[metric]['low'])} to {cell(metric, agg[metric]['high'])}"
        lines.append(row)
    pooled = agg["pooled"]
    lines.append(f"  pooled over all {pooled['games']:,} games: mean {pooled['mean_score']:,.0f}, max {pooled['max_score']:,}, "
                 + ", ".join(f"{tile} in {pooled['reach'][str(tile)]:.1%}" for tile in (512, 1024, 2048)))
    return "\n".join(lines)


def goal_lines(name: str, agg: dict) -> list[str]:
    goal = GOALS.get(name)
    if goal is None:
        return [f"goal: none set for {name} (goals are set for {', '.join(sorted(GOALS))})"]
    v = verdict(goal, agg)
    word = {True: "meets", False: "MISSES", None: "n/a"}
    low = "n/a (one seed)" if v["meets_interval_low"] is None else word[v["meets_interval_low"]]
    return [f"goal for {goal.applies_to}: {goal.text()}",
            f"  mean over seeds: {word[v['meets_mean_over_seeds']]}; interval's lower bound: {low}"]


# ---- running ----


def train_and_evaluate(document: dict, name: str, seed: int, args) -> dict:
    config = dataclasses.replace(args.config, seed=seed)
    load_start = common.loadavg()
    last_print = [0.0]

    def on_event(event: TrainingEvent) -> None:
        if not isinstance(event, TrainingDone) and event.elapsed_s - last_print[0] >= PRINT_EVERY_S:
            last_print[0] = event.elapsed_s
            episodes = event.episodes
            score = f"{episodes.mean_score:7.0f}" if episodes.mean_score is not None else "      -"
            print(
                f"  {event.elapsed_s:5.0f} s  update {event.update:5d}  {event.env_steps / 1e6:6.2f} M steps"
                f"  {event.env_steps_per_s:7.0f} steps/s  training score {score}  entropy {event.losses.entropy:.3f}",
                flush=True,
            )

    print(f"{name}, seed {seed}: training {args.minutes:g} min, load average {' '.join(map(str, load_start))} at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-learn-") as data_dir:
        manager = TrainingManager(data_dir, on_event)
        try:
            run_id = manager.start(document, config=config, budget=Budget(max_env_steps=args.steps, max_minutes=args.minutes))
            done = manager.wait(run_id)
        finally:
            manager.close()
        if done is None or done.status != "completed" or done.checkpoint is None:
            sys.exit(f"bench_learn: {name} seed {seed}: training {done.status if done else 'lost'}: {done.message if done else ''}")
        load_end = common.loadavg()
        print(f"  trained {done.updates} updates, {done.env_steps / 1e6:.2f} M steps in {done.elapsed_s:.0f} s "
              f"({done.env_steps / done.elapsed_s:,.0f} steps/s), load average {' '.join(map(str, load_end))} at the end", flush=True)
        set_torch_threads(config.torch_threads)
        checkpoint = load_checkpoint(done.checkpoint)
        model = model_from_checkpoint(checkpoint)
        eval_start = time.monotonic()
        summary = play_games(model, args.games, greedy=False, seed=args.eval_seed)
        eval_elapsed = time.monotonic() - eval_start
        greedy = play_games(model, args.games, greedy=True, seed=args.eval_seed)
    print(f"  evaluation, {args.games} games (evaluation seed {args.eval_seed}), stochastic policy:")
    print(format_summary(summary), flush=True)
    print(f"  greedy policy on the same boards: mean {greedy.mean_score:,.0f}, "
          + ", ".join(f"{tile} in {greedy.reach[str(tile)]:.1%}" for tile in (1024, 2048, 4096)), flush=True)
    return {
        "seed": seed,
        "status": done.status,
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "updates": done.updates,
        "update_epochs": checkpoint["config"]["update_epochs"],  # the design's choice when the config leaves it None
        "env_steps": done.env_steps,
        "elapsed_s": done.elapsed_s,
        "env_steps_per_s": done.env_steps / done.elapsed_s,
        "eval": msgspec.to_builtins(summary),
        "eval_elapsed_s": eval_elapsed,
        "eval_greedy": msgspec.to_builtins(greedy),
        "training_summary": msgspec.to_builtins(done.summary),
    }


def peer_runs(python: Path, args) -> dict:
    """The SB3 peer, trained and evaluated once per seed; figures like ours."""
    runs = []
    for seed in args.seed_list:
        load_start = common.loadavg()
        print(f"SB3 MaskablePPO ({args.peer}), seed {seed}: training {args.minutes:g} min on gymnasium-2048, "
              f"load average {' '.join(map(str, load_start))} at start", flush=True)
        result = peers.run_peer(python, PEER_SCRIPT, ["learn", "--policy", args.peer, "--minutes", str(args.minutes),
                                                       "--games", str(args.games), "--eval-seed", str(args.eval_seed),
                                                       "--threads", str(args.threads), "--seed", str(seed)],
                                timeout_s=60 * args.minutes + PEER_EVAL_MARGIN_S, threads=args.threads)
        result["loadavg_start"], result["loadavg_end"] = load_start, common.loadavg()
        evaluation = result.pop("evaluation")
        evaluation.pop("scores")
        result["eval"] = evaluation
        print(f"  trained {result['iterations']} iterations, {result['env_steps'] / 1e6:.2f} M steps in {result['elapsed_s']:.0f} s "
              f"({result['env_steps_per_s']:,.0f} steps/s); {evaluation['games']} games: mean {evaluation['mean_score']:,.0f}, "
              + ", ".join(f"{tile} in {evaluation['reach'][str(tile)]:.1%}" for tile in (512, 1024, 2048)), flush=True)
        runs.append(result)
    first = runs[0]
    describe = {key: first[key] for key in ("algorithm", "env", "policy", "policy_description", "parameters", "packages", "torch_threads", "settings")}
    per_seed = [{key: value for key, value in run.items() if key not in describe} for run in runs]
    return {**describe, "minutes": args.minutes, "seeds": args.seed_list, "runs": per_seed,
            "aggregate": aggregate(per_seed, extra=("env_steps", "env_steps_per_s"))}


def document_info(name: str) -> tuple[dict, dict]:
    path = TEMPLATES / f"{name}.json"
    data = path.read_bytes()
    document = json.loads(data)
    return document, {"name": name, "file": str(path.relative_to(common.REPO)), "file_sha256": hashlib.sha256(data).hexdigest(),
                      "design_sha256": design_sha256(document)}


def skeleton(args, name: str, design: dict, started: datetime.datetime) -> dict:
    goal = GOALS.get(name)
    return {
        "benchmark": "bench_learn",
        "about": ("Train the design through the real TrainingManager for `minutes` of wall clock per seed, one seed "
                  "at a time, then play `evaluation.games` games per seed with the stochastic policy (and the same "
                  "boards with the greedy policy, `eval_greedy`, for reference). `runs` holds "
                  "each seed, `aggregate` the mean over seeds of each figure with its 95% Student t interval "
                  "(low/high null for one seed), `goal` the verdict, `peer` the same-run SB3 peer (null if not run)."),
        "date": started.isoformat(timespec="seconds"),
        "complete": False,
        **common.source(),
        "purpose": args.purpose,
        "design": design,
        "config": dataclasses.asdict(dataclasses.replace(args.config, seed=args.seed_list[0])),
        "config_note": "PPOConfig with the --set overrides; `seed` differs per run (see runs[].seed); update_epochs null: the design picks it (see runs[].update_epochs)",
        "overrides": args.overrides,
        "minutes": args.minutes,
        "max_env_steps": args.steps,
        "seeds": args.seed_list,
        "evaluation": {
            "purpose": args.purpose,
            "seed": args.eval_seed,
            "games": args.games,
            "policy": "stochastic (sampled from the masked policy)",
            "how": f"play_games(model, {args.games}, greedy=False, seed={args.eval_seed}): boards seeded from "
                   f"[{args.eval_seed}, batch of 1024], the same for every training seed",
            "other_purpose_seed": {purpose: seed for purpose, seed in EVAL_SEEDS.items() if purpose != args.purpose},
            "greedy": "runs[].eval_greedy: as many games seeded the same way (the same first boards; the spawns follow the "
                      "moves) played by the greedy policy, its most likely legal move each turn, reported beside the "
                      "stochastic games; goals are judged on the stochastic ones",
        },
        "machine": common.machine(args.threads),
        "goal": None if goal is None else {"applies_to": goal.applies_to, "goal": goal.text()},
        "anchors": ANCHORS,
        "runs": [],
        "aggregate": None,
        "peer": None,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    documents = {name: document_info(name) for name in args.designs}
    runs_in_all = (len(args.designs) + (1 if args.peer else 0)) * len(args.seed_list)
    print(f"bench-learn ({args.purpose}): {', '.join(args.designs)}{' + SB3 peer (' + args.peer + ')' if args.peer else ''}; "
          f"seeds {args.seed_list}; {args.minutes:g} min each: {runs_in_all} runs, about {runs_in_all * args.minutes:g} min of training")
    print(f"config: {args.config} (seed per run); {args.games} evaluation games per seed, evaluation seed {args.eval_seed}; "
          f"{args.threads} torch thread(s)", flush=True)

    python = None
    if args.peer:
        try:
            python = peers.ensure_venv(peers.SB3)
        except peers.PeerUnavailable as exc:
            print(f"SB3 peer unavailable: {exc}; going on without it", flush=True)

    results, paths = {}, {}
    for name in args.designs:
        document, info = documents[name]
        result = results[name] = skeleton(args, name, info, started)
        paths[name] = out_path(args, name, started)
        for seed in args.seed_list:
            result["runs"].append(train_and_evaluate(document, name, seed, args))
            result["aggregate"] = aggregate(result["runs"])
            common.write(paths[name], result)
        goal = GOALS.get(name)
        result["goal"] = None if goal is None else verdict(goal, result["aggregate"])
        if not args.peer or python is None:
            result["complete"] = True
            if args.peer:
                result["peer"] = {"available": False, "reason": "could not be installed (see the output)"}
        common.write(paths[name], result)

    peer = None
    if python is not None:
        try:
            peer = peer_runs(python, args)
        except peers.PeerUnavailable as exc:
            print(f"SB3 peer failed: {exc}; its figures are left out", flush=True)
            peer = {"available": False, "reason": str(exc)}
        for name in args.designs:
            results[name]["peer"] = peer
            results[name]["complete"] = True
            common.write(paths[name], results[name])

    print()
    for name in args.designs:
        result = results[name]
        print(f"{name}: {len(args.seed_list)} seed(s) x {args.minutes:g} min, {args.games} games per seed ({args.purpose} evaluation seed {args.eval_seed})")
        print(table(result["runs"], result["aggregate"], args.seed_list))
        print("\n".join(goal_lines(name, result["aggregate"])))
        print(f"  wrote {common.write(paths[name], result)}")
    print("anchors (recorded, not this run): random 1,096; SB3 MaskablePPO 2x64 MLP, 10 min: 4,190-4,386, 1024 in 2.5%")
    if peer is not None and "runs" in peer:
        print(f"SB3 MaskablePPO peer ({peer['policy']}: {peer['policy_description']}), same run, {args.minutes:g} min per seed:")
        print(table(peer["runs"], peer["aggregate"], args.seed_list))


if __name__ == "__main__":
    main()
