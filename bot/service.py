"""Start and stop the Slack side of a running app: the Bolt app, the thread sender, Socket Mode."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.notifier import SlackNotifier
from bot.slack_app import make_client
from pipeline.core.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class SlackService:
    """`build` makes the Bolt app with its listeners (handlers.slack.create_app, given by app.py)."""

    runtime: Runtime
    build: Callable[[Runtime, WebClient], App]
    bolt: App | None = None
    notifier: SlackNotifier | None = None
    _stoppers: list[Any] = field(default_factory=list)

    def start(self, *, sender: bool = True) -> SlackService:
        settings = self.runtime.settings
        if settings.slack_bot_token is None:
            log.info("SLACK_BOT_TOKEN is not set: Slack is off (the approval pages still work)")
            return self
        client = make_client(self.runtime)
        self.notifier = SlackNotifier(self.runtime, client)
        self.runtime.notifier = self.notifier
        self.bolt = self.build(self.runtime, client)
        if sender:
            self.notifier.start()
            self._stoppers.append(self.notifier.stop)
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(self.bolt, settings.slack_app_token.get_secret_value())
            handler.connect()
            self._stoppers.append(handler.close)
            log.info("Slack Socket Mode connected")
        return self

    def stop(self) -> None:
        for stop in reversed(self._stoppers):
            try:
                stop()
            except Exception:  # shutting down: keep stopping the rest
                log.exception("while stopping the Slack service")
        self._stoppers.clear()

    @property
    def http_app(self) -> App | None:
        """The Bolt app for POST /slack/events (None in Socket Mode, which needs no public URL)."""
        settings = self.runtime.settings
        if self.bolt is None or settings.slack_signing_secret is None:
            return None
        return self.bolt
