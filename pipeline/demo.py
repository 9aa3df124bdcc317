"""`python app.py demo`: the product's main job, offline, on the embedded database."""

from __future__ import annotations

from collections.abc import Callable

from pipeline import jobs
from pipeline.activity import for_job
from pipeline.actors import Actor
from pipeline.runtime import Runtime
from pipeline.workspaces import actor_for, ensure_member, ensure_workspace

DEMO_TEAM = "TDEMO"


def run_demo(runtime: Runtime, out: Callable[[str], None] = print) -> str:
    """Create a demo job and walk it as far as the pipeline goes; returns the job reference."""
    with runtime.db.session() as s:
        ws = ensure_workspace(s, DEMO_TEAM, "Demo Trophy Shop")
        actor: Actor = actor_for(ensure_member(s, ws, "UDEMO", "Demo Owner"))
        job = jobs.create_job(
            s,
            ws,
            actor,
            customer_name="Rebecca Stone (Lakeside Youth Soccer)",
            customer_email="rebecca@lakeside-soccer.example",
            reference="LYS-2026",
            notes="Brass plates, same size as last season.",
        )
        ref, job_id = job.ref, job.id
    out(f"1. created {ref} for Rebecca Stone in workspace 'Demo Trophy Shop' (status: draft)")
    with runtime.db.read() as s:
        out("   activity log:")
        for ev in for_job(s, job_id):
            out(f"   - {ev.created_at:%H:%M:%S} {ev.event_type} by {ev.actor_display}")
        page = jobs.list_jobs(s, ensure_workspace(s, DEMO_TEAM))
        out(f"2. dashboard: {page.total} job(s) in the demo workspace")
    out(f"database: {runtime.settings.effective_database_url}")
    return ref
