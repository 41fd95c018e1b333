"""The store against a real SQLite file: settings, versions, runs, metrics, telemetry, crashes."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from model_studio.store import (
    INTERRUPTED_MESSAGE,
    MIGRATIONS,
    DesignIdTaken,
    DesignNotFound,
    DesignRow,
    MetricRow,
    RunNotFound,
    Store,
    StoreError,
    VersionConflict,
    utc_now,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class StepClock:
    """A clock that moves one second per call, so 'newest first' has one right answer."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)

    def __call__(self) -> str:
        self.now += timedelta(seconds=1)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
async def store(tmp_path):
    async with await Store.open(tmp_path / "studio.db", clock=StepClock()) as store:
        yield store


async def add_run(store: Store, run_id: str, design_id: str = "tiny") -> None:
    await store.create_run(run_id, design_id, 1, "ab" * 32, '{"blocks": []}', '{"seed": 0}')


def test_utc_now_is_iso_with_z():
    now = utc_now()
    assert now.endswith("Z") and len(now) == len("2026-12-01T10:00:00.123Z")
    assert datetime.fromisoformat(now.replace("Z", "+00:00")).tzinfo == timezone.utc


async def test_settings_on_a_real_file(tmp_path):
    path = tmp_path / "nested" / "studio.db"  # the parent folder is created
    async with await Store.open(path) as store:
        assert store.path == path.resolve()
        for connection in (store._writer, store._reader):
            assert await connection.execute_fetchall("PRAGMA journal_mode") == [("wal",)]
            assert await connection.execute_fetchall("PRAGMA synchronous") == [(2,)]  # FULL
            assert await connection.execute_fetchall("PRAGMA foreign_keys") == [(1,)]
            assert await connection.execute_fetchall("PRAGMA busy_timeout") == [(5000,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await store._reader.execute("DELETE FROM designs")
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)


async def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "studio.db"
    async with await Store.open(path) as store:
        created = await store.create_design("tiny", "Tiny", '{"blocks": []}')
    async with await Store.open(path) as store:
        assert await store.get_design("tiny") == created
        assert await store.update_design("tiny", "Tiny", "{}", expected_version=1)


async def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "studio.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer"):
        await Store.open(path)


async def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "studio.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE metrics (x)")  # migration 1 creates designs and runs, then fails here
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        await Store.open(path)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (0,)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"metrics"}


async def test_design_create_get_list_delete(store):
    first = await store.create_design("tiny", "Tiny", '{"a": 1}')
    assert (first.id, first.version, first.name, first.body) == ("tiny", 1, "Tiny", '{"a": 1}')
    assert first.created_at == first.updated_at
    second = await store.create_design("moe", "MoE", "{}")
    assert await store.get_design("tiny") == first
    assert await store.get_design("nope") is None
    assert [row.id for row in await store.list_designs()] == ["moe", "tiny"]
    await store.update_design("tiny", "Tiny", '{"a": 2}', expected_version=1)
    assert [row.id for row in await store.list_designs()] == ["tiny", "moe"]  # newest edit first
    assert [row.id for row in await store.all_designs()] == ["moe", "tiny"]
    assert await store.delete_design("moe") is True
    assert await store.delete_design("moe") is False
    assert await store.get_design(second.id) is None


async def test_versions_grow_by_one_and_stale_writes_are_refused(store):
    created = await store.create_design("tiny", "Tiny", "v1")
    v2 = await store.update_design("tiny", "Tiny 2", "v2", expected_version=1)
    v3 = await store.update_design("tiny", "Tiny 3", "v3", expected_version=2)
    assert (v2.version, v3.version) == (2, 3)
    assert v3.created_at == created.created_at and v3.updated_at > v2.updated_at

    with pytest.raises(VersionConflict) as conflict:
        await store.update_design("tiny", "stale", "stale", expected_version=2)
    assert conflict.value.current == v3
    assert await store.get_design("tiny") == v3

    with pytest.raises(DesignNotFound):
        await store.update_design("nope", "x", "x", expected_version=1)


async def test_ids_are_unique_ignoring_case_but_looked_up_exactly(store):
    await store.create_design("model", "Model", "{}")
    with pytest.raises(DesignIdTaken) as taken:
        await store.create_design("Model", "Other", "{}")
    assert taken.value.existing_id == "model"
    assert await store.get_design("MODEL") is None
    with pytest.raises(DesignNotFound):
        await store.update_design("MODEL", "x", "x", expected_version=1)
    assert await store.delete_design("MODEL") is False
    assert [row.id for row in await store.list_designs()] == ["model"]


async def test_two_phones_saving_the_same_version_never_lose_an_update(store):
    await store.create_design("tiny", "Tiny", "v1")
    results = await asyncio.gather(
        store.update_design("tiny", "Tiny", "from phone A", expected_version=1),
        store.update_design("tiny", "Tiny", "from phone B", expected_version=1),
        return_exceptions=True,
    )
    (winner,) = [result for result in results if isinstance(result, DesignRow)]
    (loser,) = [result for result in results if isinstance(result, VersionConflict)]
    assert winner.version == 2
    assert loser.current == winner
    assert await store.get_design("tiny") == winner


async def test_run_lifecycle(store):
    await store.create_design("tiny", "Tiny", "{}")
    with pytest.raises(DesignNotFound):
        await add_run(store, "r0", design_id="nope")
    await add_run(store, "r1")
    run = await store.get_run("r1")
    assert (run.status, run.updates, run.env_steps, run.elapsed_s, run.last_seq) == ("queued", 0, 0, 0.0, 0)
    assert run.config == '{"seed": 0}' and run.started_at is None

    started = await store.update_run("r1", status="running", started_at=utc_now())
    assert started.status == "running" and started.started_at is not None
    done = await store.update_run(
        "r1", status="completed", finished_at=utc_now(), updates=4, env_steps=4096, elapsed_s=1.5,
        summary='{"best_tile": 256}', checkpoint="checkpoints/r1.pt",
    )
    assert (done.status, done.updates, done.env_steps, done.elapsed_s) == ("completed", 4, 4096, 1.5)
    assert await store.get_run("r1") == done
    assert await store.update_run("r1") == done

    with pytest.raises(ValueError, match="design_id"):
        await store.update_run("r1", design_id="other")
    with pytest.raises(ValueError, match="status"):
        await store.update_run("r1", status="exploded")
    with pytest.raises(RunNotFound):
        await store.update_run("nope", status="failed")
    assert await store.get_run("nope") is None

    await add_run(store, "r2")
    await add_run(store, "r3")
    assert [run.id for run in await store.list_runs("tiny")] == ["r3", "r2", "r1"]
    assert [run.id for run in await store.active_runs()] == ["r2", "r3"]
    assert await store.list_runs("nope") == []


async def test_deleting_a_design_deletes_its_runs_and_metrics(store):
    await store.create_design("tiny", "Tiny", "{}")
    await store.create_design("keep", "Keep", "{}")
    await add_run(store, "r1")
    await add_run(store, "k1", design_id="keep")
    await store.append_metrics("r1", [MetricRow(1, "training_update", "{}")])
    await store.append_metrics("k1", [MetricRow(1, "training_update", "{}")])
    assert await store.delete_design("tiny")
    assert await store.get_run("r1") is None
    assert await store.count_metrics("r1") == 0
    assert await store.get_run("k1") is not None
    assert await store.count_metrics("k1") == 1


async def test_mark_interrupted_closes_only_active_runs(store):
    await store.create_design("tiny", "Tiny", "{}")
    for run_id in ("queued", "running", "done"):
        await add_run(store, run_id)
    await store.update_run("running", status="running")
    finished = await store.update_run("done", status="completed", finished_at=utc_now())

    assert await store.mark_interrupted() == ["queued", "running"]
    for run_id in ("queued", "running"):
        run = await store.get_run(run_id)
        assert (run.status, run.message) == ("interrupted", INTERRUPTED_MESSAGE)
        assert run.finished_at is not None
    assert await store.get_run("done") == finished
    assert await store.active_runs() == []
    assert await store.mark_interrupted() == []


async def test_a_metrics_batch_and_its_progress_land_together_or_not_at_all(store):
    await store.create_design("tiny", "Tiny", "{}")
    await add_run(store, "r1")
    batch = [MetricRow(1, "training_update", '{"u": 1}'), MetricRow(2, "training_update", '{"u": 2}')]
    await store.append_metrics("r1", batch, {"status": "running", "updates": 2})
    run = await store.get_run("r1")
    assert (run.last_seq, run.updates, run.status) == (2, 2, "running")

    clashing = [MetricRow(3, "training_update", "{}"), MetricRow(2, "training_update", "{}")]
    with pytest.raises(sqlite3.IntegrityError):
        await store.append_metrics("r1", clashing, {"updates": 3})
    assert await store.get_run("r1") == run
    assert await store.metrics_after("r1", 0) == batch

    with pytest.raises(ValueError):
        await store.append_metrics("r1", [MetricRow(3, "done", "{}")], {"last_seq": 9})
    with pytest.raises(RunNotFound):
        await store.append_metrics("nope", [MetricRow(1, "done", "{}")])
    assert await store.count_metrics("r1") == 2


async def test_replay_pages_return_each_event_once_in_order(store):
    await store.create_design("tiny", "Tiny", "{}")
    await add_run(store, "r1")
    await add_run(store, "r2")
    for start in range(1, 24, 5):
        seqs = range(start, min(start + 5, 24))
        await store.append_metrics("r1", [MetricRow(seq, "training_update", f'{{"seq": {seq}}}') for seq in seqs])
    await store.append_metrics("r2", [MetricRow(1, "done", "{}")])

    seen, after = [], 0
    while page := await store.metrics_after("r1", after, limit=7):
        assert len(page) <= 7
        seen += [row.seq for row in page]
        after = page[-1].seq
    assert seen == list(range(1, 24))
    assert (await store.get_run("r1")).last_seq == 23
    assert await store.count_metrics("r1") == 23
    assert [row.body for row in await store.metrics_after("r1", 21)] == ['{"seq": 22}', '{"seq": 23}']
    with pytest.raises(ValueError):
        await store.metrics_after("r1", 0, limit=0)


CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from model_studio.store import MetricRow, Store

    async def main(path):
        store = await Store.open(path)
        await store.create_design("tiny", "Tiny", '{"v": 1}')
        await store.update_design("tiny", "Tiny", '{"v": 2}', expected_version=1)
        await store.create_design("moe", "MoE", "{}")
        await store.create_run("r1", "tiny", 2, "ab" * 32, '{"v": 2}', "{}")
        for start in (1, 4):
            rows = [MetricRow(seq, "training_update", "{}") for seq in range(start, start + 3)]
            await store.append_metrics("r1", rows, {"status": "running", "updates": start + 2})
        await store.add_telemetry("phone", [("opened", None, "{}")])
        print("committed", flush=True)
        time.sleep(60)  # never closes: the test kills it here

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_committed_writes_survive_sigkill(tmp_path):
    path = tmp_path / "studio.db"
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as writer:
        try:
            line = writer.stdout.readline()
        finally:
            writer.send_signal(signal.SIGKILL)
        _, stderr = writer.communicate(timeout=10)
    assert line == "committed\n", stderr
    assert writer.returncode == -signal.SIGKILL
    assert path.with_name("studio.db-wal").stat().st_size > 0  # the commits were never checkpointed

    async with await Store.open(path) as store:
        design = await store.get_design("tiny")
        assert (design.version, design.body) == (2, '{"v": 2}')
        assert await store.get_design("moe") is not None
        run = await store.get_run("r1")
        assert (run.status, run.updates, run.last_seq) == ("running", 6, 6)
        assert [row.seq for row in await store.metrics_after("r1", 0)] == [1, 2, 3, 4, 5, 6]
        assert await store.telemetry_count() == 1
        assert await store.mark_interrupted() == ["r1"]


async def test_telemetry_is_stored_and_bounded(store):
    events = [("opened", "2026-12-01T09:59:59.000Z", '{"a": 1}'), ("saved", None, "{}")]
    assert await store.add_telemetry("phone-1", events) == 2
    assert await store.add_telemetry(None, []) == 0
    await asyncio.gather(*(store.add_telemetry(None, [(f"tap{i}", None, "{}")]) for i in range(10)))
    assert await store.telemetry_count() == 12

    assert await store.prune_telemetry(keep=20) == 0
    assert await store.prune_telemetry(keep=5) == 7
    assert await store.telemetry_count() == 5
    rows = await store._reader.execute_fetchall("SELECT name FROM telemetry ORDER BY id")
    assert [name for (name,) in rows] == [f"tap{i}" for i in range(5, 10)]  # the newest are kept
    assert await store.prune_telemetry(keep=0) == 5
    assert await store.telemetry_count() == 0
    with pytest.raises(ValueError):
        await store.prune_telemetry(keep=-1)


async def test_conditional_delete_removes_only_the_named_version(store):
    await store.create_design("tiny", "Tiny", '{"v": 1}')
    await store.update_design("tiny", "Tiny", '{"v": 2}', expected_version=1)
    with pytest.raises(VersionConflict) as conflict:
        await store.delete_design("tiny", expected_version=1)
    assert conflict.value.current.version == 2 and (await store.get_design("tiny")).body == '{"v": 2}'
    assert await store.delete_design("tiny", expected_version=2) is True
    assert await store.get_design("tiny") is None
    assert await store.delete_design("tiny", expected_version=2) is False
