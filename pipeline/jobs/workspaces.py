"""Workspaces (shops) and their members, created on first contact."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from pipeline.core.actors import Actor
from pipeline.core.addresses import check_address
from pipeline.core.errors import InvalidInput, NotFound, PermissionDenied
from storage.models import Member, Role, Workspace

HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def ensure_workspace(
    session: Session, team_id: str, name: str = "", *, timezone: str = "UTC", channel: str | None = None
) -> Workspace:
    """The workspace for a Slack team id, created with defaults on first contact."""
    ws = session.exec(select(Workspace).where(Workspace.slack_team_id == team_id)).first()
    if ws is not None:
        if name and not ws.name:
            ws.name = name[:200]
        return ws
    ws = Workspace(
        slack_team_id=team_id, name=(name or team_id)[:200], timezone=timezone, production_channel=channel
    )
    try:
        with session.begin_nested():
            session.add(ws)
            session.flush()
    except IntegrityError:  # created at the same moment by another request
        ws = session.exec(select(Workspace).where(Workspace.slack_team_id == team_id)).one()
    return ws


def ensure_member(session: Session, ws: Workspace, user_id: str, display: str = "") -> Member:
    """The member for a Slack user; the first member of a workspace becomes its owner."""
    member = _member(session, ws.id, user_id)
    if member is not None:
        if display and member.display_name != display:
            member.display_name = display[:200]
        return member
    # lock the workspace row so two first contacts cannot both become owner
    session.exec(select(Workspace).where(Workspace.id == ws.id).with_for_update()).one()
    count = session.exec(select(func.count()).select_from(Member).where(Member.workspace_id == ws.id)).one()
    member = Member(
        workspace_id=ws.pk,
        slack_user_id=user_id,
        display_name=(display or user_id)[:200],
        role=Role.OWNER if count == 0 else Role.MEMBER,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        member = _member(session, ws.id, user_id)
        assert member is not None
    return member


def known_member(session: Session, team_id: str, user_id: str) -> tuple[Workspace, Member] | None:
    """The workspace and member already on record for a Slack team and user (reads only)."""
    ws = session.exec(select(Workspace).where(Workspace.slack_team_id == team_id)).first()
    member = _member(session, ws.id, user_id) if ws is not None else None
    return (ws, member) if ws is not None and member is not None else None


def _member(session: Session, workspace_id: int | None, user_id: str) -> Member | None:
    stmt = select(Member).where(Member.workspace_id == workspace_id, Member.slack_user_id == user_id)
    return session.exec(stmt).first()


def actor_for(member: Member) -> Actor:
    return Actor.user(member.slack_user_id, member.display_name, member.role)


def set_role(session: Session, ws: Workspace, actor: Actor, user_id: str, role: str) -> Member:
    if not actor.is_admin:
        raise PermissionDenied("Only an owner or admin can change roles.")
    if role not in Role.ALL:
        raise InvalidInput({"role": f"must be one of {', '.join(Role.ALL)}"})
    member = _member(session, ws.id, user_id)
    if member is None:
        raise NotFound("That person has not used CraftStage in this workspace yet.")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make someone an owner.")
    member.role = role
    return member


def update_settings(session: Session, ws: Workspace, actor: Actor, **changes: object) -> Workspace:
    """Change workspace defaults; every value is checked before anything is stored."""
    if not actor.is_admin:
        raise PermissionDenied("Only an owner or admin can change workspace settings.")
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for key, value in changes.items():
        if key in ("cut_color", "engrave_color"):
            if not isinstance(value, str) or not HEX_COLOUR.match(value):
                errors[key] = f"{value!r} is not an exact colour like #FF0000"
            else:
                clean[key] = value.upper()
        elif key == "timezone":
            try:
                ZoneInfo(str(value))
                clean[key] = str(value)
            except (ZoneInfoNotFoundError, ValueError):
                errors[key] = f"{value!r} is not a time zone name (try Europe/Berlin or America/Chicago)"
        elif key == "digest_time":
            m = CLOCK_TIME.match(str(value).strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                clean[key] = f"{int(m.group(1)):02d}:{m.group(2)}"
            else:
                errors[key] = f"{value!r} is not a time like 08:30"
        elif key in ("mail_from", "mail_reply_to"):
            label = "Sender address" if key == "mail_from" else "Reply-to address"
            try:
                clean[key] = check_address(key, value if value is None else str(value), label)
            except InvalidInput as exc:
                errors.update(exc.errors)
        elif key in (
            "due_soon_days",
            "preflight_alert_hours",
            "approval_reminder_days",
            "customer_reminder_days",
        ):
            try:
                number = float(value) if isinstance(value, int | float | str) else -1
            except ValueError:
                number = -1
            if number < 0:
                errors[key] = "must be a number of zero or more"
            else:
                clean[key] = int(number) if key == "due_soon_days" else number
        elif key in ("name", "default_font", "production_channel"):
            clean[key] = (
                (str(value).strip() or None) if key == "production_channel" else str(value).strip()[:200]
            )
        elif key == "digest_weekends":
            clean[key] = bool(value)
        else:
            errors[key] = "is not a workspace setting"
    if errors:
        raise InvalidInput(errors)
    for key, value in clean.items():
        setattr(ws, key, value)
    return ws
