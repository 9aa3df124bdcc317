"""Who is asking: members enrolled on first contact, their roles, and the workspace's settings."""

from __future__ import annotations

from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime
from pipeline.jobs import workspaces
from storage.models import Workspace


def known(
    runtime: Runtime, team_id: str, user_id: str, user_name: str | None = None
) -> tuple[Who | None, bool]:
    """(the member on record, whether the workspace is still named only by its team id). With
    `user_name`, a member whose name changed counts as unknown (enrolling renames them). A read only
    transaction: on SQLite a write would wait behind any long write, and every Slack request asks."""
    with runtime.db.read() as s:
        found = workspaces.known_member(s, team_id, user_id)
        if found is None or (user_name is not None and found[1].display_name != user_name[:200]):
            return None, False
        ws, member = found
        return Who(ws.pk, workspaces.actor_for(member)), ws.name == team_id


def enrol(runtime: Runtime, team_id: str, user_id: str, user_name: str) -> tuple[Who, bool]:
    """The member, with their workspace, created on first contact: (who, workspace still unnamed)."""
    with runtime.db.session() as s:
        ws = workspaces.ensure_workspace(s, team_id, timezone=runtime.settings.timezone)
        member = workspaces.ensure_member(s, ws, user_id, user_name)
        return Who(ws.pk, workspaces.actor_for(member)), ws.name == team_id


def name_workspace(runtime: Runtime, ws_id: int, team_id: str, name: str) -> None:
    """Name a workspace known only by its team id after its Slack team (it heads the approval page)."""
    with runtime.db.session() as s:
        ws = s.get(Workspace, ws_id)
        if ws is not None and ws.name == team_id:
            ws.name = name[:200]


def workspace(runtime: Runtime, who: Who) -> Workspace:
    """The caller's workspace row (read only)."""
    with runtime.db.read() as s:
        return s.get_one(Workspace, who.ws_id)


def set_channel(runtime: Runtime, who: Who, channel_id: str) -> None:
    """Make `channel_id` the workspace's production channel; cards that waited for one go out."""
    with runtime.db.session() as s:
        workspaces.update_settings(
            s, s.get_one(Workspace, who.ws_id), who.actor, production_channel=channel_id
        )
    runtime.notifier.job_changed(0, "production channel set")


def set_role(runtime: Runtime, who: Who, user_id: str, role: str) -> tuple[str, str]:
    """Give a member of the workspace a role: (their name, the role)."""
    with runtime.db.session() as s:
        member = workspaces.set_role(s, s.get_one(Workspace, who.ws_id), who.actor, user_id, role)
        runtime.member_changes.announce(s, who.ws_id, member.slack_user_id)
        return member.display_name or member.slack_user_id, member.role
