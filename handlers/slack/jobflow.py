"""What `/job` subcommands and card buttons do, shared by both doors. Each function is one use case
call plus the answer; slow work goes to the worker pool and reports into the job's thread."""

from __future__ import annotations

import logging
from typing import Any

from bot import blocks as B
from bot import modals
from handlers.slack.context import Who
from pipeline import approvals, catalog, jobs, lifecycle, tasks, work
from pipeline import items as item_flow
from pipeline.activity import Event, for_job, record
from pipeline.errors import InvalidInput
from pipeline.runtime import Runtime
from pipeline.summary import summarize
from storage.models import Job, JobStatus, Workspace

log = logging.getLogger(__name__)


def _ws(session: Any, who: Who) -> Workspace:
    return session.get(Workspace, who.ws_id)


def show(runtime: Runtime, who: Who, ref: str) -> tuple[str, list[dict[str, Any]]]:
    with runtime.db.read() as s:
        ws = _ws(s, who)
        job = jobs.get_job(s, ws, ref, include_deleted=True)
        text, blocks = B.job_card(summarize(s, ws, job))
        events = for_job(s, job.id)[-8:]
    lines = [
        f"{ev.created_at:%b %d %H:%M} · {B.esc(ev.event_type)} · {B.esc(ev.actor_display)}" for ev in events
    ]
    if lines:
        blocks.append(B.context("*Recent activity*"))
        blocks.append(B.section("\n".join(lines)))
    return text, blocks


def parse_view(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    with runtime.db.read() as s:
        job = jobs.get_job(s, _ws(s, who), ref)
        if job.status not in (JobStatus.DRAFT, JobStatus.PROOFING, JobStatus.PARSING):
            raise InvalidInput(
                {
                    "job": f"{job.ref} is {job.status}; items can be added while drafting or "
                    "proofing (withdraw the approval request first)"
                }
            )
        has_items = lifecycle.item_count(s, job) > 0
        kept = job.input_text if job.status == JobStatus.DRAFT else None  # the earlier parse did not finish
        return modals.parse_modal(
            job.ref, job.customer_name, has_items=has_items, error=job.last_error, kept=kept
        )


def start_parse(runtime: Runtime, who: Who, job_id: int, view_id: str | None, client: Any) -> None:
    """Parse as a recorded task; then turn the window into the review step (the thread has it too)."""

    def show_review(batch: Any) -> None:
        if view_id is None:
            return
        from handlers.slack.views import review_view

        try:
            view = review_view(runtime, who, job_id, batch.id if batch else None)
            client.views_update(view_id=view_id, view=view)
        except Exception as exc:  # noqa: BLE001 - the window may be closed; the card's button reopens it
            log.info("could not update the parse window: %s", exc)

    work.start_parse(runtime, who.ws_id, job_id, who.actor, then=show_review)


def complete(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.session() as s:
        job = jobs.lock_job(s, jobs.get_job(s, _ws(s, who), ref))
        if job.status == JobStatus.COMPLETED:
            return f"{job.ref} is already completed."
        lifecycle.move(s, job, JobStatus.COMPLETED, who.actor)
        record(s, job.workspace_id, job.id, Event.JOB_COMPLETED, who.actor)
        job_id, msg = job.id, f"{job.ref} is completed. :checkered_flag:"
    runtime.notifier.job_changed(job_id, Event.JOB_COMPLETED)
    return msg


def delete(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.session() as s:
        job = jobs.delete_job(s, _ws(s, who), ref, who.actor)
        job_id, msg = (
            job.id,
            f"{job.ref} is deleted. `/job restore {job.ref}` brings it back with everything.",
        )
    runtime.notifier.job_changed(job_id, Event.JOB_DELETED)
    return msg


def restore(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.session() as s:
        job = jobs.restore_job(s, _ws(s, who), ref, who.actor)
        job_id, msg = job.id, f"{job.ref} is restored."
    runtime.notifier.job_changed(job_id, Event.JOB_RESTORED)
    return msg


def job_id_of(runtime: Runtime, who: Who, ref: str) -> int:
    with runtime.db.read() as s:
        job: Job = jobs.get_job(s, _ws(s, who), ref)
        return job.id


def _job(runtime: Runtime, who: Who, ref: str) -> Job:
    with runtime.db.read() as s:
        return jobs.get_job(s, _ws(s, who), ref)


def start_proofs(runtime: Runtime, who: Who, ref: str) -> str:
    job = _job(runtime, who, ref)
    if job.template_version_id is None:
        raise InvalidInput(
            {"template": f"{job.ref} has no template yet: press *Choose template* on its card"}
        )
    work.start_proofs(runtime, who.ws_id, job.id, who.actor)
    return (
        f"Generating proofs for {job.ref}: progress shows on its card, the proof sheet lands in its thread."
    )


def start_preflight(runtime: Runtime, who: Who, ref: str) -> str:
    job = _job(runtime, who, ref)
    work.start_preflight(runtime, who.ws_id, job.id, who.actor)
    return f"Running preflight for {job.ref}; the results go to its thread."


def template_view(runtime: Runtime, who: Who, ref: str, chosen: str | None = None) -> dict[str, Any]:
    files_dir = runtime.settings.files_dir
    with runtime.db.session() as s:
        ws = _ws(s, who)
        job = jobs.get_job(s, ws, ref)
        infos = catalog.list_templates(s, ws, files_dir)
        pairs = [(t.key, f"{t.name} ({t.width:g}×{t.height:g} in)") for t in infos]
        if chosen is None and job.template_version_id is not None:
            chosen = catalog.job_template(s, job)[1].key  # type: ignore[index]
        if chosen is None:
            return modals.template_modal(job.ref, pairs)
        template = catalog.template_of(catalog.current_version(s, ws, chosen, files_dir))
        columns = catalog.job_columns(s, job)
        current = catalog.job_mapping(s, job) if job.template_version_id else None
        pairs_now = current.pairs if current else catalog.suggested_pairs(s, job, template)
        suggested = {p.field_key: (p.column, p.transform) for p in pairs_now if p.field_key}
    fields = [(f.key, f.label or f.key, f.required) for f in template.fields]
    return modals.template_modal(
        job.ref, pairs, chosen=chosen, fields=fields, columns=columns, suggested=suggested
    )


def approval_view(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    with runtime.db.read() as s:
        job = jobs.get_job(s, _ws(s, who), ref)
        if job.status not in (JobStatus.PROOFING, JobStatus.PENDING_APPROVAL):
            raise InvalidInput({"job": f"{job.ref} is {job.status}: approval links are made while proofing"})
        why = (
            lifecycle.check(s, job, JobStatus.PENDING_APPROVAL, who.actor)
            if job.status == "proofing"
            else None
        )
        if why:
            raise InvalidInput({"job": f"{job.ref} can't be sent for approval yet: {why}"})
        has_link = approvals.active_link(s, job) is not None
        return modals.approval_modal(job.ref, job.customer_email, has_link=has_link)


def record_approval_view(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    job = _job(runtime, who, ref)
    return modals.record_approval_modal(job.ref)


def export_view(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    with runtime.db.session() as s:
        ws = _ws(s, who)
        job = jobs.get_job(s, ws, ref)
        why = lifecycle.check(s, job, JobStatus.EXPORTED, who.actor)
        if why:
            raise InvalidInput({"job": f"{job.ref} can't be exported: {why}"})
        from pipeline import machines

        profiles = machines.list_profiles(s, ws)
        pairs = [(p.name, p.name) for p in profiles]
    return modals.export_modal(job.ref, pairs, initial=pairs[0][0] if pairs else None)


def edit_item_view(runtime: Runtime, who: Who, ref: str, item_id: int) -> dict[str, Any]:
    with runtime.db.read() as s:
        job = jobs.get_job(s, _ws(s, who), ref)
        item = item_flow.get_item(s, job, item_id)
        chosen = catalog.job_template(s, job)
        if chosen is not None:
            keys = [(f.key, f.label or f.key) for f in chosen[1].fields]
        else:
            keys = [(k, k) for k in item.values]
        fields = [(k, label, str(item.values.get(k, "") or "")) for k, label in keys]
        return modals.edit_item_modal(job.ref, item.id, item.position + 1, fields, note=item.change_note)


def after_items_view(runtime: Runtime, who: Who, job_id: int, ref: str, count: int) -> dict[str, Any]:
    """What the review window turns into once the items joined the job."""
    with runtime.db.read() as s:
        job = s.get(Job, job_id)
        has_template = job.template_version_id is not None
    if not has_template:
        return template_view(runtime, who, ref)
    work.start_proofs(runtime, who.ws_id, job_id, who.actor)
    return modals.info_modal(
        "Items added",
        f":white_check_mark: {count} item(s) joined *{ref}*. New proofs are "
        "being made with the job's template; they land in the job's thread.",
    )


def pending_batch_id(runtime: Runtime, who: Who, ref: str) -> int:
    with runtime.db.read() as s:
        job = jobs.get_job(s, _ws(s, who), ref)
        return item_flow.pending_batch(s, job).id


def start_export(
    runtime: Runtime, who: Who, ref: str, profile: str, fmt: str | None, mode: str | None
) -> str:
    from pipeline.export import export_job

    with runtime.db.read() as s:
        job = jobs.get_job(s, _ws(s, who), ref)
        why = lifecycle.check(s, job, JobStatus.EXPORTED, who.actor)
        if why:
            raise InvalidInput({"profile": f"{job.ref} can't be exported: {why}"})
        job_id = job.id

    def run(progress: Any) -> None:
        with runtime.db.session() as s:
            ws = _ws(s, who)
            export_job(
                s,
                ws,
                s.get(Job, job_id),
                who.actor,
                profile_name=profile,
                output_format=fmt,
                text_mode=mode,
                files_dir=runtime.settings.files_dir,
            )
        runtime.notifier.job_changed(job_id, Event.EXPORT_CREATED)

    tasks.start(runtime, who.ws_id, job_id, "export", who.actor, run)
    return job.ref
