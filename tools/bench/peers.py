"""Peer packages for the benchmarks, each in a throwaway venv of its own under .setup/peers/<name>
(git-ignored, like the rest of .setup/), so that they never touch the project's .venv.

`ensure_venv(spec)` creates or reuses the venv: the pinned packages of the spec come from PyPI,
torch (for the specs that need it) from the project's local CPU wheel (/opt/wheels, the same
`torch==2.13.0+cpu` as requirements.lock). Every package the peer shares with the project is
constrained to the version requirements.lock pins (numpy, cloudpickle, torch and its
dependencies), so both sides run the same numerics libraries. An unpinned torch from PyPI would be a multi-GB CUDA build: the install refuses
anything but the local CPU wheel and fails if any nvidia-* or triton package got in. A venv is
reused while its spec and the lock are unchanged (a stamp file holds their hash); otherwise it is
rebuilt from scratch. The first install takes a few minutes (the torch wheel is large).

`run_peer(python, script, args)` runs a peer script in that venv and returns the JSON it writes;
`PeerSession` keeps one running and asks it for one figure at a time, so that its figures can
interleave with ours. Failures raise `PeerUnavailable` with a one-line reason, for the caller to
print and carry on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEERS_DIR = REPO / ".setup" / "peers"
LOCK_FILE = REPO / "requirements.lock"
WHEELS = Path("/opt/wheels")  # the local CPU wheel of torch (see constraints.txt)
TORCH = "torch==2.13.0+cpu"  # as requirements.lock pins it
FORBIDDEN = re.compile(r"^(nvidia-|triton$|cuda-)")  # what a CUDA build of torch drags in
INSTALL_TIMEOUT_S = 1200


@dataclasses.dataclass(frozen=True)
class PeerSpec:
    name: str  # the venv's folder under .setup/peers/
    requirements: tuple[str, ...]  # exact pins: name==version
    imports: tuple[str, ...]  # modules that must import once installed
    torch: bool = True  # install the local CPU wheel of torch first


# sb3-contrib's MaskablePPO on gymnasium-2048. gymnasium-2048 0.1.2 itself pins gymnasium 1.3.0 and
# pygame 2.6.1; stable-baselines3 needs cloudpickle, which (like numpy) the lock constrains.
SB3 = PeerSpec(
    name="sb3",
    requirements=(
        "sb3-contrib==2.9.2",
        "stable-baselines3==2.9.2",
        "gymnasium-2048==0.1.2",
        "gymnasium==1.3.0",
        "pygame==2.6.1",
    ),
    imports=("sb3_contrib", "stable_baselines3", "gymnasium_2048", "torch"),
)

# bench_env's peers: two other packages' 2048 envs (Gymnasium API); they need no torch.
ENV = PeerSpec(
    name="env",
    requirements=(
        "gym-2048-extended==2.5",
        "gymnasium-2048==0.1.2",
        "gymnasium==1.3.0",
        "pygame==2.6.1",
    ),
    imports=("gym_2048", "gymnasium_2048.envs"),
    torch=False,
)


class PeerUnavailable(Exception):
    """The peer could not be installed or run; str() is one line saying why."""


def lock_pins(lock: Path = LOCK_FILE) -> list[str]:
    """`name==version` for every package requirements.lock pins (hashes and comments left out)."""
    pins = []
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if match:
            pins.append(f"{match[1]}=={match[2]}")
    return pins


def _name(pin: str) -> str:
    return re.sub(r"[-_.]+", "-", pin.split("==")[0]).lower()


def constraints_for(spec: PeerSpec) -> list[str]:
    """The lock's pins, except those the spec pins itself (gymnasium-2048 wants gymnasium 1.3.0,
    the project 1.4.0), and torch as the local CPU wheel."""
    own = {_name(pin) for pin in spec.requirements} | {"torch"}
    return [pin for pin in lock_pins() if _name(pin) not in own] + [TORCH]


def venv_dir(spec: PeerSpec) -> Path:
    return PEERS_DIR / spec.name


def _stamp(spec: PeerSpec, constraints: list[str]) -> str:
    text = json.dumps([dataclasses.asdict(spec), constraints, TORCH, sys.version], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _last_line(text: str) -> str:
    """pip's most telling line: the first ERROR line, else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and "is ignored: it is neither a file nor a directory" not in line]
    errors = [line for line in lines if line.startswith("ERROR:")]
    line = (errors or lines or ["no output"])[0 if errors else -1]
    return line if len(line) <= 240 else line[:237] + "..."


def _pip(python: Path, args: Sequence[str], what: str) -> None:
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"installing {what} took over {INSTALL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise PeerUnavailable(f"installing {what} failed: {_last_line(done.stderr or done.stdout)}")


def _installed(python: Path) -> dict[str, str]:
    done = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PeerUnavailable(f"pip list failed in the peer venv: {_last_line(done.stderr)}")
    return {item["name"].lower(): item["version"] for item in json.loads(done.stdout)}


def check_cpu_only(packages: dict[str, str], torch: bool = True) -> None:
    """Refuse a venv with a CUDA build of torch or any of its GPU packages (and, for a spec
    without torch, one that got torch at all)."""
    bad = sorted(name for name in packages if FORBIDDEN.match(name))
    if bad:
        raise PeerUnavailable(f"the peer venv got GPU packages ({', '.join(bad)}); removed it")
    torch_version = packages.get("torch")
    if not torch:
        if torch_version is not None:
            raise PeerUnavailable(f"the peer venv got torch {torch_version}, which its spec does not need; removed it")
        return
    if torch_version != TORCH.split("==")[1]:
        raise PeerUnavailable(f"the peer venv has torch {torch_version}, not the local CPU wheel {TORCH}; removed it")


def ensure_venv(spec: PeerSpec, log=print) -> Path:
    """The peer venv's python, installed first if missing or stale. Raises PeerUnavailable."""
    directory = venv_dir(spec)
    python = directory / "bin" / "python"
    constraints = constraints_for(spec)
    stamp = _stamp(spec, constraints)
    stamp_file = directory / ".installed"
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    with open(PEERS_DIR / f".{spec.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benches starting at once: one installs, one waits
        if python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
            return python
        wheels = sorted(WHEELS.glob("torch-2.13.0+cpu-*.whl"))
        if spec.torch and not wheels:
            raise PeerUnavailable(f"no local CPU wheel of torch 2.13.0 in {WHEELS} (torch from PyPI would be a CUDA build)")
        torch_note = f" and {TORCH} (local wheel)" if spec.torch else ""
        log(f"peer: installing {', '.join(spec.requirements)}{torch_note} into {directory.relative_to(REPO)} "
            "(a few minutes, once)", flush=True)
        shutil.rmtree(directory, ignore_errors=True)
        done = subprocess.run([sys.executable, "-m", "venv", str(directory)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PeerUnavailable(f"python -m venv failed: {_last_line(done.stderr)}")
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="peer-constraints-", delete=False) as file:
                file.write("\n".join(constraints) + "\n")
            try:
                if spec.torch:  # first, the local wheel file itself (its dependencies at the lock's versions)
                    _pip(python, ["--find-links", str(WHEELS), "-c", file.name, str(wheels[-1])], TORCH)
                _pip(python, ["--find-links", str(WHEELS), "-c", file.name, *spec.requirements], " ".join(spec.requirements))
            finally:
                os.unlink(file.name)
            check_cpu_only(_installed(python), spec.torch)
            probe = "; ".join(f"import {module}" for module in spec.imports)
            done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False, env=peer_env())
            if done.returncode != 0:
                raise PeerUnavailable(f"the peer venv cannot import its packages: {_last_line(done.stderr)}")
        except PeerUnavailable:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        stamp_file.write_text(stamp + "\n")
        return python


def peer_env(threads: int | None = None) -> dict[str, str]:
    """The environment for a peer process: none of the project's paths, and pygame quiet."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_peer(python: Path, script: Path, args: Sequence[str], timeout_s: float, threads: int | None = None) -> dict:
    """Run `script args --out FILE` with the peer venv's python (its stderr passes through, for
    progress) and return the JSON object it wrote to FILE. Raises PeerUnavailable."""
    with tempfile.TemporaryDirectory(prefix="peer-run-") as scratch:
        out = Path(scratch) / "result.json"
        command = [str(python), str(script), *args, "--out", str(out)]
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=timeout_s, check=False,
                                  env=peer_env(threads), cwd=scratch)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"{script.name} {' '.join(args)} ran over {timeout_s:.0f} s") from None
        if done.returncode != 0 or not out.exists():
            raise PeerUnavailable(f"{script.name} {' '.join(args)} failed (exit {done.returncode}; its error is printed above)")
        return json.loads(out.read_text())


class PeerSession:
    """A peer script kept running between measurements, for figures interleaved with ours: each
    `ask(line)` writes one line to its stdin and returns the JSON object of the one line it answers
    on stdout (its stderr passes through). While it waits for the next line it sleeps, so it takes
    no CPU from whatever is measured between two asks. Raises PeerUnavailable if it dies, answers
    something that is not JSON, or stays silent past `timeout_s`. Stop it with `close()` (a
    context manager does), which asks it to stop and then waits for it, by its own handle."""

    def __init__(self, python: Path, script: Path, args: Sequence[str], threads: int | None = None) -> None:
        self.name = f"{script.name} {' '.join(args)}"
        self.scratch = tempfile.TemporaryDirectory(prefix="peer-session-")
        self.process = subprocess.Popen([str(python), str(script), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=peer_env(threads), cwd=self.scratch.name)

    def ask(self, line: str, timeout_s: float) -> dict:
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise PeerUnavailable(f"{self.name} exited (code {self.process.wait()}; its error is printed above)") from None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        answer = self.process.stdout.readline() if ready else None
        if answer is None:
            raise PeerUnavailable(f"{self.name} did not answer {line!r} within {timeout_s:.0f} s")
        if not answer:
            raise PeerUnavailable(f"{self.name} exited (code {self.process.wait()}; its error is printed above)")
        try:
            return json.loads(answer)
        except json.JSONDecodeError:
            raise PeerUnavailable(f"{self.name} answered {answer.strip()[:80]!r}, not JSON") from None

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write("stop\n")
                self.process.stdin.close()  # and the end of its input, which reads as stop too
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
        self.scratch.cleanup()

    def __enter__(self) -> PeerSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
