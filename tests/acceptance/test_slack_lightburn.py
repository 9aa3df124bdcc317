"""The Machine profile window sets a LightBurn project's layer settings, over real HTTP with the
Slack stand-in, on SQLite and PostgreSQL: entered in the profile's unit, bad ones named on their
field, shown back when the window opens again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import MachineProfile
from tests.acceptance.harness import RunningApp, running_app
from tests.acceptance.test_slack_admin import PROFILE_VALUES
from tests.acceptance.test_slack_flow import wait_view
from tests.standins.slack_requests import select_value, text_value


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Any:
    with running_app(db, tmp_path / "data") as running:
        running.slack.slash_command("/job", "help")  # the first person in is the owner
        yield running


def _new_view(app: RunningApp, callback_id: str, old_id: str, timeout: float = 20) -> dict[str, Any]:
    """The first window with this callback opened after the one named ``old_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for view in reversed(app.fake.views()):
            if view.get("callback_id") == callback_id and view.get("id") != old_id:
                return view
        time.sleep(0.05)
    raise AssertionError(f"no new view {callback_id}")


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_owner_sets_the_lightburn_layers_in_the_profile_window(app: RunningApp, db: Database) -> None:
    app.slack.slash_command("/template", "profile")
    opened = wait_view(app, "profile_edit")
    assert _block(opened, "engrave_speed")["optional"] is True
    values = {
        **PROFILE_VALUES,
        "output_format": {"value": select_value("lbrn2")},
        "cut_color": {"value": text_value("#FF0000")},
        "engrave_color": {"value": text_value("#000000")},
        "engrave_mode": {"value": select_value("fill")},
        "engrave_speed": {"value": text_value("12")},  # in/s: the profile is in inches
        "engrave_power": {"value": text_value("150")},  # not a percentage
        "engrave_interval": {"value": text_value("0.004")},
        "cut_speed": {"value": text_value("0.4")},
        "cut_power": {"value": text_value("80")},
        "cut_passes": {"value": text_value("2")},
        "score_speed": {"value": text_value("")},
    }
    resp = app.slack.view_submission(
        "profile_edit", values=values, private_metadata=opened["private_metadata"], view={"id": opened["id"]}
    )
    assert set(resp.json()["errors"]) == {"engrave_power"}
    values["engrave_power"] = {"value": text_value("25")}
    resp = app.slack.view_submission(
        "profile_edit", values=values, private_metadata=opened["private_metadata"], view={"id": opened["id"]}
    )
    assert resp.json()["response_action"] == "update", resp.text
    with db.read() as s:
        row = s.exec(select(MachineProfile).where(MachineProfile.name == "Glowforge Pro")).one()
    assert (row.output_format, row.engrave_mode, row.engrave_speed_mm_s, row.engrave_power_pct) == (
        "lbrn2",
        "fill",
        304.8,
        25,
    )
    assert (row.engrave_interval_mm, row.cut_speed_mm_s, row.cut_passes, row.score_speed_mm_s) == (
        0.1016,
        10.16,
        2,
        None,
    )
    listing = app.slack.slash_command("/template", "profiles").json()
    shown = " ".join(b["text"]["text"] for b in listing["blocks"] if b.get("type") == "section")
    assert "laser: engrave 12 in/s 25% every 0.004 in, cut 0.4 in/s 80% ×2" in shown
    # opened again: the settings are shown as entered, in inches
    app.slack.slash_command("/template", "profile Glowforge Pro")
    again = _new_view(app, "profile_edit", opened["id"])
    assert _block(again, "engrave_speed")["element"]["initial_value"] == "12"
    assert _block(again, "cut_passes")["element"]["initial_value"] == "2"
    assert "initial_value" not in _block(again, "score_speed")["element"]
