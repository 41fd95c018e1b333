"""PPOConfig.torch_compile: a compiled trainer learns exactly what the eager one learns (the same
update, to float rounding), the MoE layer's balancing loss and the aux head's loss included, and a
machine whose C++ compiler is missing still trains, eagerly, after one warning."""

import json
import logging

import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model
from model_studio.training.ppo import PPOConfig, PPOTrainer

# Small and fixed, float32 and one thread, so both trainers sample the same moves.
CONFIG = dict(num_envs=16, num_steps=8, minibatch_size=64, update_epochs=1, torch_threads=1, bf16=False)


def template(name: str) -> dict:
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


def moe_without_attention() -> dict:
    """moe-router minus its transformer layer, with 3 experts (its router picks 2): the routed MoE
    layer and the aux head that compiling must keep, in a graph small enough to compile in seconds."""
    design = template("moe-router")
    design["components"] = [c for c in design["components"] if c["id"] != "layer1"]
    design["edges"] = [[a, b] for a, b in design["edges"] if "layer1" not in (a, b)] + [["embed", "router"]]
    next(c for c in design["components"] if c["type"] == "moe_layer")["props"]["n_experts"] = 3
    return design


def one_update(design: dict, torch_compile: bool):
    trainer = PPOTrainer(build_model(design, seed=3), PPOConfig(seed=5, torch_compile=torch_compile, **CONFIG))
    return trainer.update(), trainer.model


@pytest.mark.parametrize("design", [template("tiny-dense"), moe_without_attention()], ids=["tiny-dense", "moe"])
def test_a_compiled_update_matches_the_eager_one(design):
    eager_event, eager_model = one_update(design, torch_compile=False)
    compiled_event, compiled_model = one_update(design, torch_compile=True)

    assert compiled_event.episodes == eager_event.episodes  # the same moves were played
    for name in ("policy_loss", "value_loss", "entropy", "lb_loss", "aux_loss"):
        assert getattr(compiled_event.losses, name) == pytest.approx(getattr(eager_event.losses, name), rel=1e-4, abs=1e-7), name
    for compiled_usage, eager_usage in zip(compiled_event.moe.expert_usage, eager_event.moe.expert_usage, strict=True):
        assert compiled_usage == pytest.approx(eager_usage, abs=1e-6)
    eager_weights, compiled_weights = eager_model.state_dict(), compiled_model.state_dict()
    for name, weight in eager_weights.items():
        torch.testing.assert_close(compiled_weights[name], weight, rtol=1e-4, atol=1e-6, msg=name)
    if design["id"] == "moe-router":
        # The balancing and aux losses reached the gradients: the gate and the aux head moved.
        assert compiled_event.losses.lb_loss > 0 and compiled_event.losses.aux_loss > 0
        initial = build_model(design, seed=3).state_dict()
        for name in ("experts.gate.weight", "aux.linear.weight"):
            assert not torch.equal(compiled_weights[name], initial[name]), name


def test_without_a_cxx_compiler_training_goes_on_eagerly(monkeypatch, caplog):
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(inductor_config.cpp, "cxx", (None, "/nonexistent/c++"))
    monkeypatch.setattr(inductor_config, "fx_graph_cache", False)  # a cached graph would need no compiler
    torch._dynamo.reset()
    with caplog.at_level(logging.WARNING, logger="model_studio.training.compiled"):
        compiled_event, _ = one_update(template("tiny-dense"), torch_compile=True)
    eager_event, _ = one_update(template("tiny-dense"), torch_compile=False)
    torch._dynamo.reset()

    assert compiled_event.losses == eager_event.losses  # eager from the first call on: identical
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "torch.compile failed, training eagerly" in warnings[0] and "C++ compiler" in warnings[0]
