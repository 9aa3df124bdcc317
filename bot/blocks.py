"""Block Kit builders: pure functions from data to Slack payloads, kept inside Slack's limits.

Everything a user or customer typed goes through `esc` before it lands in mrkdwn, so `<!channel>`
or `<@U123>` typed into a customer name shows as text and pings nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.jobs import JobPage
from pipeline.lifecycle import LABELS
from pipeline.summary import JobSummary

Block = dict[str, Any]


class A:
    """Action ids (buttons and selects); a button's value is the job reference."""

    PARSE = "job_parse"
    REVIEW = "job_review"
    TEMPLATE = "job_template"
    PROOFS = "job_proofs"
    PREFLIGHT = "job_preflight"
    APPROVAL = "job_approval"
    RECORD_APPROVAL = "job_record_approval"
    SKIP_APPROVAL = "job_skip_approval"
    EXPORT = "job_export"
    COMPLETE = "job_complete"
    RESTORE = "job_restore"
    SHOW = "job_show"
    HOME_FILTER = "home_filter"
    HOME_SORT = "home_sort"
    HOME_SEARCH = "home_search"
    HOME_PAGE = "home_page"


NEXT_ACTION_BUTTONS = {
    "parse": (A.PARSE, "Add items"),
    "review": (A.REVIEW, "Review parsed items"),
    "template": (A.TEMPLATE, "Choose template"),
    "proofs": (A.PROOFS, "Generate proofs"),
    "preflight": (A.PREFLIGHT, "Run preflight"),
    "approval": (A.APPROVAL, "Send for approval"),
    "record_approval": (A.RECORD_APPROVAL, "Record approval"),
    "export": (A.EXPORT, "Export for the laser"),
    "complete": (A.COMPLETE, "Mark completed"),
    "restore": (A.RESTORE, "Restore"),
}

STATUS_EMOJI = {
    "draft": ":memo:",
    "parsing": ":mag:",
    "proofing": ":art:",
    "pending_approval": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "production_ready": ":large_green_circle:",
    "exported": ":package:",
    "completed": ":checkered_flag:",
}
URGENCY = {"due_soon": ":alarm_clock: due soon", "overdue": ":rotating_light: overdue"}

MAX_TEXT = 3000


def esc(text: object) -> str:
    """Escape user text for mrkdwn: only &, < and > are special (in that order)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(*parts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(p) for p in parts[:10]]}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": plain(text), "action_id": action_id, "value": value[:2000]}
    if style:
        b["style"] = style
    return b


def status_label(status: str) -> str:
    return f"{STATUS_EMOJI.get(status, '')} {LABELS.get(status, status)}".strip()


def due_text(s: JobSummary) -> str:
    if not s.due_date:
        return "no due date"
    mark = URGENCY.get(s.urgency)
    return f"{s.due_date} · {mark}" if mark else s.due_date


def job_card(s: JobSummary) -> tuple[str, list[Block]]:
    """The job's card in the production channel, updated in place."""
    title = f"{s.ref} · {s.customer_name}"
    fields = [
        mrkdwn(f"*Status*\n{status_label(s.status)}"),
        mrkdwn(f"*Due*\n{esc(due_text(s))}"),
        mrkdwn(f"*Items*\n{s.items}" + (f" ({s.flagged} flagged)" if s.flagged else "")),
        mrkdwn(f"*Proofs*\n{s.proofs_generated}/{s.items}"),
        mrkdwn(f"*Approval*\n{approval_text(s)}"),
        mrkdwn(f"*Preflight*\n{preflight_text(s)}"),
    ]
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, 150)},
        {"type": "section", "fields": fields},
    ]
    notes = []
    if s.reference:
        notes.append(f"Ref {esc(s.reference)}")
    if s.deleted:
        notes.append(":wastebasket: deleted")
    if notes:
        blocks.append(context(" · ".join(notes)))
    actions = []
    if s.next_action in NEXT_ACTION_BUTTONS:
        action_id, label = NEXT_ACTION_BUTTONS[s.next_action]
        actions.append(button(label, action_id, s.ref, style="primary"))
    if s.status == "proofing" and s.next_action == "approval":
        actions.append(button("Skip approval", A.SKIP_APPROVAL, s.ref))
    actions.append(button("Details", A.SHOW, s.ref))
    blocks.append({"type": "actions", "block_id": f"card:{s.ref}", "elements": actions})
    text = f"{s.ref} for {esc(s.customer_name)}: {LABELS.get(s.status, s.status)}"
    return text, blocks


def approval_text(s: JobSummary) -> str:
    if s.approval_skipped:
        return "skipped"
    text = f"{s.approved}/{s.items} approved"
    if s.needs_revision:
        text += f", {s.needs_revision} to revise"
    return text


def preflight_text(s: JobSummary) -> str:
    if not s.preflight_ran:
        return "not run"
    if s.preflight_errors:
        return f":warning: {s.preflight_errors} error(s), {s.preflight_warnings} warning(s)"
    return f"clean ({s.preflight_warnings} warning(s))" if s.preflight_warnings else "clean"


def job_list(page: JobPage, *, heading: str) -> tuple[str, list[Block]]:
    """`/job list`: one line per job, fitting one message (≤ 50 blocks)."""
    lines = [
        list_line(
            r.job.ref,
            r.job.customer_name,
            r.job.status,
            r.urgency,
            r.has_preflight_errors,
            r.job.due_date.isoformat() if r.job.due_date else None,
        )
        for r in page.rows
    ]
    blocks: list[Block] = [
        section(f"*{esc(heading)}* · {page.total} job(s), page {page.page} of {page.pages}")
    ]
    if not lines:
        blocks.append(section("_No jobs match._"))
    for chunk in chunks(lines, 3000):
        blocks.append(section(chunk))
    return f"{esc(heading)}: {page.total} job(s)", blocks[:50]


def list_line(ref: str, customer: str, status: str, urgency: str, errors: bool, due: str | None) -> str:
    parts = [f"*{ref}* {esc(clip(customer, 80))}", status_label(status)]
    if due:
        parts.append(f"due {due}")
    if urgency:
        parts.append(URGENCY[urgency])
    if errors:
        parts.append(":warning: preflight errors")
    return " · ".join(parts)


def chunks(lines: Iterable[str], limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


HELP = """*CraftStage* — `/job` does everything about jobs:
• `/job new` — create a job (then paste or upload the order)
• `/job list [status] [search words] [--sort created|due|customer]`
• `/job show J-1042` · `/job parse J-1042` · `/job proofs J-1042` · `/job preflight J-1042`
• `/job approval J-1042` (customer link) · `/job export J-1042` · `/job complete J-1042`
• `/job delete J-1042` · `/job restore J-1042` · `/job help`
• `/job channel` — admins: post job cards and alerts in the channel where you type it
`/template list | show KEY | import | export KEY` — templates; `/template fonts | font` — fonts;
`/template profiles | profile [NAME]` — machine profiles. Importing, uploading and changing: admins."""


def help_blocks(problem: str | None = None) -> tuple[str, list[Block]]:
    blocks = [section(f":warning: {esc(problem)}")] if problem else []
    blocks.append(section(HELP))
    return (esc(problem) if problem else "CraftStage help"), blocks


def error_blocks(message: str) -> tuple[str, list[Block]]:
    return esc(message), [section(f":warning: {esc(message)}")]


def options(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": plain(label), "value": value[:150]} for value, label in pairs[:100]]
