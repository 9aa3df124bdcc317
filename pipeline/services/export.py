"""Laying the job out for the laser: the export window's profiles and the export as a background task."""

from __future__ import annotations

from pipeline.background import tasks
from pipeline.background.tasks import Progress
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.export import machines
from pipeline.export.job import export_job
from pipeline.jobs import jobs, lifecycle
from pipeline.jobs.activity import Event
from storage.models import Job, JobStatus, Workspace


def export_choices(runtime: Runtime, who: Who, ref: str) -> tuple[str, list[str]]:
    """(ref, machine profile names) for the export window; refused when the job can't be exported."""
    with runtime.db.session() as s:  # the built-in profiles are stored on first use
        ws = s.get_one(Workspace, who.ws_id)
        job = jobs.get_job(s, ws, ref)
        why = lifecycle.check(s, job, JobStatus.EXPORTED, who.actor)
        if why:
            raise InvalidInput({"job": f"{job.ref} can't be exported: {why}"})
        return job.ref, [p.name for p in machines.list_profiles(s, ws)]


def start_export(
    runtime: Runtime, who: Who, ref: str, profile: str, output_format: str | None, text_mode: str | None
) -> str:
    """Check the job can be exported, then export it as a recorded task: the job's ref."""
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        why = lifecycle.check(s, job, JobStatus.EXPORTED, who.actor)
        if why:
            raise InvalidInput({"profile": f"{job.ref} can't be exported: {why}"})
        job_id = job.pk

    params = {"profile": profile, "output_format": output_format, "text_mode": text_mode}
    tasks.start(runtime, who.ws_id, job_id, "export", who.actor, params=params)
    return job.ref


def export_work(runtime: Runtime, given: tasks.Given, progress: Progress) -> None:
    """The export task's work (see pipeline.background.tasks.KINDS)."""
    p = given.params
    who = Who(given.ws_id, given.actor)
    export_now(runtime, who, given.job_id, p["profile"], p.get("output_format"), p.get("text_mode"))


def export_now(
    runtime: Runtime, who: Who, job_id: int, profile: str, output_format: str | None, text_mode: str | None
) -> None:
    """The export task's body: files written, the export recorded, the thread told."""
    with runtime.db.session() as s:
        export_job(
            s,
            s.get_one(Workspace, who.ws_id),
            s.get_one(Job, job_id),
            who.actor,
            profile_name=profile,
            output_format=output_format,
            text_mode=text_mode,
            files_dir=runtime.settings.files_dir,
        )
    runtime.notifier.job_changed(job_id, Event.EXPORT_CREATED)
