"""Random and hostile JSON never makes the validator raise, and errors are always well formed."""

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.contracts import ValidationResult
from model_studio.validation import validate_design

CODES = set(load_catalogue().doc.errors)
BLOCK_TYPES = sorted(load_catalogue().blocks)
TEMPLATES = [json.loads(p.read_text()) for p in sorted((SCHEMA_DIR / "templates").glob("*.json"))]

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=30)
ids = st.sampled_from(["in", "emb", "t1", "out", "x", "../x", "", "a" * 70, "é", "0"]) | st.text(max_size=8)
prop_values = st.one_of(st.integers(-5, 5000), st.floats(-10, 1e6, allow_nan=False), st.booleans(), st.sampled_from(["relu", "max_tile", "x" * 80]), st.just(None))


@st.composite
def design_like(draw):
    """Mostly well-shaped designs with hostile details, so the rules (not only the schema) are hit."""
    components = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(BLOCK_TYPES) | st.text(max_size=12))
        props = draw(st.dictionaries(st.sampled_from(["d_model", "n_heads", "ff_mult", "units", "n_experts", "top_k", "lb_coef", "weight", "target", "activation", "positional", "bogus"]), prop_values, max_size=4))
        components.append({"id": draw(ids), "type": kind, "props": props})
    names = [c["id"] for c in components] + ["ghost"]
    edges = draw(st.lists(st.lists(st.sampled_from(names), min_size=2, max_size=2), max_size=20))
    meta = draw(st.fixed_dictionaries({}, optional={"d_model": st.integers(-8, 3000), "n_heads": st.integers(-1, 80)}))
    return {"id": draw(ids), "name": draw(st.text(max_size=30)), "meta": meta, "components": components, "edges": edges}


@st.composite
def mutated_template(draw):
    document = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(1, 4))):
        component = draw(st.sampled_from(document["components"]))
        action = draw(st.sampled_from(["prop", "type", "drop_edge", "add_edge", "drop_block", "meta"]))
        if action == "prop":
            component["props"][draw(st.sampled_from(["d_model", "n_heads", "units", "top_k", "n_experts", "ff_mult", "weight"]))] = draw(prop_values)
        elif action == "type":
            component["type"] = draw(st.sampled_from(BLOCK_TYPES))
        elif action == "drop_edge" and document["edges"]:
            document["edges"].pop(draw(st.integers(0, len(document["edges"]) - 1)))
        elif action == "add_edge":
            document["edges"].append([component["id"], draw(st.sampled_from(document["components"]))["id"]])
        elif action == "drop_block":
            document["components"].remove(component)
        else:
            document["meta"]["d_model"] = draw(st.integers(1, 2000))
    return document


def assert_well_formed(result):
    assert isinstance(result, ValidationResult)
    assert result.valid == (not result.errors)
    assert result.paramCountExact >= 0 and result.estimatedMemory >= 0
    for error in result.errors:
        assert error.code in CODES
        assert isinstance(error.message, str) and error.message
        assert error.component is None or isinstance(error.component, str)
        assert error.hint is None or isinstance(error.hint, str)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(json_values)
def test_any_json_value(document):
    assert_well_formed(validate_design(document))


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes(raw):
    assert_well_formed(validate_design(raw))


@FUZZ
@given(design_like())
def test_design_like_documents(document):
    assert_well_formed(validate_design(document))
    assert_well_formed(validate_design(json.dumps(document)))


@FUZZ
@given(mutated_template())
def test_mutated_templates(document):
    assert_well_formed(validate_design(document))
