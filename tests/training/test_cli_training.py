"""`model-studio train` and `model-studio eval` end to end (one short run, then its checkpoint)."""

import json

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


def test_train_refuses_an_invalid_design_and_eval_a_missing_checkpoint(tmp_path, capsys):
    design = json.loads(TEMPLATE.read_text())
    design["edges"] = []
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(design))
    assert main(["train", str(path), "--steps", "1", "--out", str(tmp_path)]) == 1
    assert "the design is invalid" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.pt")]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err
