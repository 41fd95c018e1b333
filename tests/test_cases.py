"""The conformance vectors in schema/cases: the Python validator must agree with every one.

The TypeScript validator runs the same files (pwa/tests/unit/cases.test.ts)."""

import json
from collections import Counter

import msgspec
import pytest

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.validation import validate_design

CASE_PATHS = sorted((SCHEMA_DIR / "cases").glob("*.json"))
CASES = {path.stem: json.loads(path.read_text()) for path in CASE_PATHS}


@pytest.mark.parametrize("name", CASES)
def test_validator_matches_vector(name):
    case = CASES[name]
    expected = case["expected"]
    result = validate_design(json.dumps(case["design"]))
    assert result.valid is expected["valid"]
    assert Counter((e.code, e.component) for e in result.errors) == Counter((e["code"], e["component"]) for e in expected["errors"])
    assert result.paramCountExact == expected["paramCountExact"]
    assert result.paramCount == expected["paramCount"]
    assert result.estimatedMemory == expected["estimatedMemory"]
    assert msgspec.to_builtins(result.memoryBreakdown) == expected["memoryBreakdown"]


def test_vectors_agree_whether_given_text_or_parsed_json():
    for case in CASES.values():
        assert validate_design(case["design"]) == validate_design(json.dumps(case["design"]).encode())


def test_there_are_at_least_forty_vectors():
    assert len(CASES) >= 40


def test_every_error_code_is_exercised():
    codes = set(load_catalogue().doc.errors) - {"invalid_json"}  # a case file is JSON already
    hit = {error["code"] for case in CASES.values() for error in case["expected"]["errors"]}
    assert codes - hit == set()


def test_every_block_type_appears_in_a_valid_vector():
    used = {
        component["type"]
        for case in CASES.values()
        if case["expected"]["valid"]
        for component in case["design"]["components"]
    }
    assert used == set(load_catalogue().blocks)


def test_every_limit_is_exercised():
    hit = {error["code"] for case in CASES.values() for error in case["expected"]["errors"]}
    assert {"width_limit", "layer_limit", "param_limit", "memory_limit", "too_many_experts"} <= hit


def test_checkpointing_lowers_the_memory_estimate():
    checkpointed = CASES["valid-checkpointed-transformers"]["expected"]
    plain = CASES["valid-unchecked-twin"]["expected"]
    assert checkpointed["paramCountExact"] == plain["paramCountExact"]
    assert checkpointed["estimatedMemory"] < plain["estimatedMemory"]
