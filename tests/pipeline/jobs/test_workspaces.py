"""Workspaces and members are created on first contact; the first member is the owner."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from pipeline.core.errors import InvalidInput, PermissionDenied
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace, set_role, update_settings
from storage.db import Database
from storage.models import Member, Workspace


def test_first_member_is_owner_later_ones_members(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "TNEW", "New Shop")
        first = ensure_member(s, ws, "U1", "First")
        second = ensure_member(s, ws, "U2", "Second")
        again = ensure_member(s, ws, "U1", "First Renamed")
        assert (first.role, second.role) == ("owner", "member")
        assert again.id == first.id and again.display_name == "First Renamed"
        assert ensure_workspace(s, "TNEW").id == ws.id


def test_simultaneous_first_contact_makes_one_workspace_and_one_owner(db: Database) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def contact(user: str) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                ws = ensure_workspace(s, "TRACE", "Race Shop")
                ensure_member(s, ws, user, user)
        except BaseException as exc:  # handed to the test thread, which asserts none
            errors.append(exc)

    threads = [threading.Thread(target=contact, args=(f"U{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        assert len(s.exec(select(Workspace).where(Workspace.slack_team_id == "TRACE")).all()) == 1
        roles = [m.role for m in s.exec(select(Member))]
    assert sorted(roles) == ["member"] * 5 + ["owner"]


def test_settings_are_validated_and_admin_only(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "TSET", "Shop")
        owner = actor_for(ensure_member(s, ws, "U1"))
        member = actor_for(ensure_member(s, ws, "U2"))
        with pytest.raises(PermissionDenied):
            update_settings(s, ws, member, cut_color="#00FF00")
        with pytest.raises(InvalidInput) as exc:
            update_settings(
                s,
                ws,
                owner,
                cut_color="red",
                engrave_color="#F00F",
                timezone="Mars/Base",
                digest_time="25:99",
                due_soon_days=-1,
            )
        assert set(exc.value.errors) == {
            "cut_color",
            "engrave_color",
            "timezone",
            "digest_time",
            "due_soon_days",
        }
        assert ws.cut_color == "#FF0000"
        update_settings(s, ws, owner, cut_color="#00ff00", timezone="Europe/Berlin", digest_time="7:05")
        assert (ws.cut_color, ws.timezone, ws.digest_time) == ("#00FF00", "Europe/Berlin", "07:05")
        with pytest.raises(PermissionDenied):
            set_role(s, ws, member, "U2", "admin")
        assert set_role(s, ws, owner, "U2", "admin").role == "admin"
