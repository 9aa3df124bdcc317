"""Modal submissions: validate, answer errors next to their fields, else do the work."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import modals
from bot.channels import PICK_A_CHANNEL, channel_for
from bot.modals import V
from handlers.slack import downloads, jobflow
from handlers.slack.context import Who, first_time_in
from handlers.slack.payloads import meta_int, read_metadata, small_int, values_of
from handlers.slack.tenancy import Tenant, own_view_id
from pipeline import approvals, catalog, jobs, work
from pipeline import items as item_flow
from pipeline.activity import Event
from pipeline.errors import CraftError, InvalidInput
from pipeline.mapping import MappingPair, SerialSpec
from pipeline.outbox import enqueue
from pipeline.runtime import Runtime
from storage.models import Job, Workspace

log = logging.getLogger(__name__)
MAX_UPLOAD = 5 * 1024 * 1024
FILE_TYPES = (".csv", ".tsv", ".txt", ".xlsx")


def review_view(runtime: Runtime, who: Who, job_id: int, batch_id: int | None) -> dict[str, Any]:
    with runtime.db.read() as s:
        job = s.get(Job, job_id)
        if batch_id is None:
            return modals.info_modal(
                "Parsing failed",
                f":x: {job.last_error or 'Parsing failed.'}\n"
                f"The order is kept; `/job parse {job.ref}` to try again.",
            )
        batch = item_flow.pending_batch(s, job, batch_id)
        has_items = bool(item_flow.list_items(s, job))
        return modals.review_modal(
            job.ref, batch.id, batch.engine_note, batch.items, batch.skipped_lines, has_items=has_items
        )


def download(
    client: WebClient,
    file: dict[str, Any],
    field: str,
    extensions: tuple[str, ...],
    limit: int,
    *,
    context: BoltContext,
    runtime: Runtime,
) -> tuple[bytes, str]:
    """Fetch a file the person uploaded through a modal, from Slack only (see handlers/slack/downloads.py)."""
    tenant: Tenant = context["tenant"]
    who: Who = context["who"]
    return downloads.fetch(
        client,
        file,
        field,
        extensions,
        limit,
        team_id=tenant.team_id,
        user_id=who.actor.id,
        api_url=runtime.settings.slack_api_url,
    )


def register(app: App, runtime: Runtime) -> None:
    def errors(ack: Ack, exc: InvalidInput, fields: set[str], fallback: str) -> None:
        mapped = {(k if k in fields else fallback): v for k, v in exc.errors.items()}
        ack(response_action="errors", errors=mapped)

    @app.view(V.NEW_JOB)
    def new_job(
        ack: Ack, view: dict[str, Any], context: BoltContext, body: dict[str, Any], client: WebClient
    ) -> None:
        who: Who = context["who"]
        v = values_of(view)
        fields = {k: v.get(k) for k in ("customer_name", "customer_email", "reference", "due_date", "notes")}
        try:
            with runtime.db.session() as s:
                if not first_time_in(s, f"view:{who.ws_id}:{view['id']}:{view.get('hash', '')}"):
                    ack()  # the same modal submitted twice: the first one already created the job
                    return
                ws = s.get(Workspace, who.ws_id)
                job = jobs.create_job(s, ws, who.actor, **fields)
                job_id, ref, customer = job.id, job.ref, job.customer_name
        except InvalidInput as exc:
            errors(ack, exc, set(fields), "customer_name")
            return
        runtime.notifier.job_changed(job_id, Event.JOB_CREATED)
        with runtime.db.read() as s:
            ws = s.get(Workspace, who.ws_id)
        # no channel of its own and the default one belongs to another workspace: say where to set one
        notice = None if channel_for(runtime, client, ws) else PICK_A_CHANNEL
        # straight into parse: the same window turns into the parse step
        ack(response_action="update", view=modals.parse_modal(ref, customer, has_items=False, error=notice))

    @app.view(V.PARSE)
    def parse(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        text = (v.get("order_text") or "").strip()
        files = v.get("order_file") or []
        if not text and not files:
            ack(response_action="errors", errors={"order_text": "Paste the order, or upload a file below."})
            return
        try:
            order = item_flow.Input(text=text)
            if files:
                data, name = download(
                    client, files[0], "order_file", FILE_TYPES, MAX_UPLOAD, context=context, runtime=runtime
                )
                order = item_flow.Input(data=data, filename=name)
            with runtime.db.session() as s:
                job = jobs.get_job(s, s.get(Workspace, who.ws_id), meta.get("job", ""))
                item_flow.submit_input(s, job, who.actor, order, runtime.settings.files_dir)
                job_id, ref = job.id, job.ref
        except InvalidInput as exc:
            errors(ack, exc, {"order_text", "order_file"}, "order_text")
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"order_text": exc.message})
            return
        ack(
            response_action="update",
            view=modals.working_modal(
                "Parsing…",
                f":hourglass_flowing_sand: Reading the order for *{ref}*. The items to review "
                "appear here in a moment (and in the job's thread).",
            ),
        )
        runtime.notifier.job_changed(job_id, Event.INPUT_SUBMITTED)
        jobflow.start_parse(runtime, who, job_id, own_view_id(view, context["tenant"].team_id), client)

    @app.view(V.REVIEW)
    def review(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        fixes: dict[int, dict[str, str]] = {}
        for block_id, value in v.items():
            number = small_int(block_id[4:]) if block_id.startswith("fix:") else None
            if number is not None and isinstance(value, str) and value.strip():
                fixes[number] = {"name": value.strip()}
        try:
            with runtime.db.session() as s:
                job = jobs.get_job(s, s.get(Workspace, who.ws_id), meta.get("job", ""))
                created = item_flow.accept_batch(
                    s,
                    job,
                    who.actor,
                    meta_int(meta, "batch"),
                    mode=v.get("mode") or "append",
                    acknowledge_all="all" in (v.get("ack") or []),
                    fixes=fixes,
                )
                job_id, ref, count = job.id, job.ref, len(created)
        except InvalidInput as exc:
            errors(ack, exc, set(v), "ack")
            return
        except CraftError as exc:
            ack(response_action="update", view=modals.info_modal("Review items", f":warning: {exc.message}"))
            return
        runtime.notifier.job_changed(job_id, Event.ITEMS_ACCEPTED)
        ack(response_action="update", view=jobflow.after_items_view(runtime, who, job_id, ref, count))

    @app.view(V.TEMPLATE)
    def template(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        key = v.get("template") or meta.get("template")
        if not key:
            ack(response_action="errors", errors={"template": "Choose a template."})
            return
        if not any(b.startswith("map:") for b in v) or key != meta.get("template"):
            # the first step (or a different template): show this template's fields to map
            ack(response_action="update", view=jobflow.template_view(runtime, who, meta.get("job", ""), key))
            return
        pairs = [
            MappingPair(column=v[b], field_key=b[4:], transform=v.get(f"tf:{b[4:]}") or "none")
            for b in v
            if b.startswith("map:") and v[b] and v[b] != modals.NO_COLUMN
        ]
        serial = None
        if v.get("serial_field") and v["serial_field"] != modals.NO_COLUMN:
            start = (v.get("serial_start") or "1").strip()
            if not start.isdigit():
                ack(response_action="errors", errors={"serial_start": "Use a whole number like 1 or 001."})
                return
            serial = SerialSpec(
                field=v["serial_field"], start=int(start), pad=len(start) if start[0] == "0" else 0
            )
        try:
            with runtime.db.session() as s:
                ws = s.get(Workspace, who.ws_id)
                job = jobs.get_job(s, ws, meta.get("job", ""))
                catalog.choose_template(s, ws, job, who.actor, key, runtime.settings.files_dir)
                catalog.apply_mapping(s, job, who.actor, pairs, serial)
                job_id, ref = job.id, job.ref
        except InvalidInput as exc:
            errors(ack, exc, {"template", "serial_start"}, "template")
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"template": exc.message})
            return
        try:
            work.start_proofs(runtime, who.ws_id, job_id, who.actor)
            text = f":art: Making proofs for *{ref}*. The proof sheet lands in the job's thread."
        except CraftError as exc:
            text = f":hourglass: {exc.message}"
        runtime.notifier.job_changed(job_id, Event.MAPPING_APPLIED)
        ack(response_action="update", view=modals.info_modal("Proofs", text))

    @app.view(V.EDIT_ITEM)
    def edit_item(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        values = {b[2:]: (v[b] or "") for b in v if b.startswith("v:")}
        try:
            with runtime.db.session() as s:
                job = jobs.get_job(s, s.get(Workspace, who.ws_id), meta.get("job", ""))
                item = item_flow.edit_item(s, job, meta_int(meta, "item"), who.actor, values)
                job_id, item_id = job.id, item.id
        except InvalidInput as exc:
            errors(ack, exc, {f"v:{k}" for k in values}, next(iter(f"v:{k}" for k in values), "v:name"))
            return
        except CraftError as exc:
            ack(response_action="update", view=modals.info_modal("Edit item", f":warning: {exc.message}"))
            return
        ack()
        runtime.notifier.job_changed(job_id, Event.ITEM_EDITED)
        # while another proof run is going, the edited item stays pending and the card offers the next run
        with contextlib.suppress(CraftError):
            work.start_proofs(runtime, who.ws_id, job_id, who.actor, item_ids={item_id})

    @app.view(V.APPROVAL)
    def approval(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        raw = (values_of(view).get("expires_days") or "30").strip()
        try:
            days = float(raw)
            if days < 0 or days > 3650:
                raise ValueError
        except ValueError:
            ack(response_action="errors", errors={"expires_days": "Give a number of days from 0 to 3650."})
            return
        try:
            with runtime.db.session() as s:
                job = jobs.get_job(s, s.get(Workspace, who.ws_id), meta.get("job", ""))
                link = approvals.create_link(
                    s, job, who.actor, days or None, base_url=runtime.settings.public_base_url
                )
                expires = f"{link.link.expires_at:%Y-%m-%d}" if link.link.expires_at else "never"
                enqueue(
                    s,
                    job.workspace_id,
                    job.id,
                    "approval_link",
                    {"url": link.url, "email": job.customer_email, "expires": expires},
                )
                job_id, ref, url = job.id, job.ref, link.url
        except CraftError as exc:
            ack(response_action="errors", errors={"expires_days": exc.message})
            return
        runtime.notifier.job_changed(job_id, Event.APPROVAL_LINK_GENERATED)
        ack(
            response_action="update",
            view=modals.info_modal(
                "Approval link",
                f":link: The link for *{ref}* (also posted in the job's thread):\n{url}\n"
                f"Expires: {expires}. Send it only to the customer.",
            ),
        )

    @app.view(V.RECORD_APPROVAL)
    def record_approval(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        how, note = v.get("how") or "phone", v.get("note") or ""
        try:
            with runtime.db.session() as s:
                job = jobs.get_job(s, s.get(Workspace, who.ws_id), meta.get("job", ""))
                if how == "skip":
                    approvals.skip_approval(s, job, who.actor, note)
                else:
                    approvals.record_offline_approval(s, job, who.actor, how, note)
                job_id = job.id
        except InvalidInput as exc:
            errors(ack, exc, {"how", "note"}, "note")
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"how": exc.message})
            return
        ack()
        runtime.notifier.job_changed(job_id, Event.APPROVAL_RECORDED)

    @app.view(V.EXPORT)
    def export(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        meta = read_metadata(view)
        v = values_of(view)
        fmt = None if v.get("format") in (None, "profile") else v["format"]
        mode = None if v.get("mode") in (None, "profile") else v["mode"]
        try:
            ref = jobflow.start_export(runtime, who, meta.get("job", ""), v.get("profile") or "", fmt, mode)
        except InvalidInput as exc:
            errors(ack, exc, {"profile", "format", "mode"}, "profile")
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"profile": exc.message})
            return
        ack(
            response_action="update",
            view=modals.info_modal(
                "Export", f":package: Exporting *{ref}*; the files land in the job's thread."
            ),
        )


__all__ = ["register", "review_view", "values_of"]
