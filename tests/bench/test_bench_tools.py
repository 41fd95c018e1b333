"""The pure parts of the benchmarks in tools/bench: the Student t interval, bench_learn's
arguments and aggregate, bench_train's, bench_flops's and bench_env's arguments, the peer
installer's pins and CPU-only check, and the peer session's line protocol (against a small script
speaking it). Nothing here trains, installs or measures anything."""

import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"


@pytest.fixture(scope="module")
def bench():
    """The bench modules, imported as the scripts import each other (tools/bench on sys.path)."""
    sys.path.insert(0, str(BENCH))
    try:
        import bench_env
        import bench_flops
        import bench_learn
        import bench_train
        import peers
        import stats

        yield {"stats": stats, "bench_env": bench_env, "bench_flops": bench_flops, "bench_learn": bench_learn, "bench_train": bench_train, "peers": peers}
    finally:
        sys.path.remove(str(BENCH))


# Two-sided 95% (p = 0.975) unless said: closed forms for df 1 and 2, printed tables for the rest
# (Abramowitz & Stegun table 26.10; the same values as scipy.stats.t.ppf to the digits shown).
@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, math.tan(math.pi * (0.975 - 0.5))),  # 12.7062047362
        (0.975, 2, (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025)),  # 4.30265272975
        (0.975, 4, 2.776445105),
        (0.975, 9, 2.262157163),
        (0.975, 29, 2.045229642),
        (0.995, 3, 5.840909310),
        (0.95, 10, 1.812461123),
        (0.975, 10**7, 1.959963985),  # the normal quantile in the limit
    ],
)
def test_t_quantile_matches_tables(bench, p, df, expected):
    assert bench["stats"].t_quantile(p, df) == pytest.approx(expected, rel=1e-8, abs=1e-6)


def test_t_cdf_is_symmetric_and_inverts(bench):
    stats = bench["stats"]
    assert stats.t_cdf(0.0, 5) == pytest.approx(0.5)
    for df in (1, 3, 30):
        for t in (0.1, 1.0, 3.0):
            assert stats.t_cdf(-t, df) == pytest.approx(1 - stats.t_cdf(t, df), abs=1e-12)
            assert stats.t_quantile(stats.t_cdf(t, df), df) == pytest.approx(t, rel=1e-9)
    assert stats.t_quantile(0.025, 2) == pytest.approx(-stats.t_quantile(0.975, 2))
    with pytest.raises(ValueError):
        stats.t_quantile(1.0, 3)


def test_mean_interval(bench):
    stats = bench["stats"]
    interval = stats.mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729749464 / math.sqrt(3)  # sd 1, n 3
    assert interval["mean"] == 2.0 and interval["sd"] == 1.0 and interval["n"] == 3
    assert interval["half_width"] == pytest.approx(half)
    assert (interval["low"], interval["high"]) == pytest.approx((2.0 - half, 2.0 + half))
    single = stats.mean_interval([7.0])
    assert single["mean"] == 7.0 and single["low"] is None and single["high"] is None and single["half_width"] is None
    with pytest.raises(ValueError):
        stats.mean_interval([])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seed-base", "-1"], "--seed-base must be at least 0"),
        (["--minutes", "0"], "--minutes must be more than 0"),
        (["--games", "0"], "--games must be between 1 and"),
        (["--design", "no-such-template"], "unknown design 'no-such-template'"),
        (["--design", "tiny-dense,tiny-dense"], "a design is named twice"),
        (["--design", "tiny-dense", "--design", "small-transformer", "--out", "x.json"], 'must contain "{design}"'),
        (["--set", "no_such_field=1"], "unknown PPOConfig field 'no_such_field'"),
        (["--set", "gamma"], "expected FIELD=VALUE"),
        (["--set", "gamma=abc"], "--set gamma=abc: expected a number"),
        (["--set", "num_envs=2.5"], "--set num_envs=2.5: expected an integer"),
        (["--set", "num_envs=true"], "--set num_envs=true: expected an integer"),
        (["--set", "update_epochs=two"], "expected an integer or None"),
        (["--set", "anneal_lr=maybe"], "--set anneal_lr=maybe: expected true or false"),
        (["--set", "reward=points"], "reward must be one of score, log2"),
        (["--set", "num_envs=1000000000"], "num_envs must be at most 4,096"),
        (["--set", "learning_rate=1e999"], "learning_rate must be a finite number"),
        (["--set", "gamma=2.0"], "gamma must be in (0, 1]"),
        (["--set", "seed=3"], "use --seed-base"),
        (["--purpose", "final"], "invalid choice"),
        (["--peer", "cnn"], "invalid choice"),
    ],
)
def test_bench_learn_bad_arguments_give_one_line(bench, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench["bench_learn"].parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench_learn.py: ") and message in err


def test_bench_learn_arguments(bench):
    learn = bench["bench_learn"]
    args = learn.parse_args(["--design", "tiny-dense,small-transformer", "--seeds", "2", "--seed-base", "5",
                             "--purpose", "tune", "--set", "gamma=0.99", "--peer"])
    assert args.designs == ["tiny-dense", "small-transformer"]
    assert args.seed_list == [5, 6] and args.config.gamma == 0.99 and args.overrides == {"gamma": 0.99}
    assert args.peer == "transformer"
    assert args.eval_seed == learn.EVAL_SEEDS["tune"] != learn.EVAL_SEEDS["report"]
    typed = learn.parse_args(["--set", "anneal_lr=false", "--set", "bf16=True", "--set", "reward=score", "--set", "learning_rate=1",
                              "--set", "update_epochs=None", "--set", "target_kl=0.02", "--set", "num_envs=512"])
    assert typed.overrides == {"anneal_lr": False, "bf16": True, "reward": "score", "learning_rate": 1.0, "update_epochs": None,
                               "target_kl": 0.02, "num_envs": 512}
    assert type(typed.config.learning_rate) is float and type(typed.config.num_envs) is int
    report = learn.parse_args([])
    assert report.designs == [learn.DEFAULT_DESIGN] and report.seed_list == [0, 1, 2] and report.eval_seed == learn.EVAL_SEEDS["report"]
    stamp = learn.datetime.datetime(2026, 1, 2, 3, 4, 5)
    assert learn.out_path(report, "tiny-dense", stamp) == learn.common.RESULTS / "learn-tiny-dense.json"
    assert learn.out_path(args, "tiny-dense", stamp) == learn.TUNE_DIR / "learn-tiny-dense-20260102-030405.json"


def test_tune_results_are_ignored_by_git():
    ignore = (BENCH / "results" / "tune" / ".gitignore").read_text().split()
    assert "*" in ignore and "!.gitignore" in ignore


def test_bench_learn_aggregate_and_goal(bench):
    learn = bench["bench_learn"]

    def run(mean_score, reach_2048, games=200):
        reach = {str(tile): 0.0 for tile in learn.REACH_TILES} | {"256": 1.0, "512": 1.0, "1024": 1.0, "2048": reach_2048}
        return {"env_steps": 10**6, "env_steps_per_s": 1e4,
                "eval": {"games": games, "mean_score": mean_score, "max_score": int(2 * mean_score), "mean_length": 1000.0, "reach": reach}}

    agg = learn.aggregate([run(30000.0, 0.6), run(32000.0, 0.7), run(34000.0, 0.8)])
    assert agg["mean_score"]["mean"] == pytest.approx(32000.0)
    assert agg["mean_score"]["half_width"] == pytest.approx(4.302652729749464 * 2000.0 / math.sqrt(3))
    assert agg["reach_2048"]["mean"] == pytest.approx(0.7)
    assert agg["pooled"]["games"] == 600 and agg["pooled"]["mean_score"] == pytest.approx(32000.0)
    assert agg["pooled"]["max_score"] == 68000
    verdict = learn.verdict(learn.GOALS[learn.DEFAULT_DESIGN], agg)
    assert verdict["meets_mean_over_seeds"] is True and verdict["meets_interval_low"] is False
    one = learn.verdict(learn.GOALS["small-transformer"], learn.aggregate([run(12000.0, 0.1)]))
    assert one["meets_mean_over_seeds"] is True and one["meets_interval_low"] is None
    assert "greedy_mean_score" not in agg  # runs without greedy games (the SB3 peer's) report none


def test_bench_learn_reports_greedy_games_beside_the_stochastic_ones(bench):
    learn = bench["bench_learn"]
    reach = {str(tile): 0.0 for tile in learn.REACH_TILES}

    def run(stochastic, greedy):
        games = {"games": 200, "max_score": 0, "mean_length": 1000.0}
        return {"env_steps": 10**6, "env_steps_per_s": 1e4,
                "eval": {**games, "mean_score": stochastic, "reach": reach | {"2048": 0.5}},
                "eval_greedy": {**games, "mean_score": greedy, "reach": reach | {"2048": 0.75}}}

    runs = [run(20000.0, 30000.0), run(22000.0, 34000.0)]
    agg = learn.aggregate(runs)
    assert agg["mean_score"]["mean"] == pytest.approx(21000.0)
    assert agg["greedy_mean_score"]["mean"] == pytest.approx(32000.0)
    assert agg["greedy_reach_2048"]["mean"] == pytest.approx(0.75) and agg["reach_2048"]["mean"] == pytest.approx(0.5)
    assert learn.verdict(learn.GOALS[learn.DEFAULT_DESIGN], agg)["meets_mean_over_seeds"] is False  # judged on the stochastic games
    lines = learn.table(runs, agg, [0, 1]).splitlines()
    assert any(line.split()[:3] == ["greedy", "mean", "score"] and "32,000" in line for line in lines)
    assert any(line.split()[:3] == ["greedy", "reached", "2048"] and "75.0%" in line for line in lines)


@pytest.mark.parametrize(
    ("script", "argv", "message"),
    [("bench_train", ["--windows", "0"], "--windows must be at least 1"),
     ("bench_train", ["--window-s", "0"], "--window-s must be more than 0"),
     ("bench_train", ["--threads", "-1"], "--threads must be at least 0"),
     ("bench_train", ["--windows", "x"], "invalid int value"),
     ("bench_flops", ["--windows", "0"], "--windows must be at least 1"),
     ("bench_flops", ["--window-s", "-1"], "--window-s must be more than 0"),
     ("bench_env", ["--peers"], "unrecognized arguments"),
     ("bench_env", ["--out"], "expected one argument")],
)
def test_bench_train_flops_and_env_bad_arguments_give_one_line(bench, capsys, script, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench[script].main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_peer_pins(bench):
    peers = bench["peers"]
    for spec in (peers.SB3, peers.ENV):
        for pin in spec.requirements:
            name, equals, version = pin.partition("==")
            assert equals and version and "*" not in version, f"{pin} is not an exact pin"
    constraints = peers.constraints_for(peers.SB3)
    assert peers.TORCH in constraints and sum(pin.startswith("torch==") for pin in constraints) == 1
    assert not any(pin.startswith("gymnasium==") for pin in constraints)  # the spec's own pin wins
    assert any(pin.startswith("numpy==") for pin in constraints)  # shared with the project at the lock's version


def test_peer_refuses_gpu_packages(bench):
    peers = bench["peers"]
    peers.check_cpu_only({"torch": "2.13.0+cpu", "numpy": "2.4.6"})
    with pytest.raises(peers.PeerUnavailable, match="nvidia-cublas-cu12"):
        peers.check_cpu_only({"torch": "2.13.0+cpu", "nvidia-cublas-cu12": "12.8"})
    with pytest.raises(peers.PeerUnavailable, match="not the local CPU wheel"):
        peers.check_cpu_only({"torch": "2.13.0"})
    # The env peers' venv needs no torch: any torch in it is refused, a venv without one passes.
    peers.check_cpu_only({"gymnasium": "1.3.0"}, torch=False)
    with pytest.raises(peers.PeerUnavailable, match="does not need"):
        peers.check_cpu_only({"gymnasium": "1.3.0", "torch": "2.13.0+cpu"}, torch=False)


# A peer script in miniature, speaking PeerSession's protocol: one JSON line per line it reads.
ECHO_PEER = """
import json, sys
for line in sys.stdin:
    command = line.strip()
    if command == "stop":
        break
    if command == "garble":
        print("not json", flush=True)
    elif command == "die":
        sys.exit(3)
    elif command == "hang":
        sys.stdin.readline()
    else:
        print(json.dumps({"asked": command}), flush=True)
"""


def test_peer_session_asks_one_line_at_a_time_and_fails_in_one_line(bench, tmp_path):
    peers = bench["peers"]
    script = tmp_path / "echo_peer.py"
    script.write_text(ECHO_PEER)
    with peers.PeerSession(Path(sys.executable), script, []) as session:
        assert session.ask("4.0", timeout_s=30) == {"asked": "4.0"}
        assert session.ask("describe", timeout_s=30) == {"asked": "describe"}
        with pytest.raises(peers.PeerUnavailable, match="not JSON"):
            session.ask("garble", timeout_s=30)
        with pytest.raises(peers.PeerUnavailable, match="did not answer 'hang' within 1 s"):
            session.ask("hang", timeout_s=1)
    assert session.process.returncode == 0  # close() asked it to stop, and it did
    with peers.PeerSession(Path(sys.executable), script, []) as session:
        with pytest.raises(peers.PeerUnavailable, match=r"exited \(code 3"):
            session.ask("die", timeout_s=30)
