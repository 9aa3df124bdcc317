"""The installable Slack app over real HTTP: two workspaces install it through /slack/install, Slack's
authorization page (the stand-in) and /slack/oauth_redirect; each becomes its own shop, and every Slack
call about a workspace (answering its requests, posting its cards from the sender) carries that
workspace's own token. Uninstalling or revoking the token pauses the workspace (said in the log), and
installing again resumes it; a rotating token is renewed before it expires. No secret reaches the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import select

from bot.installations import manifest_scopes
from pipeline.core import logs
from pipeline.services import jobs as job_service
from pipeline.services import members
from storage.db import Database
from storage.models import Job, Member, Role, Workspace
from storage.slack_installs import SLACK_BOTS, SLACK_OAUTH_STATES
from tests.acceptance.installable import (
    CLIENT_ID,
    CLIENT_SECRET,
    STATE_SECRET,
    InstallableApp,
    authorize_link,
    link_params,
    running_installable_app,
)
from tests.standins.slack_requests import date_value, text_value

SHOPS = {
    "T0LAKE0001": ("Lakeside Trophies", "lakeside", "C0LAKE0001", "U0LAKEOWN1"),
    "T0HILL0002": ("Hillcrest Awards", "hillcrest", "C0HILL0002", "U0HILLOWN2"),
}
LAKE, HILL = SHOPS


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Iterator[InstallableApp]:
    with running_installable_app(db, tmp_path / "data") as running:
        for team, (name, domain, channel, owner) in SHOPS.items():
            running.fake.add_team(team, name, domain)
            running.fake.add_channel(channel, f"{domain}-production", team_id=team)
            running.fake.add_user(owner, f"owner-{domain}", team_id=team)
        yield running


def install(app: InstallableApp, team: str) -> str:
    """Install into `team` as its owner; returns the bot token Slack issued."""
    done = app.install(team, SHOPS[team][3])
    assert done.status_code == 200, done.text
    assert "CraftStage is installed" in done.text and SHOPS[team][0] in done.text
    return app.fake.tokens_of(team)[-1].token


def set_channel(app: InstallableApp, team: str) -> None:
    _, domain, channel, owner = SHOPS[team]
    resp = app.slack.slash_command(
        "/job", "channel", team_id=team, team_domain=domain, channel_id=channel, user_id=owner
    )
    assert resp.status_code == 200, resp.text
    assert "production channel" in resp.text.lower(), resp.text


def new_job(app: InstallableApp, team: str, customer: str, due: str | None = None) -> None:
    """/job new and its window, as the workspace's owner."""
    _, domain, channel, owner = SHOPS[team]
    resp = app.slack.slash_command(
        "/job", "new", team_id=team, team_domain=domain, channel_id=channel, user_id=owner
    )
    assert resp.status_code == 200, resp.text
    opened = app.fake.wait_until(
        lambda: next((v for v in reversed(app.fake.views()) if v.get("callback_id") == "job_new"), None),
        what="the New job window",
    )
    values = {
        "customer_name": {"value": text_value(customer)},
        "customer_email": {"value": text_value("orders@customer.example")},
        "reference": {"value": text_value(None)},
        "due_date": {"value": date_value(due)},
        "notes": {"value": text_value(None)},
    }
    resp = app.slack.view_submission(
        "job_new",
        values=values,
        private_metadata=opened["private_metadata"],
        view={"id": opened["id"]},
        team_id=team,
        user_id=owner,
    )
    assert resp.status_code == 200 and "errors" not in resp.text, resp.text


def cards(app: InstallableApp, team: str) -> list[str]:
    return [m.get("text") or "" for m in app.fake.messages(SHOPS[team][2]) if "thread_ts" not in m]


def api_calls(app: InstallableApp, since: int = 0) -> list[Any]:
    return [
        c for c in app.fake.calls()[since:] if c.path.startswith("/api/") and c.method != "oauth.v2.access"
    ]


def test_two_workspaces_install_and_each_call_carries_its_own_token(
    app: InstallableApp, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("DEBUG", [CLIENT_SECRET, STATE_SECRET])  # as `serve` does, at its most talkative
    try:
        shown = httpx.get(f"{app.url}/slack/install", timeout=10)
        link = authorize_link(shown.text)
        assert "Add to Slack" in shown.text
        assert link.startswith(f"{app.fake.root_url}/oauth/v2/authorize?")
        params = link_params(link)
        assert params["client_id"] == [CLIENT_ID]
        assert params["scope"] == [",".join(manifest_scopes())]
        assert params["redirect_uri"] == [f"{app.url}/slack/oauth_redirect"]
        assert params["state"][0]

        tokens = {team: install(app, team) for team in SHOPS}
        assert tokens[LAKE] != tokens[HILL]
        with db.read() as s:
            for team, (name, _, _, owner) in SHOPS.items():
                ws = s.exec(select(Workspace).where(Workspace.slack_team_id == team)).one()
                assert ws.name == name
                installer = s.exec(select(Member).where(Member.workspace_id == ws.id)).one()
                assert (installer.slack_user_id, installer.role) == (owner, Role.OWNER)

        for team in SHOPS:
            set_channel(app, team)
            new_job(app, team, f"Customer of {SHOPS[team][0]}")
            assert app.slack.app_home_opened(SHOPS[team][3], team=team).status_code == 200
        app.settle()
        for team in SHOPS:
            assert [c for c in cards(app, team) if c.startswith("J-1001")], cards(app, team)
        homes = app.fake.wait_for("views.publish", count=2)
        assert {(c.params["user_id"], c.token) for c in homes} == {
            (SHOPS[team][3], tokens[team]) for team in SHOPS
        }

        calls = api_calls(app)
        assert calls and {c.token for c in calls} == set(tokens.values())
        by_channel = {SHOPS[team][2]: tokens[team] for team in SHOPS}
        posts = [c for c in calls if c.params.get("channel") in by_channel]
        assert {c.method for c in posts} >= {"chat.postMessage", "chat.update"}
        assert all(c.token == by_channel[c.params["channel"]] for c in posts)
        for team in SHOPS:  # each workspace's window opened with its own token
            opened = [c for c in calls if c.method == "views.open" and c.token == tokens[team]]
            assert len(opened) == 1
    finally:
        err = capsys.readouterr().err
        root.handlers[:], level = saved
        root.setLevel(level)
    assert "installed CraftStage" in err
    secrets_seen = [CLIENT_SECRET, STATE_SECRET, *tokens.values()]
    secrets_seen += [r.token for team in SHOPS for r in app.fake.tokens_of(team, live=False)]
    codes = [c.params.get("code") for c in app.fake.calls("oauth.v2.access")]
    assert all(codes) and len(codes) == 2
    for secret in secrets_seen + codes:
        assert secret not in err


def test_uninstall_stops_posting_and_installing_again_resumes(
    app: InstallableApp, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    for team in SHOPS:
        install(app, team)
        set_channel(app, team)
    app.settle()

    bot_users = app.fake.revoke_team(LAKE)  # Slack revokes the tokens, then tells the app
    caplog.set_level(logging.INFO)
    resp = app.slack.event_callback({"type": "app_uninstalled"}, team_id=LAKE)
    assert resp.status_code == 200
    assert bot_users
    # events are acknowledged first and handled right after
    app.fake.wait_until(lambda: "CraftStage was uninstalled" in caplog.text, what="the uninstall logged")
    assert LAKE in caplog.text
    with db.read() as s:
        left = s.execute(sa_select(SLACK_BOTS.c.id).where(SLACK_BOTS.c.team_id == LAKE)).all()
    assert left == []

    # a job made in the paused workspace (not from Slack: its requests are no longer answered)
    before = len(app.fake.calls())
    owner = members.known(app.runtime, LAKE, SHOPS[LAKE][3])[0]
    assert owner is not None
    job_service.create_job(
        app.runtime,
        owner,
        "paused-1",
        {"customer_name": "Waiting Customer", "customer_email": "wait@customer.example"},
    )
    new_job(app, HILL, "Hillcrest Customer")
    app.settle()
    later = api_calls(app, before)
    assert all(c.token == app.fake.tokens_of(HILL)[-1].token for c in later), [c.method for c in later]
    assert not [c for c in later if c.params.get("channel") == SHOPS[LAKE][2]]
    assert [c for c in cards(app, HILL) if "Hillcrest Customer" in c]
    assert "no installation of CraftStage" in caplog.text

    token = install(app, LAKE)  # installing again: the waiting card goes out with the new token
    app.settle()
    assert [c for c in cards(app, LAKE) if "Waiting Customer" in c]
    lake_posts = [c for c in api_calls(app, before) if c.params.get("channel") == SHOPS[LAKE][2]]
    assert lake_posts and all(c.token == token for c in lake_posts)
    assert "posting resumes" in caplog.text


def test_a_revoked_bot_token_pauses_and_a_rotating_token_is_renewed_before_it_expires(
    app: InstallableApp, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    first = install(app, LAKE)
    assert first.startswith("xoxe.xoxb-")
    set_channel(app, LAKE)
    # twelve hours later: the token expires within the renewal window
    soon = datetime.now(UTC) + timedelta(minutes=30)
    app.fake.set_expiry(first, soon.timestamp())
    with db.session() as s:
        s.execute(
            update(SLACK_BOTS)
            .where(SLACK_BOTS.c.team_id == LAKE)
            .values(bot_token_expires_at=soon.replace(tzinfo=None))
        )
    app.installs.forget(LAKE)
    new_job(app, LAKE, "Rotation Customer")
    app.settle()
    refreshes = [
        c for c in app.fake.calls("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1
    renewed = app.fake.tokens_of(LAKE)[-1].token
    assert renewed != first
    with db.read() as s:
        stored = (
            s.execute(sa_select(SLACK_BOTS.c.bot_token).where(SLACK_BOTS.c.team_id == LAKE)).scalars().all()
        )
    assert stored == [renewed]
    posts = [c for c in app.fake.calls("chat.postMessage") if c.params.get("channel") == SHOPS[LAKE][2]]
    assert posts and all(c.token == renewed for c in posts)

    caplog.set_level(logging.INFO)
    bots = app.fake.revoke_team(LAKE)
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": bots}}
    assert app.slack.event_callback(event, team_id=LAKE).status_code == 200
    app.fake.wait_until(lambda: "bot token was revoked" in caplog.text, what="the revocation logged")
    before = len(app.fake.calls())
    owner = members.known(app.runtime, LAKE, SHOPS[LAKE][3])[0]
    assert owner is not None
    job_service.create_job(
        app.runtime,
        owner,
        "after-revoke",
        {"customer_name": "Nobody Posts", "customer_email": "nobody@customer.example"},
    )
    app.settle()
    assert api_calls(app, before) == []
    with db.read() as s:
        waiting = s.exec(select(Job).where(Job.customer_name == "Nobody Posts")).one()
    assert waiting.slack_ts is None


def test_an_install_needs_the_browser_that_started_it_and_a_fresh_state(app: InstallableApp) -> None:
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        page = browser.get(f"{app.url}/slack/install")
        session = app.fake.sign_in(LAKE, SHOPS[LAKE][3])
        back = browser.get(authorize_link(page.text), headers={"Cookie": f"d={session}"}).headers["location"]
        # another browser (no state cookie) cannot finish it
        refused = httpx.get(back, timeout=10)
        assert refused.status_code == 400 and "did not start the installation" in refused.text
        # a state this deployment never issued, with a matching cookie, is refused too
        forged = back.split("state=")[0] + "state=forged.0000"
        refused = browser.get(forged, headers={"Cookie": "slack-app-oauth-state=forged.0000"})
        assert refused.status_code == 401 and "expired or was already used" in refused.text
    assert app.fake.calls("oauth.v2.access") == []
    assert app.fake.tokens_of(LAKE) == []
    # the state issued for the page is the only one stored (a forged one never reached the database)
    with app.runtime.db.read() as s:
        assert len(s.execute(sa_select(SLACK_OAUTH_STATES.c.id)).all()) == 1


def test_the_scheduler_posts_each_workspace_s_alerts_with_its_own_token(
    app: InstallableApp, db: Database
) -> None:
    from bot.scheduler import SchedulerService

    tokens = {team: install(app, team) for team in SHOPS}
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()  # the shops keep UTC
    for team in SHOPS:
        set_channel(app, team)
        new_job(app, team, f"Due customer of {SHOPS[team][0]}", due=tomorrow)
    app.settle()
    app.notifier.stop()  # from here on only the scheduler's own sender posts (as `python app.py scheduler`)
    before = len(app.fake.calls())

    result, sent = SchedulerService(app.runtime).run_once_and_send()
    assert result.total >= 2 and sent >= 2
    alerts = [
        c
        for c in api_calls(app, before)
        if c.method == "chat.postMessage" and "due soon" in str(c.params.get("text"))
    ]
    assert {c.params["channel"] for c in alerts} == {SHOPS[team][2] for team in SHOPS}
    for call in alerts:
        team = next(t for t in SHOPS if SHOPS[t][2] == call.params["channel"])
        assert call.token == tokens[team]


def test_a_client_may_start_only_so_many_installs(app: InstallableApp) -> None:
    from handlers.web.slack_install import INSTALLS_PER_CLIENT

    with httpx.Client(timeout=10) as browser:
        pages = [browser.get(f"{app.url}/slack/install") for _ in range(INSTALLS_PER_CLIENT.limit + 1)]
    assert [p.status_code for p in pages[:-1]] == [200] * INSTALLS_PER_CLIENT.limit
    assert pages[-1].status_code == 429 and int(pages[-1].headers["retry-after"]) > 0
    assert "set-cookie" not in pages[-1].headers  # no state was issued for it
    with app.runtime.db.read() as s:
        assert len(s.execute(sa_select(SLACK_OAUTH_STATES.c.id)).all()) == INSTALLS_PER_CLIENT.limit
