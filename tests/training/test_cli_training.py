"""`model-studio train` and `model-studio eval` end to end (one short run, then its checkpoint)."""

import contextlib
import json

import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.cli import main
from model_studio.training import load_checkpoint

TEMPLATE = SCHEMA_DIR / "templates" / "tiny-dense.json"


def test_train_shows_progress_and_a_summary_then_eval_plays_the_checkpoint(tmp_path, capsys):
    # One default update (256 boards x 64 moves) is the smallest step budget there is.
    assert main(["train", str(TEMPLATE), "--steps", "1", "--out", str(tmp_path), "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert "steps/s" in captured.err and "ETA" in captured.err and "[####################] 100%" in captured.err
    assert ": completed" in captured.out and "mean score" in captured.out and "reached 1024" in captured.out
    checkpoint = next((tmp_path / "runs").glob("*/checkpoint.pt"))
    assert f"checkpoint    {checkpoint}" in captured.out
    assert load_checkpoint(checkpoint)["config"]["seed"] == 3

    assert main(["eval", str(checkpoint), "--games", "20", "--greedy"]) == 0
    out = capsys.readouterr().out
    assert "20 games, greedy policy" in out and "games         20" in out and "reached 256" in out


def test_train_with_torch_compile_trains_through_it(tmp_path, capsys):
    assert main(["train", str(TEMPLATE), "--steps", "1", "--out", str(tmp_path), "--torch-compile"]) == 0
    assert ": completed" in capsys.readouterr().out
    checkpoint = load_checkpoint(next((tmp_path / "runs").glob("*/checkpoint.pt")))
    assert checkpoint["config"]["torch_compile"] is True and checkpoint["update"] == 1


def test_train_refuses_an_invalid_design_and_eval_a_missing_checkpoint(tmp_path, capsys):
    design = json.loads(TEMPLATE.read_text())
    design["edges"] = []
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(design))
    assert main(["train", str(path), "--steps", "1", "--out", str(tmp_path)]) == 1
    assert "the design is invalid" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.pt")]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", str(TEMPLATE), "--steps", "0"], "--steps: must be at least 1, not 0"),
        (["train", str(TEMPLATE), "--steps", "many"], "--steps: expected a whole number, not 'many'"),
        (["train", str(TEMPLATE), "--minutes", "-1"], "--minutes: must be a positive number, not -1"),
        (["train", str(TEMPLATE), "--minutes", "nan"], "--minutes: must be a positive number, not nan"),
        (["eval", "checkpoint.pt", "--games", "0"], "--games: must be at least 1, not 0"),
        (["export", str(TEMPLATE), "--fmt", "py", "--out", "m.py", "--checkpoint", "c.pt"], "a .py export holds no weights"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_two(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if argv[0] != "export" else contextlib.nullcontext() as exited:
        status = main(argv)
    status = exited.value.code if exited is not None else status
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _checkpoint(path, design: str, state: dict) -> str:
    keys = {"optimizer_state_dict": {}, "config": {}, "design_sha256": "x", "update": 1, "env_steps": 1, "reward_scale": {}}
    torch.save({**keys, "design": design, "model_state_dict": state}, path)
    return str(path)


def test_eval_of_a_checkpoint_that_no_longer_fits_is_a_message_not_a_traceback(tmp_path, capsys):
    design = json.loads(TEMPLATE.read_text())
    misfit = _checkpoint(tmp_path / "misfit.pt", json.dumps(design), {"not_a_layer": torch.zeros(1)})
    assert main(["eval", misfit, "--games", "1"]) == 2
    assert "weights do not fit" in capsys.readouterr().err
    design["components"][2]["props"]["units"] = 0  # hidden1: no layer has zero units
    invalid = _checkpoint(tmp_path / "invalid.pt", json.dumps(design), {})
    assert main(["eval", invalid, "--games", "1"]) == 2
    assert "no longer validates" in capsys.readouterr().err


def test_train_resume_of_a_spent_budget_asks_for_a_budget(tmp_path, capsys):
    """`train --resume` without --steps/--minutes trains what is left of the checkpoint's budget
    (the rules: `training.budget`); a completed run has none left, so it says so and exits 2."""
    from model_studio.codegen import design_sha256
    from model_studio.training.checkpoint import save_checkpoint
    from model_studio.training.budget import Budget, Schedule

    design = json.loads(TEMPLATE.read_text())
    keys = {"model_state_dict": {}, "optimizer_state_dict": {}, "config": {}, "update": 1, "env_steps": 16384, "reward_scale": {}}
    spent = {**keys, "elapsed_s": 2.0, "budget": Schedule(Budget(max_env_steps=1)).to_dict()}
    path = save_checkpoint(tmp_path / "spent.pt", spent, json.dumps(design), design_sha256(design))
    assert main(["train", str(TEMPLATE), "--resume", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: the checkpoint's budget is spent" in err and "Traceback" not in err
