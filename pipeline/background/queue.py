"""The task queue between `serve` and `python app.py worker`: Procrastinate on the app's PostgreSQL.

`serve` records a task (the tasks table keeps its progress and outcome, as before) and defers one queue
job carrying the task's id; any worker on any machine takes it, rebuilds the work from the task row and
runs it. What the engine does for us: handing each job to exactly one worker (row locks), workers'
heartbeats, and knowing which jobs a dead worker held. Those go back on the queue here, and the task
runner then resumes or fails them as a restart would (`slow_steps.run_queued`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from pipeline.background import tasks
from pipeline.core.errors import CraftError
from storage.models import utcnow

log = logging.getLogger(__name__)
QUEUE = "craftstage"
TASK = "craftstage.run_task"
HEARTBEAT_S = 5.0  # how often a worker says it is alive
STALLED_AFTER_S = 20.0  # a worker silent this long is gone: the jobs it held go back on the queue
NEVER_QUEUED_AFTER_S = 30.0  # a task recorded this long ago with no queue job was never queued


class QueueDown(CraftError):
    """The queue could not take the work; the caller tells the user to try again."""


def conninfo(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (same server, user, database and options)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class TaskQueue:
    def __init__(self, database_url: str, *, pool_size: int = 4) -> None:
        connector = procrastinate.PsycopgConnector(
            conninfo=conninfo(database_url), min_size=1, max_size=pool_size
        )
        self.app = procrastinate.App(connector=connector)
        # the task's own failures are recorded on it (tasks.run); what gets here is the database going
        # away around the work, or a task given back whose worker is still heard from: tried again
        # for a little longer than a silent worker's tasks take to look abandoned (tasks.STALE_AFTER)
        retry = procrastinate.RetryStrategy(max_attempts=20, wait=10)
        self.app.task(name=TASK, queue=QUEUE, pass_context=True, retry=retry)(_run_task)
        self._opened = False
        self._working = False  # in a worker: its open connections defer too (resumed tasks)

    # the web side: deferring ---------------------------------------------------------------------
    def open(self) -> TaskQueue:
        """Connect for deferring (`serve`); a worker opens its own connections in `work`."""
        self.app.open()
        self._opened = True
        return self

    def close(self) -> None:
        if self._opened:
            self.app.close()
            self._opened = False

    def defer(self, task_id: int) -> None:
        try:
            self._defer(task_id)
        except Exception as exc:  # the database went away between the task's record and this
            log.warning("could not queue task %s: %s", task_id, exc)
            raise QueueDown("The work queue can't be reached right now; try again in a moment.") from exc

    def _defer(self, task_id: int, **options: Any) -> None:
        if not (self._opened or self._working):
            self.open()
        self.app.configure_task(TASK, queue=QUEUE, **options).defer(task_id=task_id)

    @staticmethod
    def holds(session: Session, task_id: int) -> bool:
        """A job for this task is waiting or being worked on (so the task is in good hands)."""
        return task_id in TaskQueue.held(session, [task_id])

    @staticmethod
    def held(session: Session, task_ids: Sequence[int]) -> set[int]:
        """Which of these tasks have a job waiting or being worked on."""
        rows = session.connection().execute(
            text(
                "SELECT DISTINCT (args->>'task_id')::int FROM procrastinate_jobs "
                "WHERE queue_name = :q AND status IN ('todo', 'doing') AND args->>'task_id' = ANY(:t)"
            ),
            {"q": QUEUE, "t": [str(t) for t in task_ids]},
        )
        return set(rows.scalars())

    @staticmethod
    def status(session: Session) -> dict[str, Any]:
        """For /healthz: jobs waiting and running, and the workers heard from lately."""
        rows = session.connection().execute(
            text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE queue_name = :q AND status IN ('todo', 'doing') GROUP BY status"
            ),
            {"q": QUEUE},
        )
        counts: dict[str, int] = {status: n for status, n in rows.all()}
        workers = session.connection().execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :s)"
            ),
            {"s": STALLED_AFTER_S},
        )
        return {
            "engine": "procrastinate",
            "waiting": counts.get("todo", 0),
            "running": counts.get("doing", 0),
            "workers": workers.scalar_one(),
        }

    # the worker side ---------------------------------------------------------------------------
    def work(self, runtime: Any, *, concurrency: int, name: str | None = None, wait: bool = True) -> None:
        """Run queued tasks until SIGTERM or SIGINT, then finish the ones under way and return (the
        way to drain a worker before a deploy). `wait=False`: return once the queue is empty."""
        name = name or f"{socket.gethostname()}-worker"
        asyncio.run(self._work(runtime, concurrency, name, wait))

    async def _work(self, runtime: Any, concurrency: int, name: str, wait: bool) -> None:
        async with self.app.open_async():
            self._working = True
            requeue = asyncio.create_task(self._requeue_stalled(runtime), name="requeue stalled jobs")
            try:
                await self.app.run_worker_async(
                    queues=[QUEUE],
                    name=name,
                    wait=wait,
                    concurrency=concurrency,
                    additional_context={"runtime": runtime},
                    update_heartbeat_interval=HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_AFTER_S,
                    delete_jobs="successful",
                )
            finally:
                requeue.cancel()
                self._working = False
                self._opened = False  # leaving open_async closes the connections, those of `open` too

    def requeue_stalled(self) -> int:
        """One round of `_requeue_stalled` (for tools and tests): how many jobs went back."""

        async def once() -> int:
            async with self.app.open_async():
                return await self._requeue_round()

        return asyncio.run(once())

    async def _requeue_stalled(self, runtime: Any) -> None:
        """Every worker looks for jobs held by a worker that went silent (killed, out of memory, its
        machine gone) and puts them back, and queues tasks that never were."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._requeue_round()
                await asyncio.to_thread(self.queue_never_queued, runtime)
            except Exception:  # the database may be away for a moment: the next round tries again
                log.warning("could not look for stalled jobs", exc_info=True)

    def queue_never_queued(self, runtime: Any) -> int:
        """Queue the tasks a `serve` recorded and then stopped (killed, its database link cut) before
        it could queue them; how many. Such a job carries a queueing lock: a second worker that finds
        the same task while its job waits is refused (and one that finds it running leaves it be,
        see `tasks.run_queued`)."""
        before = utcnow() - timedelta(seconds=NEVER_QUEUED_AFTER_S)
        queued = 0
        for task_id in tasks.never_queued(runtime, self.held, before):
            try:
                self._defer(task_id, queueing_lock=f"task-{task_id}")
            except AlreadyEnqueued:
                continue
            queued += 1
            log.info(
                "task %s was recorded but never queued (its serve stopped first); it is queued now", task_id
            )
        return queued

    async def _requeue_round(self) -> int:
        manager = self.app.job_manager
        back = 0
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S, queue=QUEUE):
            try:
                await manager.retry_job(job)
            except Exception:  # another worker put it back first
                continue
            back += 1
            task_id = job.task_kwargs.get("task_id")
            log.info("task %s was held by a worker that stopped; it is back on the queue", task_id)
        return back


def _run_task(context: procrastinate.JobContext, task_id: int) -> None:
    from pipeline.background import slow_steps

    slow_steps.run_queued(context.additional_context["runtime"], task_id)
