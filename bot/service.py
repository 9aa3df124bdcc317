"""Start and stop the Slack side of a running app: the Bolt app, the thread sender, Socket Mode, and for
the installable app the installations every Slack call takes its workspace's token from."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot.installations import Installations, slack_clients
from bot.notifier import SlackNotifier
from bot.slack_app import make_client
from pipeline.core.runtime import Runtime

if TYPE_CHECKING:
    from bot.socket_mode import SocketModeLink

log = logging.getLogger(__name__)


@dataclass
class SlackService:
    """`build` makes the Bolt app with its listeners (handlers.slack.create_app, given by app.py)."""

    runtime: Runtime
    build: Callable[..., App]
    bolt: App | None = None
    notifier: SlackNotifier | None = None
    installs: Installations | None = None  # the installable app (SLACK_CLIENT_ID)
    link: SocketModeLink | None = None
    _stoppers: list[Any] = field(default_factory=list)

    def start(self, *, sender: bool = True, listen: bool = True) -> SlackService:
        """`sender`: run the thread sender here; `listen`: take Slack's requests over Socket Mode when
        SLACK_APP_TOKEN is set (`serve`; a worker only posts)."""
        settings = self.runtime.settings
        if settings.slack_oauth:
            self.installs = Installations(self.runtime)
        clients = slack_clients(self.runtime, self.installs)
        if clients is None:
            log.info("SLACK_BOT_TOKEN is not set: Slack is off (the approval pages still work)")
            return self
        client = make_client(self.runtime)  # with the installable app: no token, Bolt adds each request's
        self.notifier = SlackNotifier(self.runtime, clients)
        self.runtime.notifier = self.notifier
        self.bolt = self.build(self.runtime, client, installs=self.installs)
        # role changes made by other copies of the app reach this one's member cache at once
        self._stoppers.append(self.runtime.member_changes.start().stop)
        if settings.slack_app_token is not None and listen:
            from bot.socket_mode import SocketModeLink

            link = SocketModeLink(
                self.bolt, settings.slack_app_token.get_secret_value(), settings.slack_api_url
            )
            link.check_token()  # a refused token stops here, before anything has started
            self.link = link.start()
            self._stoppers.append(link.stop)
        if sender:
            self.notifier.start()
            self._stoppers.append(self.notifier.stop)
        return self

    def status(self) -> dict[str, Any]:
        """What /healthz says about Slack: the mode, and in Socket Mode whether the link is up."""
        if self.link is not None:
            return self.link.status()
        if self.bolt is None:
            return {"mode": "off"}
        return {"mode": "http" if self.http_app is not None else "off"}

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
