"""Validation speed on a 500-block design (goal: under 5 ms in Python, decode included).

Run: `just bench-validate` (or `.venv/bin/python tools/bench/bench_validate.py`).
"""

from __future__ import annotations

import json
import statistics
import time

from model_studio.validation import validate_design

GOAL_MS = 5.0
RUNS = 200


def five_hundred_blocks() -> dict:
    """board_input, embedding, 248 checkpointed transformer layers, layer norm, action output."""
    components = [{"id": "in", "type": "board_input"}, {"id": "emb", "type": "embedding"}]
    for i in range(248):
        components += [{"id": f"ckpt{i}", "type": "grad_checkpoint"}, {"id": f"layer{i}", "type": "transformer_layer"}]
    components += [{"id": "norm", "type": "layer_norm"}, {"id": "out", "type": "action_output"}]
    for row, component in enumerate(components):
        component["position"] = {"x": 0, "y": 100 * row}
    ids = [c["id"] for c in components]
    return {"id": "bench", "name": "500 blocks", "components": components, "edges": [list(p) for p in zip(ids, ids[1:])]}


def measure(label: str, document: bytes) -> None:
    validate_design(document)  # warm caches (catalogue load, formula compile)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = validate_design(document)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    median, p95 = statistics.median(times), times[int(0.95 * len(times))]
    verdict = "meets" if median < GOAL_MS else "MISSES"
    print(f"{label:<34} median {median:6.2f} ms   p95 {p95:6.2f} ms   ({len(result.errors)} errors; {verdict} the {GOAL_MS:.0f} ms goal)")


def main() -> None:
    design = five_hundred_blocks()
    print(f"validate_design on {len(design['components'])} blocks and {len(design['edges'])} edges, {RUNS} runs, JSON bytes in:")
    measure("valid 500-block chain", json.dumps(design).encode())
    broken = json.loads(json.dumps(design))
    broken["edges"].append(["layer200", "ckpt10"])
    broken["components"][300]["props"] = {"n_heads": 7}
    measure("same chain with a cycle + bad prop", json.dumps(broken).encode())
    print("peer: none — no other design tool validates 2048 networks; the goal is the only yardstick.")


if __name__ == "__main__":
    main()
