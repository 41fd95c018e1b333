"""Compile and export speed per template, and inference latency of the ONNX export.

Per template: compile time (generate + atomic write; goal under 200 ms, import not counted),
ONNX export time (torch.export + conversion + checks + onnxruntime parity), and latency per board
at batch 1 and 256 in onnxruntime, next to torch eager (eval, no_grad) on the same model: the peer.

Run: `.venv/bin/python tools/bench/bench_compile.py`.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import onnxruntime
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model, compile_design
from model_studio.export import export_bytes, random_inputs

COMPILE_GOAL_MS = 200.0
COMPILE_RUNS = 20
LATENCY_BATCHES = (1, 256)
LATENCY_BUDGET_S = 0.5  # time spent measuring each (template, batch, runtime)
THREADS = 1  # both runtimes on one core: a like-for-like figure, and steadier on a shared machine
TEMPLATES = sorted((SCHEMA_DIR / "templates").glob("*.json"))


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def per_board_us(action, batch: int) -> float:
    """Median microseconds per board, repeating `action` for about LATENCY_BUDGET_S."""
    action()  # warm up
    times, deadline = [], time.perf_counter() + LATENCY_BUDGET_S
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6 / batch


def main() -> None:
    torch.set_num_threads(THREADS)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = THREADS
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {THREADS} thread(s) each")
    export_bytes(TEMPLATES[0].read_bytes(), "onnx")  # warm up the exporter's imports, not counted
    header = f"{'template':<20}{'compile ms':>11}{'onnx export s':>15}" + "".join(
        f"{f'ort b{b} us/board':>19}{f'torch b{b}':>11}{'ratio':>7}" for b in LATENCY_BATCHES
    )
    print(header)
    slowest = 0.0
    with tempfile.TemporaryDirectory() as data_dir:
        for path in TEMPLATES:
            document = path.read_bytes()
            compile_ms = median_ms(lambda: compile_design(document, data_dir), COMPILE_RUNS)
            slowest = max(slowest, compile_ms)
            start = time.perf_counter()
            session = onnxruntime.InferenceSession(export_bytes(document, "onnx"), options, providers=["CPUExecutionProvider"])
            export_s = time.perf_counter() - start
            model = build_model(document).eval()
            row = f"{path.stem:<20}{compile_ms:>11.1f}{export_s:>15.2f}"
            for batch in LATENCY_BATCHES:
                boards, masks = random_inputs(batch, seed=batch)
                feeds = {"board": boards.numpy(), "action_mask": masks.numpy()}
                ort_us = per_board_us(lambda: session.run(None, feeds), batch)
                with torch.no_grad():
                    torch_us = per_board_us(lambda: model(boards, masks), batch)
                row += f"{ort_us:>19.1f}{torch_us:>11.1f}{torch_us / ort_us:>6.1f}x"
            print(row)
    verdict = "meets" if slowest < COMPILE_GOAL_MS else "MISSES"
    print(f"slowest compile {slowest:.1f} ms: {verdict} the {COMPILE_GOAL_MS:.0f} ms goal. ratio = torch eager time / onnxruntime time (above 1: onnxruntime is faster).")


if __name__ == "__main__":
    main()
