"""glibc's allocator, set for a training process: freed tensors stay in the heap for the next
minibatch instead of going back to the kernel.

A minibatch's activations are megabytes each (512 boards x 16 cells x 256 floats is 8 MiB), and
an update allocates and frees them dozens of times. By default glibc adapts its mmap threshold
to the largest block freed (up to 32 MiB) and its trim threshold to twice that, but a backward
pass frees more than that at once, so the heap's top usually goes back to the kernel after a
minibatch and the next one faults it in afresh, each page zeroed by the kernel: for
small-transformer at our defaults about 100,000 minor page faults per update. Fixing the two
thresholds at the dynamic rule's own ceiling keeps those pages (`tools/bench/bench_allocator.py`
measures the faults and the env-steps/s both ways). The peak memory (VmHWM) stays about the same;
a process keeps up to HEAP_TRIM_THRESHOLD of freed memory mapped between minibatches.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
HEAP_MMAP_THRESHOLD = 32 << 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: blocks below this come from the heap
HEAP_TRIM_THRESHOLD = 2 * HEAP_MMAP_THRESHOLD  # glibc's dynamic rule: trim at twice the mmap threshold
GLIBC_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")  # and GLIBC_TUNABLES' glibc.malloc.*


def environment_sets_allocator() -> bool:
    """Whether this process's environment sets glibc's mmap or trim threshold, or any other
    `glibc.malloc.*` tunable."""
    return any(name in os.environ for name in GLIBC_ENVIRONMENT) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (see the module docstring). Returns
    whether it did: not off Linux, not on a C library without glibc's `mallopt` (musl's ignores
    it), and not where the environment already sets glibc's allocator, which then wins (the
    memory tests measure with it)."""
    if not sys.platform.startswith("linux") or environment_sets_allocator():
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD))
