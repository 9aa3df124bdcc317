"""The slow steps of a job, started as recorded tasks: parsing, proofs (followed by preflight, which
runs by itself after items, mapping or template change), preflight on demand, and the export. Each
kind's work here takes only what its task row holds, so a worker process can run it (`KINDS`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from pipeline.background import tasks
from pipeline.core.actors import Actor
from pipeline.core.files import sweep_partial
from pipeline.core.runtime import Runtime
from pipeline.export.job import export_job
from pipeline.intake.items import run_parse
from pipeline.jobs.activity import Event
from pipeline.proofs.job import ProofRun, generate_job_proofs
from pipeline.proofs.preflight import Report, check_job, checked_as, run_preflight
from storage.models import Job, Task, Workspace

log = logging.getLogger(__name__)


def preflight_now(runtime: Runtime, job_id: int, actor: Actor) -> Report:
    files_dir = runtime.settings.files_dir
    with runtime.db.read() as s:  # the check itself reads only: no write lock while it runs
        job = s.get_one(Job, job_id)
        checked = (check_job(s, job, files_dir), checked_as(s, job))
    with runtime.db.session() as s:
        report = run_preflight(s, s.get_one(Job, job_id), actor, files_dir, checked)
    runtime.notifier.job_changed(job_id, Event.PREFLIGHT_COMPLETED)
    return report


def proofs_then_preflight(
    runtime: Runtime,
    job_id: int,
    actor: Actor,
    progress: tasks.Progress | None = None,
    item_ids: set[int] | None = None,
) -> ProofRun | None:
    """Render what changed, then preflight the job (no template or no items: preflight says so)."""
    with runtime.db.read() as s:
        job = s.get(Job, job_id)
        ready = job is not None and job.template_version_id is not None
    run = None
    if ready:
        from pipeline.jobs.lifecycle import item_count

        with runtime.db.read() as s:
            ready = item_count(s, s.get_one(Job, job_id)) > 0
        if ready:
            run = generate_job_proofs(runtime, job_id, actor, progress=progress, item_ids=item_ids)
    preflight_now(runtime, job_id, actor)
    return run


def parse(runtime: Runtime, given: tasks.Given, progress: tasks.Progress) -> Any:
    batch = run_parse(runtime, given.job_id, given.actor)
    if runtime.after_parse is not None:
        runtime.after_parse(given.job_id, given.params, batch)
    return batch


def proofs(runtime: Runtime, given: tasks.Given, progress: tasks.Progress) -> ProofRun | None:
    ids = given.params.get("item_ids")
    return proofs_then_preflight(runtime, given.job_id, given.actor, progress, set(ids) if ids else None)


def preflight(runtime: Runtime, given: tasks.Given, progress: tasks.Progress) -> Report:
    return preflight_now(runtime, given.job_id, given.actor)


def export(runtime: Runtime, given: tasks.Given, progress: tasks.Progress) -> None:
    """Files written, the export recorded, the thread told."""
    p = given.params
    with runtime.db.session() as s:
        export_job(
            s,
            s.get_one(Workspace, given.ws_id),
            s.get_one(Job, given.job_id),
            given.actor,
            profile_name=p["profile"],
            output_format=p.get("output_format"),
            text_mode=p.get("text_mode"),
            files_dir=runtime.settings.files_dir,
        )
    runtime.notifier.job_changed(given.job_id, Event.EXPORT_CREATED)


def start_parse(
    runtime: Runtime, ws_id: int, job_id: int, actor: Actor, window: dict[str, Any] | None = None
) -> int:
    """`window`: where the parse was asked for (a Slack view), handed on to `runtime.after_parse`."""
    return tasks.start(
        runtime, ws_id, job_id, "parse", actor, parse, params={"window": window} if window else None
    )


def start_proofs(
    runtime: Runtime, ws_id: int, job_id: int, actor: Actor, item_ids: set[int] | None = None
) -> int:
    ids = sorted(item_ids) if item_ids else None
    return tasks.start(runtime, ws_id, job_id, "proofs", actor, proofs, params={"item_ids": ids})


def start_preflight(runtime: Runtime, ws_id: int, job_id: int, actor: Actor) -> int:
    return tasks.start(runtime, ws_id, job_id, "preflight", actor, preflight)


def start_export(
    runtime: Runtime,
    ws_id: int,
    job_id: int,
    actor: Actor,
    profile: str,
    output_format: str | None = None,
    text_mode: str | None = None,
) -> int:
    params = {"profile": profile, "output_format": output_format, "text_mode": text_mode}
    return tasks.start(runtime, ws_id, job_id, "export", actor, export, params=params)


def _resume_proofs(runtime: Runtime, task: Task) -> None:
    actor = tasks.task_actor(task)
    ids = task.params.get("item_ids")
    start_proofs(runtime, task.workspace_id, task.job_id or 0, actor, set(ids) if ids else None)


def _resume_preflight(runtime: Runtime, task: Task) -> None:
    actor = tasks.task_actor(task)
    start_preflight(runtime, task.workspace_id, task.job_id or 0, actor)


# Proofs skip what is already rendered, so an interrupted run simply continues; parsing and export
# are marked failed (the shop starts them again: the input and everything saved are kept).
RESUMABLE = {"proofs": _resume_proofs, "preflight": _resume_preflight}


def recover(runtime: Runtime) -> int:
    return tasks.recover(runtime, RESUMABLE)


# what a worker process runs for each kind of task it takes from the queue
KINDS: dict[str, tasks.Work] = {"parse": parse, "proofs": proofs, "preflight": preflight, "export": export}


def run_queued(runtime: Runtime, task_id: int) -> None:
    """Run a task the queue handed to this worker. A task already running was held by a worker that
    stopped (the queue gave it back): it is resumed or failed, as after a restart."""
    tasks.run_queued(runtime, task_id, KINDS, RESUMABLE)


class Recovery:
    """Picks up work a stopped copy of the app left behind: once at start (with the half-written files
    it left), then every `every` seconds, so a copy that dies while others keep running is noticed."""

    def __init__(self, runtime: Runtime, every: float = 60.0) -> None:
        self.runtime, self.every = runtime, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Recovery:
        sweep_partial(self.runtime.settings.files_dir)
        self._check()
        self._thread = threading.Thread(target=self._loop, name="recovery", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._check()

    def _check(self) -> None:
        try:
            found = recover(self.runtime)
        except Exception:  # the database may be down for a moment; the next round retries
            log.warning("checking for interrupted work failed", exc_info=True)
            return
        if found:
            log.info("found %d task(s) a stopped copy left behind; resumed or marked failed", found)
