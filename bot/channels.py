"""A workspace's production channel, and when the default channel (CRAFTSTAGE_CHANNEL) may stand in.

The default channel belongs to one Slack workspace. Another workspace that never ran `/job channel`
must not post its job cards, customer emails and approval links there, so the default is used only for
a workspace Slack says owns it: `conversations.info` names the channel's workspace (`context_team_id`,
or for a channel shared across an organization, `shared_team_ids`). The answer is asked once: an owner
adopts the channel as its production channel (stored, so every process and restart knows it); a
workspace that does not own it is remembered here for a while and told to pick a channel instead.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.installations import SlackClients
from pipeline.core.runtime import Runtime
from storage.models import Workspace

log = logging.getLogger(__name__)

PICK_A_CHANNEL = (
    "Job cards and alerts for this workspace are waiting for a production channel: an admin can type "
    "`/job channel` in the channel where they should go."
)
_NOT_OWNER_TTL_S = 15 * 60
_not_owner: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def owns(info: dict[str, Any], team_id: str) -> bool:
    """Whether a `conversations.info` channel object belongs to the Slack team `team_id`."""
    context = info.get("context_team_id")
    if context:
        return context == team_id
    return team_id in (info.get("shared_team_ids") or [])


def known_not_owner(runtime: Runtime, team_id: str) -> bool:
    """True when the default channel is set and this workspace was found not to own it (no Slack call)."""
    default = runtime.settings.channel
    if not default:
        return True
    with _lock:
        seen = _not_owner.get((team_id, default))
    return seen is not None and time.monotonic() - seen < _NOT_OWNER_TTL_S


def channel_for(runtime: Runtime, client: WebClient | None, ws: Workspace) -> str | None:
    """Where this workspace's cards and alerts go: its production channel, else the default channel if
    the workspace owns it (adopted on the first answer), else None (they wait; Home says why)."""
    if ws.production_channel:
        return ws.production_channel
    default = runtime.settings.channel
    if not default or client is None or known_not_owner(runtime, ws.slack_team_id):
        return None
    try:
        info = client.conversations_info(channel=default)["channel"]
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        if error in ("channel_not_found", "not_in_channel", "missing_scope", "team_access_not_granted"):
            _remember_not_owner(ws.slack_team_id, default)
        else:
            log.warning("could not ask Slack who owns the default channel: %s", error)
        return None
    except Exception as exc:  # Slack unreachable: asked again next time, nothing posted
        log.warning("could not ask Slack who owns the default channel: %s", type(exc).__name__)
        return None
    if not owns(info or {}, ws.slack_team_id):
        _remember_not_owner(ws.slack_team_id, default)
        return None
    with runtime.db.session() as s:
        row = s.get(Workspace, ws.id)
        if row is not None and not row.production_channel:
            row.production_channel = default
    return default


def adopt_defaults(runtime: Runtime, clients: SlackClients | None) -> None:
    """Settle the default channel for every workspace still without a production channel (the
    scheduler asks before its round, so digests of an owner go out and nobody else's do), each asked
    with its own workspace's client."""
    if not runtime.settings.channel or clients is None:
        return
    with runtime.db.read() as s:
        waiting = list(s.exec(select(Workspace).where(Workspace.production_channel == None)))  # noqa: E711
    for ws in waiting:
        if not known_not_owner(runtime, ws.slack_team_id):
            channel_for(runtime, clients.for_team(ws.slack_team_id), ws)


def _remember_not_owner(team_id: str, channel: str) -> None:
    log.info("the default channel does not belong to workspace %s; it must pick a channel", team_id)
    with _lock:
        _not_owner[(team_id, channel)] = time.monotonic()
