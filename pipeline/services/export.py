"""Laying the job out for the laser: the export window's profiles, and the export started as a task."""

from __future__ import annotations

from pipeline.background import slow_steps
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.export import machines
from pipeline.jobs import jobs, lifecycle
from storage.models import JobStatus, Workspace


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

    slow_steps.start_export(runtime, who.ws_id, job_id, who.actor, profile, output_format, text_mode)
    return job.ref
