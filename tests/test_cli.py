"""`model-studio validate`: readable reports and meaningful exit codes."""

import json
import subprocess
import sys

from model_studio.catalogue import SCHEMA_DIR
from model_studio.cli import main

TEMPLATE = SCHEMA_DIR / "templates" / "small-transformer.json"


def test_valid_design_reports_size_and_exits_zero(capsys):
    assert main(["validate", str(TEMPLATE)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "107,269" in out and "MiB" in out


def test_invalid_design_lists_errors_with_components_and_hints(tmp_path, capsys):
    document = json.loads(TEMPLATE.read_text())
    document["components"][2]["props"]["n_heads"] = 5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "n_heads_not_divisor [layer1]" in out and "hint: Nearest valid n_heads is 4." in out


def test_not_json_and_not_a_design_get_clear_messages(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("this is not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main(["validate", str(tmp_path / "junk.json"), str(tmp_path / "list.json")]) == 1
    out = capsys.readouterr().out
    assert "error invalid_json: Not valid JSON" in out
    assert "error schema_violation: Design does not match the schema" in out


def test_missing_file_exits_two(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_module_entry_point_reads_stdin():
    completed = subprocess.run([sys.executable, "-m", "model_studio", "validate", "-"], input=TEMPLATE.read_bytes(), capture_output=True, check=False)
    assert completed.returncode == 0
    assert b"-: valid" in completed.stdout
