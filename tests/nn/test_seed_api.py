"""The seed's entry points: GameTransformer.from_architecture and DynamicModelConfig.from_architecture,
checked against the templates' own JSON."""

import copy
import json

import msgspec
import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import InvalidDesignError, build_model
from model_studio.contracts import ModelArchitecture
from model_studio.nn import DynamicModelConfig, GameTransformer, runtime

TEMPLATES = {path.stem: json.loads(path.read_text()) for path in sorted((SCHEMA_DIR / "templates").glob("*.json"))}


def _case_design(name):
    return json.loads((SCHEMA_DIR / "cases" / f"{name}.json").read_text())["design"]


def _seed_config(arch):
    """The seed's §5.2 on the raw JSON (the templates set every prop it reads)."""
    return {
        "d_model": arch["meta"]["d_model"],
        "n_heads": arch["meta"]["n_heads"],
        "n_experts": max((c["props"]["n_experts"] for c in arch["components"] if c["type"] == "moe_layer"), default=0),
        "n_layers": sum(1 for c in arch["components"] if c["type"] == "transformer_layer"),
    }


@pytest.mark.parametrize("name", TEMPLATES)
def test_model_config_of_every_template_matches_the_seeds_formula(name):
    config = DynamicModelConfig.from_architecture(TEMPLATES[name])
    assert config.__dict__ == _seed_config(TEMPLATES[name])


def test_model_config_covers_moe_and_transformer_templates():
    # So the parametrised test above is not vacuous: some template has experts, some has layers.
    configs = [_seed_config(arch) for arch in TEMPLATES.values()]
    assert any(c["n_experts"] for c in configs) and any(c["n_layers"] > 1 for c in configs)


def test_model_config_honours_a_blocks_own_props_and_catalogue_defaults():
    design = _case_design("valid-props-override-meta")
    layer = next(c for c in design["components"] if c["type"] == "transformer_layer")
    assert layer["props"]["n_heads"] != design["meta"]["n_heads"]
    assert DynamicModelConfig.from_architecture(design).n_heads == layer["props"]["n_heads"]

    unset = copy.deepcopy(TEMPLATES["moe-router"])
    next(c for c in unset["components"] if c["type"] == "moe_layer")["props"].pop("n_experts")
    catalogue = json.loads((SCHEMA_DIR / "catalogue.json").read_text())
    assert DynamicModelConfig.from_architecture(unset).n_experts == catalogue["blocks"]["moe_layer"]["props"]["n_experts"]["default"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_game_transformer_from_architecture_builds_the_compiled_model(name):
    arch = TEMPLATES[name]
    model = GameTransformer.from_architecture(arch)
    assert type(model).__name__ == "GeneratedModel" and isinstance(model, torch.nn.Module)
    expected = build_model(arch).state_dict()
    for variant in (json.dumps(arch), msgspec.convert(arch, ModelArchitecture)):  # JSON text, struct
        state = GameTransformer.from_architecture(variant).state_dict()
        assert state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in expected)
    boards = torch.zeros(2, 16, dtype=torch.long)
    logits, value = model(boards, torch.ones(2, 4, dtype=torch.bool))
    assert logits.shape == (2, 4) and value.shape == (2,)


def test_seed_api_refuses_an_invalid_design_and_extends_the_runtime_base():
    broken = {**TEMPLATES["tiny-dense"], "edges": []}
    with pytest.raises(InvalidDesignError):
        GameTransformer.from_architecture(broken)
    with pytest.raises(InvalidDesignError):
        DynamicModelConfig.from_architecture(broken)
    assert issubclass(GameTransformer, runtime.GameTransformer)
