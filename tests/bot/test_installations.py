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
from pipeline.logs import RedactingFilter
from pipeline.runtime import Runtime
from pipeline.settings import Settings, SettingsError
from pipeline.workers import WorkerPool
from pipeline.workspaces import ensure_workspace
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
