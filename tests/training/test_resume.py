"""Resuming continues a run: the checkpoint carries the budget's progress (env steps, training
seconds, the schedule), so a resumed run's learning rate goes on from where it was and it trains
what the budget left, or, given a budget, that much more (the rules: `training.budget`).

The runs train in this process (`run_training`, as the child process does), on tiny-dense with a
tiny config, so each update takes milliseconds."""

import json
import time

import msgspec
import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import design_sha256
from model_studio.contracts import TrainingDone, TrainingUpdate
from model_studio.run_routes import run_status
from model_studio.store import RunRow
from model_studio.training import Budget, PPOConfig, load_checkpoint
from model_studio.training.budget import BudgetSpentError, Schedule, read_resume_schedule, resume_schedule
from model_studio.training.manager import RunSpec, run_training

TINY = PPOConfig(num_envs=8, num_steps=16, minibatch_size=64, update_epochs=1, torch_threads=1, learning_rate=1e-3, anneal_lr=True)
BATCH = TINY.batch_size
DESIGN = json.loads((SCHEMA_DIR / "templates" / "tiny-dense.json").read_text())


class Run:
    """One `run_training` call: its events, and a stop after `stop_after` updates (if given)."""

    def __init__(self, tmp_path, run_id, budget=Budget(), resume_from=None, stop_after=None, stop_at_s=None):
        self.events = []
        started = time.monotonic()

        def stop_requested():
            if stop_at_s is not None and time.monotonic() - started >= stop_at_s:
                return True
            return stop_after is not None and len(self.updates) >= stop_after

        spec = RunSpec(
            run_id=run_id,
            design_json=json.dumps(DESIGN),
            design_sha256=design_sha256(DESIGN),
            data_dir=str(tmp_path),
            config=TINY,
            budget=budget,
            checkpoint_every=1000,
            resume_from=None if resume_from is None else str(resume_from),
        )
        run_training(spec, self.events.append, stop_requested)
        self.checkpoint_path = spec.checkpoint_path

    @property
    def updates(self) -> list[TrainingUpdate]:
        return [e for e in self.events if isinstance(e, TrainingUpdate)]

    @property
    def done(self) -> TrainingDone:
        assert isinstance(self.events[-1], TrainingDone), self.events[-1]
        return self.events[-1]

    @property
    def rates(self) -> list[float]:
        return [e.learning_rate for e in self.updates]


def test_a_stopped_steps_run_resumes_on_the_uninterrupted_schedule_and_total(tmp_path):
    budget = Budget(max_env_steps=6 * BATCH)
    whole = Run(tmp_path, "run-whole", budget)
    assert whole.done.status == "completed" and len(whole.updates) == 6
    assert whole.rates == pytest.approx([TINY.learning_rate * (1 - k / 6) for k in range(6)], rel=1e-12)

    first = Run(tmp_path, "run-first", budget, stop_after=2)
    assert first.done.status == "stopped" and first.done.env_steps == 2 * BATCH
    saved = load_checkpoint(first.checkpoint_path)
    assert saved["budget"] == Schedule(budget).to_dict() and saved["elapsed_s"] >= first.done.elapsed_s * 0.5

    # No budget given: what is left of the checkpoint's, on the same schedule.
    second = Run(tmp_path, "run-second", resume_from=first.checkpoint_path)
    assert second.done.status == "completed"
    assert [e.update for e in second.updates] == [3, 4, 5, 6]
    assert first.rates + second.rates == whole.rates  # exactly: the same progress at each update
    assert second.done.env_steps == whole.done.env_steps == 6 * BATCH
    assert second.updates[0].elapsed_s >= saved["elapsed_s"]  # the clock goes on too
    assert load_checkpoint(second.checkpoint_path)["budget"] == Schedule(budget).to_dict()

    # Now it is spent: resuming it without a budget is refused, with one it trains that much more.
    with pytest.raises(BudgetSpentError, match="budget is spent"):
        read_resume_schedule(second.checkpoint_path, Budget())
    failed = Run(tmp_path, "run-spent", resume_from=second.checkpoint_path)
    assert failed.done.status == "failed" and "BudgetSpentError" in failed.done.message
    more = Run(tmp_path, "run-more", Budget(max_env_steps=2 * BATCH), resume_from=second.checkpoint_path)
    assert more.done.status == "completed" and more.done.env_steps == 8 * BATCH
    # Re-planned over the extended total of 8 updates: 1 - 6/8, then 1 - 7/8.
    assert more.rates == pytest.approx([TINY.learning_rate * 2 / 8, TINY.learning_rate * 1 / 8], rel=1e-12)


def test_a_budget_given_at_resume_extends_the_total(tmp_path):
    first = Run(tmp_path, "run-first", Budget(max_env_steps=6 * BATCH), stop_after=2)
    second = Run(tmp_path, "run-second", Budget(max_env_steps=4 * BATCH), resume_from=first.checkpoint_path)
    assert second.done.status == "completed" and second.done.env_steps == 6 * BATCH  # 2 done + 4 more
    # The schedule of a 6-update run (what the extended total happens to be), continued.
    assert second.rates == pytest.approx([TINY.learning_rate * (1 - k / 6) for k in range(2, 6)], rel=1e-12)

    shorter = Run(tmp_path, "run-shorter", Budget(max_env_steps=1 * BATCH), resume_from=first.checkpoint_path)
    assert shorter.done.env_steps == 3 * BATCH and shorter.rates == pytest.approx([TINY.learning_rate / 3], rel=1e-12)


def test_a_run_without_a_budget_resumes_without_one_or_starts_its_schedule_at_the_resume(tmp_path):
    endless = Run(tmp_path, "run-endless", stop_after=2)
    assert endless.done.status == "stopped" and endless.rates == [TINY.learning_rate] * 2
    still = Run(tmp_path, "run-still", resume_from=endless.checkpoint_path, stop_after=1)
    assert still.done.status == "stopped" and still.rates == [TINY.learning_rate]
    planned = Run(tmp_path, "run-planned", Budget(max_env_steps=2 * BATCH), resume_from=endless.checkpoint_path)
    assert planned.done.env_steps == 4 * BATCH
    assert planned.rates == pytest.approx([TINY.learning_rate, TINY.learning_rate / 2], rel=1e-12)
    recorded = load_checkpoint(planned.checkpoint_path)["budget"]
    assert recorded == {"max_env_steps": 2 * BATCH, "max_minutes": None, "start_env_steps": 2 * BATCH,
                        "start_elapsed_s": load_checkpoint(endless.checkpoint_path)["elapsed_s"]}  # fmt: skip


def test_a_minutes_run_stopped_and_resumed_trains_what_was_left_and_its_rate_goes_on(tmp_path):
    """A 3-second budget (0.05 minutes) stopped after about a second, then resumed after a pause
    that does not count: the two parts train about 3 s in all, and the first resumed update's
    learning rate is the one the schedule had at the checkpoint's clock."""
    budget = Budget(max_minutes=0.05)
    first = Run(tmp_path, "run-first", budget, stop_at_s=1.0)
    assert first.done.status == "stopped" and first.updates
    saved = load_checkpoint(first.checkpoint_path)
    spent = saved["elapsed_s"]
    assert 0.5 < spent < 2.5
    time.sleep(0.5)
    resumed_at = time.monotonic()
    second = Run(tmp_path, "run-second", resume_from=first.checkpoint_path)
    wall = time.monotonic() - resumed_at
    assert second.done.status == "completed"
    assert 3.0 <= second.done.elapsed_s < 3.0 + 1.0  # the run's total; one update and a save of slack
    assert wall < 3.0 - spent + 2.0  # it trained what was left, not another 3 s (start-up included)
    expected = TINY.learning_rate * (1 - spent / 3.0)
    assert second.rates[0] == pytest.approx(expected, abs=0.02 * TINY.learning_rate)
    assert second.rates[0] < first.rates[-1]  # no restart of the schedule


def test_resume_schedule_rules_for_minutes_and_mixed_budgets():
    ten = Schedule(Budget(max_minutes=10)).to_dict()
    at_four = {"env_steps": 5000, "elapsed_s": 240.0, "budget": ten}
    schedule = resume_schedule(at_four, Budget())
    assert schedule == Schedule(Budget(max_minutes=10)) and schedule.progress(5000, 240.0) == pytest.approx(0.4)
    assert schedule.deadline_s == 600.0  # ~6 more minutes of training
    extended = resume_schedule(at_four, Budget(max_minutes=10))
    assert extended.budget == Budget(max_minutes=14) and extended.progress(5000, 240.0) == pytest.approx(4 / 14)
    # The given kind replaces the original one: a minutes run resumed with steps ends by steps.
    by_steps = resume_schedule(at_four, Budget(max_env_steps=1000))
    assert by_steps.budget == Budget(max_env_steps=6000) and by_steps.deadline_s == float("inf")
    assert by_steps.progress(5000, 240.0) == pytest.approx(5 / 6)
    both = resume_schedule(at_four, Budget(max_env_steps=1000, max_minutes=1))
    assert both.budget == Budget(max_env_steps=6000, max_minutes=5)
    with pytest.raises(BudgetSpentError):
        resume_schedule({**at_four, "elapsed_s": 600.0}, Budget())
    assert Schedule.from_dict(msgspec.json.decode(msgspec.json.encode(extended.to_dict()))) == extended


def test_a_checkpoint_without_the_budget_fields_still_loads_and_resumes(tmp_path):
    first = Run(tmp_path, "run-first", Budget(max_env_steps=6 * BATCH), stop_after=2)
    checkpoint = load_checkpoint(first.checkpoint_path)
    old = {key: value for key, value in checkpoint.items() if key not in {"budget", "elapsed_s"}}
    old_path = tmp_path / "old.pt"
    torch.save(old, old_path)
    assert load_checkpoint(old_path).keys() == old.keys()
    # No schedule on record: it resumes as a run without a budget (as it would have before), and
    # a budget given at resume is counted from there, from the full learning rate.
    assert resume_schedule(load_checkpoint(old_path), Budget()) == Schedule()
    endless = Run(tmp_path, "run-endless", resume_from=old_path, stop_after=1)
    assert endless.done.status == "stopped" and endless.rates == [TINY.learning_rate]
    assert endless.updates[0].update == 3 and endless.updates[0].elapsed_s < checkpoint["elapsed_s"] + 5.0
    planned = Run(tmp_path, "run-planned", Budget(max_env_steps=2 * BATCH), resume_from=old_path)
    assert planned.done.status == "completed" and planned.done.env_steps == 4 * BATCH
    assert planned.rates == pytest.approx([TINY.learning_rate, TINY.learning_rate / 2], rel=1e-12)
    assert set(load_checkpoint(planned.checkpoint_path)) >= {"budget", "elapsed_s"}  # written in the new format


def _row(config: dict, env_steps: int, elapsed_s: float, status: str = "running") -> RunRow:
    return RunRow(
        id="run-x", design_id="tiny-dense", design_version=1, design_sha256="0" * 64, design_json="{}", status=status,
        config=msgspec.json.encode(config).decode(), created_at="2024-01-01T00:00:00Z", started_at=None, finished_at=None,
        message=None, checkpoint=None, updates=1, env_steps=env_steps, elapsed_s=elapsed_s, summary=None, last_seq=1,
    )  # fmt: skip


def test_the_servers_run_status_measures_progress_against_the_runs_schedule():
    # A run resumed without a budget from a 10-minute run stopped at minute 4: its status shows the
    # 10 minutes and the progress of the whole run (the server stores the schedule at start).
    schedule = resume_schedule({"env_steps": 5000, "elapsed_s": 240.0, "budget": Schedule(Budget(max_minutes=10)).to_dict()}, Budget())
    config = {"max_env_steps": None, "max_minutes": None, "seed": 0, "resume_from": "run-a", "start_env_steps": 5000, "schedule": schedule.to_dict()}
    status = run_status(_row(config, env_steps=9000, elapsed_s=300.0))
    assert (status.budget.max_minutes, status.budget.max_env_steps) == (10, None)
    assert status.progress == pytest.approx(0.5)
    # Rows stored before runs recorded their schedule keep their old reading.
    legacy = {"max_env_steps": 10000, "max_minutes": None, "seed": 0, "resume_from": "run-a", "start_env_steps": 5000}
    assert run_status(_row(legacy, env_steps=7500, elapsed_s=30.0)).progress == pytest.approx(0.25)


def test_the_server_resumes_by_the_same_rules(tmp_path):
    """Through the API: a completed run cannot be resumed without a budget (409, before any run is
    created); with one it trains that much more, and its status shows the extended total."""
    from starlette.testclient import TestClient

    from model_studio.app import create_app
    from model_studio.services import ServerSettings

    token = "test-token_0123456789-abcdef"
    app = create_app(ServerSettings(data_dir=tmp_path, token=token, allowed_hosts=("testserver",)))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post("/api/designs", json=DESIGN).status_code == 201

        def train(body):
            response = client.post("/api/designs/tiny-dense/train", json=body)
            assert response.status_code == 202, response.text
            deadline = time.monotonic() + 90.0
            while (run := client.get(response.headers["location"]).json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, run
                time.sleep(0.05)
            return run

        first = train({"max_env_steps": 1})  # one default update
        assert first["status"] == "completed" and first["progress"] == 1.0
        refused = client.post("/api/designs/tiny-dense/train", json={"resume_from": first["id"]})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "cannot_resume"
        assert "budget is spent" in refused.json()["error"]["message"]
        assert len(client.get("/api/designs/tiny-dense/runs").json()["runs"]) == 1
        second = train({"max_env_steps": 1, "resume_from": first["id"]})
        assert second["status"] == "completed" and second["updates"] == first["updates"] + 1
        assert second["budget"] == {"max_env_steps": first["env_steps"] + 1, "max_minutes": None}
        assert second["progress"] == 1.0 and second["elapsed_s"] > first["elapsed_s"]
