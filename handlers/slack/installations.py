"""`app_uninstalled` and `tokens_revoked`: the workspace's tokens stop working, so nothing more is posted
there. The installable app deletes the workspace's stored tokens (it is paused until it installs the
app again); with one SLACK_BOT_TOKEN the log says the token needs replacing."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext

from bot.installations import Installations
from handlers.slack.context import first_delivery

log = logging.getLogger(__name__)


def app_uninstalled(body: dict[str, Any], context: BoltContext, installs: Installations | None) -> None:
    if not first_delivery(body, context):
        return
    team = context.team_id or "?"
    if installs is None:
        log.warning(
            "CraftStage was uninstalled from Slack workspace %s: SLACK_BOT_TOKEN no longer works, nothing is "
            "posted until the app is installed again and the new token set",
            team,
        )
        return
    installs.removed(team, "CraftStage was uninstalled")


def tokens_revoked(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, installs: Installations | None
) -> None:
    if not first_delivery(body, context):
        return
    tokens = event.get("tokens")
    team = context.team_id or "?"
    if not isinstance(tokens, dict) or not tokens.get("bot"):
        # only people's tokens: the app asks for none, so nothing changes for the bot
        log.info("Slack workspace %s revoked user tokens only; the bot keeps posting", team)
        return
    if installs is None:
        log.warning(
            "Slack workspace %s revoked the bot token: SLACK_BOT_TOKEN no longer works, nothing is posted "
            "until a new token is set",
            team,
        )
        return
    installs.removed(team, "its bot token was revoked")


def register(app: App, installs: Installations | None) -> None:
    app.event("app_uninstalled")(partial(app_uninstalled, installs=installs))
    app.event("tokens_revoked")(partial(tokens_revoked, installs=installs))
