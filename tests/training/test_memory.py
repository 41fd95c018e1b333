"""Memory you can plan with: the validator's `estimatedMemory` against what one PPO minibatch step
really takes, for every template in schema/templates, and the catalogue's runtime baseline
against a fresh training process.

Each measurement runs in a fresh interpreter (`memory_probe.py` beside this file, run as a script):
import the training stack (torch, model_studio.training), build the default env (256 boards),
do a warm-up optimiser step on a 16x16 Linear (in float32 and, where the CPU has it, under bf16
autocast: autograd's, oneDNN's and Adam's one-time set-up, which every run pays whatever its
model), and read VmRSS: that is the runtime baseline. Then reset VmHWM (`5` to
/proc/self/clear_refs), build the template's model and a `PPOTrainer` whose rollout is exactly
one 512-board minibatch (8 boards x 64 moves, one epoch; the catalogue's minibatch, gradient
checkpoints on since the trainer trains in train mode) and call `update()`: a small rollout,
then `optimise`, PPOTrainer's own forward, backward, gradient clip and fused Adam step, on the
same path as a real run (bf16 autocast where the trainer uses it). Peak = VmHWM after it minus
VmHWM before the model. The estimate counts weights, gradients, Adam's two moments and one
minibatch's activations; the peak also holds the rollout (a few hundred kB), lazily built
kernels and the allocator's own overhead.

Two readings per template, because glibc's allocator decides how much freed memory stays
resident:

- `live`, with MALLOC_MMAP_THRESHOLD_=4 MiB: every tensor of 4 MiB or more gets its own mapping,
  returned on free, so the peak follows the tensors alive at once. This is what the estimate
  claims to count (the catalogue's memory doc leaves the allocator's caching out), and it is
  checked two-sided: LIVE_LOW * estimate <= peak <= LIVE_HIGH * estimate + FLOOR_MIB.
- `default`, glibc as a training process runs it (no tuning): the mmap threshold rises after large
  frees (up to 32 MiB), later large tensors come from the heap, and the heap keeps what was freed
  in between. Checked against DEFAULT_HIGH * estimate + FLOOR_MIB: a regression bound on what a
  real run takes, not a claim of the estimate. Measured for the templates whose estimate is at
  least DEFAULT_MODE_MIN_ESTIMATE_MIB (below that the two readings differ by at most 20 MiB, see
  the table), to keep the file's time down.

Measured on the 2-core development machine (AMD EPYC with AVX-512 BF16, the locked torch, one
torch thread), MiB above the baseline over two runs each, with bf16 autocast (the trainer's path
on this CPU) and without (`PPOConfig(bf16=False)`, the path of a CPU without bf16; run the probe
with MEMORY_TEST_FP32=1):

    template            estimate   live bf16   live fp32   default bf16   default fp32
    tiny-dense                 5      15          16            16             16-18
    residual-mlp               7      18-19       19            19             18
    moe-router                73      81-90       98-103        84-87          98-105
    small-transformer         86      81-86       109-120       80-81          117-118
    deep-checkpointed        107     137-140      133           182-194        441-491
    tuple-network            409     427          -             427            -         (SparseAdam, 17 tuples)

On a CPU without bf16 (AMD EPYC Zen 2, family 23 model 49, where float32 is the trainer's only
path), live, five runs each for the two routed/attention templates and two for the rest:

    template            estimate   live fp32
    tiny-dense                 5      15
    residual-mlp               7      16-17
    moe-router                73     108-117
    small-transformer         86     113-120
    deep-checkpointed        107     135
    tuple-network            409     422-423

Live, the peak is 0.94x to 1.40x the estimate on the bf16 CPU and up to 1.60x (moe-router) on
the Zen 2: a fixed 10-13 MiB (one-time kernels, the rollout, small heap blocks; all of tiny-dense's
and residual-mlp's excess, hence the absolute floor), and for the transformer and MoE templates in
float32 up to ~30% more there and ~42% more on the Zen 2 (moe-router: its routed row counts, and so
its peak, change from run to run), the backward pass's transient activation gradients, which the
estimate does not count. The tuple network's tables train by
SparseAdam (`training/optim.py`): their gradient is sparse, so they cost 3 floats per parameter
(weight and Adam's two moments), the catalogue's `floats_per_sparse_param`. Asserted: 0.85x
estimate <= live peak <= 1.3x estimate + 20 MiB where the trainer ran under bf16, 1.45x + 20 MiB
where it ran in float32 (tightest margins: small-transformer bf16, 81 against 73; moe-router fp32
on the Zen 2, 117 against 126).

Under the default allocator, deep-checkpointed peaks at 1.7-1.8x its estimate with bf16 and
4.1-4.6x without: the heap keeps the freed blocks of the recomputed layers. A fixed 4 MiB mmap
threshold in the training process would remove that, but costs this template ~65% more CPU time
per update in float32 (9.1 s of CPU against 5.5 s, an update of 1,024 samples), so it is left
to whoever trades speed for memory; DEFAULT_HIGH records the worst case with a margin.

Runtime baseline: 339.4-341.0 MiB (265 MiB right after the imports; the warm-up step adds the
rest), against the catalogue's 340: asserted within BASELINE_TOLERANCE (10%), and the same
within 30 MiB for every template's process.

Whole file: 8 fresh interpreters (6 templates live, 2 default), two at a time: about 15 s on an
idle 2-core machine, 30 s on the shared one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.validation import validate_design

TEMPLATES = sorted(path.stem for path in (SCHEMA_DIR / "templates").glob("*.json"))
MODES = {"live": {"MALLOC_MMAP_THRESHOLD_": str(4 * 2**20)}, "default": {}}
FLOOR_MIB = 20.0  # fixed costs: one-time kernels, the rollout, small heap blocks (10-13 MiB measured)
LIVE_LOW = 0.85  # live peak measured from 0.94x the estimate (small-transformer, bf16)
LIVE_HIGH = {True: 1.3, False: 1.45}  # by the trainer's bf16: up to 1.40x on the bf16 CPU in fp32, 1.60x on the Zen 2 (moe-router)
DEFAULT_HIGH = 5.5  # default allocator: measured up to 4.6x (deep-checkpointed, fp32; 1.8x with bf16)
BASELINE_TOLERANCE = 0.10  # measured 339.4-341.0 MiB
DEFAULT_MODE_MIN_ESTIMATE_MIB = 100  # below, the default allocator's peak was within 20 MiB of the live one
PARALLEL = 2
CHILD_TIMEOUT_S = 120.0
CATALOGUE_JSON = SCHEMA_DIR / "catalogue.json"
PROBE = Path(__file__).with_name("memory_probe.py")  # the measurement, run as a script


def _child(template: str, mode: str) -> dict:
    env = {**os.environ, **MODES[mode]}
    done = subprocess.run([sys.executable, str(PROBE), template], env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    assert done.returncode == 0, f"{template} ({mode}) failed:\n{done.stderr[-4000:]}"
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "mode": mode}


def estimate_mib(template: str) -> int:
    return validate_design((SCHEMA_DIR / "templates" / f"{template}.json").read_text()).estimatedMemory


def default_mode_templates() -> list[str]:
    return [template for template in TEMPLATES if estimate_mib(template) >= DEFAULT_MODE_MIN_ESTIMATE_MIB]


@cache
def measurements() -> dict[tuple[str, str], dict]:
    """Each job in its own interpreter, PARALLEL at a time: every template live, the big ones also
    under the default allocator."""
    jobs = [(template, "live") for template in TEMPLATES] + [(template, "default") for template in default_mode_templates()]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda job: _child(*job), jobs))
    for result in results:
        print(json.dumps(result))  # shown with -s or on failure: the numbers the docstring quotes
    return dict(zip(jobs, results))


def runtime_baseline_mb() -> float:
    """The catalogue's `memory.runtime_baseline_mb`, read from the raw JSON if the typed catalogue
    does not carry it."""
    memory = load_catalogue().doc.memory
    value = getattr(memory, "runtime_baseline_mb", None)
    if value is None:
        value = json.loads(CATALOGUE_JSON.read_text())["memory"].get("runtime_baseline_mb")
    if value is None:
        pytest.fail("schema/catalogue.json has no memory.runtime_baseline_mb")
    return float(value)


pytestmark = pytest.mark.skipif(
    not (sys.platform == "linux" and Path("/proc/self/clear_refs").exists()), reason="measures with Linux's /proc VmHWM"
)


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_estimate_covers_one_minibatch_step_of_live_memory(template):
    result = measurements()[(template, "live")]
    estimate, peak = result["estimate_mib"], result["peak_mib"]
    assert LIVE_LOW * estimate <= peak <= LIVE_HIGH[result["bf16"]] * estimate + FLOOR_MIB, result


@pytest.mark.parametrize("template", default_mode_templates())
def test_a_training_process_stays_within_the_measured_allocator_overhead(template):
    result = measurements()[(template, "default")]
    estimate, peak = result["estimate_mib"], result["peak_mib"]
    assert measurements()[(template, "live")]["peak_mib"] - FLOOR_MIB <= peak <= DEFAULT_HIGH * estimate + FLOOR_MIB, result


def test_the_runtime_baseline_is_the_catalogues():
    expected = runtime_baseline_mb()
    baselines = sorted(result["baseline_mib"] for result in measurements().values())
    median = baselines[len(baselines) // 2]
    assert abs(median - expected) <= BASELINE_TOLERANCE * expected, (median, expected, baselines)
    assert baselines[-1] - baselines[0] < 30, baselines  # the same for every design, as the catalogue says
