"""Events: the Home tab is published when someone opens it, and republished from its own controls."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks import A
from bot.home import VIEWERS, HomeState, render_home
from handlers.slack.context import Who
from handlers.slack.payloads import MAX_PAGE, small_int
from pipeline.runtime import Runtime


def publish_home(runtime: Runtime, who: Who, client: WebClient, user_id: str, state: HomeState) -> None:
    resp = client.views_publish(user_id=user_id, view=render_home(runtime, who.ws_id, state))
    VIEWERS.seen(user_id, who.ws_id, state, (resp.get("view") or {}).get("hash"))


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
        page = min(MAX_PAGE, max(1, small_int(action.get("value")) or 1))
        update(body, context, client, page=page)
