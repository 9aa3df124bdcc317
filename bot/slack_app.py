"""The Bolt app factory: built from settings, never at import time; the listeners are added by
handlers/slack (bot/ knows nothing of them)."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.blocks import section
from bot.modals import info_modal
from pipeline.core.runtime import Runtime
from storage.db import UNAVAILABLE

log = logging.getLogger(__name__)
LISTENER_THREADS = 64  # Slack listeners running at once (see create_bolt_app)


def make_client(runtime: Runtime, *, retries: int = 3, token: str | None = None) -> WebClient:
    """A Web API client on SLACK_API_URL that retries 429s (honouring Retry-After) and 5xx, with `token`
    (default: SLACK_BOT_TOKEN; the installable app passes the token of the workspace it calls)."""
    settings = runtime.settings
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            ConnectionErrorRetryHandler(max_retry_count=retries),
        ],
    )


def failure_text(error: Exception) -> str:
    """What went wrong, in words for the person in Slack (never a stack trace)."""
    if isinstance(error, UNAVAILABLE):
        return (
            "CraftStage can't reach its database right now (it may be restarting), so this was not done. "
            "Please try again in a minute."
        )
    if isinstance(error, SlackApiError):
        return (
            f"Slack did not let CraftStage answer ({error.response.get('error') or 'no answer'}); "
            "Slack may be having trouble. Please try again in a minute."
        )
    return (
        f"Something went wrong inside CraftStage ({type(error).__name__}). Please try again; if it keeps "
        "happening, tell whoever runs CraftStage."
    )


def answer_failure(
    error: Exception, body: dict[str, Any], response: BoltResponse | None, respond: Any
) -> BoltResponse | None:
    """Tell the person what failed when a listener or middleware raised. Without this, Slack gets a bare
    500 (the person sees "failed with the error http_service_error", a window shows a generic error) or,
    after the ack, nothing at all (e.g. `/job new` while Slack refuses views.open)."""
    text = failure_text(error)
    if response is None:  # already acknowledged: only the response_url still reaches the person
        if respond is not None:
            try:
                respond(text=text, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # Slack itself may be what failed
                log.warning("could not tell the person what failed: %s", exc)
        return None
    if body.get("command"):
        return _json_response({"response_type": "ephemeral", "text": text, "blocks": [section(text)]})
    if body.get("type") == "view_submission":
        return _json_response(
            {"response_action": "update", "view": info_modal("Not done", f":warning: {text}")}
        )
    if body.get("type") == "block_actions":
        if respond is not None:
            answer_failure(error, body, None, respond)
        return BoltResponse(status=200, body="")
    return None  # Events API: the 500 stands, so Slack delivers the event again later


def _json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json;charset=utf-8"}
    )


class _BotIdentity:
    """auth.test, asked once (lazily, so the app starts even while Slack is unreachable)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        with self._lock:
            if self._data is None:
                data = self._client.auth_test().data
                if not isinstance(data, dict):  # only a file download answers with bytes
                    raise TypeError("auth.test did not answer with JSON")
                self._data = dict(data)
            return self._data


def create_bolt_app(
    runtime: Runtime, client: WebClient | None = None, authorize: Authorize | None = None
) -> App:
    """The Bolt app. `authorize` finds each request's token (the installable app's installations);
    without it every request uses SLACK_BOT_TOKEN."""
    settings = runtime.settings
    client = client or make_client(runtime)
    identity = _BotIdentity(client)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None

    def one_token(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        bot = identity.get()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_id=bot.get("bot_id"),
            bot_user_id=bot.get("user_id"),
        )

    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        signing_secret=secret,
        client=client,
        # Bolt takes an Authorize instance as well as a function (its annotation names only the latter)
        authorize=authorize or one_token,  # type: ignore[arg-type]
        request_verification_enabled=secret is not None,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        name="craftstage",
        # Bolt's default is 5 threads, and a listener holds one until it returns, acks included: five
        # people clicking while Slack answers 429 (each views.open waiting out Retry-After) left the
        # next request without a thread to ack on (Slack got a 404 "unhandled request" after 3 s)
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="slack-listener"),
    )

    @app.error
    def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None, respond: Any
    ) -> BoltResponse | None:
        log.error("slack listener failed: %s: %s", type(error).__name__, error, exc_info=error)
        return answer_failure(error, body, response, respond)

    return app
