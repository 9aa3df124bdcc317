"""The job windows' submissions: read the fields, call one use case, answer errors beside their
fields, else turn the window into the next step."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import modals, order_modals
from bot.channels import PICK_A_CHANNEL, channel_for
from handlers.slack import forms
from handlers.slack.answers import error_on, field_errors, replace_window
from handlers.slack.context import runtime_of, tenant_of_request, who_of
from handlers.slack.downloads import download
from handlers.slack.payloads import meta_int, read_metadata, small_int, values_of
from handlers.slack.tenancy import own_view_id
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.intake import items as item_flow
from pipeline.intake.mapping import MappingPair, SerialSpec
from pipeline.services import approval, export, intake, jobs, members, templates

MAX_UPLOAD = 5 * 1024 * 1024
FILE_TYPES = (".csv", ".tsv", ".txt", ".xlsx")


def new_job(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    runtime, who = runtime_of(context), who_of(context)
    v = values_of(view)
    fields = {k: v.get(k) for k in jobs.JOB_FIELDS}
    try:
        job = jobs.create_job(runtime, who, f"{view['id']}:{view.get('hash', '')}", fields)
    except InvalidInput as exc:
        field_errors(ack, exc, set(fields), "customer_name")
        return
    if job is None:
        ack()  # the same window submitted twice: the first one already created the job
        return
    # no channel of its own and the default one belongs to another workspace: say where to set one
    notice = None if channel_for(runtime, client, members.workspace(runtime, who)) else PICK_A_CHANNEL
    # straight into parse: the same window turns into the parse step
    ack(
        response_action="update",
        view=order_modals.parse_modal(job.ref, job.customer_name, has_items=False, error=notice),
    )


def edit_job(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    meta = read_metadata(view)
    v = values_of(view)
    changes = {k: v.get(k) for k in jobs.JOB_FIELDS}
    try:
        job = jobs.edit_job(
            runtime_of(context), who_of(context), meta.get("job", ""), small_int(meta.get("version")), changes
        )
    except InvalidInput as exc:
        field_errors(ack, exc, set(changes), "customer_name")
        return
    except CraftError as exc:
        replace_window(ack, "Edit job", f":warning: {exc.message}")
        return
    replace_window(ack, "Edit job", f":white_check_mark: *{job.ref}* is saved.")


def parse(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    runtime, who = runtime_of(context), who_of(context)
    v = values_of(view)
    text = (v.get("order_text") or "").strip()
    files = v.get("order_file") or []
    if not text and not files:
        error_on(ack, "order_text", "Paste the order, or upload a file below.")
        return
    try:
        order = item_flow.Input(text=text)
        if files:
            data, name = download(client, files[0], "order_file", FILE_TYPES, MAX_UPLOAD, context)
            order = item_flow.Input(data=data, filename=name)
        job_id, ref = intake.submit_order(runtime, who, read_metadata(view).get("job", ""), order)
    except InvalidInput as exc:
        field_errors(ack, exc, {"order_text", "order_file"}, "order_text")
        return
    except CraftError as exc:
        error_on(ack, "order_text", exc.message)
        return
    ack(
        response_action="update",
        view=modals.working_modal(
            "Parsing…",
            f":hourglass_flowing_sand: Reading the order for *{ref}*. The items to review "
            "appear here in a moment (and in the job's thread).",
        ),
    )
    team_id = tenant_of_request(context).team_id
    forms.start_parse(runtime, who, job_id, own_view_id(view, team_id), team_id)


def review(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    runtime, who = runtime_of(context), who_of(context)
    meta = read_metadata(view)
    v = values_of(view)
    fixes: dict[int, dict[str, str]] = {}
    for block_id, value in v.items():
        number = small_int(block_id[4:]) if block_id.startswith("fix:") else None
        if number is not None and isinstance(value, str) and value.strip():
            fixes[number] = {"name": value.strip()}
    try:
        job_id, ref, count = intake.accept_items(
            runtime,
            who,
            meta.get("job", ""),
            meta_int(meta, "batch"),
            mode=v.get("mode") or "append",
            acknowledge_all="all" in (v.get("ack") or []),
            fixes=fixes,
        )
    except InvalidInput as exc:
        field_errors(ack, exc, set(v), "ack")
        return
    except CraftError as exc:
        replace_window(ack, "Review items", f":warning: {exc.message}")
        return
    ack(response_action="update", view=forms.after_items_window(runtime, who, job_id, ref, count))


def _mapping(v: dict[str, Any]) -> tuple[list[MappingPair], SerialSpec | None]:
    """The field ↔ column pairs and the serial number chosen in the template window."""
    pairs = [
        MappingPair(column=v[b], field_key=b[4:], transform=v.get(f"tf:{b[4:]}") or "none")
        for b in v
        if b.startswith("map:") and v[b] and v[b] != modals.NO_COLUMN
    ]
    if not v.get("serial_field") or v["serial_field"] == modals.NO_COLUMN:
        return pairs, None
    start = (v.get("serial_start") or "1").strip()
    if not start.isdigit():
        raise InvalidInput({"serial_start": "Use a whole number like 1 or 001."})
    return pairs, SerialSpec(
        field=v["serial_field"], start=int(start), pad=len(start) if start[0] == "0" else 0
    )


def template(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    runtime, who = runtime_of(context), who_of(context)
    meta = read_metadata(view)
    v = values_of(view)
    key = v.get("template") or meta.get("template")
    if not key:
        error_on(ack, "template", "Choose a template.")
        return
    if not any(b.startswith("map:") for b in v) or key != meta.get("template"):
        # the first step (or a different template): show this template's fields to map
        ack(response_action="update", view=forms.template_window(runtime, who, meta.get("job", ""), key))
        return
    try:
        pairs, serial = _mapping(v)
        job_id, ref = templates.apply_template(runtime, who, meta.get("job", ""), key, pairs, serial)
    except InvalidInput as exc:
        field_errors(ack, exc, {"template", "serial_start"}, "template")
        return
    except CraftError as exc:
        error_on(ack, "template", exc.message)
        return
    try:
        templates.start_proofs_of(runtime, who, job_id)
        text = f":art: Making proofs for *{ref}*. The proof sheet lands in the job's thread."
    except CraftError as exc:
        text = f":hourglass: {exc.message}"
    replace_window(ack, "Proofs", text)


def edit_item(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    runtime, who = runtime_of(context), who_of(context)
    meta = read_metadata(view)
    v = values_of(view)
    values = {b[2:]: (v[b] or "") for b in v if b.startswith("v:")}
    try:
        job_id, item_id = intake.edit_item(runtime, who, meta.get("job", ""), meta_int(meta, "item"), values)
    except InvalidInput as exc:
        field_errors(ack, exc, {f"v:{k}" for k in values}, next(iter(f"v:{k}" for k in values), "v:name"))
        return
    except CraftError as exc:
        replace_window(ack, "Edit item", f":warning: {exc.message}")
        return
    ack()
    intake.reproof_item(runtime, who, job_id, item_id)


def approval_link(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    raw = (values_of(view).get("expires_days") or "30").strip()
    try:
        days = float(raw)
        if days < 0 or days > 3650:
            raise ValueError
    except ValueError:
        error_on(ack, "expires_days", "Give a number of days from 0 to 3650.")
        return
    try:
        link = approval.create_link(
            runtime_of(context), who_of(context), read_metadata(view).get("job", ""), days or None
        )
    except CraftError as exc:
        error_on(ack, "expires_days", exc.message)
        return
    replace_window(
        ack,
        "Approval link",
        f":link: The link for *{link.ref}* (also posted in the job's thread):\n{link.url}\n"
        f"Expires: {link.expires}. Send it only to the customer.",
    )


def record_approval(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    v = values_of(view)
    ref = read_metadata(view).get("job", "")
    try:
        approval.record_approval(
            runtime_of(context), who_of(context), ref, v.get("how") or "phone", v.get("note") or ""
        )
    except InvalidInput as exc:
        field_errors(ack, exc, {"how", "note"}, "note")
        return
    except CraftError as exc:
        error_on(ack, "how", exc.message)
        return
    ack()


def export_job(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    v = values_of(view)
    fmt = None if v.get("format") in (None, "profile") else v["format"]
    mode = None if v.get("mode") in (None, "profile") else v["mode"]
    ref = read_metadata(view).get("job", "")
    try:
        ref = export.start_export(
            runtime_of(context), who_of(context), ref, v.get("profile") or "", fmt, mode
        )
    except InvalidInput as exc:
        field_errors(ack, exc, {"profile", "format", "mode"}, "profile")
        return
    except CraftError as exc:
        error_on(ack, "profile", exc.message)
        return
    replace_window(ack, "Export", f":package: Exporting *{ref}*; the files land in the job's thread.")
