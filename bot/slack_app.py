"""The Bolt app factory: built from settings, never at import time."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from pipeline.runtime import Runtime

log = logging.getLogger(__name__)


def make_client(runtime: Runtime, *, retries: int = 3) -> WebClient:
    """A Web API client on SLACK_API_URL that retries 429s (honouring Retry-After) and 5xx."""
    settings = runtime.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
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


class _BotIdentity:
    """auth.test, asked once (lazily, so the app starts even while Slack is unreachable)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        with self._lock:
            if self._data is None:
                self._data = dict(self._client.auth_test().data)  # type: ignore[arg-type]
            return self._data


def create_bolt_app(runtime: Runtime, client: WebClient | None = None) -> App:
    settings = runtime.settings
    client = client or make_client(runtime)
    identity = _BotIdentity(client)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None

    def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
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
        authorize=authorize,
        request_verification_enabled=secret is not None,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        name="craftstage",
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> BoltResponse | None:
        log.error("slack listener failed: %s: %s", type(error).__name__, error, exc_info=error)
        return None

    from handlers.slack import register

    register(app, runtime)
    return app
