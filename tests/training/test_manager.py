"""TrainingManager with real child processes: streamed events, checkpoints, resume, stop, a
child killed mid-run, and a run that keeps its architecture while its design's file changes."""

import copy
import json
import os
import signal
import threading
import time

import jsonschema
import msgspec
import pytest

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import InvalidDesignError, build_model, compile_design, design_sha256, generate_source
from model_studio.contracts import TrainingDone, TrainingUpdate
from model_studio.schema_files import load_schema
from model_studio.training import Budget, CheckpointMismatchError, PPOConfig, TrainingBusyError, TrainingManager, load_checkpoint
from model_studio.training.checkpoint import save_checkpoint
from model_studio.training.budget import BudgetSpentError
from model_studio.training.manager import DEFAULT_CHECKPOINT_EVERY, RunSpec, checkpoint_due, run_training
from model_studio.training.ppo import PPOTrainer

TINY = PPOConfig(num_envs=8, num_steps=16, minibatch_size=64, update_epochs=1, torch_threads=1)
STOP_BOUND_S = 2.0
WAIT_S = 60.0  # generous: a child imports torch first, and the machine is shared
SCHEMAS = {
    TrainingUpdate: jsonschema.Draft202012Validator(load_schema("training-update")),
    TrainingDone: jsonschema.Draft202012Validator(load_schema("training-done")),
}


def template(name: str) -> dict:
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


class Recorder:
    """An on_event callback that records events and lets a test wait for one."""

    def __init__(self):
        self.events, self.threads = [], set()
        self.changed = threading.Condition()

    def __call__(self, event):
        with self.changed:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()

    def wait_for(self, predicate, timeout=WAIT_S):
        with self.changed:
            assert self.changed.wait_for(lambda: any(predicate(e) for e in self.events), timeout), "event never came"
            return next(e for e in self.events if predicate(e))

    def of(self, run_id, kind):
        return [e for e in self.events if e.run_id == run_id and isinstance(e, kind)]


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def manager(tmp_path, recorder):
    manager = TrainingManager(tmp_path, recorder)
    yield manager
    manager.close()


def test_a_run_streams_valid_events_and_checkpoints_at_the_end(manager, recorder, tmp_path):
    run_id = manager.start(template("moe-router"), config=TINY, budget=Budget(max_env_steps=3 * TINY.batch_size), checkpoint_every=2)
    done = manager.wait(run_id, WAIT_S)
    assert done is not None and done.status == "completed" and done.message is None
    updates = recorder.of(run_id, TrainingUpdate)
    assert [e.update for e in updates] == [1, 2, 3]
    assert recorder.events[-1] == done and recorder.threads == {f"model-studio-events-{run_id}"}
    for event in recorder.events:
        SCHEMAS[type(event)].validate(msgspec.to_builtins(event))
    for event in updates:
        assert len(event.moe.expert_usage) == 1 and sum(event.moe.expert_usage[0]) == pytest.approx(1.0)
    assert (done.updates, done.env_steps) == (3, 3 * TINY.batch_size)
    assert done.checkpoint == str(tmp_path / "runs" / run_id / "checkpoint.pt")
    checkpoint = load_checkpoint(done.checkpoint)
    assert (checkpoint["update"], checkpoint["env_steps"]) == (3, 3 * TINY.batch_size)
    assert not (tmp_path / "generated").exists()  # the child generates the module in memory
    assert manager.active_runs() == []


def test_killed_child_fails_cleanly_then_resume_continues_and_stop_is_prompt(manager, recorder, tmp_path):
    design = template("tiny-dense")
    first = manager.start(design, config=TINY, budget=Budget(max_env_steps=2 * TINY.batch_size))
    manager.wait(first, WAIT_S)
    checkpoint = load_checkpoint(manager.wait(first).checkpoint)
    assert checkpoint["update"] == 2

    # A run that never ends on its own; one at a time, so a second start is refused.
    doomed = manager.start(design, config=TINY)
    with pytest.raises(TrainingBusyError):
        manager.start(design, config=TINY)
    recorder.wait_for(lambda e: e.run_id == doomed and isinstance(e, TrainingUpdate))
    os.kill(manager._runs[doomed].process.pid, signal.SIGKILL)
    died = manager.wait(doomed, WAIT_S)
    assert died.status == "failed" and "SIGKILL" in died.message
    assert died.updates >= 1 and died.checkpoint is None  # killed before its first checkpoint
    SCHEMAS[TrainingDone].validate(msgspec.to_builtins(died))

    # The manager is still usable: resume the first (completed) run under its own id, with more
    # budget (without, its spent budget is refused); numbering continues.
    resume = {"config": TINY, "run_id": first, "resume_from": tmp_path / "runs" / first / "checkpoint.pt"}
    with pytest.raises(BudgetSpentError, match="budget is spent"):
        manager.start(design, **resume)
    manager.start(design, budget=Budget(max_env_steps=1000 * TINY.batch_size), **resume)
    recorder.wait_for(lambda e: e.run_id == first and isinstance(e, TrainingUpdate) and e.update == 4)
    asked = time.monotonic()
    assert manager.stop(first)
    stopped = manager.wait(first, WAIT_S)
    assert time.monotonic() - asked < STOP_BOUND_S
    assert stopped.status == "stopped" and stopped.updates >= 4
    assert [e.update for e in recorder.of(first, TrainingUpdate)][:4] == [1, 2, 3, 4]
    assert load_checkpoint(stopped.checkpoint)["update"] == stopped.updates
    assert not manager.stop(first)  # nothing left to stop


def test_a_run_trains_the_design_it_was_started_with_not_the_file_of_its_id(manager, recorder, tmp_path):
    design = template("tiny-dense")
    edited = copy.deepcopy(design)  # the same id, another architecture
    next(c for c in edited["components"] if c["id"] == "hidden1")["props"]["units"] = 128
    compile_design(edited, tmp_path)  # compiled before the run starts...
    run_id = manager.start(design, config=TINY)
    first = recorder.wait_for(lambda e: e.run_id == run_id)
    assert isinstance(first, TrainingUpdate), first
    edited_file = tmp_path / "generated" / "tiny-dense.py"
    assert edited_file.read_text() == generate_source(edited)  # the run neither wrote the file...
    compile_design(edited, tmp_path)  # ...nor minds it compiled again while it trains
    trained = len(recorder.of(run_id, TrainingUpdate))
    recorder.wait_for(lambda e: e.run_id == run_id and isinstance(e, TrainingUpdate) and e.update > trained)
    manager.stop(run_id)
    done = manager.wait(run_id, WAIT_S)
    assert done.status == "stopped"

    checkpoint = load_checkpoint(done.checkpoint, design_sha256(design))
    build_model(design).load_state_dict(checkpoint["model_state_dict"])  # strict: the started architecture
    with pytest.raises(RuntimeError, match="size mismatch"):
        build_model(edited).load_state_dict(checkpoint["model_state_dict"])


def test_a_module_with_another_architecture_hash_fails_the_run(tmp_path):
    spec = RunSpec(
        run_id="run-mismatch",
        design_json=json.dumps(template("tiny-dense")),
        design_sha256="0" * 64,
        data_dir=str(tmp_path),
        config=TINY,
        budget=Budget(max_env_steps=1),
        checkpoint_every=1,
        resume_from=None,
    )
    events = []
    run_training(spec, events.append, lambda: False)
    [done] = events
    assert done.status == "failed" and done.checkpoint is None and done.updates == 0
    assert done.message.startswith("DesignMismatchError: run run-mismatch was started with architecture 000000000000")
    assert list(tmp_path.iterdir()) == []


def test_bad_starts_are_refused_before_any_process_starts(manager, tmp_path):
    design = template("tiny-dense")
    bad = {**design, "edges": []}
    with pytest.raises(InvalidDesignError):
        manager.start(bad)
    with pytest.raises(ValueError, match="invalid run id"):
        manager.start(design, run_id="../escape")
    other = template("residual-mlp")
    trainer = PPOTrainer(build_model(other), TINY)
    path = save_checkpoint(tmp_path / "other.pt", trainer.state(), json.dumps(other), design_sha256(other))
    with pytest.raises(CheckpointMismatchError):
        manager.start(design, resume_from=path)
    assert manager.active_runs() == []


def test_budgets_give_the_learning_rate_schedule_its_progress():
    assert Budget().progress(10, 10.0) is None
    assert Budget(max_env_steps=100).progress(25, 1e6) == 0.25
    assert Budget(max_minutes=1.0).progress(0, 30.0) == 0.5
    assert Budget(max_env_steps=100, max_minutes=1.0).progress(90, 30.0) == 0.9  # whichever is nearer
    assert Budget(max_env_steps=100).progress(150, 0.0) == 1.0
    with pytest.raises(ValueError):
        Budget(max_minutes=0)
    assert DEFAULT_CHECKPOINT_EVERY >= 1


def test_periodic_checkpoints_keep_saving_under_three_percent_of_the_run():
    assert checkpoint_due(20, 20, since_save_s=0.0, last_save_s=0.0)  # fast saves: every 20 updates
    assert checkpoint_due(40, 20, since_save_s=8.0, last_save_s=0.01)
    assert not checkpoint_due(39, 20, since_save_s=60.0, last_save_s=0.01)
    # A 1 s save (a tuple network's 428 MB) waits until it is at most 3% of the time: 1 <= 0.03 * (33 + 1).
    assert not checkpoint_due(40, 20, since_save_s=8.0, last_save_s=1.0)
    assert not checkpoint_due(80, 20, since_save_s=31.0, last_save_s=1.0)  # 0.03 * 32 = 0.96
    assert checkpoint_due(100, 20, since_save_s=33.0, last_save_s=1.0)
