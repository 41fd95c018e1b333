"""The starter designs in schema/templates are valid and are what they say they are."""

import json

import pytest

from model_studio.catalogue import SCHEMA_DIR
from model_studio.validation import analyse, decode_design

TEMPLATES = {path.stem: json.loads(path.read_text()) for path in sorted((SCHEMA_DIR / "templates").glob("*.json"))}


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_valid(name):
    analysis = analyse(decode_design(TEMPLATES[name]))
    assert analysis.errors == []
    assert analysis.param_total > 0


def _types(name):
    return [c["type"] for c in TEMPLATES[name]["components"]]


def test_the_promised_starters_exist():
    assert len(TEMPLATES) >= 4
    assert "transformer_layer" not in _types("tiny-dense") and "dense" in _types("tiny-dense")

    small = analyse(decode_design(TEMPLATES["small-transformer"]))
    layers = [c.id for c in small.design.components if c.type == "transformer_layer"]
    assert len(layers) == 2
    assert all(small.shapes[cid].width == 64 and small.props[cid]["n_heads"] == 4 for cid in layers)

    assert {"moe_layer", "load_balance_router", "aux_loss_head"} <= set(_types("moe-router"))

    tuples = analyse(decode_design(TEMPLATES["tuple-network"]))
    assert _types("tuple-network")[:2] == ["board_input", "ntuple"] and "embedding" not in _types("tuple-network")
    assert tuples.props["tuples"] == {"n_tuples": 17, "units": 32, "symmetries": 1}  # every row, column and 2x2 square, as drawn
    assert tuples.param_total == 17 * 65536 * 32 + 32 + (32 * 64 + 64) + (64 * 5 + 5)

    deep = analyse(decode_design(TEMPLATES["deep-checkpointed"]))
    assert _types("deep-checkpointed").count("transformer_layer") >= 6
    assert deep.checkpointed == {c.id for c in deep.design.components if c.type == "transformer_layer"}
