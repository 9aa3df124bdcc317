"""The workspace of a request comes from Slack's verified context; keys a payload names are scoped."""

from __future__ import annotations

from typing import Any

from handlers.slack.tenancy import NOT_SET_UP, own_view_id, tenant_of
from storage.db import Database
from tests.acceptance.harness import RunningApp
from tests.security import tenant_fixtures
from tests.security.tenant_fixtures import (
    ORG,
    TEAM_B,
    USER_B,
    as_grid,
    job_values,
    jobs_of,
    member_of,
    new_job,
)
from tests.standins.slack_api import DEFAULT_USER_ID, TEAM_ID
from tests.standins.slack_requests import block_actions, view_submission

EVE = "U0EVE00009"

app = tenant_fixtures.app


def test_grid_payload_naming_a_team_outside_the_org_is_refused(app: RunningApp, db: Database) -> None:
    new_job(app, "Bianca Secret", team_id=TEAM_B, user_id=USER_B)  # shop B's J-1001
    assert [j.ref for j in jobs_of(db, TEAM_B)] == ["J-1001"]

    # a person of shop A clicks "show" with team null, naming shop B only in user.team_id
    request = as_grid(block_actions("job_show", "J-1001", team_id=TEAM_B, user_id=EVE, fake=app.fake))
    assert app.slack.send(request).status_code == 200
    app.settle()
    said = str(app.fake.webhook_posts())
    assert "Bianca" not in said and NOT_SET_UP[:40] in said
    assert member_of(db, TEAM_B, EVE) is None  # not silently enrolled

    # nor can the same person create a job there through a window
    sub = as_grid(
        view_submission("job_new", job_values("Mallory"), "{}", team_id=TEAM_B, user_id=EVE, fake=app.fake)
    )
    resp = app.slack.send(sub)
    assert NOT_SET_UP[:40] in resp.text
    assert [j.customer_name for j in jobs_of(db, TEAM_B)] == ["Bianca Secret"]
    assert member_of(db, TEAM_B, EVE) is None


def test_grid_payload_inside_the_org_reaches_the_members_shop(app: RunningApp, db: Database) -> None:
    app.fake.add_team("T0GRID0004", "Grid shop", "grid-shop", enterprise_id=ORG)
    new_job(app, "Gina First", team_id="T0GRID0004", user_id="U0GINA0004")
    sub = view_submission(
        "job_new", job_values("Gina Second"), "{}", team_id="T0GRID0004", user_id="U0GINA0004", fake=app.fake
    )
    resp = app.slack.send(as_grid(sub))
    assert resp.status_code == 200 and resp.json()["view"]["callback_id"] == "job_parse", resp.text
    assert sorted(j.customer_name for j in jobs_of(db, "T0GRID0004")) == ["Gina First", "Gina Second"]
    # a newcomer of that team is not enrolled from an organization payload
    sub = view_submission(
        "job_new", job_values("Nobody"), "{}", team_id="T0GRID0004", user_id="U0NEW00005", fake=app.fake
    )
    assert NOT_SET_UP[:40] in app.slack.send(as_grid(sub)).text
    assert member_of(db, "T0GRID0004", "U0NEW00005") is None


def test_same_view_id_in_two_workspaces_creates_two_jobs(app: RunningApp, db: Database) -> None:
    view = {"id": "V0SAMEVIEW", "hash": "1700000000.same"}
    new_job(app, "Anna", team_id=TEAM_ID, user_id=DEFAULT_USER_ID, view=view)
    new_job(app, "Bianca", team_id=TEAM_B, user_id=USER_B, view=view)
    assert [j.customer_name for j in jobs_of(db, TEAM_ID)] == ["Anna"]
    assert [j.customer_name for j in jobs_of(db, TEAM_B)] == ["Bianca"]
    # a true double submit within one workspace still acts once
    new_job(app, "Bianca", team_id=TEAM_B, user_id=USER_B, view=view)
    assert len(jobs_of(db, TEAM_B)) == 1


def test_view_ids_and_team_resolution_rules() -> None:
    view: dict[str, Any] = {"id": "V1", "team_id": TEAM_B, "app_installed_team_id": TEAM_B}
    assert own_view_id(view, TEAM_B) == "V1"
    assert own_view_id(view, TEAM_ID) is None
    # events: the installation Slack delivered to wins over a team named in the body
    body = {"team_id": TEAM_ID, "authorizations": [{"team_id": TEAM_ID, "enterprise_id": None}]}
    assert tenant_of(body, TEAM_ID, None, None).team_id == TEAM_ID
    assert (
        tenant_of(
            {"team_id": TEAM_B, "authorizations": [{"team_id": TEAM_ID}, {"team_id": "T9"}]}, None, None, None
        )
        is None
    )
    # team null without an organization, or with disagreeing teams: no workspace
    assert tenant_of({"team": None, "user": {"id": "U1", "team_id": TEAM_B}}, TEAM_B, None, None) is None
    grid = {
        "team": None,
        "enterprise": {"id": ORG},
        "user": {"id": "U1", "team_id": TEAM_B},
        "view": {"team_id": TEAM_ID},
    }
    assert tenant_of(grid, None, ORG, None) is None
