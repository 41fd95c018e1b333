"""Checkpoints stream into a temp file that replaces the old one only once whole: a save that
fails part-way leaves the previous checkpoint as it was, and no temp file behind."""

import json

import pytest

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model, design_sha256
from model_studio.training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from model_studio.training.ppo import PPOConfig, PPOTrainer

DESIGN = (SCHEMA_DIR / "templates" / "tiny-dense.json").read_text()


class Unsaveable:
    """torch.save fails on it part-way, with the file already open."""

    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_a_save_that_fails_part_way_leaves_the_previous_checkpoint(tmp_path):
    trainer = PPOTrainer(build_model(json.loads(DESIGN)), PPOConfig(num_envs=8, num_steps=4, torch_threads=1))
    path = tmp_path / "checkpoint.pt"
    sha = design_sha256(DESIGN)
    save_checkpoint(path, trainer.state(), DESIGN, sha)
    saved = path.read_bytes()

    trainer.update()
    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, {**trainer.state(), "unsaveable": Unsaveable()}, DESIGN, sha)

    assert path.read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # the temp file is gone

    checkpoint = load_checkpoint(path, sha)
    assert checkpoint["update"] == 0  # the first save's, whole
    model_from_checkpoint(checkpoint)
