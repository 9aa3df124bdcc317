"""The default channel (CRAFTSTAGE_CHANNEL) serves only the workspace that owns it."""

from __future__ import annotations

from sqlmodel import select

from bot.channels import PICK_A_CHANNEL
from storage.db import Database
from storage.models import Workspace
from tests.acceptance.harness import RunningApp
from tests.security import tenant_fixtures
from tests.security.tenant_fixtures import TEAM_B, TEAM_C, USER_B, USER_C, new_job
from tests.standins.slack_api import DEFAULT_USER_ID, PRODUCTION_CHANNEL_ID, TEAM_ID

app = tenant_fixtures.app


def posted_in(app: RunningApp, channel: str) -> str:
    return "\n".join(str(m.get("text")) + str(m.get("blocks")) for m in app.fake.messages(channel))


def test_other_workspaces_never_post_to_the_default_channel(app: RunningApp, db: Database) -> None:
    assert app.runtime.settings.channel == PRODUCTION_CHANNEL_ID  # owned by TEAM_ID in the stand-in

    resp_b = new_job(app, "Bianca Secret", team_id=TEAM_B, user_id=USER_B)
    resp_c = new_job(app, "Cosmo Hidden", team_id=TEAM_C, user_id=USER_C)
    resp_a = new_job(app, "Anna Owner", team_id=TEAM_ID, user_id=DEFAULT_USER_ID)
    app.settle()

    default = posted_in(app, PRODUCTION_CHANNEL_ID)
    assert "Anna Owner" in default  # the owner's card goes to its (default) channel
    assert "Bianca Secret" not in default and "Cosmo Hidden" not in default
    assert "shop-b" not in default.lower()

    # the others are told where to set a channel; the owner is not
    for resp in (resp_b, resp_c):
        assert "/job channel" in str(resp.json()["view"]["blocks"])
    assert "/job channel" not in str(resp_a.json()["view"]["blocks"])

    with db.read() as s:
        channels = {w.slack_team_id: w.production_channel for w in s.exec(select(Workspace))}
    assert channels == {TEAM_ID: PRODUCTION_CHANNEL_ID, TEAM_B: None, TEAM_C: None}

    # the answer is kept: later posts do not ask Slack again
    asked = app.fake.call_count("conversations.info")
    new_job(app, "Bianca Again", team_id=TEAM_B, user_id=USER_B)
    new_job(app, "Anna Again", team_id=TEAM_ID, user_id=DEFAULT_USER_ID)
    app.settle()
    assert app.fake.call_count("conversations.info") == asked

    # once shop B picks its own channel, its waiting card goes there (and still not to the default)
    app.fake.add_channel("C0SHOPB001", "b-production", team_id=TEAM_B)
    resp = app.slack.slash_command("/job", "channel", team_id=TEAM_B, user_id=USER_B, channel_id="C0SHOPB001")
    assert resp.status_code == 200
    new_job(app, "Bianca Second", team_id=TEAM_B, user_id=USER_B)
    app.settle()
    assert "Bianca Second" in posted_in(app, "C0SHOPB001")
    assert "Bianca" not in posted_in(app, PRODUCTION_CHANNEL_ID)


def test_home_tab_tells_a_workspace_without_a_channel_to_pick_one(app: RunningApp) -> None:
    new_job(app, "Bianca Secret", team_id=TEAM_B, user_id=USER_B)
    app.settle()
    resp = app.slack.app_home_opened(USER_B, team=TEAM_B)
    assert resp.status_code == 200
    app.fake.wait_until(lambda: app.fake.home_view(USER_B), what="shop B's Home tab")
    assert PICK_A_CHANNEL.split(":")[0] in str(app.fake.home_view(USER_B))
