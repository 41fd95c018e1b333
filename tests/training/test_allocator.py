"""A training process keeps freed tensors' memory for the next minibatch: minibatch-sized blocks
come from the heap, repeated allocations stop page-faulting, and an allocator the environment
sets wins. Each measurement runs in a fresh interpreter, whose allocator nothing has set yet."""

import os
import platform
import subprocess
import sys

import pytest

from model_studio.training.allocator import keep_freed_memory

PROBE = """
import ctypes, resource, sys, torch
from model_studio.training.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    assert keep_freed_memory()
mapped = libc.mallinfo2().hblkhd
block = torch.ones(2 << 20)  # 8 MiB: a 512-board minibatch's feed-forward activations in float32
mapped = libc.mallinfo2().hblkhd - mapped
del block

def churn():  # ten 4 MiB tensors freed together, as a backward pass frees activations
    blocks = [torch.ones(1 << 20) for _ in range(10)]
    del blocks

churn()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print(mapped, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""
PAGES_PER_CHURN = 10 * (4 << 20) // 4096

glibc = pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver() < ("glibc", "2.33"), reason="glibc's mallopt and mallinfo2")


def probe(mode: str) -> tuple[int, int]:
    """(bytes of the 8 MiB block that were mmapped, minor page faults over ten churns)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_") and key != "GLIBC_TUNABLES"}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    mapped, faults = done.stdout.split()[-2:]
    return int(mapped), int(faults)


@glibc
def test_minibatch_sized_blocks_come_from_the_heap_and_stay_there():
    default_mapped, _ = probe("default")
    kept_mapped, kept_faults = probe("keep")
    assert default_mapped >= 8 << 20  # glibc's own first threshold is 128 KiB: mapped, and unmapped on free
    assert kept_mapped == 0
    # Kept, ten churns fault fewer pages than one churn touches (measured 1,024 to 4,097 of
    # 10,240). glibc's default usually faults every page of every churn (102,000 or so), but not
    # always: a Python allocation can pin the heap's top, so the default gets no bound here.
    assert kept_faults < PAGES_PER_CHURN, kept_faults


@glibc
def test_an_allocator_set_by_the_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", str(128 << 10))
    assert keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576")
    assert keep_freed_memory() is False
