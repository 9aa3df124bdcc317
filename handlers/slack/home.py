"""The Home tab: published when someone opens it, and republished from its own controls."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.home import VIEWERS, HomeState, render_home
from bot.ids import HomeAction
from handlers.slack.context import first_delivery, runtime_of, who_of
from handlers.slack.payloads import MAX_PAGE, small_int
from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime


def publish_home(runtime: Runtime, who: Who, client: WebClient, user_id: str, state: HomeState) -> None:
    resp = client.views_publish(user_id=user_id, view=render_home(runtime, who.ws_id, state))
    VIEWERS.seen(user_id, who.ws_id, state, (resp.get("view") or {}).get("hash"))


def home_opened(event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if event.get("tab", "home") != "home":
        return
    view = event.get("view") or {}
    state = HomeState.from_meta(view.get("private_metadata"))
    runtime = runtime_of(context)

    def publish_once() -> None:  # a retried event (already handled) publishes nothing
        if first_delivery(body, context):
            publish_home(runtime, who_of(context), client, event["user"], state)

    runtime.workers.submit(publish_once)


def _update(body: dict[str, Any], context: BoltContext, client: WebClient, **changes: Any) -> None:
    """Republish the clicker's Home tab with `changes` to the state it showed (in the background)."""
    state = HomeState.from_meta((body.get("view") or {}).get("private_metadata"))
    runtime = runtime_of(context)
    runtime.workers.submit(
        publish_home, runtime, who_of(context), client, body["user"]["id"], replace(state, **changes)
    )


def home_filter(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    value = (action.get("selected_option") or {}).get("value")
    _update(body, context, client, status=None if value in (None, "all") else value, page=1)


def home_sort(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    _update(body, context, client, sort=(action.get("selected_option") or {}).get("value") or "due", page=1)


def home_search(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    _update(body, context, client, search=(action.get("value") or "").strip()[:200] or None, page=1)


def home_page(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    ack()
    _update(body, context, client, page=min(MAX_PAGE, max(1, small_int(action.get("value")) or 1)))


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(HomeAction.FILTER)(home_filter)
    app.action(HomeAction.SORT)(home_sort)
    app.action(HomeAction.SEARCH)(home_search)
    app.action(re.compile(f"^{HomeAction.PAGE}_(prev|next)$"))(home_page)
