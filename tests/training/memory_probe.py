"""The measurement of test_memory.py, run as a script in a fresh interpreter:
`python memory_probe.py TEMPLATE` prints one JSON line (see test_memory.py's docstring). It
imports only the training stack, so the runtime baseline it reads is a training process's."""

from __future__ import annotations

import json
import os
import sys
import time

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.validation import MIB, activation_floats_per_board


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def measure(template: str) -> dict:
    """In a fresh interpreter: the runtime baseline, then the peak of one minibatch step above it."""
    started = time.perf_counter()
    import torch

    from model_studio.codegen import build_model
    from model_studio.env.vector import BatchedGame2048
    from model_studio.training.ppo import PPOConfig, PPOTrainer
    from model_studio.training.threads import set_torch_threads
    from model_studio.validation import validate_design

    set_torch_threads(1)
    imports_mib = _status_mib("VmRSS")
    env = BatchedGame2048(PPOConfig().num_envs, seed=0)
    env.reset()
    layer = torch.nn.Linear(16, 16)
    optimizer = torch.optim.Adam(layer.parameters(), eps=1e-5, fused=True)
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    for autocast in (False, True) if bf16 else (False,):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = layer(torch.randn(64, 16)).float().sum()
        loss.backward()
        optimizer.step()
    del layer, optimizer, loss
    baseline_mib = _status_mib("VmRSS")

    design = json.loads((SCHEMA_DIR / "templates" / f"{template}.json").read_text())
    result = validate_design(design)
    # onnx_rollouts off: the estimate is of the default run's memory, whose 256-board rollouts stay in torch.
    config = PPOConfig(num_envs=8, num_steps=64, minibatch_size=512, update_epochs=1, torch_threads=1, onnx_rollouts=False, **_overrides())
    assert config.batch_size == config.minibatch_size == load_catalogue().doc.memory.minibatch
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS
    before_mib = _status_mib("VmHWM")
    trainer = PPOTrainer(build_model(design, seed=0), config)
    stepped = time.perf_counter()
    event = trainer.update()
    peak_mib = _status_mib("VmHWM") - before_mib
    assert event is not None and event.update == 1
    tensors = _tensor_peak(trainer)
    return {
        "template": template,
        "estimate_mib": result.estimatedMemory,
        "params": result.paramCountExact,
        "peak_mib": round(peak_mib, 1),
        "imports_mib": round(imports_mib, 1),
        "baseline_mib": round(baseline_mib, 1),
        "bf16": bool(getattr(trainer, "update_bf16", False)),
        "activations_estimate_mib": round(_activation_bytes(design) / MIB, 2),
        "dense_grad_mib": round(tensors["dense_grad_bytes"] / MIB, 2),
        "tensor_peak_mib": round(tensors["peak_bytes"] / MIB, 2),
        "step_s": round(time.perf_counter() - stepped, 2),
        "total_s": round(time.perf_counter() - started, 2),
    }


def _activation_bytes(design: dict) -> int:
    """The estimate's activation term, unrounded (the validation result rounds it up to a MiB)."""
    from model_studio.codegen import valid_analysis

    memory = load_catalogue().doc.memory
    return memory.bytes_per_float * memory.minibatch * activation_floats_per_board(valid_analysis(design))


def _tensor_peak(trainer) -> dict:
    """The most bytes of tensors alive at once during one minibatch's forward and backward (the
    trainer's path and loss terms, on fresh boards), from the profiler's record of every CPU
    allocation and free: what the estimate's activation term claims to count, plus the dense
    gradients, and nothing of the allocator's caching. The weights, allocated before, are not in it."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from model_studio.env.vector import BatchedGame2048
    from model_studio.training.ppo import autocast_bf16, masked_log_probs

    model, minibatch = trainer.model, load_catalogue().doc.memory.minibatch
    envs = BatchedGame2048(minibatch, seed=1)
    board, mask = torch.from_numpy(envs.reset()).long(), torch.from_numpy(envs.action_mask())
    model.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        with autocast_bf16(trainer.update_bf16):
            logits, value = model(board, mask)
        loss = masked_log_probs(logits, mask).mean() + value.pow(2).mean() + model.latest_lb_loss + model.aux_loss(board)
        loss.backward()
    allocations = sorted((event.start_ns(), event.nbytes()) for event in profiler.profiler.kineto_results.events() if event.name() == "[memory]")
    alive = peak = 0
    for _, nbytes in allocations:
        alive += nbytes
        peak = max(peak, alive)
    dense_grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None and not p.grad.is_sparse)
    return {"peak_bytes": peak, "dense_grad_bytes": dense_grads}


def _overrides() -> dict:
    """MEMORY_TEST_FP32=1 measures the float32 path on a bf16 CPU (for the table above)."""
    return {"bf16": False} if os.environ.get("MEMORY_TEST_FP32") else {}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
