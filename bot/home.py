"""The Home tab: the dashboard of docs/slack.md ("Home tab"), within Slack's 100-block limit."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from bot.blocks import Block, button, clip, context, esc, list_line, options, plain, section
from bot.channels import PICK_A_CHANNEL, known_not_owner
from bot.ids import HomeAction, JobAction
from pipeline.core.runtime import Runtime
from pipeline.jobs import jobs
from pipeline.jobs.activity import EventLine, describe, recent
from pipeline.jobs.jobs import JobPage
from pipeline.jobs.lifecycle import LABELS
from storage.models import JobStatus, Workspace

PER_PAGE = 15
MAX_PAGE = 10_000  # a page number from a payload is capped here (the database's OFFSET overflows)


@dataclass(frozen=True)
class HomeState:
    status: str | None = None
    search: str | None = None
    sort: str = "due"
    page: int = 1

    def meta(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)[:3000]

    @classmethod
    def from_meta(cls, text: str | None) -> HomeState:
        try:
            data = json.loads(text or "{}")
            return cls(
                status=data.get("status"),
                search=data.get("search"),
                sort=data.get("sort") or "due",
                page=min(MAX_PAGE, max(1, int(data.get("page") or 1))),
            )
        except (ValueError, TypeError, OverflowError, AttributeError):
            return cls()


def _controls(state: HomeState) -> list[Block]:
    """The status filter, the sort and the search box, showing `state`."""
    status_opts = [("all", "All statuses")] + [(s, LABELS[s]) for s in JobStatus.ALL]
    sort_opts = [("due", "Due date (urgency)"), ("created", "Newest first"), ("customer", "Customer name")]
    status_sel: dict[str, Any] = {
        "type": "static_select",
        "action_id": HomeAction.FILTER,
        "placeholder": plain("Status"),
        "options": options(status_opts),
    }
    chosen = [o for o in status_sel["options"] if o["value"] == (state.status or "all")]
    status_sel["initial_option"] = chosen[0]
    sort_sel: dict[str, Any] = {
        "type": "static_select",
        "action_id": HomeAction.SORT,
        "placeholder": plain("Sort"),
        "options": options(sort_opts),
    }
    sort_sel["initial_option"] = next(o for o in sort_sel["options"] if o["value"] == state.sort)
    blocks: list[Block] = [
        {"type": "actions", "block_id": "home_controls", "elements": [status_sel, sort_sel]}
    ]
    search: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": HomeAction.SEARCH,
        "placeholder": plain("Customer or reference, then Enter"),
        "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]},
    }
    if state.search:
        search["initial_value"] = state.search
    blocks.append(
        {
            "type": "input",
            "block_id": "home_search",
            "dispatch_action": True,
            "optional": True,
            "label": plain("Search"),
            "element": search,
        }
    )
    return blocks


def home_view(
    state: HomeState,
    page: JobPage,
    counts: dict[str, int],
    recent: list[EventLine],
    refs: dict[int, str],
    problems: list[str],
) -> dict[str, Any]:
    blocks: list[Block] = [{"type": "header", "text": plain("CraftStage · jobs", 150)}]
    for problem in problems:
        blocks.append(section(f":warning: {esc(problem)}"))
    summary = " · ".join(f"{LABELS[s]}: *{counts[s]}*" for s in JobStatus.ALL if counts.get(s))
    blocks.append(section(summary or "_No jobs yet. `/job new` creates one._"))
    blocks += _controls(state)
    blocks.append({"type": "divider"})
    if not page.rows:
        blocks.append(section("_No jobs match._"))
    for row in page.rows:
        job = row.job
        line = list_line(
            job.ref,
            job.customer_name,
            job.status,
            row.urgency,
            row.has_preflight_errors,
            job.due_date.isoformat() if job.due_date else None,
        )
        if job.reference:
            line += f" · ref {esc(clip(job.reference, 40))}"
        blocks.append(section(line, accessory=button("Open", JobAction.SHOW, job.ref)))
    nav = []
    if page.page > 1:
        nav.append(button("← Previous", HomeAction.PAGE + "_prev", str(page.page - 1)))
    if page.page < page.pages:
        nav.append(button("Next →", HomeAction.PAGE + "_next", str(page.page + 1)))
    blocks.append(context(f"Page {page.page} of {page.pages} · {page.total} job(s)"))
    if nav:
        blocks.append({"type": "actions", "block_id": "home_nav", "elements": nav})
    if recent:
        blocks.append({"type": "divider"})
        blocks.append(section("*Recent activity*"))
        lines = [
            f"{ev.created_at:%b %d %H:%M} · {refs.get(ev.job_id or 0, '')} {esc(describe(ev.event_type))} · "
            f"{esc(clip(ev.actor_display, 60))}"
            for ev in recent
        ]
        blocks.append(section("\n".join(lines)))
    return {"type": "home", "blocks": blocks[:100], "private_metadata": state.meta()}


def render_home(runtime: Runtime, ws_id: int, state: HomeState) -> dict[str, Any]:
    """The Home view for a workspace with the viewer's own filters."""
    with runtime.db.read() as s:
        ws = s.get_one(Workspace, ws_id)

        def page_of(number: int) -> jobs.JobPage:
            return jobs.list_jobs(
                s,
                ws,
                status=state.status,
                search=state.search,
                sort=state.sort,
                page=number,
                per_page=PER_PAGE,
            )

        page = page_of(state.page)
        if page.page > page.pages:
            page = page_of(page.pages)
        counts = jobs.status_counts(s, ws)
        events = recent(s, ws_id, limit=8)
        refs = {ev.job_id: f"J-{ev.job_number}" for ev in events if ev.job_id and ev.job_number}
        problems = []
        if not ws.production_channel and known_not_owner(runtime, ws.slack_team_id):
            problems.append(PICK_A_CHANNEL)
    return home_view(state, page, counts, events, refs, problems)


class HomeViewers:
    """Who looked at their Home tab lately (with which filters, and the view hash Slack gave back), so
    changes can refresh it. A refresh passes that hash: if the person changed their own view meanwhile,
    Slack answers hash_conflict and their view wins."""

    ACTIVE_S = 30 * 60  # a Home tab not opened for this long is left as it is
    MIN_GAP_S = 5.0  # at most one refresh per person this often, however busy the shop

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, HomeState, str | None, float, float]] = {}

    def seen(self, user_id: str, ws_id: int, state: HomeState, view_hash: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._seen[user_id] = (ws_id, state, view_hash, now, now)

    def refreshed(self, user_id: str, view_hash: str | None) -> None:
        with self._lock:
            if user_id in self._seen:
                ws, state, _, opened, at = self._seen[user_id]
                self._seen[user_id] = (ws, state, view_hash, opened, at)

    def due(self, ws_id: int) -> list[tuple[str, HomeState, str | None]]:
        """Viewers of `ws_id` to refresh now (and mark them refreshed)."""
        now = time.monotonic()
        out = []
        with self._lock:
            for user, (ws, state, view_hash, opened, refreshed) in list(self._seen.items()):
                if now - opened > self.ACTIVE_S:
                    del self._seen[user]
                elif ws == ws_id and now - refreshed >= self.MIN_GAP_S:
                    self._seen[user] = (ws, state, view_hash, opened, now)
                    out.append((user, state, view_hash))
        return out

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


VIEWERS = HomeViewers()
