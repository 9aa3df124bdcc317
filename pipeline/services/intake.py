"""Items into a job: the order submitted, parsed in the background, reviewed, accepted, edited."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from pipeline.background import slow_steps
from pipeline.core.actors import Who
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.intake import items as item_flow
from pipeline.jobs import jobs, lifecycle
from pipeline.jobs.activity import Event
from pipeline.templates import catalog
from storage.models import Job, JobStatus, Workspace


@dataclass(frozen=True)
class ParseForm:
    """What the "add items" window shows."""

    ref: str
    customer_name: str
    has_items: bool
    error: str | None
    kept: str | None  # the order of an earlier parse that did not finish


@dataclass(frozen=True)
class Review:
    """Parsed items waiting at the review gate, or why parsing failed (`batch_id` None)."""

    ref: str
    batch_id: int | None
    engine_note: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    has_items: bool = False
    error: str | None = None


@dataclass(frozen=True)
class ItemForm:
    ref: str
    item_id: int
    number: int
    fields: list[tuple[str, str, str]]  # (key, label, current value)
    note: str | None


def parse_form(runtime: Runtime, who: Who, ref: str) -> ParseForm:
    """The window for adding items; refused once the job is past proofing."""
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        if job.status not in (JobStatus.DRAFT, JobStatus.PROOFING, JobStatus.PARSING):
            raise InvalidInput(
                {
                    "job": f"{job.ref} is {job.status}; items can be added while drafting or "
                    "proofing (withdraw the approval request first)"
                }
            )
        kept = job.input_text if job.status == JobStatus.DRAFT else None  # the earlier parse did not finish
        has_items = lifecycle.item_count(s, job) > 0
        return ParseForm(job.ref, job.customer_name, has_items, job.last_error, kept)


def submit_order(runtime: Runtime, who: Who, ref: str, order: item_flow.Input) -> tuple[int, str]:
    """Keep the order with the job (it moves to parsing): (job id, ref)."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        item_flow.submit_input(s, job, who.actor, order, runtime.settings.files_dir)
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.INPUT_SUBMITTED)
    return job_id, done


def start_parse(runtime: Runtime, who: Who, job_id: int, window: dict[str, Any] | None = None) -> int:
    """Parse as a recorded task; `window` (where it was asked for) is handed to `runtime.after_parse`
    with the outcome, for the review step."""
    return slow_steps.start_parse(runtime, who.ws_id, job_id, who.actor, window)


def review(runtime: Runtime, job_id: int, batch_id: int | None) -> Review:
    with runtime.db.read() as s:
        job = s.get_one(Job, job_id)
        if batch_id is None:
            return Review(job.ref, None, error=job.last_error or "Parsing failed.")
        batch = item_flow.pending_batch(s, job, batch_id)
        has_items = bool(item_flow.list_items(s, job))
        return Review(
            job.ref, batch.id, batch.engine_note, batch.items, batch.skipped_lines, has_items=has_items
        )


def pending_review(runtime: Runtime, who: Who, ref: str) -> Review:
    """The latest batch of the job waiting for review."""
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        job_id, batch_id = job.pk, item_flow.pending_batch(s, job).pk
    return review(runtime, job_id, batch_id)


def accept_items(
    runtime: Runtime,
    who: Who,
    ref: str,
    batch_id: int,
    *,
    mode: str,
    acknowledge_all: bool,
    fixes: dict[int, dict[str, str]],
) -> tuple[int, str, int]:
    """Reviewed items join the job: (job id, ref, how many)."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        created = item_flow.accept_batch(
            s, job, who.actor, batch_id, mode=mode, acknowledge_all=acknowledge_all, fixes=fixes
        )
        job_id, done, count = job.pk, job.ref, len(created)
    runtime.notifier.job_changed(job_id, Event.ITEMS_ACCEPTED)
    return job_id, done, count


def discard_items(runtime: Runtime, who: Who, ref: str) -> str:
    """Throw away the parsed items waiting for review; the job goes back to where it was."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        item_flow.pending_batch(s, job)  # nothing waiting: says so
        item_flow.discard_batch(s, job, who.actor)
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.STATUS_CHANGED)
    return done


def item_form(runtime: Runtime, who: Who, ref: str, item_id: int) -> ItemForm:
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        item = item_flow.get_item(s, job, item_id)
        chosen = catalog.job_template(s, job)
        if chosen is not None:
            keys = [(f.key, f.label or f.key) for f in chosen[1].fields]
        else:
            keys = [(k, k) for k in item.values]
        fields = [(k, label, str(item.values.get(k, "") or "")) for k, label in keys]
        return ItemForm(job.ref, item.pk, item.position + 1, fields, item.change_note)


def edit_item(runtime: Runtime, who: Who, ref: str, item_id: int, values: dict[str, str]) -> tuple[int, int]:
    """Change an item's values: (job id, item id)."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        item = item_flow.edit_item(s, job, item_id, who.actor, values)
        job_id, item_id = job.pk, item.pk
    runtime.notifier.job_changed(job_id, Event.ITEM_EDITED)
    return job_id, item_id


def reproof_item(runtime: Runtime, who: Who, job_id: int, item_id: int) -> None:
    """Proof an edited item again; while another run is going it stays pending and the card offers
    the next run."""
    with contextlib.suppress(CraftError):
        slow_steps.start_proofs(runtime, who.ws_id, job_id, who.actor, item_ids={item_id})
