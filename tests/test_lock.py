"""requirements.lock pins exactly what pyproject.toml asks for: every direct dependency (runtime and
dev) is locked at a version its specifier admits, the lock names no direct dependency that
pyproject.toml dropped, and every locked package is there because something needs it."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
VIA = re.compile(r"^    # (?:via |  )(\S.*)$")  # "    # via X", or "    #   X" under a bare "# via"
PROJECT = "model-studio (pyproject.toml)"


def parse_lock(path: Path) -> dict[str, tuple[Version, set[str]]]:
    """Each pinned package: its version and the sources pip-compile gives for it (`# via ...`)."""
    pins: dict[str, tuple[Version, set[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (Version(match[2]), set())
        elif current and (match := VIA.match(line)):
            pins[current][1].add(match[1].strip())
    return pins


def direct_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_direct_dependency_is_locked_within_its_specifier():
    pins = parse_lock(REPO / "requirements.lock")
    for requirement in direct_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is in pyproject.toml but not in requirements.lock: run `just lock`"
        version, sources = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), f"{name}=={version} does not satisfy {requirement}"
        assert PROJECT in sources, f"{name} is not locked as a direct dependency: run `just lock`"


def test_the_lock_holds_no_dependency_that_pyproject_dropped():
    pins = parse_lock(REPO / "requirements.lock")
    direct = {canonicalize_name(requirement.name) for requirement in direct_requirements()}
    stale = sorted(name for name, (_, sources) in pins.items() if PROJECT in sources and name not in direct)
    assert stale == [], f"requirements.lock still pins {stale} for pyproject.toml: run `just lock`"


def test_every_locked_package_is_needed_by_something_locked():
    pins = parse_lock(REPO / "requirements.lock")
    for name, (_, sources) in pins.items():
        from_project = any(source.startswith("model-studio (pyproject.toml") for source in sources)
        parents = {canonicalize_name(source.split()[0]) for source in sources if not source.startswith(("model-studio", "-c "))}
        assert from_project or parents & pins.keys(), f"{name} is locked, but nothing locked needs it: {sorted(sources)}"


def test_torch_is_the_local_cpu_wheel():
    version, _ = parse_lock(REPO / "requirements.lock")["torch"]
    assert version == Version("2.13.0+cpu")
    assert "torch==2.13.0" in (REPO / "constraints.txt").read_text().split()


def test_every_lock_pins_with_hashes():
    for lock in (REPO / "requirements.lock", REPO / "tools" / "tools.lock"):
        text = lock.read_text()
        pinned = sum(1 for line in text.splitlines() if PIN.match(line))
        # a pin may carry an environment marker (uvloop does) before its hashes
        hashed = len(re.findall(r"^\S+==\S+(?: ; [^\n]+)? \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", text, flags=re.M))
        assert pinned == hashed > 0, f"{lock.name}: {pinned} pins, {hashed} with hashes"
