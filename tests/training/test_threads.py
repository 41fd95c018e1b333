"""Adaptive torch threads: every core while the machine is otherwise idle, one fewer while
anything else runs, and a /proc reading that sees another process computing."""

import subprocess
import sys
import time

from model_studio.training import threads
from model_studio.training.threads import AdaptiveThreads, runnable_elsewhere


def test_grows_to_every_core_only_after_calm_samples_and_shrinks_at_once():
    threads = AdaptiveThreads(cores=4, calm_samples=2)
    assert threads.choose(0) == 3  # one calm sample is not enough
    assert threads.choose(0) == 4
    assert threads.choose(0) == 4
    assert threads.choose(1) == 3  # something else runs: give a core back now
    assert threads.choose(0) == 3
    assert threads.choose(None) == 3  # unknown: the safe choice
    assert threads.choose(0) == 3


def test_one_core_always_gets_one_thread():
    threads = AdaptiveThreads(cores=1)
    assert [threads.choose(busy) for busy in (0, 0, 0, 2, None)] == [1] * 5


def test_sees_another_process_computing():
    idle_reading = runnable_elsewhere()
    assert idle_reading is not None and idle_reading >= 0
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it get scheduled
        readings = [runnable_elsewhere() for _ in range(20) if time.sleep(0.01) is None]
    finally:
        spinner.kill()
        spinner.wait()
    assert max(readings) >= 1


def test_a_thread_runnable_for_a_moment_is_not_a_competitor(monkeypatch):
    """The reader of a trainer's events wakes just as the event is sent, when the trainer samples:
    only a thread seen in every reading counts."""
    readings = iter([1, 0, 1, 1, 2, 1, 1, 1])
    monkeypatch.setattr(threads, "runnable_now", lambda: next(readings))
    assert threads.runnable_elsewhere(samples=4, interval_s=0) == 0  # the blip
    assert threads.runnable_elsewhere(samples=4, interval_s=0) == 1  # someone stayed
