"""Rules and numbers of the Python validator, beyond the shared conformance vectors."""

import json

import msgspec
import pytest

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.validation import analyse, decode_design, validate_design


def template(name):
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


def errors(document):
    return [(e.code, e.component) for e in validate_design(document).errors]


def test_parameter_counts_computed_by_hand():
    d, f = 64, 4 * 64
    embedding = 16 * d + 16 * d
    transformer = (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (2 * d) + (d * f + f) + (f * d + d)
    heads = 16 * d * 5 + 5
    assert validate_design(template("small-transformer")).paramCountExact == embedding + 2 * transformer + 2 * d + heads

    expert_hidden = 2 * d
    moe = 2 * d + d * 4 + 4 * (d * expert_hidden + expert_hidden + expert_hidden * d + d)
    aux = 16 * d + 1
    assert validate_design(template("moe-router")).paramCountExact == embedding + transformer + moe + 2 * d + heads + aux

    dense_embedding = 16 * 16 + 16 * 16
    assert validate_design(template("tiny-dense")).paramCountExact == dense_embedding + (256 * 256 + 256) * 2 + 256 * 5 + 5


def test_memory_estimate_computed_by_hand():
    result = validate_design(template("small-transformer"))
    d, heads = 64, 4
    transformer_floats = 16 * (10 * d + 2 * 4 * d) + 2 * heads * 16 * 16
    stored = 16 * d + 2 * transformer_floats + 16 * d + 5  # embedding, layers, layer norm, heads
    total_bytes = 4 * (result.paramCountExact * 4 + 512 * stored)
    assert result.estimatedMemory == -(-total_bytes // 2**20)


def test_checkpointed_memory_keeps_each_checkpoints_input_and_one_recompute():
    result = validate_design(template("deep-checkpointed"))  # 6 transformer layers, each behind a checkpoint
    d, heads, cells = 128, 8, 16
    recompute_peak = cells * (10 * d + 2 * 4 * d) + 2 * heads * cells * cells  # one layer, while it is recomputed
    stored = cells * d + 6 * cells * d + cells * d + 5  # embedding, the 6 checkpoints' inputs, layer norm, heads
    total_bytes = 4 * (result.paramCountExact * 4 + 512 * (stored + recompute_peak))
    assert result.estimatedMemory == -(-total_bytes // 2**20) == 131


def test_memory_breakdown_rounds_each_part_up_and_names_the_process_baseline():
    result = validate_design(template("tuple-network"))
    # 35,654,053 parameters: the 17 tables' 17 * 65536 * 32 = 35,651,584 train by SparseAdam, 3 floats
    # each (weight, two moments; the gradient is sparse), the other 2,469 take 4; at 4 bytes a float,
    # 427,858,512 bytes, 408.04 MiB, so 409. 512 boards of 199 floats (ntuple 32 + 2*17 for its int64
    # indices, dense 2*64, heads 5): 0.39 MiB, so 1.
    tables = 17 * 65536 * 32
    weight_bytes, activation_bytes = 4 * (tables * 3 + (35_654_053 - tables) * 4), 512 * (32 + 2 * 17 + 2 * 64 + 5) * 4
    assert result.paramCountExact == 35_654_053
    assert result.estimatedMemory == -(-(weight_bytes + activation_bytes) // 2**20) == 409
    assert (result.memoryBreakdown.weightsAndOptimizer, result.memoryBreakdown.activations) == (409, 1)  # 1 MiB over the total
    assert result.memoryBreakdown.runtimeBaseline == load_catalogue().doc.memory.runtime_baseline_mb == 340
    unreadable = validate_design(b"{ nope")
    assert (unreadable.estimatedMemory, msgspec.to_builtins(unreadable.memoryBreakdown)) == (0, {"weightsAndOptimizer": 0, "activations": 0, "runtimeBaseline": 340})


def test_param_count_in_millions_mirrors_the_exact_count():
    result = validate_design(template("deep-checkpointed"))
    assert result.paramCount == result.paramCountExact / 1_000_000


@pytest.mark.parametrize(("d_model", "hint"), [(60, "Nearest valid d_model is 64."), (132, "Nearest valid d_model is 136."), (4, "Nearest valid d_model is 8.")])
def test_d_model_hint_names_the_nearest_multiple_of_8(d_model, hint):
    document = template("small-transformer")
    document["meta"]["d_model"] = d_model
    document["meta"]["n_heads"] = 1
    [error] = validate_design(document).errors
    assert (error.code, error.component, error.hint) == ("d_model_not_multiple_of_8", "embed", hint)


def test_n_heads_hint_names_a_divisor():
    document = template("small-transformer")
    document["components"][2]["props"]["n_heads"] = 7
    [error] = validate_design(document).errors
    assert (error.code, error.component, error.hint) == ("n_heads_not_divisor", "layer1", "Nearest valid n_heads is 8.")


def test_every_error_names_a_stable_code_and_a_message():
    document = json.loads((SCHEMA_DIR / "cases" / "several-errors.json").read_text())["design"]
    for error in validate_design(document).errors:
        assert error.message and error.code
    assert any(error.hint for error in validate_design(document).errors)


def test_malformed_json_is_an_error_not_an_exception():
    result = validate_design(b'{"id": "x", "name": ')
    assert (result.valid, [e.code for e in result.errors]) == (False, ["invalid_json"])


def test_schema_error_points_at_the_component():
    document = template("tiny-dense")
    document["components"][2]["props"]["units"] = [256]
    assert errors(document) == [("schema_violation", "hidden1")]


def test_downstream_blocks_are_not_blamed_for_an_upstream_error():
    document = template("small-transformer")
    document["components"][1]["props"]["d_model"] = "wide"
    assert errors(document) == [("prop_type", "embed")]


def test_meta_supplies_defaults_and_props_override_it():
    analysis = analyse(decode_design(template("small-transformer") | {"meta": {"d_model": 32, "n_heads": 2}}))
    assert analysis.props["embed"]["d_model"] == 32 and analysis.props["layer1"]["n_heads"] == 2
    document = template("small-transformer")
    document["components"][2]["props"]["n_heads"] = 8
    assert analyse(decode_design(document)).props["layer1"]["n_heads"] == 8


def test_routing_comes_from_the_router_or_the_unrouted_default():
    analysis = analyse(decode_design(template("moe-router")))
    assert analysis.routing == {"experts": (2, 0.01)}
    document = template("moe-router")
    document["components"] = [c for c in document["components"] if c["id"] != "router"]
    document["edges"] = [e for e in document["edges"] if "router" not in e] + [["layer1", "experts"]]
    assert analyse(decode_design(document)).routing == {"experts": (1, 0.0)}


def test_widths_flow_along_edges():
    analysis = analyse(decode_design(template("residual-mlp")))
    shapes = {cid: (s.kind, s.width) if s else None for cid, s in analysis.shapes.items()}
    assert shapes == {"board": ("board", 16), "embed": ("tokens", 32), "trunk": ("vector", 256), "branch": ("vector", 256), "join": ("vector", 256), "policy": None}


def test_token_counts_flow_along_edges_and_must_agree_where_branches_join():
    board = {"id": "in", "type": "board_input"}
    tuples, cells = {"id": "te", "type": "tuple_embedding", "props": {"n_tuples": 5}}, {"id": "emb", "type": "embedding"}
    document = {"id": "x", "name": "x", "components": [board, tuples, {"id": "t", "type": "transformer_layer"}, {"id": "out", "type": "action_output"}],
                "edges": [["in", "te"], ["te", "t"], ["t", "out"]]}  # fmt: skip
    analysis = analyse(decode_design(document))
    assert [(analysis.shapes[cid].tokens, analysis.shapes[cid].features) for cid in ("te", "t")] == [(5, 5 * 64)] * 2
    # The heads flatten 5 tokens, and attention's weights are 5x5 per head (the formula's T is the input's count).
    assert analysis.params["out"] == 5 * 64 * 5 + 5
    assert analysis.activations["t"] == 5 * (10 * 64 + 2 * 4 * 64) + 2 * 4 * 5 * 5
    joined = {"id": "x", "name": "x", "components": [board, tuples, cells, {"id": "add", "type": "residual_add"}, {"id": "out", "type": "action_output"}],
              "edges": [["in", "te"], ["in", "emb"], ["te", "add"], ["emb", "add"], ["add", "out"]]}  # fmt: skip
    (error,) = validate_design(joined).errors
    # The same words as the TypeScript validator's (pwa/tests/unit/validate.test.ts).
    assert (error.code, error.component, error.message) == ("width_mismatch", "add", "residual_add 'add' joins inputs of different shapes: tokens[5x64], tokens[16x64].")


def test_a_long_chain_does_not_hit_recursion_limits():
    components = [{"id": "in", "type": "board_input"}, {"id": "emb", "type": "embedding", "props": {"d_model": 8}}]
    components += [{"id": f"n{i}", "type": "layer_norm"} for i in range(990)]
    components += [{"id": "out", "type": "action_output"}]
    ids = [c["id"] for c in components]
    result = validate_design({"id": "long", "name": "long", "components": components, "edges": [list(p) for p in zip(ids, ids[1:])]})
    assert result.valid


def test_a_long_cycle_is_found_iteratively():
    components = [{"id": f"n{i}", "type": "layer_norm"} for i in range(999)]
    edges = [[f"n{i}", f"n{(i + 1) % 999}"] for i in range(999)]
    assert ("cycle", "n0") in errors({"id": "ring", "name": "ring", "components": components, "edges": edges})


@pytest.mark.parametrize("document", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, b"[" * 100_000])
def test_pathologically_nested_json_is_invalid_json_not_a_crash(document):
    result = validate_design(document)
    assert not result.valid and [error.code for error in result.errors] == ["invalid_json"]
    assert "nested too deeply" in result.errors[0].message
