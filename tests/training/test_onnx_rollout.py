"""onnxruntime rollouts: the session computes what the torch model computes, follows the
optimizer's in-place updates and reallocated parameters, and the trainer uses it only for small
rollouts of designs without a routed MoE layer."""

import json

import numpy as np
import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model
from model_studio.training.onnx_rollout import OnnxRolloutPolicy, rollout_policy, traceable
from model_studio.training.ppo import SMALL_BATCH, PPOConfig, PPOTrainer

TEMPLATES = sorted(path.stem for path in (SCHEMA_DIR / "templates").glob("*.json"))
TOLERANCE = 1e-4  # float32 kernels of two libraries: summation order differs, nothing more


def template(name: str) -> dict:
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


def boards(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    board = generator.integers(0, 12, (count, 16), dtype=np.int8)  # the env's dtype
    mask = generator.random((count, 4)) < 0.8
    mask[:, 0] = True
    return board, mask


def assert_matches_torch(policy: OnnxRolloutPolicy, model: torch.nn.Module, count: int, seed: int) -> None:
    board, mask = boards(count, seed)
    logits, values = policy(board, mask)
    with torch.inference_mode():
        torch_logits, torch_values = model(torch.from_numpy(board).long(), torch.from_numpy(mask))
    assert logits.shape == (count, 4) and values.shape == (count,)
    assert torch.equal(logits[~torch.from_numpy(mask)], torch_logits[~torch.from_numpy(mask)])  # the float minimum
    assert (logits - torch_logits).abs()[torch.from_numpy(mask)].max() < TOLERANCE
    assert (values - torch_values).abs().max() < TOLERANCE


def has_moe(name: str) -> bool:
    return any(component["type"] == "moe_layer" for component in template(name)["components"])


@pytest.mark.parametrize("name", [name for name in TEMPLATES if not has_moe(name)])
def test_the_session_computes_the_models_policy_at_any_batch(name):
    model = build_model(template(name))
    policy = OnnxRolloutPolicy(model)
    for count, seed in ((1, 1), (8, 2), (33, 3)):
        assert_matches_torch(policy, model, count, seed)
    # Fresh parameters share values (every LayerNorm starts at ones): after training they differ,
    # and the session must read each one separately, in place.
    generator = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    assert_matches_torch(policy, model, 8, 7)


@pytest.mark.parametrize("name", ["small-transformer", "tuple-network"])
def test_the_session_reads_the_weights_that_training_wrote(name):
    trainer = PPOTrainer(build_model(template(name)), PPOConfig(num_envs=8, num_steps=16, minibatch_size=64, torch_threads=1))
    assert trainer.onnx_policy is not None
    before = trainer.onnx_policy(*boards(8, 4))[0]
    trainer.update()
    after = trainer.onnx_policy(*boards(8, 4))[0]
    assert not torch.equal(before, after)  # the update changed the policy, and the session saw it
    assert_matches_torch(trainer.onnx_policy, trainer.model, 8, 4)


def test_a_reallocated_parameter_is_rebound_on_refresh():
    model = build_model(template("tiny-dense"))
    policy = OnnxRolloutPolicy(model)
    weight = next(parameter for name, parameter in model.named_parameters() if name.endswith("weight"))
    with torch.no_grad():
        weight.data = weight.data * 2.0  # new memory; the old binding would read freed storage
    policy.refresh()
    assert_matches_torch(policy, model, 8, 5)


def test_moe_designs_stay_in_torch_and_keep_their_expert_usage():
    model = build_model(template("moe-router"))
    assert traceable(model) == "a routed MoE layer's per-forward expert usage"
    assert rollout_policy(model) is None
    trainer = PPOTrainer(model, PPOConfig(num_envs=8, num_steps=4, minibatch_size=32, torch_threads=1))
    assert trainer.onnx_policy is None
    usage = trainer.update().moe.expert_usage
    assert usage and all(abs(sum(layer) - 1.0) < 1e-5 for layer in usage)


def test_only_small_rollouts_run_in_onnxruntime():
    def policy(**changes):
        config = PPOConfig(num_steps=4, minibatch_size=32, torch_threads=1, **changes)
        return PPOTrainer(build_model(template("tiny-dense")), config).onnx_policy

    assert policy(num_envs=SMALL_BATCH - 1) is not None
    assert policy(num_envs=SMALL_BATCH) is None
    assert policy(num_envs=8, onnx_rollouts=False) is None


def test_a_seeded_run_repeats_exactly_with_onnxruntime_rollouts():
    def run():
        trainer = PPOTrainer(build_model(template("small-transformer")), PPOConfig(num_envs=8, num_steps=16, minibatch_size=64, torch_threads=1))
        return [trainer.update().losses for _ in range(2)]

    assert run() == run()
