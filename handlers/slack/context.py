"""Global middleware: the runtime handed to every listener, and workspace and member rows on first
contact; `first_delivery` for event listeners, so a retried event is handled once. Listeners read
`runtime_of(context)` and `who_of(context)`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from handlers.slack.tenancy import Tenant, not_set_up_response, tenant_of
from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime
from pipeline.core.seen import first_time
from pipeline.services import members

log = logging.getLogger(__name__)
# how long a member stays cached: long while every role change is heard at once (see
# pipeline/core/member_changes.py), short while it might not be
_CACHE_TTL_S = 600.0
_CACHE_TTL_UNHEARD_S = 60.0

__all__ = ["Who", "first_delivery", "forget_member", "register", "runtime_of", "tenant_of_request", "who_of"]


def runtime_of(context: BoltContext) -> Runtime:
    return context["runtime"]


def who_of(context: BoltContext) -> Who:
    """The member behind the request (set by `first_contact`; a request without one never gets here)."""
    return context["who"]


def forget_member(context: BoltContext, user_id: str) -> None:
    """A member's role changed: this process reads them afresh on their next request at once (the
    others when they hear the change)."""
    contacts: FirstContact | None = context.get("contacts")
    if contacts is not None:
        contacts.forget(who_of(context).ws_id, user_id)


def tenant_of_request(context: BoltContext) -> Tenant:
    return context["tenant"]


class FirstContact:
    """Members met so far (cached a minute), enrolled on their first request."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._cache: dict[tuple[str, str], tuple[float, Who]] = {}
        self._naming: set[str] = set()
        self._lock = threading.Lock()
        runtime.member_changes.subscribe(self.forget, self.forget_all)

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
        ttl = _CACHE_TTL_S if self.runtime.member_changes.heard_at_once else _CACHE_TTL_UNHEARD_S
        if hit and now - hit[0] < ttl:
            return hit[1]
        who, unnamed = members.known(self.runtime, team_id, user_id, user_name or None)
        if who is None:
            who, unnamed = members.enrol(self.runtime, team_id, user_id, user_name)
        if unnamed and team_name is not None:
            self._name_later(who.ws_id, team_id, team_name)
        with self._lock:
            self._cache[key] = (now, who)
        return who

    def forget(self, ws_id: int, user_id: str) -> None:
        """Read the member afresh on their next request (their role changed)."""
        with self._lock:
            for key in [k for k, (_, who) in self._cache.items() if k[1] == user_id and who.ws_id == ws_id]:
                del self._cache[key]

    def forget_all(self) -> None:
        with self._lock:
            self._cache.clear()

    def known(self, team_id: str, user_id: str) -> Who | None:
        """A member already on record (never created here)."""
        return members.known(self.runtime, team_id, user_id)[0]

    def _name_later(self, ws_id: int, team_id: str, team_name: Callable[[], str | None]) -> None:
        with self._lock:
            if team_id in self._naming:
                return  # already being asked
            self._naming.add(team_id)
        threading.Thread(
            target=self._name, args=(ws_id, team_id, team_name), name="workspace-name", daemon=True
        ).start()

    def _name(self, ws_id: int, team_id: str, team_name: Callable[[], str | None]) -> None:
        try:
            name = team_name()
            if name:
                members.name_workspace(self.runtime, ws_id, team_id, name)
        except Exception as exc:  # Slack or the database may be away; asked again later
            log.warning("could not name the workspace after its Slack team: %s", exc)
        finally:
            with self._lock:
                self._naming.discard(team_id)


def _user(body: dict[str, Any]) -> tuple[str | None, str]:
    """(user id, user name) from a command, an interactive payload or an event."""
    if "command" in body:
        return body.get("user_id"), body.get("user_name", "")
    user = body.get("user") or {}
    if isinstance(user, dict) and user.get("id"):
        return user["id"], user.get("name") or user.get("username", "")
    event = body.get("event") or {}
    return (event.get("user") if isinstance(event, dict) else None), ""


def provide_runtime(
    context: BoltContext, next: Callable[[], BoltResponse], runtime: Runtime
) -> BoltResponse | None:  # noqa: A002
    context["runtime"] = runtime
    return next()


def first_delivery(body: dict[str, Any], context: BoltContext) -> bool:
    """False for a retry of an event already handled (Slack sends one again when it thinks the first
    went unanswered). Event listeners ask it first thing: they run after the acknowledgement, so
    recording the event id never delays it."""
    event_id = body.get("event_id")
    return not event_id or first_time(runtime_of(context).db, f"event:{event_id}")


def first_contact(
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Any,
    next: Callable[[], BoltResponse],  # noqa: A002
    contacts: FirstContact,
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
        team_name = partial(_team_name, client, tenant.team_id)
        context["who"] = contacts.who(tenant.team_id, user_id, str(user_name or ""), team_name)
    context["tenant"] = tenant
    context["contacts"] = contacts
    return next()


def _team_name(client: WebClient, team_id: str) -> str | None:
    return client.team_info(team=team_id)["team"]["name"]


def register(app: App, runtime: Runtime) -> None:
    """The runtime first (keyword-bound: Bolt passes only the arguments it knows by name)."""
    app.middleware(partial(provide_runtime, runtime=runtime))
    app.middleware(partial(first_contact, contacts=FirstContact(runtime)))
