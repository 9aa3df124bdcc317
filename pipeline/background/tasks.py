"""Recorded background work: parsing, proofs and exports run as tasks with progress, so a crash
never leaves a job stuck (see `recover`) and a second click finds the work already running."""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from pipeline.core import instance
from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.errors import CraftError
from pipeline.core.runtime import Runtime
from pipeline.jobs.activity import Event, record
from storage.db import rowcount
from storage.models import Job, JobStatus, Task, utcnow

log = logging.getLogger(__name__)
ACTIVE = ("queued", "running")
STALE_AFTER = timedelta(minutes=2)  # a running task without a heartbeat this long is dead
HEARTBEAT_EVERY = 30.0  # seconds between heartbeats of a running task (well inside STALE_AFTER)
WHAT = {"parse": "Parsing", "proofs": "Proof generation", "preflight": "Preflight", "export": "Export"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Given:
    """What a task's work is given: everything else it reads from the database."""

    ws_id: int
    job_id: int
    actor: Actor
    params: dict[str, Any]


# A task's work: everything it needs is in `Given` (from the task row) or the database, so a worker
# process, or a copy of the app after a restart, can run any task from its row alone.
Work = Callable[[Runtime, Given, Progress], Any]
_ACTOR_KEYS = ("actor", "actor_display", "actor_role")  # who started a task, kept in its params
# tasks this process has taken on and not finished (queued in its worker pool, or running): any other
# active task it owns in the database ended without recording how (the database was away then)
_mine: set[int] = set()


class AlreadyRunning(CraftError):
    pass


class StillRunning(Exception):
    """A task the queue gave back whose worker is still heard from (its heartbeat is fresh): the queue
    tries again later, by when it has finished or gone silent."""


def active_task(runtime: Runtime, job_id: int, kind: str) -> Task | None:
    with runtime.db.read() as s:
        return s.exec(
            select(Task).where(Task.job_id == job_id, Task.kind == kind, col(Task.state).in_(ACTIVE))
        ).first()


def start(
    runtime: Runtime,
    ws_id: int,
    job_id: int,
    kind: str,
    actor: Actor,
    work: Work,
    *,
    params: dict[str, Any] | None = None,
) -> int:
    """Record a task and have `work` run: by a worker process when the runtime has a queue (which
    looks `kind` up in its table of work, see `run_queued`), else on this process's worker pool.
    Refuses a duplicate while one runs."""
    task_id = _record(runtime, ws_id, job_id, kind, actor, params, mine=runtime.queue is None)
    try:
        if runtime.queue is not None:
            runtime.queue.defer(task_id)
        else:
            given = Given(ws_id, job_id, actor, params or {})
            runtime.workers.submit(
                run, runtime, task_id, actor, lambda progress: work(runtime, given, progress)
            )
    except CraftError as exc:
        _mine.discard(task_id)
        _finish(runtime, task_id, "failed", exc.message)
        raise
    return task_id


def given_of(task: Task) -> Given:
    params = {k: v for k, v in task.params.items() if k not in _ACTOR_KEYS}
    return Given(task.workspace_id, task.job_id or 0, task_actor(task), params)


def _new_task(
    runtime: Runtime,
    s: Session,
    ws_id: int,
    job_id: int,
    kind: str,
    actor: Actor,
    params: dict[str, Any] | None,
) -> int:
    job = s.exec(select(Job).where(Job.id == job_id).with_for_update()).one()
    running = s.exec(
        select(Task).where(Task.job_id == job_id, Task.kind == kind, col(Task.state).in_(ACTIVE))
    ).first()
    if running is not None and _abandoned(running, utcnow() - STALE_AFTER, runtime, s):
        # nobody works on it any more (its process died, or let go of it while the database was
        # away): it is not coming back, so it must not block the job
        running.state, running.finished_at = "failed", utcnow()
        running.error = "stopped without finishing (the app was probably restarted); started again"
        running = None
    if running is not None:
        raise AlreadyRunning(
            f"{WHAT.get(kind, kind)} for {job.ref} is already running "
            f"({running.done} of {running.total or '?'} done)."
        )
    task = Task(
        workspace_id=ws_id,
        job_id=job_id,
        kind=kind,
        owner=instance.tag(),
        params={
            **(params or {}),
            "actor": actor.id,
            "actor_display": actor.display,
            "actor_role": actor.role,
        },
    )
    s.add(task)
    s.flush()
    return task.pk


def _record(
    runtime: Runtime,
    ws_id: int,
    job_id: int,
    kind: str,
    actor: Actor,
    params: dict[str, Any] | None,
    *,
    mine: bool,
) -> int:
    """The task row, committed with its id already in `_mine` when this process runs it: recover() in
    another thread must never take a task of this process for nobody's."""
    task_id: int | None = None
    try:
        with runtime.db.session() as s:
            task_id = _new_task(runtime, s, ws_id, job_id, kind, actor, params)
            if mine:
                _mine.add(task_id)
    except BaseException:
        if task_id is not None:
            _mine.discard(task_id)
        raise
    return task_id


def never_queued(
    runtime: Runtime, held: Callable[[Session, list[int]], set[int]], before: datetime
) -> list[int]:
    """Tasks recorded before `before`, still waiting, that the queue (`held`: which of them it has a
    job for) does not hold: the `serve` that recorded one stopped before it could queue it."""
    with runtime.db.read() as s:
        rows = s.exec(select(Task.id).where(Task.state == "queued", col(Task.created_at) < before))
        waiting = [task_id for task_id in rows if task_id is not None]
        if not waiting:
            return []
        in_hand = held(s, waiting)
        return [task_id for task_id in waiting if task_id not in in_hand]


def run(runtime: Runtime, task_id: int, actor: Actor, work: Callable[[Progress], Any]) -> Any:
    try:
        return _run(runtime, task_id, actor, work)
    finally:
        _mine.discard(task_id)


def _run(runtime: Runtime, task_id: int, actor: Actor, work: Callable[[Progress], Any]) -> Any:
    with runtime.db.session() as s:
        task = s.get(Task, task_id)
        if task is None or task.state != "queued":
            return None  # given up on while it waited (recover() took it for a dead copy's, or purged)
        task.state, task.started_at, task.heartbeat_at = "running", utcnow(), utcnow()
        task.owner = instance.tag()
        job_id, kind = task.job_id, task.kind
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0 and done < total:
            return  # at most one write a second
        last[0] = now
        with runtime.db.session() as s:
            t = s.get(Task, task_id)
            if t is not None:  # None: purged with its job meanwhile
                t.done, t.total, t.heartbeat_at = done, total, utcnow()
        if job_id is not None:
            runtime.notifier.job_changed(job_id, "progress", done=done, total=total, kind=kind)

    stop = threading.Event()
    threading.Thread(
        target=_heartbeat, args=(runtime, task_id, stop), name=f"task-{task_id}-heartbeat", daemon=True
    ).start()
    try:
        result = work(progress)
    except CraftError as exc:
        _fail(runtime, task_id, job_id, kind, actor, exc.message)
        return None
    except Exception as exc:  # reported on the card and in the thread, never a traceback
        log.exception("task %s (%s) failed", task_id, kind)
        _fail(runtime, task_id, job_id, kind, actor, _in_words(exc))
        return None
    finally:
        stop.set()
    _finish(runtime, task_id, "done", None)
    return result


def _in_words(exc: Exception) -> str:
    """An unexpected failure of background work, as the shop reads it on the card and in the thread."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            "the disk is full (no space left on device). Nothing already saved was lost and no partial "
            "files are kept: free some space, then try again."
        )
    return f"an unexpected error ({type(exc).__name__}); nothing already saved was lost — try again"


def _heartbeat(runtime: Runtime, task_id: int, stop: threading.Event) -> None:
    """Keep a running task's heartbeat fresh while its work runs, progress or not (a long parse has
    none), so that only tasks of a dead process ever look stale."""
    while not stop.wait(HEARTBEAT_EVERY):
        try:
            with runtime.db.session() as s:
                t = s.get(Task, task_id)
                if t is None or t.state != "running":
                    return
                t.heartbeat_at = utcnow()
        except Exception:  # a missed beat is harmless; the next one tries again
            log.warning("heartbeat of task %s failed", task_id, exc_info=True)


def _finish(runtime: Runtime, task_id: int, state: str, error: str | None) -> None:
    with runtime.db.session() as s:
        t = s.get(Task, task_id)
        if t is not None:  # None: purged with its job meanwhile
            t.state, t.error, t.finished_at = state, error, utcnow()


def _fail(runtime: Runtime, task_id: int, job_id: int | None, kind: str, actor: Actor, error: str) -> None:
    with runtime.db.session() as s:
        t = s.get(Task, task_id)
        if t is not None:
            t.state, t.error, t.finished_at = "failed", error[:2000], utcnow()
        job = s.get(Job, job_id) if job_id is not None else None
        if job is not None:  # None: no job, or purged meanwhile
            job.last_error = error[:2000]
            record(
                s,
                job.workspace_id,
                job_id,
                Event.TASK_FAILED,
                actor,
                kind=kind,
                what=WHAT.get(kind, kind),
                error=error[:500],
            )
            _settle_job(s, job)
    if job_id is not None:
        runtime.notifier.job_changed(job_id, Event.TASK_FAILED)


def _settle_job(session: Any, job: Job) -> None:
    """After failed work, leave the job where the shop can act on it."""
    from pipeline.jobs import lifecycle

    if job.status == JobStatus.PARSING:
        back = JobStatus.PROOFING if lifecycle.item_count(session, job) else JobStatus.DRAFT
        lifecycle.move(session, job, back, SYSTEM, reason="the background work failed; the input is kept")


def recover(runtime: Runtime, resume: Mapping[str, Callable[[Runtime, Task], None]] | None = None) -> int:
    """Tasks left queued or running by a copy of the app that is gone (a process on this machine that no
    longer runs, or no heartbeat for STALE_AFTER) are resumed when `resume` knows their kind, or marked
    failed with a clear message on the card and in the thread. Safe to run in several copies at once
    and again and again: each abandoned task is claimed by exactly one of them. Returns how many."""
    cutoff = utcnow() - STALE_AFTER
    with runtime.db.read() as s:
        active = list(s.exec(select(Task).where(col(Task.state).in_(ACTIVE))))
    found = 0
    for task in active:
        if _abandoned(task, cutoff) and _take_over(runtime, task, resume):
            found += 1
    return found


def run_queued(
    runtime: Runtime,
    task_id: int,
    kinds: Mapping[str, Work],
    resume: Mapping[str, Callable[[Runtime, Task], None]] | None = None,
) -> None:
    """Run a task the queue handed to this worker process (`kinds`: each kind's work). One still
    marked running was held by a worker the queue stopped hearing from: once it is gone (its process
    on this machine ended, or its task's heartbeat is stale) the task is resumed when `resume` knows
    its kind, else failed."""
    with runtime.db.read() as s:
        task = s.get(Task, task_id)
    if task is None or task.state not in ACTIVE:
        return  # finished, given up on, or purged with its job
    if task.state == "running":
        if not _abandoned(task, utcnow() - STALE_AFTER):
            raise StillRunning(f"task {task_id} is still running in {task.owner}")
        _take_over(runtime, task, resume)
        return
    _mine.add(task_id)
    work, given = kinds[task.kind], given_of(task)
    run(runtime, task_id, given.actor, lambda progress: work(runtime, given, progress))


def _take_over(
    runtime: Runtime, task: Task, resume: Mapping[str, Callable[[Runtime, Task], None]] | None
) -> bool:
    """An abandoned task: resumed as a new task or failed with a clear message on the card and in the
    thread. False when another copy took it over first."""
    if not _claim(runtime, task.pk, "interrupted by a restart"):
        return False
    what = WHAT.get(task.kind, task.kind)
    handler = (resume or {}).get(task.kind)
    if handler is not None:
        try:
            handler(runtime, task)
        except AlreadyRunning:
            return True  # someone started it again meanwhile: nothing is stuck
        except CraftError as exc:
            log.warning("could not resume task %s: %s", task.id, exc.message)
        else:
            _resumed(runtime, task, what)
            return True
    _fail(
        runtime,
        task.pk,
        task.job_id,
        task.kind,
        task_actor(task),
        f"{what} was interrupted by a restart; start it again (everything saved is kept)",
    )
    return True


def task_actor(task: Task) -> Actor:
    """Who started the task (recorded in its params by `start`)."""
    p = task.params
    return Actor.user(p.get("actor", ""), p.get("actor_display", ""), p.get("actor_role", "member"))


def _abandoned(
    task: Task, cutoff: datetime, runtime: Runtime | None = None, s: Session | None = None
) -> bool:
    """Nobody works on this active task any more (`cutoff`: heartbeats older than this are silence)."""
    if task.state == "queued" and runtime is not None and runtime.queue is not None and s is not None:
        return not runtime.queue.holds(s, task.pk)  # waiting on the queue, however long, is in hand
    if task.owner == instance.tag():
        return task.id not in _mine  # this process's own, no longer in its hands
    # another copy's: gone if its process on this machine is, or silent for too long (another machine)
    beat = task.heartbeat_at or task.created_at
    return instance.is_dead(task.owner) or beat < cutoff


def _claim(runtime: Runtime, task_id: int, error: str) -> bool:
    """Mark an abandoned task failed if it still is active; True for the one caller that did."""
    with runtime.db.session() as s:
        result = s.execute(
            update(Task)
            .where(col(Task.id) == task_id, col(Task.state).in_(ACTIVE))
            .values(state="failed", error=error, finished_at=utcnow())
        )
        return rowcount(result) == 1


def _resumed(runtime: Runtime, task: Task, what: str) -> None:
    with runtime.db.session() as s:
        row = s.get(Task, task.pk)
        if row is not None:
            row.error = "interrupted by a restart; resumed as a new task"
        job = s.get(Job, task.job_id) if task.job_id is not None else None
        if job is None:  # no job, or purged meanwhile
            return
        record(
            s,
            job.workspace_id,
            job.pk,
            Event.TASK_RESUMED,
            SYSTEM,
            kind=task.kind,
            what=what,
        )
    runtime.notifier.job_changed(job.pk, Event.TASK_RESUMED)
