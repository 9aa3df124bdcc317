"""Thread replies: what each activity event (and outbox message) says in the job's thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.blocks import Block, button, clip, context, esc, section, sections
from bot.ids import JobAction
from pipeline.jobs.activity import Event
from storage.models import ActivityEvent, Job, Outbox
from storage.models import JobStatus as S


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block] = field(default_factory=list)
    file_path: str | None = None
    file_name: str | None = None
    file_title: str | None = None


def _who(ev: ActivityEvent) -> str:
    if ev.actor_kind == "customer":
        return "the customer"
    if ev.actor_kind == "system":
        return "CraftStage"
    return f"<@{ev.actor_id}>" if ev.actor_id.startswith(("U", "W")) else esc(ev.actor_display)


def _simple(text: str) -> list[Message]:
    return [Message(text=text, blocks=[section(text)])]


def _items_parsed(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    flagged = d.get("flagged", 0)
    text = (
        f":mag: Parsed *{d.get('items', 0)}* item(s) with the {esc(d.get('engine', 'rules'))} parser"
        + (f", *{flagged}* flagged for review" if flagged else "")
        + (f", {d.get('skipped', 0)} line(s) skipped" if d.get("skipped") else "")
        + "."
    )
    blocks = [section(text)]
    if d.get("engine_note"):
        blocks.append(context(esc(clip(str(d["engine_note"]), 500))))
    return [Message(text=text, blocks=blocks)]


def _proofs(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    failed = d.get("failed", 0)
    text = f":art: Proofs ready: {d.get('generated', 0)} new, {d.get('total', 0)} in all."
    if failed:
        text = (
            f":warning: {failed} proof(s) could not be drawn ({d.get('generated', 0)} made): "
            f"`/job proofs {job.ref}` tries again; the card shows what is pending."
        )
    if d.get("sheet_error"):
        text += f"\nThe proof sheet could not be made: {esc(clip(str(d['sheet_error']), 300))}"
    if d.get("changes"):
        text += "\n" + _what_changed(d)
    msgs = [
        Message(
            text=text,
            blocks=sections(text.split("\n")),  # ten lines of changes may pass a section's 3,000 characters
            file_path=d.get("sheet_path"),
            file_name=f"{job.ref}_proofs.pdf",
            file_title=f"{job.ref} proof sheet",
        )
    ]
    if d.get("preview_path"):
        msgs.append(
            Message(
                text="Preview of the first items",
                file_path=d["preview_path"],
                file_name=f"{job.ref}_preview.png",
                file_title=f"{job.ref} preview",
            )
        )
    return msgs


def _what_changed(d: dict[str, Any]) -> str:
    """A line per new proof of an item the customer had already looked at: what changed since."""
    lines = [_item_changed(c) for c in d["changes"]]
    more = d.get("changed", len(lines)) - len(lines)
    if more > 0:
        lines.append(f"_…and {more} more new proof(s) of items the customer had looked at._")
    if d.get("unchanged"):
        lines.append(f"{d['unchanged']} other item(s) unchanged since the customer last looked.")
    return "\n".join(lines)


def _item_changed(c: dict[str, Any]) -> str:
    who = f"Item {c.get('number') or '?'}" + (f" ({esc(clip(c['label'], 60))})" if c.get("label") else "")
    head = f":arrows_counterclockwise: {who}, version {c.get('seen')} → {c.get('version')}: "
    fields = c.get("fields")
    if fields is None:
        return head + "the earlier version's text was not kept; the customer compares the two proofs."
    if not fields:
        return head + "same wording, new layout."
    parts = [
        f"{esc(key.replace('_', ' ').capitalize())} “{esc(clip(old, 80)) or '(empty)'}” → "
        f"“{esc(clip(new, 80)) or '(empty)'}”"
        for key, old, new in fields[:4]
    ]
    if len(fields) > 4:
        parts.append(f"and {len(fields) - 4} more field(s)")
    return head + "; ".join(parts) + "."


def _preflight(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    errors, warnings, infos = d.get("errors", 0), d.get("warnings", 0), d.get("infos", 0)
    icon = ":warning:" if errors else ":white_check_mark:"
    head = f"{icon} Preflight: *{errors}* error(s), {warnings} warning(s), {infos} info."
    lines = []
    for issue in d.get("top", [])[:15]:
        mark = {"error": ":x:", "warning": ":warning:"}.get(issue.get("severity"), ":information_source:")
        lines.append(f"{mark} `{esc(issue.get('code', ''))}` {esc(clip(str(issue.get('message', '')), 300))}")
    more = d.get("errors", 0) + d.get("warnings", 0) + d.get("infos", 0) - len(lines)
    if more > 0 and lines:
        lines.append(f"_…and {more} more (`/job preflight {job.ref}` lists them all)_")
    blocks = [section(head)]
    if lines:
        blocks.append(section("\n".join(lines)))
    return [Message(text=head, blocks=blocks)]


def _decision(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    item = d.get("item_label") or d.get("position") or d.get("item_id", "?")
    if ev.event_type == Event.CHANGE_REQUESTED:
        note = esc(clip(str(d.get("note", "")), 2000))
        text = f":pencil2: The customer asked for a change on item {esc(item)}:\n>{note}"
        if d.get("item_id"):
            edit = button("Edit the item", JobAction.EDIT_ITEM, f"{job.ref}:{d['item_id']}", style="primary")
            return [Message(text=text, blocks=[section(text), {"type": "actions", "elements": [edit]}])]
    else:
        text = f":thumbsup: The customer approved item {esc(item)}."
    return _simple(text)


def _export(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    text = (
        f":package: Export ready: {d.get('sheets', 0)} sheet(s), {esc(str(d.get('format', '')).upper())} "
        f"in {esc(d.get('mode', ''))} mode for {esc(d.get('profile', ''))}."
    )
    return [Message(text=text, file_path=d.get("zip_path"), file_title=f"{job.ref} laser files")]


def _edited(ev: ActivityEvent, job: Job) -> list[Message]:
    changes = ev.details.get("changes", {})
    parts = [f"{esc(k)}: {esc(clip(str(v.get('to') or '—'), 100))}" for k, v in changes.items()]
    return _simple(f":pencil: {_who(ev)} changed " + ", ".join(parts))


def _status(ev: ActivityEvent, job: Job) -> list[Message]:
    to = ev.details.get("to")
    if to == S.APPROVED:
        return _simple(":white_check_mark: Every item is approved.")
    if to == S.PRODUCTION_READY:
        return _simple(
            ":large_green_circle: Production ready: preflight is clean. Export when you are ready."
        )
    if to == S.PROOFING and ev.details.get("from") in (
        S.APPROVED,
        S.PRODUCTION_READY,
        S.EXPORTED,
        S.COMPLETED,
    ):
        return _simple(f":arrows_counterclockwise: Back to proofing: {esc(ev.details.get('reason', ''))}.")
    return []


def _resumed(ev: ActivityEvent, job: Job) -> list[Message]:
    return _simple(
        f":arrows_counterclockwise: {esc(ev.details.get('what', 'Background work'))} was interrupted by "
        "a restart and picks up where it stopped (finished work is kept)."
    )


def _emailed(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    to, at = esc(d.get("to", "the customer")), esc(d.get("time", ""))
    if d.get("purpose") == "reminder":
        number = "second reminder" if d.get("number") == 2 else "reminder"
        return _simple(f":envelope: A {number} to approve was emailed to {to} at {at}.")
    return _simple(f":envelope: Link emailed to {to} at {at}.")


def _email_failed(ev: ActivityEvent, job: Job) -> list[Message]:
    d = ev.details
    what = "reminder" if d.get("purpose") == "reminder" else "approval link"
    return _simple(
        f":x: The {what} could not be emailed to {esc(d.get('to', 'the customer'))}: "
        f"{esc(clip(str(d.get('error', '')), 400))}. Nothing more is tried: correct the customer's email "
        "on the job if it is wrong, then make a new link and email it."
    )


RENDERERS: dict[str, Callable[[ActivityEvent, Job], list[Message]]] = {
    Event.ITEMS_PARSED: _items_parsed,
    Event.PROOFS_GENERATED: _proofs,
    Event.PREFLIGHT_COMPLETED: _preflight,
    Event.ITEM_APPROVED: _decision,
    Event.CHANGE_REQUESTED: _decision,
    Event.EXPORT_CREATED: _export,
    Event.JOB_EDITED: _edited,
    Event.STATUS_CHANGED: _status,
    Event.ITEMS_ACCEPTED: lambda ev, job: _simple(
        f":inbox_tray: {_who(ev)} added {ev.details.get('added', 0)} item(s) to the job "
        f"({ev.details.get('total', 0)} in all)."
    ),
    Event.ITEMS_REPLACED: lambda ev, job: _simple(
        f":recycle: {_who(ev)} replaced the job's {ev.details.get('removed', 0)} item(s) "
        f"with {ev.details.get('added', 0)} new one(s)."
    ),
    Event.PARSE_FAILED: lambda ev, job: _simple(
        f":x: Parsing failed: {esc(ev.details.get('error', 'unknown error'))}. The input is kept; try again."
    ),
    Event.TEMPLATE_CHOSEN: lambda ev, job: _simple(
        f":straight_ruler: {_who(ev)} chose the template *{esc(ev.details.get('template', ''))}* "
        f"(version {ev.details.get('version', '?')})."
    ),
    Event.ITEM_EDITED: lambda ev, job: _simple(
        f":pencil: {_who(ev)} edited item {esc(ev.details.get('position', '?'))}."
    ),
    Event.APPROVAL_LINK_GENERATED: lambda ev, job: [],  # the link itself goes through the outbox
    Event.APPROVAL_LINK_REVOKED: lambda ev, job: _simple(f":no_entry: {_who(ev)} revoked the approval link."),
    Event.LINK_EMAILED: _emailed,
    Event.EMAIL_FAILED: _email_failed,
    Event.APPROVAL_PAGE_VIEWED: lambda ev, job: _simple(":eyes: The customer opened the approval page."),
    Event.APPROVAL_RECORDED: lambda ev, job: _simple(
        f":telephone_receiver: {_who(ev)} recorded the customer's approval "
        f"(given by {esc(ev.details.get('via', 'phone'))})."
    ),
    Event.APPROVAL_SKIPPED: lambda ev, job: _simple(
        f":fast_forward: {_who(ev)} skipped customer approval"
        + (f": {esc(ev.details['reason'])}" if ev.details.get("reason") else ".")
    ),
    Event.EXPORTED_WITHOUT_APPROVAL: lambda ev, job: _simple(
        ":warning: This export was made without the customer's approval."
    ),
    Event.JOB_COMPLETED: lambda ev, job: _simple(f":checkered_flag: {_who(ev)} marked the job completed."),
    Event.JOB_DELETED: lambda ev, job: _simple(f":wastebasket: {_who(ev)} deleted the job."),
    Event.JOB_RESTORED: lambda ev, job: _simple(f":leftwards_arrow_with_hook: {_who(ev)} restored the job."),
    Event.TASK_FAILED: lambda ev, job: _simple(
        f":x: {esc(ev.details.get('what', 'Background work'))} failed: {esc(ev.details.get('error', ''))}"
    ),
    Event.TASK_RESUMED: _resumed,
}


def thread_messages(ev: ActivityEvent, job: Job) -> list[Message]:
    renderer = RENDERERS.get(ev.event_type)
    return renderer(ev, job) if renderer else []


def outbox_message(row: Outbox, *, mail: bool = False) -> Message:
    """`mail`: customer email is set up, so the approval link's message offers to email it."""
    p = row.payload
    if row.kind == "approval_link":
        text = (
            f":link: Approval link for the customer (send it to {esc(p.get('email', 'them'))}):\n"
            f"{p.get('url', '')}\n_Expires {esc(p.get('expires', 'never'))}. "
            "Anyone with the link can decide, so send it only to the customer._"
        )
        blocks = [section(text)]
        if mail and p.get("email") and "/approve/" in str(p.get("url", "")):
            label = f"Email it to {clip(str(p['email']), 60)}"
            email_it = button(label, JobAction.EMAIL_LINK, str(p["url"]))
            blocks.append({"type": "actions", "elements": [email_it]})
        return Message(text=text, blocks=blocks)
    text = str(p.get("text", ""))
    return Message(text=text, blocks=p.get("blocks") or [section(text)])


def scrub(payload: dict[str, Any]) -> dict[str, Any]:
    """After sending, drop secrets (the approval URL holds the token) from the stored payload."""
    return {k: ("[sent]" if k == "url" else v) for k, v in payload.items()}
