"""Recorded background work on both databases: tasks on the worker pool, refusals of a second run,
failures that leave the job where the shop can act, and recovery at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from pipeline.background import slow_steps, tasks
from pipeline.background.tasks import AlreadyRunning
from pipeline.core import instance
from pipeline.core.actors import Actor
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.core.workers import Busy, WorkerPool
from pipeline.intake.items import Input, submit_input
from pipeline.jobs.activity import Event
from storage.db import Database
from storage.models import Job, JobStatus, ProofStatus, Task, utcnow
from tests.pipeline.pipeline_fixtures import (
    RecordingNotifier,
    add_items,
    event_types,
    get_job,
    job_items,
    job_with_items,
    last_event,
    make_runtime,
    new_job,
    status_moves,
    wait_idle,
)

pytestmark = pytest.mark.usefixtures("stop_the_proof_pool", "fresh_font_registries")
S = JobStatus


def notified(rt: Runtime) -> RecordingNotifier:
    assert isinstance(rt.notifier, RecordingNotifier)
    return rt.notifier


def all_tasks(db: Database) -> list[Task]:
    with db.read() as s:
        return list(s.exec(select(Task).order_by(col(Task.id))))


def task(db: Database, task_id: int) -> Task:
    with db.read() as s:
        found = s.get(Task, task_id)
        assert found is not None
        return found


def blocking() -> tuple[threading.Event, threading.Event, Callable[[Any], str]]:
    """Work that signals it started, then waits to be released."""
    started, release = threading.Event(), threading.Event()

    def work_fn(rt: Runtime, given: tasks.Given, progress: Any) -> str:
        started.set()
        assert release.wait(20)
        return "done"

    return started, release, work_fn


def parsing_job(db: Database, ws_id: int, actor: Actor, tmp_path: Path, *, items: bool = False) -> int:
    job_id = new_job(db, ws_id, actor)
    if items:
        add_items(db, job_id, actor, [{"name": "Maria Gonzalez"}], tmp_path)
    with db.session() as s:
        submit_input(s, s.get(Job, job_id), actor, Input(text="Tom Whitaker"), tmp_path)
    return job_id


# -- start and run ------------------------------------------------------------------------------------


def test_a_task_runs_on_the_pool_and_records_progress(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    threads: list[str] = []
    givens: list[tasks.Given] = []

    def work_fn(rt: Runtime, given: tasks.Given, progress: tasks.Progress) -> str:
        threads.append(threading.current_thread().name)
        givens.append(given)
        progress(1, 3)
        progress(3, 3)
        return "ok"

    task_id = tasks.start(runtime, ws_id, job_id, "proofs", owner, work_fn, params={"item_ids": [7]})
    wait_idle(runtime)
    t = task(db, task_id)
    assert (t.workspace_id, t.job_id, t.kind, t.state, t.error) == (ws_id, job_id, "proofs", "done", None)
    assert (t.done, t.total) == (3, 3)
    assert t.started_at is not None and t.finished_at >= t.started_at and t.heartbeat_at >= t.started_at
    assert t.params == {
        "item_ids": [7],
        "actor": "U_OWNER",
        "actor_display": "Olive Owner",
        "actor_role": "owner",
    }
    assert threads and threads[0].startswith("craftstage-worker")  # never the caller's thread
    assert givens == [tasks.Given(ws_id, job_id, owner, {"item_ids": [7]})]
    assert tasks.given_of(t) == givens[0]  # what a worker process rebuilds from the row
    progress = [d for j, e, d in notified(runtime).calls if e == "progress"]
    assert progress[-1] == {"done": 3, "total": 3, "kind": "proofs"}
    assert tasks.active_task(runtime, job_id, "proofs") is None


def test_a_second_run_of_the_same_kind_is_refused_while_one_is_active(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id, other_job = new_job(db, ws_id, owner), new_job(db, ws_id, owner)
    started, release, work_fn = blocking()
    first = tasks.start(runtime, ws_id, job_id, "proofs", owner, work_fn)
    assert started.wait(10)
    try:
        with pytest.raises(AlreadyRunning) as exc:
            tasks.start(runtime, ws_id, job_id, "proofs", owner, lambda rt, given, p: None)
        assert exc.value.message == "Proof generation for J-1001 is already running (0 of ? done)."
        assert tasks.active_task(runtime, job_id, "proofs").id == first
        # another kind, or another job, is fine
        tasks.start(runtime, ws_id, job_id, "preflight", owner, lambda rt, given, p: None)
        tasks.start(runtime, ws_id, other_job, "proofs", owner, lambda rt, given, p: None)
    finally:
        release.set()
    wait_idle(runtime)
    assert [t.state for t in all_tasks(db)] == ["done", "done", "done"]
    again = tasks.start(runtime, ws_id, job_id, "proofs", owner, lambda rt, given, p: None)  # free again
    wait_idle(runtime)
    assert task(db, again).state == "done"


def test_the_heartbeat_keeps_a_long_task_alive(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "HEARTBEAT_EVERY", 0.05)
    job_id = new_job(db, ws_id, owner)
    started, release, work_fn = blocking()  # a parse, say: no progress to report while it waits
    task_id = tasks.start(runtime, ws_id, job_id, "parse", owner, work_fn)
    try:
        assert started.wait(10)
        first_beat = task(db, task_id).heartbeat_at
        deadline = time.monotonic() + 10
        while task(db, task_id).heartbeat_at == first_beat:
            assert time.monotonic() < deadline, "no heartbeat while the work ran"
            time.sleep(0.02)
    finally:
        release.set()
    wait_idle(runtime)
    assert task(db, task_id).state == "done"


def test_a_task_that_died_without_finishing_does_not_block_forever(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    long_ago = utcnow() - timedelta(minutes=10)
    with db.session() as s:  # the process that ran it was killed ten minutes ago
        dead = Task(workspace_id=ws_id, job_id=job_id, kind="proofs", state="running",
                    created_at=long_ago, started_at=long_ago, heartbeat_at=long_ago)  # fmt: skip
        s.add(dead)
        s.flush()
        dead_id = dead.id
    new = tasks.start(runtime, ws_id, job_id, "proofs", owner, lambda rt, given, p: None)
    wait_idle(runtime)
    assert task(db, new).state == "done"
    old = task(db, dead_id)
    assert old.state == "failed" and "stopped without finishing" in old.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            InvalidInput({"template": "J-1001 has no template yet: choose one first"}),
            "template: J-1001 has no template yet",
        ),
        (
            ZeroDivisionError("division by zero"),
            "an unexpected error (ZeroDivisionError); nothing already saved was lost",
        ),
    ],
)
@pytest.mark.parametrize("has_items", [False, True])
def test_a_failing_task_is_marked_failed_and_the_job_is_left_actionable(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, tmp_path: Path,
    error: Exception, message: str, has_items: bool,
) -> None:  # fmt: skip
    job_id = parsing_job(db, ws_id, owner, tmp_path, items=has_items)

    def work_fn(rt: Runtime, given: tasks.Given, progress: Any) -> None:
        raise error

    task_id = tasks.start(runtime, ws_id, job_id, "parse", owner, work_fn)
    wait_idle(runtime)
    t = task(db, task_id)
    assert t.state == "failed" and t.error.startswith(message) and t.finished_at is not None
    assert "Traceback" not in t.error
    job = get_job(db, job_id)
    assert job.status == (S.PROOFING if has_items else S.DRAFT)
    assert job.last_error == t.error
    assert job.input_text == "Tom Whitaker"  # the input is kept
    failed = last_event(db, job_id, Event.TASK_FAILED)
    assert failed.details == {"kind": "parse", "what": "Parsing", "error": t.error}
    assert failed.actor_id == "U_OWNER"
    assert event_types(db, job_id)[-2:] == [Event.TASK_FAILED, Event.STATUS_CHANGED]
    assert status_moves(db, job_id)[-1] == ("parsing", job.status, "system")
    assert notified(runtime).events(job_id)[-1] == Event.TASK_FAILED
    assert tasks.active_task(runtime, job_id, "parse") is None  # the shop can simply try again


def test_a_failed_proof_run_leaves_a_proofing_job_where_it_was(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, runtime.settings.files_dir, [{"name": "Li Wei"}], template=None)

    def work_fn(rt: Runtime, given: tasks.Given, progress: Any) -> None:
        raise CraftError("the proof folder is full")

    task_id = tasks.start(runtime, ws_id, job_id, "proofs", owner, work_fn)
    wait_idle(runtime)
    assert (task(db, task_id).state, task(db, task_id).error) == ("failed", "the proof folder is full")
    assert get_job(db, job_id).status == S.PROOFING
    assert last_event(db, job_id, Event.TASK_FAILED).details["what"] == "Proof generation"


def test_a_full_pool_refuses_without_leaving_a_queued_task(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    rt = make_runtime(db, tmp_path / "data")
    rt.workers = WorkerPool(workers=1, max_queued=0)
    started, release, work_fn = blocking()
    try:
        job_id = new_job(db, ws_id, owner)
        tasks.start(rt, ws_id, job_id, "proofs", owner, work_fn)
        assert started.wait(10)
        with pytest.raises(Busy, match="busy"):
            tasks.start(rt, ws_id, job_id, "preflight", owner, lambda rt, given, p: None)
        refused = all_tasks(db)[-1]
        assert (refused.kind, refused.state) == ("preflight", "failed") and "busy" in refused.error
    finally:
        release.set()
        rt.workers.shutdown(wait=True)


# -- the slow steps of a job --------------------------------------------------------------------------


def test_start_parse_parses_on_the_pool_and_hands_the_batch_on(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    with db.session() as s:
        order = Input(text="1. Maria Gonzalez - Head Coach\n2. Tom Whitaker - Assistant Coach\n")
        submit_input(s, s.get(Job, job_id), owner, order, runtime.settings.files_dir)
    handed: list[Any] = []
    runtime.after_parse = lambda job, params, batch: handed.append((job, params, batch))
    window = {"view_id": "V1", "team_id": "T0001"}
    task_id = slow_steps.start_parse(runtime, ws_id, job_id, owner, window)
    wait_idle(runtime)
    assert task(db, task_id).state == "done"
    ((job, params, batch),) = handed
    assert job == job_id and params == {"window": window}
    assert [it["values"]["name"] for it in batch.items] == ["Maria Gonzalez", "Tom Whitaker"]
    assert last_event(db, job_id, Event.ITEMS_PARSED).details["batch_id"] == batch.id
    assert get_job(db, job_id).status == S.PARSING


def test_a_parse_that_cannot_read_its_upload_reports_a_parse_failure(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    with db.session() as s:
        order = Input(data=b"Name\nMaria\n", filename="names.csv")
        submit_input(s, s.get(Job, job_id), owner, order, runtime.settings.files_dir)
    Path(get_job(db, job_id).input_filename).unlink()
    handed: list[Any] = []
    runtime.after_parse = lambda job, params, batch: handed.append(batch)
    task_id = slow_steps.start_parse(runtime, ws_id, job_id, owner)
    wait_idle(runtime)
    assert handed == [None] and task(db, task_id).state == "done"
    job = get_job(db, job_id)
    assert job.status == S.DRAFT and "no longer readable" in job.last_error
    assert Event.PARSE_FAILED in event_types(db, job_id) and Event.TASK_FAILED not in event_types(db, job_id)


def test_start_proofs_renders_then_preflights(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(
        db, ws_id, owner, runtime.settings.files_dir, [{"name": "Zoë Müller"}, {"name": "Li Wei"}]
    )
    task_id = slow_steps.start_proofs(runtime, ws_id, job_id, owner)
    wait_idle(runtime)
    assert task(db, task_id).state == "done"
    assert event_types(db, job_id)[-2:] == [Event.PROOFS_GENERATED, Event.PREFLIGHT_COMPLETED]
    assert {it.proof_status for it in job_items(db, job_id)} == {ProofStatus.GENERATED}
    job = get_job(db, job_id)
    assert job.preflight_ran_at is not None and (job.preflight_errors, job.preflight_infos) == (0, 1)
    assert notified(runtime).events(job_id)[-2:] == [Event.PROOFS_GENERATED, Event.PREFLIGHT_COMPLETED]


def test_start_proofs_without_a_template_still_preflights(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, runtime.settings.files_dir, [{"name": "Li Wei"}], template=None)
    task_id = slow_steps.start_proofs(runtime, ws_id, job_id, owner)
    wait_idle(runtime)
    assert task(db, task_id).state == "done"
    assert Event.PROOFS_GENERATED not in event_types(db, job_id)
    done = last_event(db, job_id, Event.PREFLIGHT_COMPLETED)
    assert done.details["errors"] == 1 and done.details["top"][0]["code"] == "NO_TEMPLATE"


def test_start_preflight(db: Database, ws_id: int, owner: Actor, runtime: Runtime) -> None:
    job_id = new_job(db, ws_id, owner)
    task_id = slow_steps.start_preflight(runtime, ws_id, job_id, owner)
    wait_idle(runtime)
    assert task(db, task_id).state == "done"
    assert get_job(db, job_id).preflight_errors == 2  # EMPTY_JOB, NO_TEMPLATE


# -- recovery at start-up -----------------------------------------------------------------------------


def stale(
    db: Database,
    ws_id: int,
    job_id: int,
    kind: str,
    state: str,
    *,
    minutes: float = 10,
    owner: str | None = None,
    **params: Any,
) -> int:
    moment = utcnow() - timedelta(minutes=minutes)
    with db.session() as s:
        t = Task(
            workspace_id=ws_id, job_id=job_id, kind=kind, state=state, created_at=moment, owner=owner,
            started_at=moment if state == "running" else None,
            heartbeat_at=moment if state == "running" else None,
            params={"actor": "U_OWNER", "actor_display": "Olive Owner", "actor_role": "owner", **params},
        )  # fmt: skip
        s.add(t)
        s.flush()
        return t.id


def test_recover_resumes_proofs_and_preflight_and_fails_the_rest(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, tmp_path: Path
) -> None:
    files = runtime.settings.files_dir
    proofs_job = job_with_items(db, ws_id, owner, files, [{"name": "Zoë Müller"}, {"name": "Li Wei"}])
    preflight_job = new_job(db, ws_id, owner)
    parse_job = parsing_job(db, ws_id, owner, tmp_path)
    busy_job = parsing_job(db, ws_id, owner, tmp_path)
    t_proofs = stale(db, ws_id, proofs_job, "proofs", "running", item_ids=None)
    t_preflight = stale(db, ws_id, preflight_job, "preflight", "queued")
    t_parse = stale(db, ws_id, parse_job, "parse", "running")
    t_export = stale(db, ws_id, proofs_job, "export", "queued")
    t_alive = stale(db, ws_id, busy_job, "parse", "running", minutes=0.2)  # another copy may be on it

    assert slow_steps.recover(runtime) == 4
    wait_idle(runtime)
    got = {t.id: t for t in all_tasks(db)}
    for old in (t_proofs, t_preflight):
        assert (got[old].state, got[old].error) == (
            "failed",
            "interrupted by a restart; resumed as a new task",
        )
    resumed = {t.kind: t for t in got.values() if t.id > t_alive}
    assert sorted(resumed) == ["preflight", "proofs"]
    assert all(t.state == "done" for t in resumed.values())
    assert resumed["preflight"].params["actor_role"] == "owner" == resumed["proofs"].params["actor_role"]
    assert {it.proof_status for it in job_items(db, proofs_job)} == {ProofStatus.GENERATED}
    kinds = [
        e for e in event_types(db, proofs_job) if e in (Event.PROOFS_GENERATED, Event.PREFLIGHT_COMPLETED)
    ]
    assert kinds == [Event.PROOFS_GENERATED, Event.PREFLIGHT_COMPLETED]
    resumed_event = last_event(db, proofs_job, Event.TASK_RESUMED)
    assert (resumed_event.actor_kind, resumed_event.details["what"]) == ("system", "Proof generation")
    assert get_job(db, preflight_job).preflight_ran_at is not None

    assert (got[t_parse].state, got[t_parse].error) == (
        "failed",
        "Parsing was interrupted by a restart; start it again (everything saved is kept)",
    )
    assert get_job(db, parse_job).status == S.DRAFT  # not stuck in parsing
    failed = last_event(db, parse_job, Event.TASK_FAILED)
    assert (failed.actor_id, failed.details["what"]) == ("U_OWNER", "Parsing")
    assert (
        got[t_export].error
        == "Export was interrupted by a restart; start it again (everything saved is kept)"
    )
    assert Event.TASK_FAILED in event_types(db, proofs_job)

    assert got[t_alive].state == "running" and get_job(db, busy_job).status == S.PARSING
    assert slow_steps.recover(runtime) == 0  # nothing left to recover


def test_work_of_a_dead_process_on_this_machine_is_recovered_at_once(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, tmp_path: Path
) -> None:
    """A restart right after a crash: the heartbeat is still fresh, but the process that owned the task
    is gone, so waiting for the heartbeat to go stale would leave the job stuck for minutes."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = f"{instance._tag(dead.pid).split('~')[0]}~{dead.pid}~1"
    assert instance.is_dead(gone)
    elsewhere = f"other-host~{os.getpid()}~1"
    parse_dead = parsing_job(db, ws_id, owner, tmp_path)
    parse_remote = parsing_job(db, ws_id, owner, tmp_path)
    parse_mine = parsing_job(db, ws_id, owner, tmp_path)
    parse_lost = parsing_job(db, ws_id, owner, tmp_path)
    t_dead = stale(db, ws_id, parse_dead, "parse", "running", minutes=0.1, owner=gone)
    t_remote = stale(db, ws_id, parse_remote, "parse", "running", minutes=0.1, owner=elsewhere)
    t_mine = stale(db, ws_id, parse_mine, "parse", "running", minutes=10, owner=instance.tag())
    # this process's own run that ended without recording it (the database was away at that moment)
    t_lost = stale(db, ws_id, parse_lost, "parse", "running", minutes=0.1, owner=instance.tag())
    tasks._mine.add(t_mine)  # in this process's hands (as tasks.start records it), however quiet
    try:
        assert slow_steps.recover(runtime) == 2
    finally:
        tasks._mine.discard(t_mine)
    assert task(db, t_dead).state == "failed" and get_job(db, parse_dead).status == S.DRAFT
    assert task(db, t_lost).state == "failed" and get_job(db, parse_lost).status == S.DRAFT
    assert task(db, t_remote).state == "running"  # another machine's copy: its heartbeat decides
    assert task(db, t_mine).state == "running"  # this process's own live work is left alone


def test_two_copies_recovering_at_once_claim_each_task_once(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, tmp_path: Path
) -> None:
    jobs_ = [parsing_job(db, ws_id, owner, tmp_path) for _ in range(6)]
    for job_id in jobs_:
        stale(db, ws_id, job_id, "parse", "running", minutes=10)
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(slow_steps.recover(runtime))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 6
    for job_id in jobs_:
        assert event_types(db, job_id).count(Event.TASK_FAILED) == 1


def test_a_task_recovered_while_it_waited_in_the_queue_does_not_run(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    t_id = stale(db, ws_id, job_id, "preflight", "queued")
    assert tasks._claim(runtime, t_id, "interrupted by a restart")
    assert not tasks._claim(runtime, t_id, "interrupted by a restart")  # only one claim wins
    ran: list[int] = []
    assert tasks.run(runtime, t_id, owner, lambda progress: ran.append(1)) is None
    assert ran == [] and task(db, t_id).state == "failed"


def test_this_process_running_and_queued_work_is_never_taken_for_abandoned(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    """recover() runs every minute in the serving process: work that process has running or waiting
    in its own pool (however quiet, however long queued) is left alone."""
    jobs_ = [new_job(db, ws_id, owner) for _ in range(4)]
    started, release, work_fn = blocking()
    ids = [tasks.start(runtime, ws_id, jobs_[0], "proofs", owner, work_fn)]
    assert started.wait(10)
    try:
        # the pool has 2 threads: one more runs, the rest wait in its queue
        ids += [tasks.start(runtime, ws_id, j, "proofs", owner, work_fn) for j in jobs_[1:]]
        with db.session() as s:  # as if their heartbeats were long gone
            for t in s.exec(select(Task)):
                t.heartbeat_at = t.created_at = utcnow() - timedelta(hours=1)
        assert slow_steps.recover(runtime) == 0
    finally:
        release.set()
    wait_idle(runtime)
    assert [task(db, i).state for i in ids] == ["done"] * 4
