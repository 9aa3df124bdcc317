"""The task queue (CRAFTSTAGE_BACKGROUND=workers, PostgreSQL): `serve` records a task and queues it;
a worker rebuilds the work from the task row and runs it; a task held by a worker that stopped goes
back on the queue and is resumed (proofs) or failed (export) as after a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from pipeline.background import slow_steps, tasks
from pipeline.background.queue import TaskQueue
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.jobs.activity import Event
from pipeline.services.health import queue_status
from storage.db import Database
from storage.models import ProofStatus, Task, utcnow
from tests.pipeline.pipeline_fixtures import event_types, job_items, job_with_items, make_runtime

pytestmark = pytest.mark.usefixtures("stop_the_proof_pool", "fresh_font_registries")
NAMES = [{"name": "Zoë Müller"}, {"name": "Li Wei"}, {"name": "Seán O'Connor"}]


@pytest.fixture
def queued(db: Database, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose tasks go on the queue (what `serve` and `worker` have with workers apart)."""
    if db.is_sqlite:
        pytest.skip("the queue lives in PostgreSQL; with SQLite `serve` runs the work itself")
    with db.engine.begin() as conn:  # the queue's tables are not among the models the tests empty
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"))
    rt = make_runtime(db, tmp_path / "data", database_url=db.url, background="workers")
    rt.queue = TaskQueue(db.url, pool_size=2)
    yield rt
    rt.queue.close()
    rt.workers.shutdown(wait=True)


def worker_side(rt: Runtime) -> TaskQueue:
    """A worker process's own queue: it defers (a resumed task) on the connections it works with."""
    assert rt.queue is not None
    rt.queue.close()
    rt.queue = TaskQueue(rt.db.url, pool_size=2)
    return rt.queue


def states(db: Database, kind: str) -> list[tuple[str, str | None]]:
    with db.read() as s:
        rows = s.exec(select(Task).where(Task.kind == kind).order_by(col(Task.id))).all()
        return [(t.state, t.error) for t in rows]


def test_a_queued_task_waits_for_a_worker_then_runs_there(
    db: Database, ws_id: int, owner: Actor, queued: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, queued.settings.files_dir, NAMES)
    task_id = slow_steps.start_proofs(queued, ws_id, job_id, owner)
    assert queued.workers.idle()  # nothing runs in this process
    with db.read() as s:
        assert TaskQueue.holds(s, task_id)
    assert states(db, "proofs") == [("queued", None)]
    status = queue_status(queued)
    assert (status["engine"], status["reachable"], status["waiting"]) == ("procrastinate", True, 1)
    # a second click while it waits, however long, finds it in hand
    with pytest.raises(tasks.AlreadyRunning):
        slow_steps.start_proofs(queued, ws_id, job_id, owner)

    queued.queue.work(queued, concurrency=1, wait=False)
    assert states(db, "proofs") == [("done", None)]
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.GENERATED}
    assert event_types(db, job_id)[-2:] == [Event.PROOFS_GENERATED, Event.PREFLIGHT_COMPLETED]
    assert queue_status(queued)["waiting"] == 0


def test_a_task_recorded_by_a_serve_that_stopped_before_queueing_it_is_queued_by_a_worker(
    db: Database, ws_id: int, owner: Actor, queued: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, queued.settings.files_dir, NAMES)
    # what `serve` killed between recording the task and queueing it leaves: the row and no job
    task_id = tasks._record(queued, ws_id, job_id, "proofs", owner, None, mine=False)
    queue = worker_side(queued)
    assert queue.queue_never_queued(queued) == 0  # just recorded: its serve may be queueing it now
    with db.session() as s:
        row = s.get(Task, task_id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=1)
    assert queue.queue_never_queued(queued) == 1
    assert queue.queue_never_queued(queued) == 0  # queued once
    with db.read() as s:
        assert TaskQueue.holds(s, task_id)
    queue.work(queued, concurrency=1, wait=False)
    assert states(db, "proofs") == [("done", None)]

    # and a running worker finds one by itself (it looks every HEARTBEAT_S seconds)
    second = slow_steps.start_preflight(queued, ws_id, job_id, owner)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(
            text("UPDATE task SET created_at = now() - interval '1 minute' WHERE id = :t"), {"t": second}
        )

    async def until_done() -> None:
        worker = asyncio.create_task(queue._work(queued, 1, "test-worker", True))
        try:
            async with asyncio.timeout(30):
                while states(db, "preflight") != [("done", None)]:
                    await asyncio.sleep(0.2)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    asyncio.run(until_done())
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.GENERATED}


def _held_by_a_dead_worker(db: Database, *, beat: timedelta = timedelta(hours=1)) -> None:
    """What a worker on another machine that died leaves: the queue job taken by a worker whose
    heartbeat stopped long ago, and the task marked running, its heartbeat `beat` ago."""
    with db.engine.begin() as conn:
        worker = conn.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '1 hour') RETURNING id"
            )
        ).scalar_one()
        conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"), {"w": worker})
    with db.session() as s:
        task = s.exec(select(Task)).one()
        task.state, task.owner = "running", "other-host~4242~1"
        task.started_at = task.heartbeat_at = utcnow() - beat


def test_a_task_of_a_stopped_worker_goes_back_on_the_queue_and_resumes(
    db: Database, ws_id: int, owner: Actor, queued: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, queued.settings.files_dir, NAMES)
    slow_steps.start_proofs(queued, ws_id, job_id, owner)
    _held_by_a_dead_worker(db)
    assert queued.queue.requeue_stalled() == 1
    assert queued.queue.requeue_stalled() == 0

    worker_side(queued).work(queued, concurrency=1, wait=False)
    assert states(db, "proofs") == [
        ("failed", "interrupted by a restart; resumed as a new task"),
        ("done", None),
    ]
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.GENERATED}
    assert Event.TASK_RESUMED in event_types(db, job_id)


def test_a_task_given_back_while_its_worker_is_still_heard_from_is_left_to_it(
    db: Database, ws_id: int, owner: Actor, queued: Runtime
) -> None:
    """The queue stopped hearing from the worker (say the database was away), but the task's own
    heartbeat is fresh: it is not taken over; the queue tries again later."""
    job_id = job_with_items(db, ws_id, owner, queued.settings.files_dir, NAMES)
    slow_steps.start_proofs(queued, ws_id, job_id, owner)
    _held_by_a_dead_worker(db, beat=timedelta(seconds=5))
    assert queued.queue.requeue_stalled() == 1
    worker_side(queued).work(queued, concurrency=1, wait=False)
    assert states(db, "proofs") == [("running", None)]
    with db.engine.connect() as conn:
        attempts, status, later = conn.execute(
            text("SELECT attempts, status::text, scheduled_at > now() FROM procrastinate_jobs")
        ).one()
    assert (attempts, status, later) == (2, "todo", True)
    assert Event.TASK_RESUMED not in event_types(db, job_id)


def test_an_export_of_a_stopped_worker_is_failed_with_a_message(
    db: Database, ws_id: int, owner: Actor, queued: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, queued.settings.files_dir, NAMES)
    slow_steps.start_export(queued, ws_id, job_id, owner, "Generic")
    _held_by_a_dead_worker(db)
    assert queued.queue.requeue_stalled() == 1
    worker_side(queued).work(queued, concurrency=1, wait=False)
    assert states(db, "export") == [
        ("failed", "Export was interrupted by a restart; start it again (everything saved is kept)")
    ]
    assert Event.TASK_FAILED in event_types(db, job_id)


def test_the_health_check_says_when_the_queue_is_unreachable(queued: Runtime, tmp_path: Path) -> None:
    nowhere = Database("postgresql+psycopg://postgres@127.0.0.1:9/craftstage?connect_timeout=2")
    cut_off = make_runtime(nowhere, tmp_path / "elsewhere", database_url=nowhere.url, background="workers")
    cut_off.queue = queued.queue
    try:
        assert queue_status(cut_off) == {"engine": "procrastinate", "reachable": False}
    finally:
        nowhere.dispose()
    assert queue_status(queued)["reachable"] is True
