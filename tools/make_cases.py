"""Write the conformance vectors in `schema/cases/`. Run: `.venv/bin/python tools/make_cases.py`.

Each case states by hand which errors (code, component) it must produce. The script checks the
Python validator against that statement before writing anything, then records the validator's
parameter count, memory estimate and its breakdown. Those numbers are held honest elsewhere: the compiled torch
model must have exactly that many parameters (tests/test_codegen.py), and a few are computed by
hand in tests/test_validation.py.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import msgspec

from model_studio.validation import validate_design

CASES = Path(__file__).resolve().parents[1] / "schema" / "cases"


def design(components, edges, design_id="case", name="Case", **meta):
    doc = {"schemaVersion": 1, "id": design_id, "name": name, "components": [], "edges": [list(e) for e in edges]}
    if meta:
        doc["meta"] = meta
    for row, component in enumerate(components):
        cid, kind, *rest = component
        doc["components"].append({"id": cid, "type": kind, "props": rest[0] if rest else {}, "position": {"x": 0, "y": 100 * row}})
    return doc


def chain(*components, **meta):
    """Components wired one after another."""
    ids = [c[0] for c in components]
    return design(components, zip(ids, ids[1:]), **meta)


def head(*middle, **meta):
    """board_input -> embedding -> *middle -> action_output."""
    return chain(("in", "board_input"), ("emb", "embedding"), *middle, ("out", "action_output"), **meta)


def cases():
    """(name, description, document, expected [(code, component)])."""
    # --- valid designs -----------------------------------------------------------------------
    yield "valid-tiny-dense", "The smallest useful design: embedding, one dense layer, output.", head(("fc", "dense", {"units": 64}), d_model=16), []
    yield "valid-small-transformer", "Two transformer layers, d_model 64, 4 heads.", head(("t1", "transformer_layer"), ("t2", "transformer_layer"), ("ln", "layer_norm")), []
    yield "valid-moe-routed", "Router sets top_k 2 on a 4-expert MoE layer.", head(("t1", "transformer_layer"), ("r", "load_balance_router", {"top_k": 2, "lb_coef": 0.05}), ("moe", "moe_layer", {"n_experts": 4})), []
    yield "valid-moe-unrouted", "An MoE layer with no router routes top-1.", head(("moe", "moe_layer", {"n_experts": 4, "ff_mult": 1})), []
    yield "valid-moe-at-limits", "8 experts and top_k 8: at the limits.", head(("r", "load_balance_router", {"top_k": 8}), ("moe", "moe_layer", {"n_experts": 8, "ff_mult": 1})), []
    yield "valid-checkpointed-transformers", "Checkpoints cut stored activations.", head(("c1", "grad_checkpoint"), ("t1", "transformer_layer"), ("c2", "grad_checkpoint"), ("t2", "transformer_layer")), []
    yield "valid-unchecked-twin", "The same layers as valid-checkpointed-transformers without checkpoints: more memory.", head(("t1", "transformer_layer"), ("t2", "transformer_layer")), []
    yield "valid-checkpoint-router", "A checkpoint before a router checkpoints the router's MoE layer.", head(("c", "grad_checkpoint"), ("r", "load_balance_router"), ("moe", "moe_layer")), []
    yield "valid-checkpoint-dense", "Checkpointing a dense layer on a vector.", head(("fc1", "dense", {"units": 128}), ("c", "grad_checkpoint"), ("fc2", "dense", {"units": 128}), d_model=8), []
    yield "valid-no-positional", "An embedding without positions.", chain(("in", "board_input"), ("emb", "embedding", {"positional": False}), ("fc", "dense", {"units": 32}), ("out", "action_output"), d_model=8), []
    yield "valid-meta-inheritance", "Embedding width and heads come from meta (d_model 32, n_heads 8).", head(("t1", "transformer_layer"), d_model=32, n_heads=8), []
    yield "valid-props-override-meta", "Block props win over meta.", head(("t1", "transformer_layer", {"n_heads": 2}), d_model=32, n_heads=8), []
    yield "valid-two-action-outputs", "Two action heads are averaged.", design(
        [("in", "board_input"), ("emb", "embedding"), ("fc", "dense"), ("a1", "action_output"), ("a2", "action_output")], \
        [("in", "emb"), ("emb", "fc"), ("fc", "a1"), ("emb", "a2")], d_model=16), []
    yield "valid-aux-on-vector", "An aux head predicting the max tile from a dense layer.", design(
        [("in", "board_input"), ("emb", "embedding"), ("fc", "dense", {"units": 64, "activation": "gelu"}), ("out", "action_output"), ("aux", "aux_loss_head", {"target": "max_tile", "weight": 0.5})], \
        [("in", "emb"), ("emb", "fc"), ("fc", "out"), ("fc", "aux")], d_model=16), []
    yield "valid-aux-on-tokens", "An aux head on tokens flattens them.", design(
        [("in", "board_input"), ("emb", "embedding"), ("t", "transformer_layer"), ("out", "action_output"), ("aux", "aux_loss_head", {"target": "merge_pairs"})], \
        [("in", "emb"), ("emb", "t"), ("t", "out"), ("emb", "aux")]), []
    yield "valid-token-residual", "Two transformer branches joined by a residual add.", design(
        [("in", "board_input"), ("emb", "embedding"), ("t1", "transformer_layer"), ("t2", "transformer_layer", {"ff_mult": 2}), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "t1"), ("emb", "t2"), ("t1", "add"), ("t2", "add"), ("add", "out")]), []
    yield "valid-three-way-residual", "A residual add of three vectors.", design(
        [("in", "board_input"), ("emb", "embedding"), ("a", "dense", {"units": 32}), ("b", "dense", {"units": 32, "activation": "tanh"}), ("c", "dense", {"units": 32, "activation": "none"}), ("add", "residual_add"), ("ln", "layer_norm"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "a"), ("emb", "b"), ("emb", "c"), ("a", "add"), ("b", "add"), ("c", "add"), ("add", "ln"), ("ln", "out")], d_model=8), []
    yield "valid-every-block", "Every block type in one design.", design(
        [("in", "board_input"), ("emb", "embedding"), ("c1", "grad_checkpoint"), ("t1", "transformer_layer"), ("r", "load_balance_router", {"top_k": 1, "lb_coef": 0.02}),
         ("moe", "moe_layer", {"n_experts": 2}), ("add", "residual_add"), ("ln", "layer_norm"), ("fc", "dense", {"units": 64}), ("nt", "ntuple", {"n_tuples": 1, "units": 64}),
         ("join", "residual_add"), ("out", "action_output"), ("aux", "aux_loss_head"), ("te", "tuple_embedding", {"n_tuples": 2}), ("aux2", "aux_loss_head")], \
        [("in", "emb"), ("emb", "c1"), ("c1", "t1"), ("t1", "r"), ("r", "moe"), ("moe", "add"), ("t1", "add"), ("add", "ln"), ("ln", "fc"), ("in", "nt"), ("fc", "join"), ("nt", "join"),
         ("join", "out"), ("ln", "aux"), ("in", "te"), ("te", "aux2")], d_model=32), []
    # ntuple, by hand: n_tuples * 16^4 * units + units, then action_output feat*(4 + 1) + 4 + 1 on feat = units.
    # 2 tuples of 4 units: 2*65536*4 + 4 = 524,292, plus 4*5 + 5 = 25: 524,317 parameters.
    yield "valid-ntuple", "A tuple network straight into the heads: 2 tuples (the top two rows) of 4 units, 524,317 parameters.", chain(
        ("in", "board_input"), ("nt", "ntuple", {"n_tuples": 2, "units": 4}), ("out", "action_output")), []
    # All 17 tuples of 16 units: 17*65536*16 + 16 = 17,825,808; the embedding branch 16*8 + 16*8 = 256 and dense 128*16 + 16 = 2,064;
    # the residual add none; action_output 16*5 + 5 = 85: 17,828,213 parameters.
    yield "valid-ntuple-beside-dense", "All 17 tuples beside an embedding and dense branch, joined by a residual add: 17,828,213 parameters.", design(
        [("in", "board_input"), ("nt", "ntuple", {"n_tuples": 17, "units": 16}), ("emb", "embedding"), ("fc", "dense", {"units": 16}), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "nt"), ("in", "emb"), ("emb", "fc"), ("nt", "add"), ("fc", "add"), ("add", "out")], d_model=8), []
    # 8 symmetries share the tables, so the parameters are valid-ntuple's tables and bias, 2*65536*4 + 4 = 524,292,
    # but the output is 8*4 = 32 wide: action_output 32*5 + 5 = 165. 524,457 parameters.
    yield "valid-ntuple-symmetries", "2 tuples of 4 units read on all 8 board symmetries: the tables are shared, the output is 32 wide; 524,457 parameters.", chain(
        ("in", "board_input"), ("nt", "ntuple", {"n_tuples": 2, "units": 4, "symmetries": 8}), ("out", "action_output")), []
    # tuple_embedding, by hand: n_tuples * 16^4 * d_model + n_tuples * d_model; 2 tuples of width 8: 2*65536*8 + 2*8 = 1,048,592.
    # The transformer layer on width 8 with ff_mult 1 (4w^2 + 2*w*1*w + 9w + 1*w): 256 + 128 + 72 + 8 = 464. action_output flattens
    # 2 tokens, not 16: feat = 2*8 = 16, so 16*5 + 5 = 85. 1,049,141 parameters.
    yield "valid-tuple-embedding", "Attention over 2 tuple tokens of width 8, one per tuple (the top two rows), not one per cell: 1,049,141 parameters.", chain(
        ("in", "board_input"), ("te", "tuple_embedding", {"n_tuples": 2, "d_model": 8}), ("t", "transformer_layer", {"n_heads": 2, "ff_mult": 1}), ("out", "action_output")), []
    yield "valid-tuple-embedding-residual", "Two transformer branches over the same 8 tuple tokens, joined by a residual add.", design(
        [("in", "board_input"), ("te", "tuple_embedding"), ("t1", "transformer_layer"), ("t2", "transformer_layer"), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "te"), ("te", "t1"), ("te", "t2"), ("t1", "add"), ("t2", "add"), ("add", "out")]), []
    yield "valid-integral-float-prop", "An int prop written as 4.0 is the integer 4 (JSON has one number type).", head(("t1", "transformer_layer", {"n_heads": 4.0})), []
    yield "valid-integral-float-meta", "meta and schemaVersion written as 64.0 and 1.0 read as integers.", head(("t1", "transformer_layer")) | {"meta": {"d_model": 64.0, "n_heads": 4.0}, "schemaVersion": 1.0}, []
    yield "valid-hostile-name", "Names are data: quotes, newlines and code are fine.", design(
        [("in", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out")], design_id="x-1_", name='"""; __import__("os").system("rm -rf /") #\n\u202e'), []
    yield "valid-wide-dense", "A 1024-unit dense layer sits exactly at max_width.", head(("fc", "dense", {"units": 1024}), d_model=8), []

    # --- the document itself ------------------------------------------------------------------
    yield "schema-missing-name", "A design needs a name.", {"id": "x", "components": [], "edges": []}, [("schema_violation", None)]
    yield "schema-not-an-object", "A design is a JSON object.", [1, 2, 3], [("schema_violation", None)]
    yield "schema-unknown-field", "Unknown top-level fields are refused.", head(d_model=16) | {"layers": 3}, [("schema_violation", None)]
    yield "schema-hostile-component-id", "Component ids cannot carry paths.", design([("in", "board_input"), ("../../etc/passwd", "embedding")], []), [("schema_violation", "../../etc/passwd")]
    yield "schema-prop-object", "Prop values are scalars.", design([("in", "board_input"), ("fc", "dense", {"units": {"value": 3}})], []), [("schema_violation", "fc")]
    yield "schema-edge-arity", "An edge is a [source, target] pair.", design([("in", "board_input")], []) | {"edges": [["in"]]}, [("schema_violation", None)]
    yield "schema-bad-version", "Only schemaVersion 1 exists.", head() | {"schemaVersion": 7}, [("schema_violation", None)]
    yield "schema-id-trailing-newline", "An id cannot end in a newline (Python's `$` would allow it).", design([("in", "board_input"), ("emb\n", "embedding")], []), [("schema_violation", "emb\n")]
    yield "schema-position-absurd", "Canvas positions are bounded.", design([("in", "board_input")], []) | {"components": [{"id": "in", "type": "board_input", "position": {"x": 1e12, "y": 0}}]}, [("schema_violation", "in")]

    # --- components and props -----------------------------------------------------------------
    yield "duplicate-id", "Two blocks named emb.", design([("in", "board_input"), ("emb", "embedding"), ("emb", "dense"), ("out", "action_output")], [("in", "emb"), ("emb", "out")]), [("duplicate_id", "emb")]
    yield "unknown-block-type", "conv2d is not in the catalogue; blocks after it are not blamed.", head(("conv", "conv2d"), ("t1", "transformer_layer")), [("unknown_block_type", "conv")]
    yield "unknown-prop", "dense has no prop dropout.", head(("fc", "dense", {"dropout": 0.1}), d_model=8), [("unknown_prop", "fc")]
    yield "prop-type-string", "units must be an integer.", head(("fc", "dense", {"units": "big"}), d_model=8), [("prop_type", "fc")]
    yield "prop-type-bool-for-int", "true is not an integer.", head(("fc", "dense", {"units": True}), d_model=8), [("prop_type", "fc")]
    yield "prop-type-int-for-bool", "1 is not a bool.", chain(("in", "board_input"), ("emb", "embedding", {"positional": 1}), ("out", "action_output")), [("prop_type", "emb")]
    yield "prop-type-fraction-for-int", "2.5 heads is not an integer.", head(("t1", "transformer_layer", {"n_heads": 2.5})), [("prop_type", "t1")]
    yield "prop-out-of-range", "ff_mult tops out at 8.", head(("t1", "transformer_layer", {"ff_mult": 9})), [("prop_out_of_range", "t1")]
    yield "prop-out-of-range-float", "A negative aux weight.", design(
        [("in", "board_input"), ("emb", "embedding"), ("out", "action_output"), ("aux", "aux_loss_head", {"weight": -1})], \
        [("in", "emb"), ("emb", "out"), ("emb", "aux")]), [("prop_out_of_range", "aux")]
    yield "prop-out-of-range-ntuple", "There are 17 tuples, so n_tuples tops out at 17.", chain(
        ("in", "board_input"), ("nt", "ntuple", {"n_tuples": 18}), ("out", "action_output")), [("prop_out_of_range", "nt")]
    yield "prop-out-of-range-symmetries", "A square board has 8 symmetries, so symmetries tops out at 8.", chain(
        ("in", "board_input"), ("nt", "ntuple", {"symmetries": 9}), ("out", "action_output")), [("prop_out_of_range", "nt")]
    yield "prop-out-of-range-tuple-embedding", "There are 17 tuples, so a tuple embedding's n_tuples tops out at 17 too.", chain(
        ("in", "board_input"), ("te", "tuple_embedding", {"n_tuples": 18}), ("t", "transformer_layer"), ("out", "action_output")), [("prop_out_of_range", "te")]
    yield "prop-bad-choice", "swish is not an activation choice.", head(("fc", "dense", {"activation": "swish"}), d_model=8), [("prop_out_of_range", "fc")]

    # --- edges and graph ----------------------------------------------------------------------
    yield "dangling-edge", "An edge into a block that does not exist.", design([("in", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("emb", "ghost")]), [("dangling_edge", "emb")]
    yield "dangling-edge-both-ends", "An edge between two missing blocks.", design([("in", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("a", "b")]), [("dangling_edge", None)]
    yield "self-loop", "A block wired to itself.", design([("in", "board_input"), ("emb", "embedding"), ("t", "transformer_layer"), ("out", "action_output")], [("in", "emb"), ("emb", "t"), ("t", "t"), ("t", "out")]), [("self_loop", "t")]
    yield "duplicate-edge", "The same edge twice.", design([("in", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("emb", "out")]), [("duplicate_edge", "emb")]
    yield "no-output-port", "action_output has no output.", design(
        [("in", "board_input"), ("emb", "embedding"), ("out", "action_output"), ("fc", "dense")], [("in", "emb"), ("emb", "out"), ("out", "fc")], d_model=8), \
        [("no_output_port", "out"), ("unreachable", "fc")]
    yield "no-input-port", "board_input takes no input.", design([("in", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("emb", "in")]), [("no_input_port", "in")]
    yield "missing-board-input", "No board_input at all.", design([("emb", "embedding"), ("out", "action_output")], [("emb", "out")]), [("missing_board_input", None)]
    yield "multiple-board-inputs", "Two board inputs.", design([("in", "board_input"), ("in2", "board_input"), ("emb", "embedding"), ("out", "action_output")], [("in", "emb"), ("emb", "out")]),\
        [("multiple_board_inputs", "in2"), ("dead_end", "in2")]
    yield "missing-action-output", "Only an aux head: no policy.", design([("in", "board_input"), ("emb", "embedding"), ("aux", "aux_loss_head")], [("in", "emb"), ("emb", "aux")]), [("missing_action_output", None)]
    yield "empty-design", "Nothing on the canvas yet.", design([], []), [("missing_board_input", None), ("missing_action_output", None)]
    yield "cycle", "t1 -> t2 -> t1; the acyclic part is still counted.", design(
        [("in", "board_input"), ("emb", "embedding"), ("add", "residual_add"), ("t1", "transformer_layer"), ("t2", "transformer_layer"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "add"), ("t2", "add"), ("add", "t1"), ("t1", "t2"), ("t2", "out")]), [("cycle", "add")]
    yield "unreachable", "A dense block with no input.", design([("in", "board_input"), ("emb", "embedding"), ("fc", "dense"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("fc", "out")], d_model=8),\
        [("unreachable", "fc"), ("too_many_inputs", "out")]
    yield "dead-end", "A dense block whose output goes nowhere.", design([("in", "board_input"), ("emb", "embedding"), ("fc", "dense"), ("out", "action_output")], [("in", "emb"), ("emb", "out"), ("emb", "fc")], d_model=8), [("dead_end", "fc")]
    yield "too-few-inputs", "A residual add with one input.", head(("add", "residual_add")), [("too_few_inputs", "add")]
    yield "too-many-inputs", "A transformer layer fed twice.", design(
        [("in", "board_input"), ("e1", "embedding"), ("e2", "embedding"), ("t", "transformer_layer"), ("out", "action_output")], \
        [("in", "e1"), ("in", "e2"), ("e1", "t"), ("e2", "t"), ("t", "out")]), [("too_many_inputs", "t")]
    yield "too-many-residual-inputs", "A residual add takes at most 8 inputs.", design(
        [("in", "board_input"), ("emb", "embedding")] + [(f"fc{i}", "dense", {"units": 8}) for i in range(9)] + [("add", "residual_add"), ("out", "action_output")], \
        [("in", "emb")] + [("emb", f"fc{i}") for i in range(9)] + [(f"fc{i}", "add") for i in range(9)] + [("add", "out")], d_model=8), [("too_many_inputs", "add")]

    # --- shapes ---------------------------------------------------------------------------------
    yield "incompatible-board-into-transformer", "A transformer needs tokens, not the raw board.", chain(("in", "board_input"), ("t", "transformer_layer"), ("out", "action_output")), [("incompatible_input", "t")]
    yield "incompatible-vector-into-transformer", "A transformer after a dense layer gets a vector.", head(("fc", "dense", {"units": 64}), ("t", "transformer_layer")), [("incompatible_input", "t")]
    yield "incompatible-tokens-into-ntuple", "A tuple network reads the board, not tokens.", head(("nt", "ntuple")), [("incompatible_input", "nt")]
    yield "incompatible-tokens-into-tuple-embedding", "A tuple embedding reads the board, not tokens.", head(("te", "tuple_embedding")), [("incompatible_input", "te")]
    yield "incompatible-board-into-output", "The heads need features, not the raw board.", chain(("in", "board_input"), ("out", "action_output")), [("incompatible_input", "out")]
    yield "width-mismatch", "Adding 64- and 32-wide vectors.", design(
        [("in", "board_input"), ("emb", "embedding"), ("a", "dense", {"units": 64}), ("b", "dense", {"units": 32}), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "a"), ("emb", "b"), ("a", "add"), ("b", "add"), ("add", "out")], d_model=8), [("width_mismatch", "add")]
    yield "kind-mismatch", "Adding tokens to a vector.", design(
        [("in", "board_input"), ("emb", "embedding"), ("fc", "dense", {"units": 64}), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "fc"), ("emb", "add"), ("fc", "add"), ("add", "out")]), [("width_mismatch", "add")]

    yield "token-count-mismatch", "Adding 8 tuple tokens to 16 cell tokens of the same width.", design(
        [("in", "board_input"), ("te", "tuple_embedding"), ("emb", "embedding"), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "te"), ("in", "emb"), ("te", "add"), ("emb", "add"), ("add", "out")]), [("width_mismatch", "add")]

    # --- seed section 6 rules ----------------------------------------------------------------------
    yield "d-model-not-multiple-of-8", "d_model 60; the hint names 64.", head(("t", "transformer_layer", {"n_heads": 4}), d_model=60), [("d_model_not_multiple_of_8", "emb")]
    yield "d-model-from-meta-not-multiple-of-8", "The embedding inherits a bad meta d_model 132; the hint names 136.", head(d_model=132), [("d_model_not_multiple_of_8", "emb")]
    yield "d-model-not-multiple-of-8-tuple-embedding", "A tuple embedding's d_model follows the embedding's rule: 60; the hint names 64.", chain(
        ("in", "board_input"), ("te", "tuple_embedding", {"d_model": 60}), ("out", "action_output")), [("d_model_not_multiple_of_8", "te")]
    yield "n-heads-not-divisor", "3 heads do not divide 64.", head(("t", "transformer_layer", {"n_heads": 3})), [("n_heads_not_divisor", "t")]
    yield "too-many-experts", "16 experts; the limit is 8.", head(("moe", "moe_layer", {"n_experts": 16, "ff_mult": 1})), [("too_many_experts", "moe")]
    yield "top-k-exceeds-experts", "top_k 4 with 2 experts.", head(("r", "load_balance_router", {"top_k": 4}), ("moe", "moe_layer", {"n_experts": 2})), [("top_k_exceeds_experts", "r")]
    yield "router-not-before-moe", "A router feeding a transformer layer.", head(("r", "load_balance_router"), ("t", "transformer_layer")), [("router_not_before_moe", "r")]
    yield "checkpoint-target-invalid", "A checkpoint before a layer norm.", head(("c", "grad_checkpoint"), ("ln", "layer_norm")), [("checkpoint_target_invalid", "c")]
    yield "checkpoint-two-successors", "A checkpoint must feed exactly one block.", design(
        [("in", "board_input"), ("emb", "embedding"), ("c", "grad_checkpoint"), ("t1", "transformer_layer"), ("t2", "transformer_layer"), ("add", "residual_add"), ("out", "action_output")], \
        [("in", "emb"), ("emb", "c"), ("c", "t1"), ("c", "t2"), ("t1", "add"), ("t2", "add"), ("add", "out")]), [("checkpoint_target_invalid", "c")]

    # --- limits -------------------------------------------------------------------------------------
    yield "width-limit-embedding", "d_model 2048 is wider than max_width.", head(("t", "transformer_layer"), d_model=2048), [("width_limit", "emb")]
    yield "width-limit-dense", "4096 units is wider than max_width.", head(("fc", "dense", {"units": 4096}), d_model=8), [("width_limit", "fc")]
    yield "layer-limit", "257 dense layers; the limit is 256.", head(*[(f"fc{i}", "dense", {"units": 8}) for i in range(257)], d_model=8), [("layer_limit", "fc256")]
    yield "param-limit-ntuple", "All 17 tuples of 64 units: 17*65536*64 + 64 = 71,303,232 parameters in the tuple network alone pass 50M.", chain(
        ("in", "board_input"), ("nt", "ntuple", {"n_tuples": 17, "units": 64}), ("out", "action_output")), [("param_limit", None)]
    yield "param-limit-tuple-embedding", "17 tuple tokens of width 64: 17*65536*64 + 17*64 = 71,304,256 parameters in the tables alone pass 50M.", chain(
        ("in", "board_input"), ("te", "tuple_embedding", {"n_tuples": 17}), ("t", "transformer_layer"), ("out", "action_output")), [("param_limit", None)]
    yield "param-limit", "Three wide transformer layers pass 50M parameters.", head(*[(f"t{i}", "transformer_layer", {"ff_mult": 8}) for i in range(3)], d_model=1024), [("param_limit", None)]
    yield "memory-limit", "95 attention-heavy layers need more than 16 GiB to train.", head(*[(f"t{i}", "transformer_layer", {"n_heads": 64, "ff_mult": 8}) for i in range(95)], d_model=128), [("memory_limit", None)]

    # --- several at once ---------------------------------------------------------------------------
    yield "several-errors", "Errors are all reported, not just the first.", design(
        [("in", "board_input"), ("emb", "embedding", {"d_model": 60}), ("t", "transformer_layer", {"n_heads": 7}), ("fc", "dense", {"dropout": 0.5}), ("out", "action_output")], \
        [("in", "emb"), ("emb", "t"), ("t", "fc"), ("fc", "out"), ("fc", "nowhere")]),\
        [("unknown_prop", "fc"), ("dangling_edge", "fc"), ("d_model_not_multiple_of_8", "emb"), ("n_heads_not_divisor", "t")]


def main() -> int:
    CASES.mkdir(parents=True, exist_ok=True)
    for stale in CASES.glob("*.json"):
        stale.unlink()
    failures = 0
    for name, description, document, expected in cases():
        result = validate_design(document)
        found = Counter((e.code, e.component) for e in result.errors)
        if found != Counter(expected) or result.valid != (not expected):
            print(f"{name}: expected {sorted(expected, key=str)}, validator gives {sorted(found.elements(), key=str)}", file=sys.stderr)
            failures += 1
            continue
        case = {
            "description": description,
            "design": document,
            "expected": {
                "valid": result.valid,
                "errors": [{"code": c, "component": cid} for c, cid in expected],
                "paramCount": result.paramCount,
                "paramCountExact": result.paramCountExact,
                "estimatedMemory": result.estimatedMemory,
                "memoryBreakdown": msgspec.to_builtins(result.memoryBreakdown),
            },
        }
        (CASES / f"{name}.json").write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(list(CASES.glob('*.json')))} cases written, {failures} disagreed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
