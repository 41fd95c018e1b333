"""Exports: ONNX that onnxruntime runs like torch, weights-only .pt, standalone .py, and
checkpoints that must belong to the design."""

import json

import msgspec
import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.cli import main
from model_studio.codegen import build_model, design_sha256, generate, generate_source
from model_studio.export import PARITY_TOLERANCE, ExportError, export_bytes, export_design, onnx_parity, random_inputs
from model_studio.training.checkpoint import save_checkpoint
from model_studio.validation import decode_design

TEMPLATES = {p.stem: json.loads(p.read_text()) for p in sorted((SCHEMA_DIR / "templates").glob("*.json"))}
PARITY_BOARDS = 256


@pytest.fixture(scope="module")
def onnx_exports(tmp_path_factory):
    """Every template exported once (the exporter takes seconds per model)."""
    folder = tmp_path_factory.mktemp("onnx")
    return {name: export_design(design, "onnx", folder / f"{name}.onnx") for name, design in TEMPLATES.items()}


@pytest.mark.parametrize("name", TEMPLATES)
def test_onnxruntime_matches_torch_on_random_boards(name, onnx_exports):
    model = build_model(TEMPLATES[name]).eval()
    logit_gap, value_gap = onnx_parity(model, onnx_exports[name].read_bytes(), *random_inputs(PARITY_BOARDS, seed=1))
    assert logit_gap <= PARITY_TOLERANCE and value_gap <= PARITY_TOLERANCE


@pytest.mark.parametrize("name", TEMPLATES)
def test_onnx_file_is_checked_named_and_batch_dynamic(name, onnx_exports):
    proto = onnx.load(onnx_exports[name])
    onnx.checker.check_model(proto)

    def described(values):
        return [(v.name, v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    assert described(proto.graph.input) == [("board", onnx.TensorProto.INT64, ["batch", 16]), ("action_mask", onnx.TensorProto.BOOL, ["batch", 4])]
    assert described(proto.graph.output) == [("logits", onnx.TensorProto.FLOAT, ["batch", 4]), ("value", onnx.TensorProto.FLOAT, ["batch"])]
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert metadata["model_studio.design_id"] == TEMPLATES[name]["id"]
    assert metadata["model_studio.design_sha256"] == design_sha256(TEMPLATES[name])

    session = onnxruntime.InferenceSession(str(onnx_exports[name]), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        boards, masks = random_inputs(batch, seed=batch)
        logits, value = session.run(None, {"board": boards.numpy(), "action_mask": masks.numpy()})
        assert logits.shape == (batch, 4) and value.shape == (batch,)
        assert (logits[~masks.numpy()] == np.finfo(np.float32).min).all()


def test_pt_export_loads_weights_only_and_rebuilds_the_model(tmp_path):
    design = TEMPLATES["moe-router"]
    path = export_design(design, "pt", tmp_path / "model.pt", seed=4)
    saved = torch.load(path, weights_only=True)
    assert set(saved) == {"model_state_dict", "config", "design"}
    assert saved["config"] == generate(design).config
    assert decode_design(saved["design"]) == decode_design(design)
    model = build_model(saved["design"], seed=None)
    model.load_state_dict(saved["model_state_dict"])
    reference = build_model(design, seed=4)
    boards, masks = random_inputs(5, seed=0)
    torch.testing.assert_close(model(boards, masks), reference(boards, masks))


def test_py_export_is_the_generated_source(tmp_path):
    path = export_design(TEMPLATES["small-transformer"], "py", tmp_path / "model.py")
    assert path.read_text(encoding="utf-8") == generate_source(TEMPLATES["small-transformer"])


def _checkpoint(tmp_path, design, seed, sha=None):
    """A checkpoint written by the trainer's own writer."""
    model = build_model(design, seed=seed)
    path = tmp_path / "checkpoint.pt"
    state = {
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": torch.optim.Adam(model.parameters()).state_dict(),
        "config": generate(design).config,
        "update": 3,
        "env_steps": 4096,
        "reward_scale": {"mean": 0.0, "var": 1.0, "count": 1.0},
    }
    save_checkpoint(path, state, msgspec.json.encode(decode_design(design)).decode(), sha or design_sha256(design))
    return path, model.eval()


def test_export_uses_the_checkpoints_weights(tmp_path):
    design = TEMPLATES["tiny-dense"]
    checkpoint, trained = _checkpoint(tmp_path, design, seed=11)
    saved = torch.load(export_design(design, "pt", tmp_path / "m.pt", checkpoint=checkpoint), weights_only=True)
    for key, value in trained.state_dict().items():
        assert torch.equal(saved["model_state_dict"][key], value), key
    onnx_bytes = export_bytes(design, "onnx", checkpoint=checkpoint)
    assert max(onnx_parity(trained, onnx_bytes, *random_inputs(64, seed=2))) <= PARITY_TOLERANCE
    assert max(onnx_parity(build_model(design, seed=0).eval(), onnx_bytes, *random_inputs(64, seed=2))) > PARITY_TOLERANCE


def test_a_checkpoint_for_another_design_is_refused(tmp_path, capsys):
    design = TEMPLATES["tiny-dense"]
    checkpoint, _ = _checkpoint(tmp_path, design, seed=1, sha="0" * 64)
    with pytest.raises(ExportError, match="trained on design 000000000000, not on this design"):
        export_bytes(design, "pt", checkpoint=checkpoint)
    design_file = tmp_path / "design.json"
    design_file.write_text(json.dumps(design))
    out = tmp_path / "m.pt"
    assert main(["export", str(design_file), "--fmt", "pt", "--out", str(out), "--checkpoint", str(checkpoint)]) == 1
    assert "not on this design" in capsys.readouterr().err and not out.exists()


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ExportError, match="cannot read checkpoint"):
        export_bytes(TEMPLATES["tiny-dense"], "py", checkpoint=junk)
    torch.save({"weights": torch.zeros(1)}, junk)
    with pytest.raises(ExportError, match="not a Model Studio checkpoint"):
        export_bytes(TEMPLATES["tiny-dense"], "py", checkpoint=junk)


def test_cli_export_writes_files(tmp_path, capsys):
    design_file = tmp_path / "design.json"
    design_file.write_text(json.dumps(TEMPLATES["residual-mlp"]))
    for fmt in ("py", "pt"):  # onnx takes the same path; the fixture above covers its export
        out = tmp_path / f"model.{fmt}"
        assert main(["export", str(design_file), "--fmt", fmt, "--out", str(out), "--seed", "2"]) == 0
        assert out.stat().st_size > 0
        assert f"wrote {out} ({fmt}, fresh weights, seed 2)" in capsys.readouterr().out


def test_cli_export_refuses_an_invalid_design(tmp_path, capsys):
    design = json.loads(json.dumps(TEMPLATES["tiny-dense"]))
    design["edges"].pop()
    design_file = tmp_path / "design.json"
    design_file.write_text(json.dumps(design))
    assert main(["export", str(design_file), "--fmt", "py", "--out", str(tmp_path / "m.py")]) == 1
    assert "the design is invalid" in capsys.readouterr().err


@pytest.mark.parametrize("symmetries", [1, 8])
def test_tuple_network_exports_with_learned_tables(tmp_path, symmetries):
    """The tuple-network template's tables start at zero, so its parity above says little about
    the lookups: give every table row and bias random values and check onnxruntime again, as
    drawn and with its tuples read on all 8 board symmetries."""
    design = json.loads(json.dumps(TEMPLATES["tuple-network"]))
    next(c for c in design["components"] if c["type"] == "ntuple")["props"]["symmetries"] = symmetries
    model = build_model(design, seed=5)
    with torch.no_grad():
        model.tuples.table.weight.normal_(std=0.5, generator=torch.Generator().manual_seed(5))
        model.tuples.bias.normal_(std=0.5, generator=torch.Generator().manual_seed(6))
    path = tmp_path / "checkpoint.pt"
    state = {
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": torch.optim.Adam(model.parameters()).state_dict(),
        "config": generate(design).config,
        "update": 1,
        "env_steps": 128,
        "reward_scale": {"mean": 0.0, "var": 1.0, "count": 1.0},
    }
    save_checkpoint(path, state, msgspec.json.encode(decode_design(design)).decode(), design_sha256(design))
    onnx_bytes = export_bytes(design, "onnx", checkpoint=path)
    assert max(onnx_parity(model.eval(), onnx_bytes, *random_inputs(PARITY_BOARDS, seed=3))) <= PARITY_TOLERANCE
    assert max(onnx_parity(build_model(design, seed=5).eval(), onnx_bytes, *random_inputs(PARITY_BOARDS, seed=3))) > PARITY_TOLERANCE
    assert {node.op_type for node in onnx.load_from_string(onnx_bytes).graph.node} >= {"Gather", "ReduceSum"}
