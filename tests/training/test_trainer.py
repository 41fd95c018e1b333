"""PPOTrainer end to end on every template, with tiny budgets: event shape, MoE usage,
reproducibility, stopping, and checkpoints that reload with weights_only."""

import dataclasses
import itertools
import json

import jsonschema
import msgspec
import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model, design_sha256
from model_studio.schema_files import load_schema
from model_studio.training.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from model_studio.training.ppo import PPOConfig, PPOTrainer

TEMPLATES = sorted(path.stem for path in (SCHEMA_DIR / "templates").glob("*.json"))
TINY = PPOConfig(num_envs=8, num_steps=16, minibatch_size=64, update_epochs=2, torch_threads=1)
UPDATE_SCHEMA = jsonschema.Draft202012Validator(load_schema("training-update"))


def template(name: str) -> dict:
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


def trainer_for(name: str, config: PPOConfig = TINY) -> PPOTrainer:
    return PPOTrainer(build_model(template(name), seed=config.seed), config, run_id="test-run")


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_trains_and_reports_the_documented_event(name):
    trainer = trainer_for(name)
    events = [trainer.update(progress=i / 2) for i in range(2)]
    for number, event in enumerate(events, 1):
        UPDATE_SCHEMA.validate(msgspec.to_builtins(event))
        assert (event.update, event.env_steps) == (number, number * TINY.batch_size)
        assert event.learning_rate == pytest.approx(TINY.learning_rate * (1 - (number - 1) / 2))
        for value in msgspec.structs.asdict(event.losses).values():
            assert value == value and abs(value) < 1e6  # finite, sane
        usage = event.moe.expert_usage
        assert len(usage) == sum(c["type"] == "moe_layer" for c in template(name)["components"])
        for layer in usage:
            assert sum(layer) == pytest.approx(1.0)
    losses = events[-1].losses
    has_aux = any(c["type"] == "aux_loss_head" for c in template(name)["components"])
    assert (losses.lb_loss > 0) == bool(usage)
    assert (losses.aux_loss > 0) == has_aux
    for event in events:
        assert event.moe.lb_reward == -event.losses.lb_loss
    if not usage:  # no MoE: exactly 0.0, not -0.0 on the wire
        assert b'"lb_reward":0.0' in msgspec.json.encode(events[-1])


def test_same_seed_same_metrics_other_seed_other_metrics():
    def learning_metrics(seed):
        trainer = trainer_for("moe-router", PPOConfig(**{**TINY.to_dict(), "seed": seed}))
        events = [trainer.update() for _ in range(2)]
        return [(msgspec.structs.asdict(e.losses), e.episodes, e.moe) for e in events]

    assert learning_metrics(1) == learning_metrics(1)
    assert learning_metrics(1) != learning_metrics(2)


def test_finished_games_are_reported_with_their_max_tiles():
    trainer = trainer_for("tiny-dense", PPOConfig(num_envs=64, num_steps=128, minibatch_size=512, update_epochs=1, torch_threads=1))
    episodes = trainer.update().episodes  # random-ish play ends a game within ~100 moves
    assert episodes.count > 0
    assert sum(episodes.max_tile.values()) == episodes.count
    assert episodes.max_score >= episodes.mean_score > 0
    assert all(int(tile) & (int(tile) - 1) == 0 for tile in episodes.max_tile)  # powers of two


def test_stop_during_the_rollout_drops_the_update_and_keeps_the_weights():
    trainer = trainer_for("tiny-dense")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    polls = iter(range(1000))
    assert trainer.update(should_stop=lambda: next(polls) >= 3) is None
    assert trainer.update_count == 0 and trainer.env_steps == 0
    assert all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())


def test_stop_during_the_optimisation_ends_the_epochs_early():
    trainer = trainer_for("tiny-dense")
    polls = iter(range(1000))
    # TINY polls once per env step (16), then once per minibatch: stop after the first minibatch.
    event = trainer.update(should_stop=lambda: next(polls) >= TINY.num_steps + 1)
    assert event is not None and event.update == 1
    assert next(polls) == TINY.num_steps + 2  # no further minibatch was started


@pytest.mark.parametrize(("name", "epochs"), [("tuple-network", 1), ("tiny-dense", 2), ("moe-router", 2)])
def test_the_design_picks_the_epochs_unless_the_config_says(name, epochs):
    """update_epochs None: one pass for a design with sparse tables, two for the rest; a number
    given in the config wins. Counted by the optimisation's polls, one per minibatch."""
    minibatches_per_epoch = TINY.batch_size // TINY.minibatch_size
    for config, expected in ((dataclasses.replace(TINY, update_epochs=None), epochs), (dataclasses.replace(TINY, update_epochs=3), 3)):
        trainer = trainer_for(name, config)
        polls = itertools.count()
        trainer.update(should_stop=lambda: next(polls) < 0)
        assert next(polls) - TINY.num_steps == expected * minibatches_per_epoch
        assert trainer.state()["config"]["update_epochs"] == expected  # the checkpoint records the choice


def test_checkpoint_reloads_with_weights_only_and_gives_the_same_outputs(tmp_path):
    design = template("moe-router")
    trainer = trainer_for("moe-router")
    trainer.update()
    path = save_checkpoint(tmp_path / "checkpoint.pt", trainer.state(), json.dumps(design), design_sha256(design))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left behind

    checkpoint = load_checkpoint(path, design_sha256(design))  # torch.load(weights_only=True)
    assert {"model_state_dict", "optimizer_state_dict", "config", "design", "design_sha256", "update", "env_steps"} <= checkpoint.keys()
    assert (checkpoint["update"], checkpoint["env_steps"]) == (1, TINY.batch_size)
    assert PPOConfig.from_dict(checkpoint["config"]) == TINY

    reloaded = model_from_checkpoint(checkpoint)
    boards = torch.randint(0, 12, (32, 16), generator=torch.Generator().manual_seed(0))
    masks = torch.ones(32, 4, dtype=torch.bool)
    with torch.inference_mode():
        expected, actual = trainer.model(boards, masks), reloaded(boards, masks)
    assert torch.equal(expected[0], actual[0]) and torch.equal(expected[1], actual[1])

    resumed = trainer_for("moe-router")
    resumed.load_state(checkpoint)
    assert (resumed.update_count, resumed.env_steps) == (1, TINY.batch_size)
    assert resumed.update().update == 2


def test_checkpoint_of_another_design_or_not_a_checkpoint_is_refused(tmp_path):
    trainer = trainer_for("tiny-dense")
    design = template("tiny-dense")
    path = save_checkpoint(tmp_path / "checkpoint.pt", trainer.state(), json.dumps(design), design_sha256(design))
    with pytest.raises(CheckpointMismatchError, match="trained on design"):
        load_checkpoint(path, design_sha256(template("residual-mlp")))
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a Model Studio checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")


def test_a_policy_with_nan_probabilities_stops_the_rollout():
    # torch.multinomial refused NaN probabilities; the sampler that replaced it checks once per rollout.
    trainer = trainer_for("tiny-dense")
    with torch.no_grad():
        for parameter in trainer.model.parameters():
            parameter.fill_(float("nan"))
    with pytest.raises(RuntimeError, match="NaN"):
        trainer.update()
