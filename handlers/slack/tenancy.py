"""The workspace of a Slack request, from what Slack verified, and keys scoped to it.

A request names its workspace in several places. The signed top-level team (`team.id` of an interactive
payload, `team_id` of a command or event) and the Events API's `authorizations` are what Slack vouches
for; Bolt reads the same into `context.team_id` / `context.enterprise_id`. Enterprise Grid sends
interactive payloads of an organization-wide install with `team: null`: then the team named by the
user (and the view) is taken only when every place agrees, the request carries its organization
(`enterprise`), and Slack's `team.info` confirms the team belongs to that organization. Anything else
is a request whose workspace cannot be established: it is answered "not set up" and enrols nobody.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk import WebClient

from bot.modals import info_modal

log = logging.getLogger(__name__)

NOT_SET_UP = (
    "CraftStage can't tell which workspace this request comes from, so this workspace is not set up for "
    "it here. Type `/job` in a channel of your workspace first, or ask whoever runs CraftStage."
)


@dataclass(frozen=True)
class Tenant:
    team_id: str
    enterprise_id: str | None
    grid: bool  # the team came from a `team: null` organization payload (only known members act)


class _OrgTeams:
    """Which organization each team belongs to, as Slack's team.info says (asked once per team)."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def enterprise_of(self, client: WebClient, team_id: str) -> str | None:
        with self._lock:
            if team_id in self._known:
                return self._known[team_id]
        try:
            team = client.team_info(team=team_id)["team"]
        except Exception as exc:  # not confirmed: the request is refused, asked again later
            log.warning("team.info for %s failed: %s", team_id, type(exc).__name__)
            return None
        enterprise = team.get("enterprise_id") if isinstance(team, dict) else None
        with self._lock:
            self._known[team_id] = enterprise
        return enterprise


ORG_TEAMS = _OrgTeams()


def _team_of(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return value["id"]
    return None


def _enterprise_of(body: dict[str, Any], context_enterprise: str | None) -> str | None:
    named = _team_of(body.get("enterprise")) or body.get("enterprise_id")
    return named if isinstance(named, str) and named else context_enterprise


def tenant_of(
    body: dict[str, Any], context_team: str | None, context_enterprise: str | None, client: WebClient | None
) -> Tenant | None:
    """The verified workspace of a request, or None when it cannot be established."""
    enterprise = _enterprise_of(body, context_enterprise)
    auth_teams: set[str] = {
        a["team_id"]
        for a in body.get("authorizations") or []
        if isinstance(a, dict) and isinstance(a.get("team_id"), str) and a.get("team_id")
    }
    team_id = body.get("team_id")
    top = _team_of(body.get("team")) or (team_id if isinstance(team_id, str) else None)
    if len(auth_teams) == 1:  # Events API: the installation Slack delivered the event to
        return Tenant(next(iter(auth_teams)), enterprise, grid=False)
    if top:
        if auth_teams and top not in auth_teams:
            return None  # the event names a team none of its installations covers
        return Tenant(top, enterprise, grid=False)
    # Enterprise Grid, team null: every place that names a team must agree, inside the organization
    view, user = body.get("view"), body.get("user")
    view = view if isinstance(view, dict) else {}
    user = user if isinstance(user, dict) else {}
    named = {
        t
        for t in (user.get("team_id"), view.get("team_id"), view.get("app_installed_team_id"), context_team)
        if isinstance(t, str) and t
    }
    if len(named) != 1 or not enterprise or client is None:
        return None
    team = named.pop()
    if ORG_TEAMS.enterprise_of(client, team) != enterprise:
        return None
    return Tenant(team, enterprise, grid=True)


def scoped_key(tenant_team: str, *parts: object) -> str:
    """A dedupe key for something a payload names (a view id, a file id): always within the workspace."""
    return ":".join([str(parts[0]), tenant_team, *(str(p) for p in parts[1:])])


def own_view_id(view: Any, team_id: str) -> str | None:
    """The id of a submitted view if it belongs to this workspace (for views.update), else None."""
    if not isinstance(view, dict) or not isinstance(view.get("id"), str):
        return None
    owner = view.get("app_installed_team_id") or view.get("team_id")
    return view["id"] if owner in (None, team_id) else None


def not_set_up_response(body: dict[str, Any], respond: Any) -> BoltResponse:
    """The answer to a request whose workspace cannot be established (nothing is stored)."""
    if body.get("command"):
        return _json({"response_type": "ephemeral", "text": NOT_SET_UP})
    if body.get("type") == "view_submission":
        view = info_modal("Not set up", f":warning: {NOT_SET_UP}")
        return _json({"response_action": "update", "view": view})
    if body.get("type") == "block_actions" and respond is not None and body.get("response_url"):
        try:
            respond(text=NOT_SET_UP, response_type="ephemeral", replace_original=False)
        except Exception as exc:  # Slack itself may be away
            log.warning("could not answer a request without a workspace: %s", type(exc).__name__)
    return BoltResponse(status=200, body="")


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json;charset=utf-8"}
    )
