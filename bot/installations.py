"""Which bot token a Slack call uses.

With one `SLACK_BOT_TOKEN` (a shop that self-hosts) every call uses it (`OneToken`). The installable app
(`SLACK_CLIENT_ID`) keeps one installation per workspace in the database, in slack_sdk's installation
store on the app's own engine (`Installations`): every call, whether it answers a request, posts from
the thread sender or comes from the scheduler, uses the token of the workspace it is about. Tokens
rotate: one that expires within `ROTATE_BEFORE_MIN` is renewed with its refresh token first, by one
process at a time per workspace (a PostgreSQL advisory lock), and the renewed token is stored.

A workspace without an installation (never installed, uninstalled, its token revoked) is paused:
nothing is posted to it and what it has waiting stays recorded until it installs the app again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

import yaml
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Select, delete, desc, select, text
from sqlmodel import Session, col

from bot.slack_app import make_client
from pipeline.core.runtime import Runtime
from storage.models import Workspace
from storage.slack_installs import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES

log = logging.getLogger(__name__)

ROTATE_BEFORE_MIN = 120  # renew a rotating token this long before it expires (Bolt's default)
CACHE_S = 30.0  # how long a process trusts the token it read (another may have revoked it meanwhile)
# what Slack answers a call made with a token that no longer works
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "team_access_not_granted",
    }
)
_ROTATION_LOCK = 0x43534F41  # "CSOA"
# renewals under way in this process, per database and workspace (shared by every Installations)
_RENEWING: dict[tuple[str, str], threading.Lock] = {}
_RENEWING_LOCK = threading.Lock()
MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"
STATE_TTL_S = 10 * 60  # an install started this long ago must start again


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes the app asks a workspace for: the manifest's (`oauth_config.scopes.bot`)."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


def authorize_url(api_url: str) -> str:
    """Slack's authorization page beside its Web API (https://slack.com/api/ → …/oauth/v2/authorize), so a
    stand-in Slack named by SLACK_API_URL serves both."""
    return urljoin(api_url, "../oauth/v2/authorize")


class SignedStateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy state store on the app's database, each state signed with
    SLACK_STATE_SECRET: a state this deployment did not issue is refused before the database is asked,
    and expired states are cleared as new ones are issued."""

    def __init__(self, secret: str, runtime: Runtime, expiration_seconds: int = STATE_TTL_S) -> None:
        super().__init__(expiration_seconds, runtime.db.engine, logger=log)
        self.metadata = SLACK_OAUTH_STATES.metadata
        self.oauth_states = SLACK_OAUTH_STATES
        self._key = hashlib.sha256(b"craftstage-slack-oauth-state:" + secret.encode()).digest()

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def issue(self, *args: Any, **kwargs: Any) -> str:
        now = datetime.now(UTC).replace(tzinfo=None)  # the column holds naive UTC (slack_sdk's choice)
        with self.engine.begin() as conn:
            conn.execute(delete(self.oauth_states).where(self.oauth_states.c.expire_at < now))
        value = super().issue(*args, **kwargs)
        return f"{value}.{self._sign(value)}"

    def consume(self, state: str) -> bool:
        value, _, mac = (state or "").rpartition(".")
        if not value or not hmac.compare_digest(mac.encode(), self._sign(value).encode()):
            log.warning("refused an OAuth state this deployment did not issue")
            return False
        return super().consume(value)


class SlackClients(Protocol):
    """Where the thread sender and the scheduler get the client for a workspace."""

    def for_team(self, team_id: str) -> WebClient | None:
        """A client with the workspace's bot token, or None while the workspace is paused."""

    def paused_workspace_ids(self, session: Session) -> list[int]:
        """Workspaces nothing may be posted to now (their cards, replies and alerts wait)."""

    def refused(self, team_id: str, exc: SlackApiError) -> bool:
        """Slack refused a call: True when the token no longer works (the workspace is paused)."""


class OneToken:
    """`SLACK_BOT_TOKEN`: every workspace the token reaches (one, or an Enterprise Grid organization)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def for_team(self, team_id: str) -> WebClient | None:
        return self.client

    def paused_workspace_ids(self, session: Session) -> list[int]:
        return []

    def refused(self, team_id: str, exc: SlackApiError) -> bool:
        return False  # one token for good: a refusal is retried like any other


def _auth_error(exc: SlackApiError) -> bool:
    return exc.response is not None and exc.response.get("error") in AUTH_ERRORS


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store on the app's engine and tables (storage/slack_installs.py),
    with the lookups this app needs: the newest bot of a team whatever its organization, the teams
    that have one, and removing a team's tokens."""

    def __init__(self, client_id: str, runtime: Runtime) -> None:
        super().__init__(client_id, runtime.db.engine, logger=log)
        self.metadata = SLACK_BOTS.metadata
        self.bots, self.installations = SLACK_BOTS, SLACK_INSTALLATIONS

    def latest_bot(self, team_id: str) -> Bot | None:
        c = self.bots.c
        query = (
            self.bots.select()
            .where(c.client_id == self.client_id, c.team_id == team_id, c.bot_token.is_not(None))
            .order_by(desc(c.installed_at), desc(c.id))
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return self.build_bot_entity(row) if row is not None else None

    def installed_teams(self) -> Select[tuple[str | None]]:
        """A subquery: the team ids that have a bot token."""
        c = self.bots.c
        return select(c.team_id).where(
            c.client_id == self.client_id, c.bot_token.is_not(None), c.team_id.is_not(None)
        )

    def remove_team(self, team_id: str) -> int:
        """Delete every installation and bot token of a team; returns how many bot rows went."""
        with self.engine.begin() as conn:
            for table in (self.installations, self.bots):
                result = conn.execute(
                    delete(table).where(table.c.client_id == self.client_id, table.c.team_id == team_id)
                )
        return result.rowcount or 0


class Installations:
    """The installable app's tokens, one installation per workspace (see the module docstring)."""

    def __init__(self, runtime: Runtime, *, cache_s: float = CACHE_S) -> None:
        settings = runtime.settings
        assert settings.slack_client_id and settings.slack_client_secret, (
            "the installable app is not configured"
        )
        self.runtime = runtime
        self.store = InstallationStore(settings.slack_client_id, runtime)
        self.rotator = TokenRotator(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            client=make_client(runtime),
        )
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Bot | None]] = {}
        self._lock = threading.Lock()
        self._paused: set[str] | None = None  # as last logged by this process

    # tokens ----------------------------------------------------------------------------------------
    def bot(self, team_id: str) -> Bot | None:
        """The workspace's bot (with a token that is not about to expire), or None: not installed."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(team_id)
        if hit is not None and now < hit[0]:
            return hit[1]
        bot = self.store.latest_bot(team_id)
        if bot is not None and _expiring(bot):
            bot = self._rotate(team_id)
        trust = self.cache_s
        if bot is not None and bot.bot_token_expires_at is not None:
            trust = min(trust, bot.bot_token_expires_at - ROTATE_BEFORE_MIN * 60 - time.time())
        with self._lock:
            self._cache[team_id] = (now + max(trust, 0.0), bot)
        return bot

    def for_team(self, team_id: str) -> WebClient | None:
        bot = self.bot(team_id)
        return make_client(self.runtime, token=bot.bot_token) if bot is not None and bot.bot_token else None

    def forget(self, team_id: str) -> None:
        """Read the workspace's token afresh on its next call (installed, removed or refused)."""
        with self._lock:
            self._cache.pop(team_id, None)

    def refused(self, team_id: str, exc: SlackApiError) -> bool:
        if not _auth_error(exc):
            return False
        self.forget(team_id)
        log.warning(
            "Slack refused the bot token of workspace %s (%s): nothing is posted there until it installs "
            "CraftStage again",
            team_id,
            exc.response.get("error"),
        )
        return True

    def _rotate(self, team_id: str) -> Bot | None:
        with self._team_lock(team_id), self._rotation_lock(team_id):
            bot = self.store.latest_bot(team_id)  # another thread or process may have renewed it meanwhile
            if bot is None or not _expiring(bot):
                return bot
            try:
                renewed = self.rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=ROTATE_BEFORE_MIN
                )
            except SlackTokenRotationError as exc:
                error = exc.api_error.response.get("error") if exc.api_error.response is not None else None
                log.warning("could not renew the bot token of workspace %s: %s", team_id, error)
                expired = bot.bot_token_expires_at is not None and bot.bot_token_expires_at <= time.time()
                return None if expired else bot
            if renewed is None:
                return bot
            self.store.save_bot(renewed)
            log.info("renewed the bot token of workspace %s (token rotation)", team_id)
            return renewed

    def _team_lock(self, team_id: str) -> threading.Lock:
        with _RENEWING_LOCK:
            return _RENEWING.setdefault((self.runtime.db.url, team_id), threading.Lock())

    @contextmanager
    def _rotation_lock(self, team_id: str) -> Iterator[None]:
        """One process renews a workspace's token at a time (on SQLite there is only one)."""
        db = self.runtime.db
        if db.is_sqlite:
            yield
            return
        args = {"k": _ROTATION_LOCK, "team": team_id}
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k, hashtext(:team))"), args)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k, hashtext(:team))"), args)
                conn.commit()

    # installs and removals -------------------------------------------------------------------------
    def installed(self, team_id: str, team_name: str | None) -> None:
        self.forget(team_id)
        log.info(
            "Slack workspace %s (%s) installed CraftStage: its own bot token is stored", team_id, team_name
        )

    def removed(self, team_id: str, why: str) -> None:
        """The app was uninstalled or its bot token revoked: forget the tokens, stop posting."""
        gone = self.store.remove_team(team_id)
        self.forget(team_id)
        log.warning(
            "Slack workspace %s: %s; its bot token is deleted (%d stored) and nothing is posted there until "
            "it installs CraftStage again",
            team_id,
            why,
            gone,
        )

    def paused_workspace_ids(self, session: Session) -> list[int]:
        rows = session.execute(
            select(col(Workspace.id), col(Workspace.slack_team_id)).where(
                col(Workspace.slack_team_id).not_in(self.store.installed_teams())
            )
        ).all()
        self._announce({team for _, team in rows})
        return [ws_id for ws_id, _ in rows if ws_id is not None]

    def _announce(self, paused: set[str]) -> None:
        """Log a workspace the first time this process finds it paused, and when it resumes."""
        with self._lock:
            before, self._paused = self._paused, paused
        for team in sorted(paused - (before or set())):
            log.warning(
                "Slack workspace %s has no installation of CraftStage: its posts wait until it installs it",
                team,
            )
        for team in sorted((before or set()) - paused):
            log.info("Slack workspace %s installed CraftStage again: posting resumes", team)


def _expiring(bot: Bot) -> bool:
    expires = bot.bot_token_expires_at
    return expires is not None and expires <= time.time() + ROTATE_BEFORE_MIN * 60


class WorkspaceAuthorize(Authorize):
    """Bolt's authorize for the installable app: the token of the workspace the request comes from."""

    def __init__(self, installs: Installations) -> None:
        super().__init__()
        self.installs = installs

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        bot = self.installs.bot(team_id) if team_id else None
        if bot is None:
            log.warning("a request from Slack workspace %s, which has no installation of CraftStage", team_id)
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def slack_clients(runtime: Runtime, installs: Installations | None = None) -> SlackClients | None:
    """The clients for the configured mode (None when Slack is off)."""
    settings = runtime.settings
    if settings.slack_oauth:
        return installs or Installations(runtime)
    if settings.slack_bot_token is not None:
        return OneToken(make_client(runtime))
    return None
