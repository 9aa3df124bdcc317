"""The customer's side of approval, as the approval page calls it: the page's data (the visit logged),
the proof images, and the decisions, whose notices reach the shop once they are committed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.approval import decisions, links, page
from pipeline.approval.decisions import BulkResult, DecisionResult
from pipeline.approval.page import PageState, PageView
from pipeline.core.runtime import Runtime


def page_state(runtime: Runtime, token: str) -> PageState | None:
    """The page's data, None for a link that is not available; logs the customer's view (at most
    every 10 minutes per link)."""
    with runtime.db.read() as s:
        state = page.page_state(s, token)
    if state is not None and page.view_is_due(state.last_viewed_at):
        with runtime.db.session() as s:
            link = links.resolve(s, token)
            if link is not None:
                page.page_view(s, link)
    return state


def fresh_page(runtime: Runtime, token: str) -> PageView | None:
    """The page as it stands right after a decision (no visit logged)."""
    with runtime.db.read() as s:
        state = page.page_state(s, token)
    return page.build_page(state, files_dir=runtime.settings.files_dir) if state is not None else None


def link_id(runtime: Runtime, token: str) -> int | None:
    """The id of the working link behind `token`, else None."""
    with runtime.db.read() as s:
        link = links.resolve(s, token)
        return link.id if link is not None else None


def proof_file(runtime: Runtime, token: str, item_id: int, version: int) -> Path | None:
    """The proof image the page shows for an item's version, if the link may show it."""
    with runtime.db.read() as s:
        stored = page.proof_png(s, token, item_id, version)
    path = page.proof_file_path(runtime.settings.files_dir, stored) if stored else None
    return path if path is not None and path.is_file() else None


def decide(
    runtime: Runtime, token: str, item_id: int, version: int, decision: str, note: str | None
) -> DecisionResult:
    """Approve, or ask for a change to, the proof version the customer saw."""
    with runtime.db.session() as s:
        result = decisions.decide(s, token, item_id, version, decision, note)
    decisions.send_notices(runtime.notifier, result.job_id, result.notices)
    return result


def approve_all(runtime: Runtime, token: str, shown: Mapping[int, int]) -> BulkResult:
    """Approve every undecided item whose proof is still the version shown."""
    with runtime.db.session() as s:
        result = decisions.approve_all_remaining(s, token, shown)
    decisions.send_notices(runtime.notifier, result.job_id, result.notices)
    return result
