"""Block Kit builders: pure functions from data to Slack payloads, kept inside Slack's limits.

Everything a user or customer typed goes through `esc` before it lands in mrkdwn, so `<!channel>`
or `<@U123>` typed into a customer name shows as text and pings nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.ids import JobAction
from pipeline.jobs.jobs import JobPage
from pipeline.jobs.lifecycle import LABELS
from pipeline.jobs.summary import JobSummary
from storage.models import JobStatus as S

Block = dict[str, Any]


NEXT_ACTION_BUTTONS = {
    "parse": (JobAction.PARSE, "Add items"),
    "review": (JobAction.REVIEW, "Review parsed items"),
    "template": (JobAction.TEMPLATE, "Choose template"),
    "proofs": (JobAction.PROOFS, "Generate proofs"),
    "preflight": (JobAction.PREFLIGHT, "Run preflight"),
    "approval": (JobAction.APPROVAL, "Send for approval"),
    "record_approval": (JobAction.RECORD_APPROVAL, "Record approval"),
    "export": (JobAction.EXPORT, "Export for the laser"),
    "complete": (JobAction.COMPLETE, "Mark completed"),
    "restore": (JobAction.RESTORE, "Restore"),
}

STATUS_EMOJI = {
    S.DRAFT: ":memo:",
    S.PARSING: ":mag:",
    S.PROOFING: ":art:",
    S.PENDING_APPROVAL: ":hourglass_flowing_sand:",
    S.APPROVED: ":white_check_mark:",
    S.PRODUCTION_READY: ":large_green_circle:",
    S.EXPORTED: ":package:",
    S.COMPLETED: ":checkered_flag:",
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
    if s.status == S.PROOFING and s.next_action == "approval":
        actions.append(button("Skip approval", JobAction.SKIP_APPROVAL, s.ref))
    actions.append(button("Details", JobAction.SHOW, s.ref))
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
• `/job new` — create a job (then paste or upload the order) · `/job edit J-1042` — change its details
• `/job list [status] [search words] [--sort created|due|customer]`
• `/job show J-1042` · `/job parse J-1042` · `/job discard J-1042` (parsed items not wanted)
• `/job proofs J-1042` · `/job preflight J-1042` · `/job approval J-1042` (customer link)
• `/job withdraw J-1042` · `/job resume J-1042` · `/job revoke J-1042` — the approval link
• `/job export J-1042` · `/job complete J-1042` · `/job delete J-1042` · `/job restore J-1042`
• Admins: `/job purge J-1042` (a deleted job, for good) · `/job role @person owner|admin|member`
  · `/job channel` — post job cards and alerts in the channel where you type it
`/template list | show KEY | import | export KEY` — templates; `/template fonts | font` — fonts;
`/template profiles | profile [NAME] | delete-profile NAME` — machine profiles. Changing: admins."""


SECTION_LIMIT = 2900  # under Slack's 3000 characters per section, with room for a "more" line
MAX_SECTIONS = 45  # a message holds 50 blocks: room for a heading and an actions row


def sections(lines: Iterable[str]) -> list[Block]:
    """Lines packed into as many sections as one message holds (what does not fit is left out)."""
    return [section(chunk) for chunk in chunks(lines, SECTION_LIMIT)][:MAX_SECTIONS]


def help_blocks(problem: str | None = None) -> tuple[str, list[Block]]:
    blocks = [section(f":warning: {esc(problem)}")] if problem else []
    blocks.append(section(HELP))
    return (esc(problem) if problem else "CraftStage help"), blocks


def error_blocks(message: str) -> tuple[str, list[Block]]:
    return esc(message), [section(f":warning: {esc(message)}")]


def options(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": plain(label), "value": value[:150]} for value, label in pairs[:100]]
