"""Job lifecycle use cases on both databases: create, edit, find, list, delete, restore."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import Conflict, InvalidInput, NotFound
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event, for_job
from pipeline.jobs.workspaces import ensure_workspace
from storage.db import Database
from storage.models import ActivityEvent, Job, Workspace

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def new_job(db: Database, ws_id: int, actor: Actor, **fields: object) -> Job:
    data = {"customer_name": "Rebecca Stone", "customer_email": "rebecca@lakeside.org", **fields}
    with db.session() as s:
        return jobs.create_job(s, s.get(Workspace, ws_id), actor, now=NOW, **data)


def test_create_numbers_from_1001_and_logs(db: Database, ws_id: int, owner: Actor) -> None:
    a = new_job(db, ws_id, owner, reference="PO-77", due_date="2026-12-14", notes="brass, same as last year")
    b = new_job(db, ws_id, owner)
    assert (a.ref, b.ref) == ("J-1001", "J-1002")
    with db.read() as s:
        job = jobs.get_job(s, s.get(Workspace, ws_id), "j1001")
        assert job.status == "draft"
        assert job.due_date == date(2026, 12, 14)
        assert job.reference == "PO-77"
        events = for_job(s, job.id)
        assert [(e.event_type, e.actor_kind, e.actor_id) for e in events] == [
            (Event.JOB_CREATED, "user", "U_OWNER")
        ]
        assert events[0].details["customer"] == "Rebecca Stone"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"customer_email": ""}, "customer_email"),
        ({"customer_email": "a@b"}, "customer_email"),
        ({"customer_email": "x@y.com; DROP TABLE job;--"}, "customer_email"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_name": "x" * 10_000}, "customer_name"),
        ({"notes": "n" * 10_000}, "notes"),
        ({"reference": "r" * 10_000}, "reference"),
        ({"due_date": "next friday"}, "due_date"),
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"due_date": "2026-11-01"}, "due_date"),  # in the past at creation
        ({"customer_name": "Bell\x07"}, "customer_name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(
    db: Database, ws_id: int, owner: Actor, fields: dict, field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        new_job(db, ws_id, owner, **fields)
    assert field in exc.value.errors
    with db.read() as s:
        assert s.exec(select(Job)).all() == []
        assert s.exec(select(ActivityEvent)).all() == []
        assert s.get(Workspace, ws_id).next_job_number == 1001


def test_sql_metacharacters_and_emoji_are_stored_exactly(db: Database, ws_id: int, owner: Actor) -> None:
    name = "Robert'); DROP TABLE job;-- 🏆 Zoë"
    job = new_job(db, ws_id, owner, customer_name=name, reference="50% off_%", notes="line 1\nline 2 🎉")
    with db.read() as s:
        ws = s.get(Workspace, ws_id)
        again = jobs.get_job(s, ws, job.ref)
        assert again.customer_name == name
        assert again.notes == "line 1\nline 2 🎉"
        # LIKE wildcards typed by a user are matched literally
        assert [r.job.ref for r in jobs.list_jobs(s, ws, search="50%").rows] == [job.ref]
        assert jobs.list_jobs(s, ws, search="5_%").rows == []
        assert [r.job.ref for r in jobs.list_jobs(s, ws, search="zoë").rows] == [job.ref]


def test_job_numbers_are_per_workspace_and_not_visible_across(db: Database, ws_id: int, owner: Actor) -> None:
    new_job(db, ws_id, owner)
    with db.session() as s:
        other = ensure_workspace(s, "T0002", "Other Shop")
        j = jobs.create_job(s, other, owner, customer_name="Other", customer_email="o@x.org")
        assert j.ref == "J-1001"
        other_id = other.id
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        other = s.get(Workspace, other_id)
        assert jobs.get_job(s, ws, "J-1001").customer_name == "Rebecca Stone"
        assert jobs.get_job(s, other, "J-1001").customer_name == "Other"
        with pytest.raises(NotFound):
            jobs.get_job(s, other, "J-1002")
        assert jobs.list_jobs(s, other).total == 1
        with pytest.raises(InvalidInput):
            jobs.get_job(s, ws, "PO-77")


def test_concurrent_creation_is_unique_and_gapless(db: Database, ws_id: int, owner: Actor) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                new_job(db, ws_id, owner)
        except BaseException as exc:  # handed to the test thread, which asserts none
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        numbers = sorted(j.number for j in s.exec(select(Job).where(Job.workspace_id == ws_id)))
    assert numbers == list(range(1001, 1041))


def test_edit_logs_changes_and_refuses_stale_version(db: Database, ws_id: int, owner: Actor) -> None:
    job = new_job(db, ws_id, owner)
    seen_version = job.version
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        edited = jobs.edit_job(s, ws, job.ref, owner, expected_version=seen_version, reference="PO-1")
        assert edited.version == seen_version + 1
    with db.session() as s, pytest.raises(Conflict) as exc:
        jobs.edit_job(s, s.get(Workspace, ws_id), job.ref, owner, expected_version=seen_version, notes="x")
    assert "changed by Olive Owner" in exc.value.message
    with db.read() as s:
        again = jobs.get_job(s, s.get(Workspace, ws_id), job.ref)
        assert (again.reference, again.notes) == ("PO-1", None)
        edits = [e for e in for_job(s, job.id) if e.event_type == Event.JOB_EDITED]
        assert edits[0].details["changes"] == {"reference": {"from": None, "to": "PO-1"}}


def test_edit_with_bad_value_changes_nothing(db: Database, ws_id: int, owner: Actor) -> None:
    job = new_job(db, ws_id, owner)
    with db.session() as s, pytest.raises(InvalidInput) as exc:
        jobs.edit_job(s, s.get(Workspace, ws_id), job.ref, owner, reference="ok", customer_email="nope")
    assert list(exc.value.errors) == ["customer_email"]
    with db.read() as s:
        again = jobs.get_job(s, s.get(Workspace, ws_id), job.ref)
        assert again.reference is None and again.version == job.version


def test_two_editors_at_once_exactly_one_wins(db: Database, ws_id: int, owner: Actor) -> None:
    job = new_job(db, ws_id, owner)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def edit(note: str) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                jobs.edit_job(
                    s, s.get(Workspace, ws_id), job.ref, owner, expected_version=job.version, notes=note
                )
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]


def test_soft_delete_and_restore(db: Database, ws_id: int, owner: Actor) -> None:
    job = new_job(db, ws_id, owner, reference="KEEP")
    with db.session() as s:
        jobs.delete_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with db.read() as s:
        ws = s.get(Workspace, ws_id)
        with pytest.raises(NotFound):
            jobs.get_job(s, ws, job.ref)
        assert jobs.list_jobs(s, ws).total == 0
        assert jobs.list_jobs(s, ws, deleted=True).total == 1
    with db.session() as s:
        jobs.restore_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with db.read() as s:
        again = jobs.get_job(s, s.get(Workspace, ws_id), job.ref)
        assert again.reference == "KEEP"
        kinds = [e.event_type for e in for_job(s, job.id)]
        assert kinds == [Event.JOB_CREATED, Event.JOB_DELETED, Event.JOB_RESTORED]


def test_purge_is_admin_only_and_needs_delete_first(
    db: Database, ws_id: int, owner: Actor, member: Actor
) -> None:
    from pipeline.core.errors import PermissionDenied

    job = new_job(db, ws_id, owner)
    with db.session() as s, pytest.raises(InvalidInput):
        jobs.purge_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with db.session() as s:
        jobs.delete_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with db.session() as s, pytest.raises(PermissionDenied):
        jobs.purge_job(s, s.get(Workspace, ws_id), job.ref, member)
    with db.session() as s:
        jobs.purge_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with db.read() as s:
        assert s.exec(select(Job)).all() == []
        assert [e.event_type for e in s.exec(select(ActivityEvent))] == [Event.JOB_PURGED]


def _seed_for_listing(db: Database, ws_id: int, owner: Actor) -> None:
    rows = [
        ("Maria Gonzalez", "PO-100", "2026-12-20"),
        ("tom whitaker", "SOCCER-24", "2026-11-29"),
        ("Zoë Müller", None, None),
        ("Ana Lúcia Ferreira", "PO-101", "2026-12-01"),
        ("Björn Svensson", "po-200", "2027-01-15"),
    ]
    for i, (name, ref, due) in enumerate(rows):
        with db.session() as s:
            job = jobs.create_job(
                s,
                s.get(Workspace, ws_id),
                owner,
                now=NOW,
                customer_name=name,
                customer_email=f"c{i}@example.com",
                reference=ref,
                due_date=due,
            )
            job.created_at = NOW + timedelta(minutes=i)


def test_list_filter_search_sort_and_paginate(db: Database, ws_id: int, owner: Actor) -> None:
    _seed_for_listing(db, ws_id, owner)
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        j = jobs.get_job(s, ws, "J-1002")
        j.status = "proofing"
        j.preflight_errors = 2
    with db.read() as s:
        ws = s.get(Workspace, ws_id)
        refs = lambda page: [r.job.ref for r in page.rows]  # noqa: E731
        assert refs(jobs.list_jobs(s, ws)) == ["J-1005", "J-1004", "J-1003", "J-1002", "J-1001"]
        assert refs(jobs.list_jobs(s, ws, sort="customer")) == [
            "J-1004",
            "J-1005",
            "J-1001",
            "J-1002",
            "J-1003",
        ]
        assert refs(jobs.list_jobs(s, ws, sort="due")) == ["J-1002", "J-1004", "J-1001", "J-1005", "J-1003"]
        assert refs(jobs.list_jobs(s, ws, search="PO-")) == ["J-1005", "J-1004", "J-1001"]
        assert refs(jobs.list_jobs(s, ws, search="WHIT")) == ["J-1002"]
        assert refs(jobs.list_jobs(s, ws, search="müll")) == ["J-1003"]
        assert refs(jobs.list_jobs(s, ws, search="ana ferreira")) == ["J-1004"]
        assert refs(jobs.list_jobs(s, ws, status="proofing")) == ["J-1002"]
        page = jobs.list_jobs(s, ws, per_page=2, page=3)
        assert (refs(page), page.total, page.pages) == (["J-1001"], 5, 3)
        rows = {r.job.ref: r for r in jobs.list_jobs(s, ws, now=NOW).rows}
        assert rows["J-1002"].has_preflight_errors and rows["J-1002"].urgency == "due_soon"
        assert rows["J-1004"].urgency == "" and rows["J-1003"].urgency == ""
        later = {r.job.ref: r.urgency for r in jobs.list_jobs(s, ws, now=NOW + timedelta(days=3)).rows}
        assert later["J-1002"] == "overdue" and later["J-1004"] == "due_soon"
        for bad in ({"status": "shipped"}, {"sort": "price"}, {"page": 0}, {"per_page": 1000}):
            with pytest.raises(InvalidInput):
                jobs.list_jobs(s, ws, **bad)
