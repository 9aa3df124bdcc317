"""The installable app's pieces: its settings, the scopes and authorization page it asks for, the signed
OAuth states, the token lookups and the masking of Slack's one-time codes in the log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import update

from bot.installations import (
    Installations,
    OneToken,
    SignedStateStore,
    authorize_url,
    manifest_scopes,
    slack_clients,
)
from pipeline.core.logs import RedactingFilter
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings, SettingsError
from pipeline.core.workers import WorkerPool
from pipeline.jobs.workspaces import ensure_workspace
from storage.db import Database
from storage.slack_installs import SLACK_OAUTH_STATES

OAUTH_ENV = {
    "SLACK_CLIENT_ID": "1000000001.5000000005",
    "SLACK_CLIENT_SECRET": "0123456789abcdef0123456789abcdef",
    "SLACK_STATE_SECRET": "s" * 40,
}


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET, SLACK_STATE_SECRET must be set too"),
        ({**OAUTH_ENV, "SLACK_BOT_TOKEN": "xoxb-1-2-3"}, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set"),
        ({**OAUTH_ENV, "SLACK_STATE_SECRET": "short"}, "SLACK_STATE_SECRET must be at least 32 characters"),
    ],
)
def test_the_installable_app_is_configured_whole_or_not_at_all(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(env)


def test_modes() -> None:
    oauth = Settings.from_env({**OAUTH_ENV, "SLACK_SIGNING_SECRET": "x" * 32})
    assert oauth.slack_oauth and oauth.slack_enabled
    single = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_SIGNING_SECRET": "x" * 32})
    assert not single.slack_oauth and single.slack_enabled


def test_scopes_come_from_the_manifest_and_the_page_sits_beside_the_api() -> None:
    scopes = manifest_scopes()
    assert {"commands", "chat:write", "files:write", "team:read"} <= set(scopes)
    assert authorize_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorize_url("http://127.0.0.1:5000/api/") == "http://127.0.0.1:5000/oauth/v2/authorize"


def _runtime(db: Database, tmp_path: Path, **env: str) -> Runtime:
    settings = Settings(data_dir=tmp_path, **{k.lower(): v for k, v in env.items()})
    return Runtime(settings=settings, db=db, workers=WorkerPool(1))


def test_states_are_signed_single_use_and_expire(db: Database, tmp_path: Path) -> None:
    runtime = _runtime(db, tmp_path, **OAUTH_ENV)
    store = SignedStateStore(OAUTH_ENV["SLACK_STATE_SECRET"], runtime)
    state = store.issue()
    other = SignedStateStore("another deployment's secret " * 2, runtime)
    assert not other.consume(state)  # signed by someone else: refused before the database
    assert store.consume(state)
    assert not store.consume(state)  # used once
    value = store.issue()
    with db.session() as s:
        s.execute(
            update(SLACK_OAUTH_STATES).values(expire_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(1))
        )
    assert not store.consume(value)  # expired
    store.issue()  # issuing clears expired states
    with db.read() as s:
        assert len(s.execute(SLACK_OAUTH_STATES.select()).all()) == 1
    assert not store.consume("no-signature") and not store.consume("")


def test_each_team_s_newest_bot_and_paused_workspaces(db: Database, tmp_path: Path) -> None:
    runtime = _runtime(db, tmp_path, **OAUTH_ENV)
    installs = Installations(runtime, cache_s=0)
    with db.session() as s:
        lake = ensure_workspace(s, "T0LAKE0001", "Lakeside").id
        hill = ensure_workspace(s, "T0HILL0002", "Hillcrest").id
    old = datetime.now(UTC) - timedelta(days=3)
    for when, token in ((old, "xoxb-1-old"), (datetime.now(UTC), "xoxb-1-new")):
        installs.store.save(
            Installation(
                app_id="A1",
                enterprise_id="E1",  # a workspace inside an organization, installed on its own
                team_id="T0LAKE0001",
                bot_token=token,
                bot_id="B1",
                bot_user_id="U0BOT",
                user_id="U1",
                installed_at=when.timestamp(),
            )
        )
    assert installs.for_team("T0LAKE0001").token == "xoxb-1-new"
    assert installs.for_team("T0HILL0002") is None
    with db.read() as s:
        assert installs.paused_workspace_ids(s) == [hill]
    installs.removed("T0LAKE0001", "CraftStage was uninstalled")
    with db.read() as s:
        assert sorted(installs.paused_workspace_ids(s)) == sorted([lake, hill])
    assert installs.for_team("T0LAKE0001") is None


def test_one_token_serves_every_workspace(db: Database, tmp_path: Path) -> None:
    runtime = _runtime(db, tmp_path, SLACK_BOT_TOKEN="xoxb-1-2-3")
    clients = slack_clients(runtime)
    assert isinstance(clients, OneToken) and clients.for_team("T_ANY").token == "xoxb-1-2-3"
    with db.read() as s:
        assert clients.paused_workspace_ids(s) == []
    assert slack_clients(_runtime(db, tmp_path)) is None


def test_slack_s_one_time_codes_are_masked_in_the_log() -> None:
    code = "17965268780001.033318723212.84db256e3abe0cee8ee346b2764a4d7cef18db0a34f70c8a6da37b75a423942f"
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "oauth.v2.access with code: %s", (code,), None
    )
    RedactingFilter().filter(record)
    assert code not in record.msg and "[secret]" in record.msg
    ts = logging.LogRecord("x", logging.INFO, __file__, 1, "posted at 1796526980.000100", (), None)
    RedactingFilter().filter(ts)
    assert ts.msg == "posted at 1796526980.000100"  # message timestamps are not codes


def test_two_copies_renew_an_expiring_token_once(db: Database, tmp_path: Path) -> None:
    """Two running copies (two Installations) meet the same expiring token at once: one renews it with
    the refresh token, the other waits and takes the renewed token (a refresh token works once)."""
    import threading

    from tests.standins.slack_api import FakeSlack

    with FakeSlack() as fake:
        fake.register_app(
            OAUTH_ENV["SLACK_CLIENT_ID"],
            OAUTH_ENV["SLACK_CLIENT_SECRET"],
            redirect_urls=("https://shop.example/slack/oauth_redirect",),
            token_rotation=True,
        )
        fake.add_team("T0LAKE0001", "Lakeside", "lakeside")
        runtime = _runtime(db, tmp_path, **OAUTH_ENV, SLACK_API_URL=fake.base_url)
        first, second = Installations(runtime, cache_s=0), Installations(runtime, cache_s=0)
        answer = fake.web_client(token="").oauth_v2_access(
            client_id=OAUTH_ENV["SLACK_CLIENT_ID"],
            client_secret=OAUTH_ENV["SLACK_CLIENT_SECRET"],
            code=_code(fake),
        )
        soon = datetime.now(UTC) + timedelta(minutes=20)  # inside the renewal window
        first.store.save(
            Installation(
                app_id=answer["app_id"],
                team_id="T0LAKE0001",
                bot_token=answer["access_token"],
                bot_refresh_token=answer["refresh_token"],
                bot_token_expires_at=int(soon.timestamp()),
                bot_id="B1",
                bot_user_id=answer["bot_user_id"],
                user_id="U1",
            )
        )
        tokens: list[str] = []
        start = threading.Barrier(2)

        def use(installs: Installations) -> None:
            start.wait()
            client = installs.for_team("T0LAKE0001")
            tokens.append(client.token if client else "")

        threads = [threading.Thread(target=use, args=(i,)) for i in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        refreshes = [
            c for c in fake.calls("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"
        ]
        assert len(refreshes) == 1 and refreshes[0].ok
        renewed = fake.tokens_of("T0LAKE0001")[-1].token
        assert tokens == [renewed, renewed]


def _code(fake: object) -> str:
    """A code from the stand-in's authorization page, as a browser would bring it back."""
    import httpx

    session = fake.sign_in("T0LAKE0001", "U1")  # type: ignore[attr-defined]
    page = httpx.get(
        f"{fake.root_url}/oauth/v2/authorize",  # type: ignore[attr-defined]
        params={"client_id": OAUTH_ENV["SLACK_CLIENT_ID"], "scope": "commands", "state": "s"},
        headers={"Cookie": f"d={session}"},
    )
    return page.headers["location"].split("code=")[1].split("&")[0]


def test_on_postgresql_a_copy_waits_for_another_process_renewing(db: Database, tmp_path: Path) -> None:
    """Another process holds the workspace's renewal lock and stores the renewed token meanwhile: this
    copy waits for it and then uses that token without renewing again."""
    import threading

    from sqlalchemy import text

    if db.is_sqlite:
        pytest.skip("SQLite serves one process; its renewals are serialized inside it")
    # a renewal here would fail at once (nothing listens there): the test would see no renewed token
    runtime = _runtime(db, tmp_path, **OAUTH_ENV, SLACK_API_URL="http://127.0.0.1:9/api/")
    installs = Installations(runtime, cache_s=0)
    soon = datetime.now(UTC) + timedelta(minutes=20)
    base = {"app_id": "A1", "team_id": "T0LAKE0001", "bot_id": "B1", "bot_user_id": "U0BOT", "user_id": "U1"}
    installs.store.save(
        Installation(
            **base,
            bot_token="xoxe.xoxb-1-old",
            bot_refresh_token="xoxe-1-old",
            bot_token_expires_at=int(soon.timestamp()),
            installed_at=datetime.now(UTC).timestamp(),
        )
    )
    got: list[str | None] = []
    with db.engine.connect() as other:  # the other process
        args = {"k": 0x43534F41, "team": "T0LAKE0001"}
        other.execute(text("SELECT pg_advisory_lock(:k, hashtext(:team))"), args)
        other.commit()
        waiting = threading.Thread(target=lambda: got.append(installs.bot("T0LAKE0001").bot_token))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # blocked on the lock, not renewing
        bot = installs.store.latest_bot("T0LAKE0001")
        bot.bot_token, bot.bot_refresh_token = "xoxe.xoxb-1-renewed", "xoxe-1-renewed"
        bot.bot_token_expires_at = int((datetime.now(UTC) + timedelta(hours=12)).timestamp())
        installs.store.save_bot(bot)
        other.execute(text("SELECT pg_advisory_unlock(:k, hashtext(:team))"), args)
        other.commit()
    waiting.join(timeout=10)
    assert got == ["xoxe.xoxb-1-renewed"]
