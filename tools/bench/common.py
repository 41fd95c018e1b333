"""What the benchmarks share: an argument parser that reports bad arguments in one line, the speed
benchmarks' timed-window arguments, and what every result file records besides its figures (the
commit and whether the tree had local changes, the machine, the load), with a tidy JSON writer."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"


class Parser(argparse.ArgumentParser):
    """argparse with bad arguments reported in one line (exit status 2), no usage dump, as the
    model-studio CLI does."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def add_windows(parser: Parser, windows: int, window_s: float) -> None:
    """The speed benchmarks' timed windows: `--windows` and `--window-s` (see `check_windows`)."""
    parser.add_argument("--windows", type=int, default=windows, help="timed windows per figure")
    parser.add_argument("--window-s", type=float, default=window_s, help="seconds per window, at least")


def check_windows(parser: Parser, args: argparse.Namespace) -> None:
    """A one-line error (exit status 2) for a window count or length that measures nothing."""
    if args.windows < 1:
        parser.error("--windows must be at least 1")
    if not args.window_s > 0:
        parser.error("--window-s must be more than 0")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()


def source() -> dict:
    """The commit measured; `dirty`: the working tree had changes not in that commit, other than
    result files (a bench writes those as it goes), listed in `dirty_paths`."""
    changed = (git("diff", "--name-only", "HEAD") + "\n" + git("ls-files", "--others", "--exclude-standard")).split()
    dirty_paths = [path for path in changed if not path.startswith("tools/bench/results/")]
    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(dirty_paths), "dirty_paths": dirty_paths}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def cpu_identity() -> dict:
    """The CPU's model name with its family and model numbers: under a hypervisor the name alone
    ("AMD EPYC") can stand for generations that differ in whether they multiply bf16 natively."""
    fields = {"model name": "cpu_model", "cpu family": "cpu_family", "model": "cpu_model_number"}
    identity: dict = {"cpu_model": platform.processor() or None, "cpu_family": None, "cpu_model_number": None}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return identity
    for line in lines:
        key, _, value = line.partition(":")
        if not key.strip():
            break  # the end of the first processor's block
        if key.strip() in fields:
            identity[fields[key.strip()]] = value.strip()
    return identity


def loadavg() -> list[float]:
    """1-, 5- and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(torch_threads: int) -> dict:
    import torch

    from model_studio.training.ppo import bf16_supported

    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        **cpu_identity(),
        "bf16_native": bf16_supported(),  # whether training autocasts to bf16 on this CPU at all
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch_threads,
    }


def tidy(value: object, digits: int = 4) -> object:
    """Floats rounded (to `digits` decimals, large ones to 1) for a readable file."""
    if isinstance(value, float):
        return round(value, 1 if abs(value) >= 1000 else digits)
    if isinstance(value, dict):
        return {key: tidy(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [tidy(item, digits) for item in value]
    return value


def write(path: Path, result: dict) -> str:
    """Write `result` as indented JSON; returns the path to print (relative to the repo if inside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tidy(result), indent=2) + "\n")
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
