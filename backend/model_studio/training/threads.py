"""How many torch threads a training process uses.

A training run owns its process, and its time goes into matrix products that two threads finish
nearly twice as fast as one. But on a small machine the same cores serve the HTTP server (and any
other run): oversubscribed OpenMP threads wait on each other at every barrier, and both sides
slow down far more than the extra thread gains. So `AdaptiveThreads` samples the machine between
updates and uses every core while nothing else is runnable, one core fewer as soon as something
is (a request being served, another process computing).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

MAX_TORCH_THREADS = 8  # the models are small: more threads than this only add synchronisation
SAMPLES = 4  # readings per decision, SAMPLE_INTERVAL_S apart: a few ms per update
SAMPLE_INTERVAL_S = 0.002


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def default_torch_threads() -> int:
    """One core fewer than the process may use, at least 1: for work that shares the machine
    (evaluation beside the server) and the count a trainer starts from."""
    return max(1, min(MAX_TORCH_THREADS, usable_cores() - 1))


def set_torch_threads(threads: int) -> None:
    """Set this process's torch threads (0: `default_torch_threads()`). Training and evaluation
    own their process, so a global setting is right; call it before the first torch op."""
    torch.set_num_threads(threads or default_torch_threads())


def runnable_now() -> int | None:
    """One reading: threads on this machine runnable at this instant that are not this
    process's; None where /proc does not say (not Linux)."""
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        own = 0
        for stat in Path("/proc/self/task").glob("*/stat"):
            # The state follows the parenthesised thread name, which may itself hold spaces.
            if stat.read_text().rpartition(")")[2].split()[0] == "R":
                own += 1
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - own)


def runnable_elsewhere(samples: int = SAMPLES, interval_s: float = SAMPLE_INTERVAL_S) -> int | None:
    """Threads elsewhere that stayed runnable: the fewest of `samples` readings `interval_s`
    apart. One reading is not enough: a trainer samples right after sending its update's event,
    just as the reader of that event wakes up."""
    readings = []
    for index in range(samples):
        if index:
            time.sleep(interval_s)
        reading = runnable_now()
        if reading is None:
            return None
        readings.append(reading)
    return min(readings)


class AdaptiveThreads:
    """Picks the thread count for the next update: all `cores` (capped) while the machine is
    otherwise idle, one fewer while anything else runs. Grows only after `calm_samples` idle
    samples in a row, so a burst of requests does not flip it every update; shrinks at once."""

    def __init__(self, cores: int | None = None, calm_samples: int = 2) -> None:
        self.most = max(1, min(MAX_TORCH_THREADS, cores or usable_cores()))
        self.fewer = max(1, self.most - 1)  # default_torch_threads() for this machine
        self.calm_samples = calm_samples
        self.calm = 0
        self.threads = self.fewer

    def choose(self, busy_elsewhere: int | None) -> int:
        """The thread count given how many threads elsewhere are runnable (None: unknown, so
        stay at one fewer, the safe choice on a shared machine)."""
        if busy_elsewhere is None or busy_elsewhere > 0:
            self.calm = 0
            self.threads = self.fewer
        else:
            self.calm += 1
            if self.calm >= self.calm_samples:
                self.threads = self.most
        return self.threads
