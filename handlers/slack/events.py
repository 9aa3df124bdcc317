"""Events: the Home tab is published when someone opens it, and republished from its own controls."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlmodel import col, select

from bot.blocks import A
from bot.home import PER_PAGE, HomeState, home_view
from handlers.slack.context import Who
from pipeline import jobs
from pipeline.activity import recent
from pipeline.runtime import Runtime
from storage.models import Job, Workspace


def render_home(runtime: Runtime, who: Who, state: HomeState) -> dict[str, Any]:
    with runtime.db.read() as s:
        ws = s.get(Workspace, who.ws_id)
        page = jobs.list_jobs(
            s,
            ws,
            status=state.status,
            search=state.search,
            sort=state.sort,
            page=state.page,
            per_page=PER_PAGE,
        )
        if page.page > page.pages:
            page = jobs.list_jobs(
                s,
                ws,
                status=state.status,
                search=state.search,
                sort=state.sort,
                page=page.pages,
                per_page=PER_PAGE,
            )
        counts = jobs.status_counts(s, ws)
        events = recent(s, ws.id, limit=8)
        ids = {ev.job_id for ev in events if ev.job_id}
        refs = {j.id: j.ref for j in s.exec(select(Job).where(col(Job.id).in_(ids)))} if ids else {}
        problems = []
        if not (ws.production_channel or runtime.settings.channel):
            problems.append(
                "No production channel is configured, so job cards and alerts are waiting. "
                "Set CRAFTSTAGE_CHANNEL or the workspace's production channel."
            )
    return home_view(state, page, counts, events, refs, problems)


def publish_home(runtime: Runtime, who: Who, client: WebClient, user_id: str, state: HomeState) -> None:
    client.views_publish(user_id=user_id, view=render_home(runtime, who, state))


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        view = event.get("view") or {}
        state = HomeState.from_meta(view.get("private_metadata"))
        runtime.workers.submit(publish_home, runtime, context["who"], client, event["user"], state)

    def update(body: dict[str, Any], context: BoltContext, client: WebClient, **changes: Any) -> None:
        state = HomeState.from_meta((body.get("view") or {}).get("private_metadata"))
        runtime.workers.submit(
            publish_home, runtime, context["who"], client, body["user"]["id"], replace(state, **changes)
        )

    @app.action(A.HOME_FILTER)
    def home_filter(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        value = (action.get("selected_option") or {}).get("value")
        update(body, context, client, status=None if value in (None, "all") else value, page=1)

    @app.action(A.HOME_SORT)
    def home_sort(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        update(
            body, context, client, sort=(action.get("selected_option") or {}).get("value") or "due", page=1
        )

    @app.action(A.HOME_SEARCH)
    def home_search(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        update(body, context, client, search=(action.get("value") or "").strip()[:200] or None, page=1)

    @app.action(re.compile(f"^{A.HOME_PAGE}_(prev|next)$"))
    def home_page(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        update(body, context, client, page=max(1, int(action.get("value") or 1)))
