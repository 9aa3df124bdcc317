"""Every transition of docs/jobs.md ("Transition table"), allowed and refused, with its guard and
its log entry."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.errors import TransitionRefused
from pipeline.jobs import jobs, lifecycle
from pipeline.jobs.activity import Event, for_job
from storage.db import Database
from storage.models import ActivityEvent, Item, Job, JobStatus, ProofStatus, Workspace, utcnow

S = JobStatus


def make_job(
    db: Database,
    ws_id: int,
    actor: Actor,
    status: str,
    *,
    items: int = 0,
    proof: str = "generated",
    preflight_errors: int | None = 0,
    skipped: bool = False,
) -> int:
    with db.session() as s:
        job = jobs.create_job(s, s.get(Workspace, ws_id), actor, customer_name="C", customer_email="c@x.org")
        job.status = status
        job.approval_skipped = skipped
        if preflight_errors is not None:
            job.preflight_ran_at = utcnow()
            job.preflight_errors = preflight_errors
        for i in range(items):
            s.add(Item(job_id=job.id, position=i, values={"name": f"N{i}"}, proof_status=proof))
        s.flush()
        return job.id


def try_move(db: Database, job_id: int, to: str, actor: Actor, **kw: object) -> Job:
    with db.session() as s:
        return lifecycle.move(s, s.get(Job, job_id), to, actor, **kw)


# (from, to) -> setup that satisfies the guard
GOOD = {
    (S.DRAFT, S.PARSING): {},
    (S.PARSING, S.PROOFING): {"items": 2},
    (S.PARSING, S.DRAFT): {},
    (S.PROOFING, S.PARSING): {"items": 1},
    (S.PROOFING, S.PENDING_APPROVAL): {"items": 2},
    (S.PROOFING, S.PRODUCTION_READY): {"items": 1, "skipped": True},
    (S.PENDING_APPROVAL, S.APPROVED): {"items": 2, "proof": ProofStatus.APPROVED},
    (S.PENDING_APPROVAL, S.PROOFING): {"items": 1},
    (S.APPROVED, S.PRODUCTION_READY): {"items": 1, "proof": ProofStatus.APPROVED},
    (S.APPROVED, S.PROOFING): {"items": 1},
    (S.PRODUCTION_READY, S.PROOFING): {"items": 1},
    (S.EXPORTED, S.PROOFING): {"items": 1},
    (S.PRODUCTION_READY, S.EXPORTED): {"items": 1},
    (S.EXPORTED, S.EXPORTED): {"items": 1},
    (S.EXPORTED, S.COMPLETED): {"items": 1},
    (S.COMPLETED, S.PROOFING): {"items": 1},
}

# (from, to) -> setup that breaks the guard, and words the refusal must contain
BAD = {
    (S.PARSING, S.PROOFING): ({"items": 0}, "no items"),
    (S.PARSING, S.DRAFT): ({"items": 3}, "already has 3 items"),
    (S.PROOFING, S.PENDING_APPROVAL): ({"items": 2, "proof": ProofStatus.PENDING}, "generate proofs first"),
    (S.PROOFING, S.PRODUCTION_READY): ({"items": 1}, "approval is needed"),
    (S.PENDING_APPROVAL, S.APPROVED): ({"items": 2}, "only 0 of 2 items are approved"),
    (S.APPROVED, S.PRODUCTION_READY): ({"items": 1, "preflight_errors": 2}, "preflight has 2 errors"),
    (S.PRODUCTION_READY, S.EXPORTED): ({"items": 1, "preflight_errors": None}, "run preflight first"),
    (S.EXPORTED, S.EXPORTED): ({"items": 1, "preflight_errors": 1}, "preflight has 1 error"),
}


def test_table_matches_product_spec() -> None:
    assert set(GOOD) == set(lifecycle.TRANSITIONS)


@pytest.mark.parametrize(("frm", "to"), sorted(GOOD))
def test_allowed_transition_moves_and_logs(db: Database, ws_id: int, owner: Actor, frm: str, to: str) -> None:
    job_id = make_job(db, ws_id, owner, frm, **GOOD[(frm, to)])
    job = try_move(db, job_id, to, owner)
    assert job.status == to
    with db.read() as s:
        ev = [e for e in for_job(s, job_id) if e.event_type == Event.STATUS_CHANGED][-1]
        assert (ev.details["from"], ev.details["to"], ev.actor_id) == (frm, to, "U_OWNER")
        assert ev.details["reason"] == lifecycle.TRANSITIONS[(frm, to)]


@pytest.mark.parametrize(
    ("frm", "to"),
    [p for p in itertools.product(S.ALL, S.ALL) if p not in lifecycle.TRANSITIONS][::3],
)
def test_moves_outside_the_table_are_refused(
    db: Database, ws_id: int, owner: Actor, frm: str, to: str
) -> None:
    job_id = make_job(db, ws_id, owner, frm, items=1)
    with pytest.raises(TransitionRefused) as exc:
        try_move(db, job_id, to, owner)
    assert f"can't move from {frm} to {to}" in exc.value.message
    assert "can next go to" in exc.value.message
    _assert_unchanged(db, job_id, frm)


def test_every_pair_is_either_in_the_table_or_refused(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        job = s.get(Job, make_job(db, ws_id, owner, S.DRAFT, items=1))
        for frm, to in itertools.product(S.ALL, S.ALL):
            job.status = frm
            why = lifecycle.check(s, job, to, owner)
            if (frm, to) not in lifecycle.TRANSITIONS:
                assert why and "can next go to" in why, (frm, to)


@pytest.mark.parametrize(("frm", "to"), sorted(BAD))
def test_guards_refuse_with_what_is_missing(
    db: Database, ws_id: int, owner: Actor, frm: str, to: str
) -> None:
    setup, words = BAD[(frm, to)]
    job_id = make_job(db, ws_id, owner, frm, **setup)
    with pytest.raises(TransitionRefused) as exc:
        try_move(db, job_id, to, owner)
    assert words in exc.value.message
    _assert_unchanged(db, job_id, frm)


def test_reopening_completed_job_needs_an_admin(
    db: Database, ws_id: int, owner: Actor, member: Actor
) -> None:
    job_id = make_job(db, ws_id, owner, S.COMPLETED, items=1)
    with pytest.raises(TransitionRefused, match="only an owner or admin"):
        try_move(db, job_id, S.PROOFING, member)
    assert try_move(db, job_id, S.PROOFING, owner).status == S.PROOFING


def test_unknown_status_and_deleted_job_are_refused(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = make_job(db, ws_id, owner, S.DRAFT)
    with pytest.raises(TransitionRefused, match="'shipped' is not a status"):
        try_move(db, job_id, "shipped", owner)
    with db.session() as s:
        job = s.get(Job, job_id)
        jobs.delete_job(s, s.get(Workspace, ws_id), job.ref, owner)
    with pytest.raises(TransitionRefused, match="restore it first"):
        try_move(db, job_id, S.PARSING, owner)


def test_system_actor_is_recorded(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = make_job(db, ws_id, owner, S.APPROVED, items=1, proof=ProofStatus.APPROVED)
    try_move(db, job_id, S.PRODUCTION_READY, SYSTEM)
    with db.read() as s:
        ev = s.exec(select(ActivityEvent).where(ActivityEvent.job_id == job_id).order_by("id")).all()[-1]
        assert (ev.actor_kind, ev.actor_display) == ("system", "CraftStage")


def _assert_unchanged(db: Database, job_id: int, status: str) -> None:
    with db.read() as s:
        assert s.get(Job, job_id).status == status
        moves = [e for e in for_job(s, job_id) if e.event_type == Event.STATUS_CHANGED]
        assert moves == []
