"""Global middleware: workspace and member rows on first contact, and retried events seen once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers.slack.tenancy import not_set_up_response, tenant_of
from pipeline.actors import Actor
from pipeline.runtime import Runtime
from pipeline.workspaces import actor_for, ensure_member, ensure_workspace, known_member
from storage.models import SeenRequest, Workspace

log = logging.getLogger(__name__)
_CACHE_TTL_S = 60.0


@dataclass(frozen=True)
class Who:
    ws_id: int
    actor: Actor


class _FirstContact:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._cache: dict[tuple[str, str], tuple[float, Who]] = {}
        self._naming: set[str] = set()
        self._lock = threading.Lock()

    def who(
        self, team_id: str, user_id: str, user_name: str, team_name: Callable[[], str | None] | None = None
    ) -> Who:
        """The member behind a request (created on first contact). A workspace still known only by its
        team id is named after its Slack team (`team_name`), because that name heads the customer's
        approval page; asked in the background, so a slow Slack never delays the acknowledgement."""
        key = (team_id, user_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and now - hit[0] < _CACHE_TTL_S:
            return hit[1]
        who, unnamed = self._known(team_id, user_id, user_name)
        if who is None:
            settings = self.runtime.settings
            with self.runtime.db.session() as s:
                ws = ensure_workspace(s, team_id, timezone=settings.timezone)
                unnamed = ws.name == team_id
                member = ensure_member(s, ws, user_id, user_name)
                who = Who(ws.id, actor_for(member))
        if unnamed and team_name is not None:
            self._name_later(who.ws_id, team_id, team_name)
        with self._lock:
            self._cache[key] = (now, who)
        return who

    def known(self, team_id: str, user_id: str) -> Who | None:
        """A member already on record (never created here)."""
        with self.runtime.db.read() as s:
            found = known_member(s, team_id, user_id)
            return Who(found[0].id, actor_for(found[1])) if found is not None else None

    def _known(self, team_id: str, user_id: str, user_name: str) -> tuple[Who | None, bool]:
        """A member already on record with the same name: no write transaction (on SQLite it would
        wait behind any long write, and every Slack request passes here)."""
        with self.runtime.db.read() as s:
            found = known_member(s, team_id, user_id)
            if found is None or (user_name and found[1].display_name != user_name[:200]):
                return None, False
            ws, member = found
            return Who(ws.id, actor_for(member)), ws.name == team_id

    def _name_later(self, ws_id: int, team_id: str, team_name: Callable[[], str | None]) -> None:
        with self._lock:
            if team_id in self._naming:
                return  # already being asked
            self._naming.add(team_id)

        def ask() -> None:
            try:
                name = team_name()
                if name:
                    with self.runtime.db.session() as s:
                        ws = s.get(Workspace, ws_id)
                        if ws is not None and ws.name == team_id:
                            ws.name = name[:200]
            except Exception as exc:  # noqa: BLE001 - Slack or the database may be away; asked again later
                log.warning("could not name the workspace after its Slack team: %s", exc)
            finally:
                with self._lock:
                    self._naming.discard(team_id)

        threading.Thread(target=ask, name="workspace-name", daemon=True).start()


def _user(body: dict[str, Any]) -> tuple[str | None, str]:
    """(user id, user name) from a command, an interactive payload or an event."""
    if "command" in body:
        return body.get("user_id"), body.get("user_name", "")
    user = body.get("user") or {}
    if isinstance(user, dict) and user.get("id"):
        return user["id"], user.get("name") or user.get("username", "")
    event = body.get("event") or {}
    return (event.get("user") if isinstance(event, dict) else None), ""


def register(app: App, runtime: Runtime) -> None:
    contacts = _FirstContact(runtime)

    @app.middleware
    def dedupe_events(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not _first_time(runtime, f"event:{event_id}"):
            return BoltResponse(status=200, body="")  # a retry of an event we already handled
        return next()

    @app.middleware
    def first_contact(
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Any,
        next: Callable[[], BoltResponse],  # noqa: A002
    ) -> BoltResponse | None:
        user_id, user_name = _user(body)
        if not user_id or not isinstance(user_id, str):
            return next()  # an event about no one (the listeners that care ask for `who` themselves)
        tenant = tenant_of(body, context.team_id, context.enterprise_id, client)
        if tenant is None:
            return not_set_up_response(body, respond)
        if tenant.grid:  # an organization payload: only a member already on record acts, nobody enrols
            found = contacts.known(tenant.team_id, user_id)
            if found is None:
                return not_set_up_response(body, respond)
            context["who"] = found
        else:

            def team_name() -> str | None:
                return client.team_info(team=tenant.team_id)["team"]["name"]

            context["who"] = contacts.who(tenant.team_id, user_id, str(user_name or ""), team_name)
        context["tenant"] = tenant
        return next()


def first_time_in(session: Session, key: str) -> bool:
    """Record `key` in this transaction; False when it was already recorded (a retry or double submit)."""
    try:
        with session.begin_nested():
            session.add(SeenRequest(key=key[:200]))
            session.flush()
        return True
    except IntegrityError:
        return False


def _first_time(runtime: Runtime, key: str) -> bool:
    with runtime.db.session() as s:
        return first_time_in(s, key)
