"""Templates, fonts and machine profiles from Slack: everyone may look, only owners and admins change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from pipeline.templates.template import SAMPLES_DIR
from storage.db import Database
from storage.models import Font, MachineProfile, Member
from tests.acceptance.harness import RunningApp, running_app
from tests.acceptance.test_slack_flow import wait_view
from tests.standins.slack_requests import files_value, select_value, text_value

MEMBER = "U0BOB00001"


# the Machine profile window filled in (the colours are wrong on purpose: "red" is not #RRGGBB)
PROFILE_VALUES = {
    "name": {"value": text_value("Glowforge Pro")},
    "units": {"value": select_value("in")},
    "bed_width": {"value": text_value("19.5")},
    "bed_height": {"value": text_value("11")},
    "margin": {"value": text_value("0.25")},
    "gap": {"value": text_value("0.125")},
    "output_format": {"value": select_value("svg")},
    "text_mode": {"value": select_value("curves")},
    "cut_color": {"value": text_value("red")},
    "engrave_color": {"value": text_value("#F00F")},
    "cut_outline": {"value": select_value("yes")},
    "include_artwork": {"value": select_value("no")},
    "item_order": {"value": select_value("name")},
}


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Any:
    with running_app(db, tmp_path / "data") as running:
        running.slack.slash_command("/job", "help")  # the first person in is the owner
        yield running


def test_everyone_lists_and_shows_members_get_a_polite_refusal(app: RunningApp, db: Database) -> None:
    listing = app.slack.slash_command("/template", "list", user_id=MEMBER, user_name="bob")
    assert "badge" in listing.text and "trophy-plate" in listing.text and "plaque" in listing.text
    shown = app.slack.slash_command("/template", "show plaque", user_id=MEMBER, user_name="bob")
    assert "citation" in shown.text
    for words in ("import", "font", "profile CO2 600×400"):
        refused = app.slack.slash_command("/template", words, user_id=MEMBER, user_name="bob")
        assert "Sorry" in refused.text and refused.json()["response_type"] == "ephemeral", words
    with db.read() as s:
        roles = {m.slack_user_id: m.role for m in s.exec(select(Member))}
    assert roles[MEMBER] == "member" and "owner" in roles.values()
    assert app.fake.calls("views.open") == []


def test_owner_imports_a_template_and_gets_field_errors(app: RunningApp) -> None:
    app.slack.slash_command("/template", "import")
    opened = wait_view(app, "template_import")
    bad = app.fake.add_file("bad.toml", b'key = "x"\nname = "X"\nwidth = -1\nheight = 1\n')
    resp = app.slack.view_submission(
        "template_import", values={"file": {"value": files_value(bad)}}, view={"id": opened["id"]}
    )
    assert resp.json()["response_action"] == "errors" and "width" in resp.json()["errors"]["file"]
    source = (SAMPLES_DIR / "badge.toml").read_text().replace('key = "badge"', 'key = "badge-2"')
    good = app.fake.add_file("badge-2.toml", source.encode())
    art = app.fake.add_file("badge-border.svg", (SAMPLES_DIR / "artwork" / "badge-border.svg").read_bytes())
    resp = app.slack.view_submission(
        "template_import",
        view={"id": opened["id"]},
        values={"file": {"value": files_value(good)}, "artwork": {"value": files_value(art)}},
    )
    assert resp.json()["response_action"] == "update", resp.text
    assert "badge-2" in json.dumps(resp.json()["view"])
    assert "badge-2" in app.slack.slash_command("/template", "list").text


def test_owner_uploads_a_font_and_a_text_file_is_refused(app: RunningApp, db: Database) -> None:
    app.slack.slash_command("/template", "font")
    opened = wait_view(app, "font_upload")
    fake_font = app.fake.add_file("Fancy.ttf", b"this is not a font at all" * 10)
    resp = app.slack.view_submission(
        "font_upload", values={"font": {"value": files_value(fake_font)}}, view={"id": opened["id"]}
    )
    assert resp.json()["response_action"] == "errors" and "font" in resp.json()["errors"]
    real = (
        Path(__file__).resolve().parents[2]
        / "pipeline"
        / "assets"
        / "fonts"
        / "dejavu"
        / "DejaVuSerif-Bold.ttf"
    )
    font = app.fake.add_file("DejaVuSerif-Bold.ttf", real.read_bytes())
    resp = app.slack.view_submission(
        "font_upload", values={"font": {"value": files_value(font)}}, view={"id": opened["id"]}
    )
    assert resp.json()["response_action"] == "update", resp.text
    with db.read() as s:
        fonts = s.exec(select(Font)).all()
    assert [(f.family, f.weight) for f in fonts] == [("DejaVu Serif", "bold")]
    assert "DejaVu Serif" in app.slack.slash_command("/template", "fonts").text


def test_owner_adds_a_machine_profile_and_bad_colours_are_named(app: RunningApp, db: Database) -> None:
    app.slack.slash_command("/template", "profile")
    opened = wait_view(app, "profile_edit")
    values = dict(PROFILE_VALUES)
    resp = app.slack.view_submission(
        "profile_edit", values=values, private_metadata=opened["private_metadata"], view={"id": opened["id"]}
    )
    errors = resp.json()["errors"]
    assert set(errors) == {"cut_color", "engrave_color"}
    values["cut_color"] = {"value": text_value("#ff0000")}
    values["engrave_color"] = {"value": text_value("#0000FF")}
    resp = app.slack.view_submission(
        "profile_edit", values=values, private_metadata=opened["private_metadata"], view={"id": opened["id"]}
    )
    assert resp.json()["response_action"] == "update", resp.text
    with db.read() as s:
        row = s.exec(select(MachineProfile).where(MachineProfile.name == "Glowforge Pro")).one()
    assert (row.units, round(row.bed_width_mm, 2), row.cut_color, row.include_artwork) == (
        "in",
        495.3,
        "#FF0000",
        False,
    )
    assert "Glowforge Pro" in app.slack.slash_command("/template", "profiles").text


def test_export_sends_the_template_file_as_a_direct_message(app: RunningApp) -> None:
    resp = app.slack.slash_command("/template", "export badge", user_id=MEMBER, user_name="bob")
    assert "direct message" in resp.text
    app.settle()
    files = {f.name: f for f in app.fake.uploaded_files()}
    assert b'key = "badge"' in files["badge.toml"].content
    assert files["badge-border.svg"].content.startswith(b"<")


def test_admin_sets_the_production_channel_where_they_type(app: RunningApp, db: Database) -> None:
    from storage.models import Workspace

    refused = app.slack.slash_command(
        "/job", "channel", user_id=MEMBER, user_name="bob", channel_id="C0SHOP0002"
    )
    assert "owner or admin" in refused.text and refused.json()["response_type"] == "ephemeral"
    in_dm = app.slack.slash_command("/job", "channel", channel_id="D0DIRECT01")
    assert "in the channel where job cards should go" in in_dm.text
    done = app.slack.slash_command("/job", "channel", channel_id="C0SHOP0002")
    assert "<#C0SHOP0002>" in done.text
    with db.read() as s:
        assert [w.production_channel for w in s.exec(select(Workspace))] == ["C0SHOP0002"]
