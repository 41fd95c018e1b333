"""The compiler: exact parameter counts, safe and deterministic source, standalone files."""

import ast
import copy
import hashlib
import json
import subprocess
import sys
import textwrap

import msgspec
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.cli import main
from model_studio.codegen import (
    MODULE_BLOCKS,
    WIRING_BLOCKS,
    InvalidDesignError,
    attribute_names,
    build_model,
    compile_design,
    design_sha256,
    generate,
    generate_source,
    load_generated,
)
from model_studio.contracts import ID_PATTERN, ModelArchitecture, ModelComponent
from model_studio.nn.runtime import VOCAB
from model_studio.validation import analyse, decode_design

TEMPLATES = {p.stem: json.loads(p.read_text()) for p in sorted((SCHEMA_DIR / "templates").glob("*.json"))}
CASES = {p.stem: json.loads(p.read_text()) for p in sorted((SCHEMA_DIR / "cases").glob("*.json"))}
VALID_CASES = {name: case for name, case in CASES.items() if case["expected"]["valid"]}
INVALID_CASES = {name: case for name, case in CASES.items() if not case["expected"]["valid"]}
ALLOWED_IMPORTS = {"torch", "math", "typing"}
BANNED_NAMES = {
    "eval", "exec", "open", "compile", "__import__", "os", "sys", "subprocess", "importlib", "builtins",
    "__builtins__", "getattr", "setattr", "delattr", "globals", "locals", "vars", "breakpoint", "input",
}  # fmt: skip


def _param_count(model):
    return sum(p.numel() for p in model.parameters())


def _designs():
    yield from ((f"template:{name}", design) for name, design in TEMPLATES.items())
    yield from ((f"case:{name}", case["design"]) for name, case in VALID_CASES.items())


@pytest.mark.parametrize(("label", "design"), list(_designs()), ids=lambda v: v if isinstance(v, str) else "")
def test_compiled_model_has_exactly_the_analysed_parameter_count(label, design):
    model = build_model(design)
    expected = analyse(decode_design(design)).param_total
    assert _param_count(model) == expected
    if label.startswith("case:"):
        assert expected == CASES[label[5:]]["expected"]["paramCountExact"]


def test_every_catalogue_block_has_a_generator():
    assert MODULE_BLOCKS | WIRING_BLOCKS == set(load_catalogue().blocks)
    assert not MODULE_BLOCKS & WIRING_BLOCKS


@pytest.mark.parametrize("name", sorted(INVALID_CASES))
def test_invalid_designs_raise_with_the_validators_errors(name):
    case = INVALID_CASES[name]
    with pytest.raises(InvalidDesignError) as raised:
        generate_source(case["design"])
    assert [error.code for error in raised.value.errors] == [error["code"] for error in case["expected"]["errors"]]
    assert raised.value.errors[0].code in str(raised.value)


def test_a_struct_built_without_validation_is_rechecked():
    design = decode_design(TEMPLATES["tiny-dense"])
    forged = msgspec.structs.replace(design, id="../../etc/passwd")
    with pytest.raises(InvalidDesignError, match="schema_violation"):
        generate(forged)
    forged_component = ModelComponent(id="x\nimport os", type="dense")
    with pytest.raises(InvalidDesignError):
        generate(msgspec.structs.replace(design, components=[*design.components, forged_component]))


def test_source_is_deterministic_and_ignores_canvas_positions():
    design = TEMPLATES["moe-router"]
    moved = copy.deepcopy(design)
    for index, component in enumerate(moved["components"]):
        component["position"] = {"x": 1000.5 - index, "y": -3.25 * index}
    source = generate_source(design)
    assert generate_source(copy.deepcopy(design)) == source
    assert generate_source(moved) == source
    assert generate_source(json.dumps(design).encode()) == source


def test_design_hash_tracks_the_architecture_only():
    design = TEMPLATES["small-transformer"]
    relabelled = copy.deepcopy(design)
    relabelled["name"], relabelled["description"] = "Renamed", "Moved around"
    relabelled["components"][0]["position"] = {"x": 999, "y": 999}
    explicit = copy.deepcopy(design)
    explicit["components"][2]["props"]["n_heads"] = explicit["meta"]["n_heads"]  # the same resolved value
    changed = copy.deepcopy(design)
    changed["components"][2]["props"]["ff_mult"] = 2
    assert design_sha256(relabelled) == design_sha256(design) == design_sha256(explicit)
    assert design_sha256(changed) != design_sha256(design)
    assert generate(design).config["design_sha256"] == design_sha256(design)


def test_forward_reads_as_one_commented_line_per_block():
    design = TEMPLATES["residual-mlp"]
    source = generate_source(design)
    forward = source.split("def forward", 1)[1]
    for component in design["components"]:
        assert f"# {component['id']}: {component['type']}" in forward
    assert "x_join = x_trunk + x_branch  # join: residual_add" in forward
    assert "return self.policy_and_value([x_policy], action_mask)" in forward
    config = generate(TEMPLATES["moe-router"]).config
    assert config["moe_layers"] == [{"id": "experts", "n_experts": 4, "top_k": 2, "lb_coef": 0.01}]
    assert config["aux_heads"] == [{"id": "aux", "target": "empty_cells", "weight": 0.1}]
    assert "self.experts = MoELayer(width=64, n_experts=4, ff_mult=2, top_k=2, lb_coef=0.01)" in generate_source(TEMPLATES["moe-router"])


def test_ids_become_safe_unique_attribute_names():
    ids = ["class", "None", "forward", "train", "type", "training", "state_dict", "aux_loss", "a-b", "a_b", "a_b_", "7up", "x"]
    names = attribute_names(ids)
    assert len(set(names.values())) == len(ids)
    assert names["class"] == "class_" and names["forward"] == "forward_" and names["7up"] == "block_7up" and names["x"] == "x"
    assert all(name.isidentifier() for name in names.values())


def test_unrouted_moe_gets_top_1_and_no_balance_loss():
    config = generate(VALID_CASES["valid-moe-unrouted"]["design"]).config
    assert [(layer["top_k"], layer["lb_coef"]) for layer in config["moe_layers"]] == [(1, 0.0)]


def test_compile_writes_the_file_atomically_and_it_loads(tmp_path):
    result = compile_design(TEMPLATES["moe-router"], tmp_path)
    path = tmp_path / "generated" / "moe-router.py"
    assert result.import_path == str(path.resolve()) and result.source_path == "generated/moe-router.py"
    assert sorted(p.name for p in path.parent.iterdir()) == ["moe-router.py"]  # no temp file left
    expected = analyse(decode_design(TEMPLATES["moe-router"])).param_total
    assert result.paramCountExact == expected and result.paramCount == pytest.approx(expected / 1e6)
    assert result.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    msgspec.json.encode(result)  # JSON-able, config included

    first, second = load_generated(result.import_path), load_generated(path)
    assert first.__name__ != second.__name__ and first.GeneratedModel is not second.GeneratedModel
    assert first.CONFIG == result.config and first.PARAM_COUNT == result.paramCountExact
    assert _param_count(first.GeneratedModel()) == result.paramCountExact

    again = compile_design(TEMPLATES["moe-router"], tmp_path)
    assert again.source_sha256 == result.source_sha256


def test_build_model_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = build_model(TEMPLATES["tiny-dense"], seed=5), build_model(TEMPLATES["tiny-dense"], seed=5)
    assert torch.rand(1).item() == before.item()
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    c = build_model(TEMPLATES["tiny-dense"], seed=6)
    assert not torch.equal(a.state_dict()["hidden1.linear.weight"], c.state_dict()["hidden1.linear.weight"])


def test_generated_file_runs_with_only_torch(tmp_path):
    result = compile_design(TEMPLATES["moe-router"], tmp_path)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["model_studio"] = None  # importing the package would now fail
        import runpy, torch
        module = runpy.run_path({result.import_path!r})
        model = module["GeneratedModel"]()
        logits, value = model(torch.randint(0, 16, (3, 16)), torch.tensor([[True, False, True, True]] * 3))
        assert logits.shape == (3, 4) and value.shape == (3,)
        assert logits[0, 1].item() == torch.finfo(torch.float32).min
        print(sum(p.numel() for p in model.parameters()), len(model.latest_expert_usage))
        """
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(result.paramCountExact), "1"]


def test_cli_compile_prints_path_and_count(tmp_path, capsys):
    design = tmp_path / "design.json"
    design.write_text(json.dumps(TEMPLATES["small-transformer"]))
    assert main(["compile", str(design), "--data-dir", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    count = analyse(decode_design(TEMPLATES["small-transformer"])).param_total
    assert str((tmp_path / "data" / "generated" / "small-transformer.py").resolve()) in out and f"{count:,}" in out


def test_cli_compile_refuses_an_invalid_design(tmp_path, capsys):
    design = tmp_path / "bad.json"
    design.write_text(json.dumps(INVALID_CASES["n-heads-not-divisor"]["design"]))
    assert main(["compile", str(design), "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not compiled" in err and "n_heads_not_divisor" in err
    assert not (tmp_path / "generated").exists()
    assert main(["compile", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path)]) == 2


# ---- property: hostile names, ids and props never escape their literals ----

HOSTILE_TEXT = st.sampled_from(['"""', "'''", "\\", "\n", "\r\n", "\x00", "\u2028", "\u202e", "é", "🂡", "__import__('os').system('x')", "{0}", "#"])
hostile_strings = st.lists(HOSTILE_TEXT | st.text(max_size=6), max_size=8).map("".join)
SPECIAL_IDS = [
    "class", "None", "def", "in", "lambda", "import", "forward", "train", "type", "training", "modules", "state_dict",
    "policy_and_value", "run_checkpointed", "aux_loss", "latest_lb_loss", "self", "board", "action_mask", "torch",
    "nn", "F", "math", "CONFIG", "DESIGN_NAME", "GeneratedModel", "GameTransformer", "x_a", "a-b", "a_b", "9", "0-0",
]  # fmt: skip
block_ids = st.sampled_from(SPECIAL_IDS) | st.from_regex(ID_PATTERN, fullmatch=True)
floats_0_1 = st.sampled_from([0.0, 1.0, 1e-300, 0.1 + 0.2, 5e-324]) | st.floats(0, 1)


@st.composite
def hostile_designs(draw):
    """Valid by construction: a chain from the board to an action output, with optional aux heads,
    routed or unrouted MoE, checkpoints and residual branches, and hostile ids and text."""
    width = draw(st.sampled_from([8, 16]))
    plan, kind = [("board_input", {}), ("embedding", {"d_model": width, "positional": draw(st.booleans())})], "tokens"
    for _ in range(draw(st.integers(0, 5))):
        options = ["dense", "layer_norm", "residual", "aux"] + (["transformer_layer", "moe", "routed_moe", "checkpoint"] if kind == "tokens" else [])
        step = draw(st.sampled_from(options))
        if step == "dense":
            plan.append(("dense", {"units": draw(st.integers(1, 12)), "activation": draw(st.sampled_from(["relu", "gelu", "tanh", "none"]))}))
            kind = "vector"
        elif step == "transformer_layer":
            plan.append(("transformer_layer", {"n_heads": draw(st.sampled_from([1, 2, 4, 8])), "ff_mult": draw(st.integers(1, 2))}))
        elif step in ("moe", "routed_moe"):
            experts = draw(st.integers(1, 4))
            if step == "routed_moe":
                plan.append(("load_balance_router", {"top_k": draw(st.integers(1, experts)), "lb_coef": draw(floats_0_1)}))
            plan.append(("moe_layer", {"n_experts": experts, "ff_mult": 1}))
        elif step == "checkpoint":
            plan += [("grad_checkpoint", {}), ("transformer_layer", {"n_heads": 2, "ff_mult": 1})]
        else:
            plan.append((step, {}))
    plan.append(("action_output", {}))

    ids = draw(st.lists(block_ids, min_size=2 * len(plan), max_size=2 * len(plan), unique=True))
    components, edges, previous, spare = [], [], None, iter(ids[len(plan) :])
    for cid, (step, props) in zip(ids, plan):
        if step == "aux":  # a side branch into an aux head; the chain goes on from `previous`
            target = draw(st.sampled_from(["empty_cells", "max_tile", "merge_pairs"]))
            components.append({"id": cid, "type": "aux_loss_head", "props": {"target": target, "weight": draw(st.floats(0, 10))}})
            edges.append([previous, cid])
            continue
        if step == "residual":  # previous -> branch -> join, previous -> join
            branch = next(spare)
            components.append({"id": branch, "type": "layer_norm"})
            components.append({"id": cid, "type": "residual_add"})
            edges += [[previous, branch], [branch, cid], [previous, cid]]
        else:
            components.append({"id": cid, "type": step, "props": props})
            if previous is not None:
                edges.append([previous, cid])
        previous = cid
    for component in components:
        component["position"] = {"x": draw(st.floats(-1e6, 1e6)), "y": 0.0}
    document = {"id": draw(block_ids), "name": draw(hostile_strings.map(lambda s: s[:120])), "description": draw(hostile_strings), "components": components, "edges": edges}
    return document


def _assert_safe(source, design):
    tree = ast.parse(source)
    assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)  # the docstring
    for statement in tree.body[1:]:
        assert isinstance(statement, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign)), ast.dump(statement)
        if isinstance(statement, ast.Import):
            assert {alias.name.split(".")[0] for alias in statement.names} <= ALLOWED_IMPORTS
        elif isinstance(statement, ast.ImportFrom):
            assert statement.module.split(".")[0] in ALLOWED_IMPORTS and statement.level == 0
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Name) and node.id in BANNED_NAMES), node.id
        assert not (isinstance(node, ast.Attribute) and node.attr in BANNED_NAMES), node.attr
    literals = {s.targets[0].id: ast.literal_eval(s.value) for s in tree.body if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and s.targets[0].id.startswith("DESIGN_")}
    assert literals == {"DESIGN_ID": design["id"], "DESIGN_NAME": design["name"], "DESIGN_DESCRIPTION": design["description"]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_designs())
def test_hostile_designs_compile_to_safe_parseable_source(design):
    assert analyse(decode_design(design)).errors == []
    source = generate_source(design)
    _assert_safe(source, design)
    unplaced = copy.deepcopy(design)
    for component in unplaced["components"]:
        del component["position"]
    assert generate_source(unplaced) == source


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_designs())
def test_hostile_designs_build_exact_working_models(design):
    model = build_model(design)
    assert _param_count(model) == analyse(decode_design(design)).param_total
    board = torch.randint(0, VOCAB, (2, 16))
    logits, value = model(board, torch.ones(2, 4, dtype=torch.bool))
    (logits.sum() + value.sum() + model.latest_lb_loss + model.aux_loss(board)).backward()
    assert logits.shape == (2, 4) and torch.isfinite(logits).all() and value.shape == (2,)


def test_hostile_name_case_round_trips_through_a_loaded_module(tmp_path):
    design = VALID_CASES["valid-hostile-name"]["design"]
    module = load_generated(compile_design(design, tmp_path).import_path)
    assert module.DESIGN_NAME == decode_design(design).name


def test_design_struct_input_is_accepted():
    design = msgspec.convert(TEMPLATES["tiny-dense"], ModelArchitecture)
    assert generate_source(design) == generate_source(TEMPLATES["tiny-dense"])
