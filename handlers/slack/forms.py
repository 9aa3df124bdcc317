"""The windows a job's steps open, drawn from what a use case returns. Commands, buttons and
submissions all open them the same way: `(runtime, who, ref) -> view`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot import blocks as B
from bot import modals, order_modals
from bot.installations import SlackClients
from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime
from pipeline.jobs.activity import describe
from pipeline.services import approval, export, intake, jobs, templates

log = logging.getLogger(__name__)


def job_card(runtime: Runtime, who: Who, ref: str) -> tuple[str, list[dict[str, Any]]]:
    """The job's card with its recent activity (`/job show`, the Details button)."""
    summary, events = jobs.show_job(runtime, who, ref)
    text, blocks = B.job_card(summary)
    lines = [
        f"{ev.created_at:%b %d %H:%M} · {B.esc(describe(ev.event_type))} · {B.esc(ev.actor_display)}"
        for ev in events
    ]
    if lines:
        blocks.append(B.context("*Recent activity*"))
        blocks.append(B.section("\n".join(lines)))
    return text, blocks


def parse_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    form = intake.parse_form(runtime, who, ref)
    return order_modals.parse_modal(
        form.ref, form.customer_name, has_items=form.has_items, error=form.error, kept=form.kept
    )


def review_window(review: intake.Review) -> dict[str, Any]:
    if review.batch_id is None:
        return modals.info_modal(
            "Parsing failed",
            f":x: {review.error}\nThe order is kept; `/job parse {review.ref}` to try again.",
        )
    return order_modals.review_modal(
        review.ref,
        review.batch_id,
        review.engine_note,
        review.items,
        review.skipped,
        has_items=review.has_items,
    )


def pending_review_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    return review_window(intake.pending_review(runtime, who, ref))


def start_parse(runtime: Runtime, who: Who, job_id: int, view_id: str | None, team_id: str) -> None:
    """Parse in the background; then the window turns into the review step (`show_review`, wherever
    the parse ran; the thread has it too)."""
    intake.start_parse(runtime, who, job_id, {"view_id": view_id, "team_id": team_id} if view_id else None)


def review_shower(runtime: Runtime, clients: SlackClients) -> Callable[[int, dict[str, Any], Any], None]:
    """`runtime.after_parse`: the parse window of the task's params becomes the review step."""

    def show_review(job_id: int, params: dict[str, Any], batch: Any) -> None:
        window = params.get("window")
        if not window:
            return
        client = clients.for_team(window["team_id"])
        if client is None:  # the workspace uninstalled the app meanwhile
            return
        try:
            review = intake.review(runtime, job_id, batch.id if batch else None)
            client.views_update(view_id=window["view_id"], view=review_window(review))
        except Exception as exc:  # the window may be closed; the card's button reopens it
            log.info("could not update the parse window: %s", exc)

    return show_review


def template_window(runtime: Runtime, who: Who, ref: str, chosen: str | None = None) -> dict[str, Any]:
    form = templates.template_form(runtime, who, ref, chosen)
    if form.chosen is None:
        return modals.template_modal(form.ref, form.choices)
    return modals.template_modal(
        form.ref,
        form.choices,
        chosen=form.chosen,
        fields=form.fields,
        columns=form.columns,
        suggested=form.suggested,
    )


def after_items_window(runtime: Runtime, who: Who, job_id: int, ref: str, count: int) -> dict[str, Any]:
    """What the review window turns into once the items joined the job."""
    if not templates.has_template(runtime, job_id):
        return template_window(runtime, who, ref)
    templates.start_proofs_of(runtime, who, job_id)
    return modals.info_modal(
        "Items added",
        f":white_check_mark: {count} item(s) joined *{ref}*. New proofs are "
        "being made with the job's template; they land in the job's thread.",
    )


def approval_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    form = approval.link_form(runtime, who, ref)
    return modals.approval_modal(form.ref, form.customer_email, has_link=form.has_link)


def record_approval_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    return modals.record_approval_modal(approval.job_ref(runtime, who, ref))


def export_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    job_ref, profiles = export.export_choices(runtime, who, ref)
    pairs = [(name, name) for name in profiles]
    return modals.export_modal(job_ref, pairs, initial=pairs[0][0] if pairs else None)


def edit_item_window(runtime: Runtime, who: Who, ref: str, item_id: int) -> dict[str, Any]:
    form = intake.item_form(runtime, who, ref, item_id)
    return modals.edit_item_modal(form.ref, form.item_id, form.number, form.fields, note=form.note)


def edit_job_window(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
    job = jobs.job(runtime, who, ref)
    return modals.edit_job_modal(
        job.ref,
        job.version,
        {
            "customer_name": job.customer_name,
            "customer_email": job.customer_email,
            "reference": job.reference,
            "due_date": job.due_date.isoformat() if job.due_date else None,
            "notes": job.notes,
        },
    )
