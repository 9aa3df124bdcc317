"""Slack's OAuth v2 for the Web API stand-in (mixed into ``FakeSlack``): the authorization page, the
``oauth.v2.access`` exchange of a code for a bot token, token rotation's refresh grant, and revoking a
workspace's tokens (what uninstalling the app does).

What it models, as Slack documents it:

* ``GET /oauth/v2/authorize?client_id&scope&redirect_uri&state[&team]`` is Slack's page where a signed-in
  person allows the app into their workspace. The person is whoever holds the session cookie ``d``
  that ``sign_in(team, user)`` handed out (no cookie: the sign-in page, 200, nothing granted). On
  approval it redirects (302) to ``redirect_uri`` with a one-time ``code`` and the ``state`` given;
  ``deny_next_install()`` makes the person press Cancel (``error=access_denied``). An unknown
  ``client_id`` or a ``redirect_uri`` outside the app's Redirect URLs is refused on the page (400).
* ``oauth.v2.access`` takes the app's credentials as HTTP Basic auth or as ``client_id`` /
  ``client_secret`` arguments. With ``code``: the code must be this app's, unused (a second use answers
  ``invalid_code``) and under 10 minutes old, and ``redirect_uri`` must equal the one the authorization
  used. The answer carries the bot token (``xoxb-…``, or with token rotation ``xoxe.xoxb-1-…`` with
  ``expires_in`` and a ``refresh_token``), ``team``, ``enterprise``, ``authed_user``, ``scope``,
  ``bot_user_id`` and ``app_id``. With ``grant_type=refresh_token``: a new access token and a new
  refresh token; the refresh token used stops working (a second refresh with it answers
  ``invalid_refresh_token``), earlier access tokens keep working until they expire.
* Tokens issued here belong to their workspace: ``auth.test`` names it, ``team.info`` defaults to it,
  and posting into another workspace's channel answers ``channel_not_found``. An expired token answers
  ``token_expired``, a revoked one ``token_revoked``.
"""

from __future__ import annotations

import base64
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CODE_TTL_S = 600
SESSION_COOKIE = "d"


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    app_id: str
    redirect_urls: tuple[str, ...]
    token_rotation: bool
    token_ttl_s: int  # lifetime of a rotating access token (Slack: 12 hours)


@dataclass
class IssuedToken:
    """A token this stand-in handed out, and whose it is."""

    token: str
    team_id: str
    team_name: str
    enterprise_id: str | None
    bot_user_id: str
    bot_id: str
    app_id: str
    scope: str
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class _Code:
    client_id: str
    team_id: str
    user_id: str
    scope: str
    redirect_uri: str | None
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


@dataclass
class _Refresh:
    client_id: str
    team_id: str
    scope: str
    valid: bool = True


class SlackOAuth:
    """The OAuth half of ``FakeSlack``; it uses the host's ``_lock``, ``teams`` and ``_ids``."""

    _lock: Any
    _ids: Any
    teams: dict[str, dict[str, Any]]
    tokens: set[str]

    def _init_oauth(self) -> None:
        self.oauth_apps: dict[str, OAuthApp] = {}
        self.issued: dict[str, IssuedToken] = {}
        self._sessions: dict[str, tuple[str, str]] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._bots: dict[tuple[str, str], tuple[str, str]] = {}  # (app, team) → (bot user id, bot id)
        self._deny_next = False

    # configuration --------------------------------------------------------------------------------
    def register_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_urls: tuple[str, ...] = (),
        token_rotation: bool = False,
        token_ttl_s: int = 12 * 3600,
        app_id: str | None = None,
    ) -> OAuthApp:
        """A distributed Slack app, as configured under Basic Information and OAuth & Permissions."""
        app = OAuthApp(
            client_id=client_id,
            client_secret=client_secret,
            app_id=app_id or f"A0{secrets.token_hex(4).upper()}",
            redirect_urls=redirect_urls,
            token_rotation=token_rotation,
            token_ttl_s=token_ttl_s,
        )
        with self._lock:
            self.oauth_apps[client_id] = app
        return app

    def sign_in(self, team_id: str, user_id: str) -> str:
        """A browser session at Slack for ``user_id`` of ``team_id``: the value of cookie ``d``."""
        session = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[session] = (team_id, user_id)
        return session

    def deny_next_install(self) -> None:
        """The next person on the authorization page presses Cancel."""
        with self._lock:
            self._deny_next = True

    def tokens_of(self, team_id: str, *, live: bool = True) -> list[IssuedToken]:
        """Access tokens issued to a workspace, oldest first (``live``: not revoked, not expired)."""
        now = time.time()
        with self._lock:
            found = [t for t in self.issued.values() if t.team_id == team_id]
        if live:
            found = [t for t in found if not t.revoked and (t.expires_at is None or t.expires_at > now)]
        return found

    def revoke_team(self, team_id: str) -> list[str]:
        """Uninstalling the app: every token of the workspace is revoked (refresh tokens too). Returns
        the bot user ids whose tokens went (the ``tokens_revoked`` event's ``tokens.bot``)."""
        with self._lock:
            bots = sorted(
                {t.bot_user_id for t in self.issued.values() if t.team_id == team_id and not t.revoked}
            )
            for t in self.issued.values():
                if t.team_id == team_id:
                    t.revoked = True
            for r in self._refresh.values():
                if r.team_id == team_id:
                    r.valid = False
        return bots

    def set_expiry(self, token: str, expires_at: float) -> None:
        """Move a rotating token's expiry (time passing, without waiting for it)."""
        with self._lock:
            self.issued[token].expires_at = expires_at

    # the authorization page -----------------------------------------------------------------------
    def _authorize_page(
        self, query: dict[str, str], cookies: dict[str, str]
    ) -> tuple[int, str, dict[str, str]]:
        """(status, HTML body, extra headers) for GET /oauth/v2/authorize."""
        app = self.oauth_apps.get(query.get("client_id", ""))
        if app is None:
            return 400, _page("Invalid client_id parameter"), {}
        redirect_uri = query.get("redirect_uri") or None
        target = redirect_uri or (app.redirect_urls[0] if app.redirect_urls else None)
        if target is None or not _allowed_redirect(target, app.redirect_urls):
            return 400, _page("redirect_uri did not match any configured URIs"), {}
        with self._lock:
            person = self._sessions.get(cookies.get(SESSION_COOKIE, ""))
            if person is None:
                return 200, _page("Sign in to your workspace"), {}
            team_id, user_id = person
            if query.get("team") and query["team"] != team_id:
                return 200, _page("Sign in to the workspace this link is for"), {}
            state = query.get("state", "")
            if self._deny_next:
                self._deny_next = False
                return 302, "", {"Location": _with_query(target, error="access_denied", state=state)}
            # the shape of Slack's codes: two numbers and 64 hex digits
            serial = f"{int(time.time())}{next(self._ids):04d}"
            code = f"{serial}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(32)}"
            self._codes[code] = _Code(app.client_id, team_id, user_id, query.get("scope", ""), redirect_uri)
        return 302, "", {"Location": _with_query(target, code=code, state=state)}

    # oauth.v2.access ------------------------------------------------------------------------------
    def _oauth_v2_access(self, p: dict[str, Any], call: Any) -> dict[str, Any]:
        from tests.standins.slack_api import SlackApiFailure

        client_id, client_secret = _credentials(p, call.headers.get("authorization", ""))
        app = self.oauth_apps.get(client_id or "")
        if app is None:
            raise SlackApiFailure("invalid_client_id")
        if not secrets.compare_digest((client_secret or "").encode(), app.client_secret.encode()):
            raise SlackApiFailure("bad_client_secret")
        grant = p.get("grant_type") or "authorization_code"
        if grant == "refresh_token":
            return self._refresh_grant(app, p)
        if grant != "authorization_code":
            raise SlackApiFailure("invalid_grant_type")
        code = self._codes.get(str(p.get("code") or ""))
        if code is None or code.client_id != app.client_id:
            raise SlackApiFailure("invalid_code")
        if code.used or time.monotonic() - code.issued > CODE_TTL_S:
            raise SlackApiFailure("invalid_code")
        if code.redirect_uri is not None and p.get("redirect_uri") != code.redirect_uri:
            raise SlackApiFailure("bad_redirect_uri")
        code.used = True
        token = self._issue(app, code.team_id, code.scope)
        answer = self._token_answer(app, token)
        answer["authed_user"] = {"id": code.user_id}
        return answer

    def _refresh_grant(self, app: OAuthApp, p: dict[str, Any]) -> dict[str, Any]:
        from tests.standins.slack_api import SlackApiFailure

        old = self._refresh.get(str(p.get("refresh_token") or ""))
        if old is None or not old.valid or old.client_id != app.client_id:
            raise SlackApiFailure("invalid_refresh_token")
        old.valid = False
        token = self._issue(app, old.team_id, old.scope)
        return self._token_answer(app, token)

    def _issue(self, app: OAuthApp, team_id: str, scope: str) -> IssuedToken:
        team = self.teams.get(team_id) or {"name": team_id}
        bot_user, bot_id = self._bots.setdefault(
            (app.app_id, team_id), (f"U0B{secrets.token_hex(4).upper()}", f"B0{secrets.token_hex(4).upper()}")
        )
        n = next(self._ids)
        if app.token_rotation:
            value = f"xoxe.xoxb-1-{secrets.token_urlsafe(40)}"
            expires_at: float | None = time.time() + app.token_ttl_s
        else:
            value = f"xoxb-{1000000000 + n}-{2000000000 + n}-{secrets.token_urlsafe(18)}"
            expires_at = None
        token = IssuedToken(
            token=value,
            team_id=team_id,
            team_name=str(team.get("name", team_id)),
            enterprise_id=team.get("enterprise_id"),
            bot_user_id=bot_user,
            bot_id=bot_id,
            app_id=app.app_id,
            scope=scope,
            expires_at=expires_at,
        )
        self.issued[value] = token
        self.tokens.add(value)
        return token

    def _token_answer(self, app: OAuthApp, token: IssuedToken) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "app_id": app.app_id,
            "authed_user": {"id": None},
            "scope": token.scope,
            "token_type": "bot",
            "access_token": token.token,
            "bot_user_id": token.bot_user_id,
            "team": {"id": token.team_id, "name": token.team_name},
            "enterprise": (
                {"id": token.enterprise_id, "name": f"Org {token.enterprise_id}"}
                if token.enterprise_id
                else None
            ),
            "is_enterprise_install": False,
        }
        if token.expires_at is not None:
            refresh = f"xoxe-1-{secrets.token_urlsafe(40)}"
            self._refresh[refresh] = _Refresh(app.client_id, token.team_id, token.scope)
            answer["refresh_token"] = refresh
            answer["expires_in"] = int(token.expires_at - time.time())
        return answer

    # what the rest of the stand-in asks -----------------------------------------------------------
    def _token_problem(self, token: str) -> str | None:
        """Slack's error for a token it issued that no longer works, else None."""
        issued = self.issued.get(token)
        if issued is None:
            return None
        if issued.revoked:
            return "token_revoked"
        if issued.expires_at is not None and issued.expires_at <= time.time():
            return "token_expired"
        return None

    def _team_of_token(self, token: str | None) -> IssuedToken | None:
        return self.issued.get(token or "")


def _credentials(p: dict[str, Any], authorization: str) -> tuple[str | None, str | None]:
    if authorization.lower().startswith("basic "):
        try:
            pair = base64.b64decode(authorization[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = pair.partition(":")
        return client_id, client_secret
    return p.get("client_id"), p.get("client_secret")


def _allowed_redirect(uri: str, allowed: tuple[str, ...]) -> bool:
    """Slack's rule: the same scheme, host and port as a Redirect URL, and its path or one below it."""
    given = urlsplit(uri)
    for url in allowed:
        ok = urlsplit(url)
        if (given.scheme, given.netloc) == (ok.scheme, ok.netloc) and (
            given.path == ok.path or given.path.startswith(ok.path.rstrip("/") + "/")
        ):
            return True
    return False


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(text: str) -> str:
    return f"<!doctype html><title>Slack</title><p>{html.escape(text)}</p>"
