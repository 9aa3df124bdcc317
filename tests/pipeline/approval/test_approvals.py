"""Customer approval use cases (docs/proofs-and-approval.md), on SQLite and PostgreSQL, with real
PNG proofs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import Session, select

from pipeline.approval import decisions, links, offline, page
from pipeline.approval.decisions import AlreadyDecided, ApprovalClosed, StaleProof
from pipeline.approval.links import LinkUnavailable
from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, TransitionRefused
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, for_job
from storage.db import Database
from storage.models import (
    ActivityEvent,
    ApprovalDecision,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    utcnow,
)
from tests.handlers.approval_fixtures import item_ids, new_link, regenerate, seed_job

S = JobStatus
T = TypeVar("T")


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "files"


def _read(db: Database, load: Callable[[Session], T]) -> T:
    """Load inside a read session and detach the rows intact (the read's rollback would expire them)."""
    with db.read() as s:
        result = load(s)
        s.expunge_all()
        return result


def _job(db: Database, job_id: int) -> Job:
    return _read(db, lambda s: s.get(Job, job_id))


def _item(db: Database, item_id: int) -> Item:
    return _read(db, lambda s: s.get(Item, item_id))


def _events(db: Database, job_id: int) -> list[ActivityEvent]:
    return _read(db, lambda s: for_job(s, job_id))


def _decide(db: Database, token: str, item_id: int, version: int, decision: str, note: str | None = None):
    with db.session() as s:
        return decisions.decide(s, token, item_id, version, decision, note)


# ---- links -------------------------------------------------------------------------------------


def test_create_link_stores_only_a_hash_and_moves_to_pending_approval(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    assert len(created.token) >= 43  # token_urlsafe(32): 256 bits
    assert created.url == f"http://test.invalid/approve/{created.token}"
    with db.read() as s:
        link = s.get(ApprovalLink, created.link.id)
        assert link.token_hash == links.hash_token(created.token) != created.token
        assert link.active and link.revoked_at is None
        assert timedelta(days=29, hours=23) < links.as_utc(link.expires_at) - utcnow() <= timedelta(days=30)
        assert s.get(Job, job_id).status == S.PENDING_APPROVAL
    rows = _events(db, job_id)
    generated = [e for e in rows if e.event_type == Event.APPROVAL_LINK_GENERATED]
    assert len(generated) == 1 and generated[0].actor_id == owner.id
    assert all(created.token not in repr(e.details) for e in rows)  # never logged


def test_new_link_replaces_the_old_one(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    first = new_link(db, job_id, owner)
    second = new_link(db, job_id, owner, expires_in_days=None)
    with db.read() as s:
        assert links.resolve(s, first.token) is None
        assert links.resolve(s, second.token).id == second.link.id
        active = s.exec(select(ApprovalLink).where(ApprovalLink.job_id == job_id, ApprovalLink.active)).all()
        assert [link.id for link in active] == [second.link.id]
        assert active[0].expires_at is None
        assert links.active_link(s, s.get(Job, job_id)).id == second.link.id
    assert _job(db, job_id).status == S.PENDING_APPROVAL


def test_create_link_refused_without_proofs_or_with_bad_expiry(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    with db.session() as s:
        s.get(Item, item_ids(db, job_id)[0]).proof_status = ProofStatus.PENDING
    with pytest.raises(TransitionRefused, match="generate proofs first"):
        new_link(db, job_id, owner)
    for bad in (0, -1, 400):
        with pytest.raises(InvalidInput, match="expires_in_days"):
            new_link(db, job_id, owner, expires_in_days=bad)
    with db.read() as s:
        assert s.exec(select(ApprovalLink)).all() == []


def test_url_uses_public_base_url_from_the_environment(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://proofs.example.com/")
    job_id = seed_job(db, ws_id, owner, files_dir)
    with db.session() as s:
        created = links.create_link(s, s.get(Job, job_id), owner)
    assert created.url == f"https://proofs.example.com/approve/{created.token}"


def test_resolve_refuses_tampered_truncated_expired_and_revoked_tokens(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner, expires_in_days=2)
    token = created.token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with db.read() as s:
        assert links.resolve(s, token) is not None
        for bad in (tampered, token[:-5], token[:20], "", "x" * 5000, token + "=", "../" + token, "é" * 43):
            assert links.resolve(s, bad) is None, bad
        assert links.resolve(s, token, now=utcnow() + timedelta(days=3)) is None  # expired
    with db.session() as s:
        links.revoke_link(s, s.get(Job, job_id), owner)
    with db.read() as s:
        assert links.resolve(s, token) is None


def test_revoke_link_returns_the_job_to_proofing(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    with db.session() as s:
        link = links.revoke_link(s, s.get(Job, job_id), owner)
    assert link.id == created.link.id
    with db.read() as s:
        stored = s.get(ApprovalLink, link.id)
        assert not stored.active and stored.revoked_at is not None
    assert _job(db, job_id).status == S.PROOFING
    assert Event.APPROVAL_LINK_REVOKED in [e.event_type for e in _events(db, job_id)]
    with pytest.raises(NotFound, match="no active approval link"), db.session() as s:
        links.revoke_link(s, s.get(Job, job_id), owner)


def test_a_link_of_a_deleted_job_stops_working(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    with db.session() as s:
        s.get(Job, job_id).deleted_at = utcnow()
    with db.read() as s:
        assert links.resolve(s, created.token) is None


# ---- the page's data ---------------------------------------------------------------------------


def test_page_view_is_logged_with_the_customer_once_per_ten_minutes(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, customer="Rebecca Stone")
    created = new_link(db, job_id, owner)
    now = utcnow()
    for minutes, expected in ((0, True), (1, False), (9, False), (11, True), (12, False)):
        with db.session() as s:
            link = links.resolve(s, created.token)
            assert page.page_view(s, link, now=now + timedelta(minutes=minutes)) is expected
    views = [e for e in _events(db, job_id) if e.event_type == Event.APPROVAL_PAGE_VIEWED]
    assert len(views) == 2
    assert {(e.actor_kind, e.actor_display, e.actor_id) for e in views} == {
        ("customer", "Rebecca Stone", f"link:{created.link.id}")
    }


def test_load_page_has_items_in_order_with_current_proofs(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=4, reference=None)
    created = new_link(db, job_id, owner)
    ids = item_ids(db, job_id)
    _decide(db, created.token, ids[1], 1, "change", "Wrong spelling")
    regenerate(db, ids[2], files_dir, name="Zoë Müller-Lüdenscheidt")
    with db.read() as s:
        view = page.load_page(s, links.resolve(s, created.token), files_dir=files_dir)
    assert view.job_ref == f"J-{_job(db, job_id).number}"  # no reference number: the job number
    assert view.shop_name == "Lakeside Trophies" and view.stage == "open"
    assert [i.id for i in view.items] == ids and [i.number for i in view.items] == [1, 2, 3, 4]
    assert [i.state for i in view.items] == ["open", "change_requested", "open", "open"]
    assert view.items[1].note == "Wrong spelling"
    assert view.items[2].proof_version == 2 and view.items[2].png_path.endswith("-v2.png")
    assert view.items[2].values["name"] == "Zoë Müller-Lüdenscheidt"
    assert view.items[0].png_size == (750, 225)
    assert (view.total, view.decided, len(view.remaining)) == (4, 1, 3)


def test_proof_png_is_served_only_for_items_of_the_links_job(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_a = seed_job(db, ws_id, owner, files_dir)
    job_b = seed_job(db, ws_id, owner, files_dir)
    link_a = new_link(db, job_a, owner)
    a0, b0 = item_ids(db, job_a)[0], item_ids(db, job_b)[0]
    with db.read() as s:
        path = page.proof_png(s, link_a.token, a0, 1)
        assert page.proof_file_path(files_dir, path).is_file()
        assert page.proof_png(s, link_a.token, b0, 1) is None
        assert page.proof_png(s, link_a.token, a0, 2) is None
        assert page.proof_png(s, "nope" * 11, a0, 1) is None


# ---- decisions ---------------------------------------------------------------------------------


def test_approving_every_item_moves_the_job_to_approved_then_production_ready(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=2)
    created = new_link(db, job_id, owner)
    first, second = item_ids(db, job_id)
    result = _decide(db, created.token, first, 1, "approve")
    assert result.job_status == S.PENDING_APPROVAL and result.number == 1
    assert [event for event, _ in result.notices] == [Event.ITEM_APPROVED]
    assert _item(db, first).proof_status == ProofStatus.APPROVED
    result = _decide(db, created.token, second, 1, "approve")
    assert result.job_status == S.PRODUCTION_READY
    assert [event for event, _ in result.notices] == [
        Event.ITEM_APPROVED,
        Event.STATUS_CHANGED,
        Event.STATUS_CHANGED,
    ]
    moves = [
        (e.details["to"], e.actor_kind) for e in _events(db, job_id) if e.event_type == Event.STATUS_CHANGED
    ]
    assert moves[-2:] == [(S.APPROVED, "customer"), (S.PRODUCTION_READY, "system")]
    approvals_logged = [e for e in _events(db, job_id) if e.event_type == Event.ITEM_APPROVED]
    assert [e.actor_kind for e in approvals_logged] == ["customer", "customer"]
    rows = _read(db, lambda s: s.exec(select(ApprovalDecision).order_by(ApprovalDecision.id)).all())
    assert [(r.item_id, r.proof_version, r.decision, r.link_id) for r in rows] == [
        (first, 1, "approved", created.link.id),
        (second, 1, "approved", created.link.id),
    ]


def test_all_approved_with_preflight_errors_stops_at_approved(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=1, preflight_errors=2)
    created = new_link(db, job_id, owner)
    result = _decide(db, created.token, item_ids(db, job_id)[0], 1, "approve")
    assert result.job_status == S.APPROVED


def test_change_request_needs_a_note_and_marks_the_item_for_revision(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    for empty in (None, "", "   \n\t "):
        with pytest.raises(InvalidInput, match="describe the change"):
            _decide(db, created.token, item_id, 1, "change", empty)
    result = _decide(db, created.token, item_id, 1, "change", "  Please use “Dr.” before the name\r\n ")
    assert result.decision == "change_requested"
    item = _item(db, item_id)
    assert item.proof_status == ProofStatus.NEEDS_REVISION
    assert item.change_note == "Please use “Dr.” before the name"
    event, details = result.notices[0]
    assert event == Event.CHANGE_REQUESTED and details["note"] == item.change_note
    logged = [e for e in _events(db, job_id) if e.event_type == Event.CHANGE_REQUESTED]
    assert logged[0].actor_kind == "customer" and logged[0].details["item_number"] == 1
    assert logged[0].details["item_label"] == "1 (Maria Gonzalez, Head Coach)"
    assert _job(db, job_id).status == S.PENDING_APPROVAL


def test_a_100_kb_note_is_refused_not_stored(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    with pytest.raises(InvalidInput, match="102,400 characters long.*under 2,000"):
        _decide(db, created.token, item_id, 1, "change", "x" * 102_400)
    with pytest.raises(InvalidInput, match="2,001 characters"):
        _decide(db, created.token, item_id, 1, "change", "y" * 2001)
    assert _item(db, item_id).proof_status == ProofStatus.GENERATED
    with db.read() as s:
        assert s.exec(select(ApprovalDecision)).all() == []
    _decide(db, created.token, item_id, 1, "change", "z" * 2000)  # the limit itself is fine


def test_html_and_script_in_a_note_are_kept_verbatim_as_text(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    note = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    _decide(db, created.token, item_id, 1, "change", note)
    assert _item(db, item_id).change_note == note  # escaping is the page's job, never lossy storage


def test_a_stale_proof_version_is_refused_with_a_pointer_to_the_new_proof(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    _decide(db, created.token, item_id, 1, "change", "Title should be Head Coach")
    assert regenerate(db, item_id, files_dir, title="Head Coach") == 2
    with pytest.raises(StaleProof, match="now version 2.*look at the new proof") as refused:
        _decide(db, created.token, item_id, 1, "approve")
    assert refused.value.current_version == 2
    with pytest.raises(NotFound):
        _decide(db, created.token, item_id, 7, "approve")  # a version that never existed
    result = _decide(db, created.token, item_id, 2, "approve")  # same link, new proof
    assert result.proof_version == 2
    rows = _read(
        db, lambda s: s.exec(select(ApprovalDecision).where(ApprovalDecision.item_id == item_id)).all()
    )
    assert sorted((r.proof_version, r.decision) for r in rows) == [(1, "change_requested"), (2, "approved")]


def test_a_token_of_job_a_cannot_decide_an_item_of_job_b(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_a = seed_job(db, ws_id, owner, files_dir)
    job_b = seed_job(db, ws_id, owner, files_dir)
    link_a = new_link(db, job_a, owner)
    new_link(db, job_b, owner)
    b_item = item_ids(db, job_b)[0]
    with pytest.raises(NotFound, match="not part of this order") as refused:
        _decide(db, link_a.token, b_item, 1, "approve")
    assert not isinstance(refused.value, LinkUnavailable)
    assert _item(db, b_item).proof_status == ProofStatus.GENERATED
    with pytest.raises(NotFound), db.session() as s:
        decisions.decide(s, link_a.token, 999_999, 1, "approve")


def test_bad_tokens_and_unknown_decisions_are_refused(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    with pytest.raises(LinkUnavailable):
        _decide(db, created.token[:-1], item_id, 1, "approve")
    with pytest.raises(InvalidInput, match="approve or change"):
        _decide(db, created.token, item_id, 1, "maybe")


def test_a_second_decision_on_the_same_proof_is_refused(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    _decide(db, created.token, item_id, 1, "approve")
    with pytest.raises(AlreadyDecided, match="already decided: it was approved"):
        _decide(db, created.token, item_id, 1, "approve")
    with pytest.raises(AlreadyDecided):
        _decide(db, created.token, item_id, 1, "change", "actually no")
    assert _item(db, item_id).proof_status == ProofStatus.APPROVED


@pytest.mark.parametrize("decisions", [("approve", "approve"), ("approve", "change", "approve", "change")])
def test_concurrent_decisions_on_one_item_exactly_one_wins(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, decisions: tuple[str, ...]
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=2)
    created = new_link(db, job_id, owner)
    item_id = item_ids(db, job_id)[0]
    barrier = threading.Barrier(len(decisions))
    outcomes: list[str] = []
    lock = threading.Lock()

    def customer(decision: str) -> None:
        barrier.wait()
        try:
            _decide(db, created.token, item_id, 1, decision, "bigger letters please")
            result = "won"
        except AlreadyDecided as exc:
            result = f"refused: {exc.message}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=customer, args=(d,)) for d in decisions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("won") == 1, outcomes
    assert all(o.startswith("refused: This proof was already decided") for o in outcomes if o != "won")
    with db.read() as s:
        assert len(s.exec(select(ApprovalDecision).where(ApprovalDecision.item_id == item_id)).all()) == 1
    decided = [
        e for e in _events(db, job_id) if e.event_type in (Event.ITEM_APPROVED, Event.CHANGE_REQUESTED)
    ]
    assert len(decided) == 1


def test_concurrent_last_two_approvals_still_finish_the_job(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=2)
    created = new_link(db, job_id, owner)
    ids = item_ids(db, job_id)
    barrier = threading.Barrier(2)

    def approve(item_id: int) -> None:
        barrier.wait()
        _decide(db, created.token, item_id, 1, "approve")

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert _job(db, job_id).status == S.PRODUCTION_READY


def test_decisions_are_refused_while_the_job_is_not_waiting_for_the_customer(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=2)
    created = new_link(db, job_id, owner)
    ids = item_ids(db, job_id)
    with db.session() as s:  # the shop withdraws the request to edit items; the link stays
        lifecycle.move(s, s.get(Job, job_id), S.PROOFING, owner)
    with pytest.raises(ApprovalClosed, match="updating these proofs"):
        _decide(db, created.token, ids[0], 1, "approve")
    with db.read() as s:
        assert page.load_page(s, links.resolve(s, created.token)).stage == "paused"
    with db.session() as s:
        links.resume_link(s, s.get(Job, job_id), owner)
    _decide(db, created.token, ids[0], 1, "approve")
    _decide(db, created.token, ids[1], 1, "approve")
    with pytest.raises(ApprovalClosed, match="already approved"):
        _decide(db, created.token, ids[1], 1, "approve")
    with db.read() as s:
        assert page.load_page(s, links.resolve(s, created.token)).stage == "done"


def test_approve_all_remaining_approves_only_what_the_customer_saw(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=5)
    other_job = seed_job(db, ws_id, owner, files_dir, items=1)
    created = new_link(db, job_id, owner)
    ids = item_ids(db, job_id)
    foreign = item_ids(db, other_job)[0]
    _decide(db, created.token, ids[0], 1, "change", "Bigger")
    shown = {i: 1 for i in ids} | {foreign: 1}
    regenerate(db, ids[4], files_dir)  # replaced after the page was shown
    with db.session() as s:
        result = decisions.approve_all_remaining(s, created.token, shown)
    assert result.approved == ids[1:4] and result.stale == [ids[4]]
    assert result.job_status == S.PENDING_APPROVAL
    assert [e for e, _ in result.notices] == [Event.ITEM_APPROVED]
    assert result.notices[0][1]["count"] == 3 and result.notices[0][1]["item_numbers"] == [2, 3, 4]
    assert result.notices[0][1]["item_label"] == "2, 3 and 4"
    assert _item(db, foreign).proof_status == ProofStatus.GENERATED
    assert _item(db, ids[0]).proof_status == ProofStatus.NEEDS_REVISION
    # the shop fixes item 1; the customer approves everything that is left
    regenerate(db, ids[0], files_dir)
    with db.session() as s:
        result = decisions.approve_all_remaining(s, created.token, {ids[0]: 2, ids[4]: 2})
    assert result.approved == [ids[0], ids[4]] and result.stale == []
    assert result.job_status == S.PRODUCTION_READY
    bulk = [e for e in _events(db, job_id) if e.event_type == Event.ITEM_APPROVED]
    assert [e.details["count"] for e in bulk] == [3, 2] and {e.actor_kind for e in bulk} == {"customer"}


# ---- the shop's side ---------------------------------------------------------------------------


def test_record_offline_approval_by_phone_overrides_an_open_change_request(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=3)
    created = new_link(db, job_id, owner)
    ids = item_ids(db, job_id)
    _decide(db, created.token, ids[0], 1, "approve")
    _decide(db, created.token, ids[1], 1, "change", "Hmm")
    with db.session() as s:
        job = offline.record_offline_approval(s, s.get(Job, job_id), owner, "phone", "Rebecca called at 3pm")
    assert job.status == S.PRODUCTION_READY
    assert {_item(db, i).proof_status for i in ids} == {ProofStatus.APPROVED}
    rows = {r.item_id: r for r in _read(db, lambda s: s.exec(select(ApprovalDecision)).all())}
    assert rows[ids[0]].via == "link"
    assert (rows[ids[1]].decision, rows[ids[1]].via) == ("approved", "phone")
    assert (rows[ids[2]].via, rows[ids[2]].actor) == ("phone", owner.display)
    recorded = [e for e in _events(db, job_id) if e.event_type == Event.APPROVAL_RECORDED]
    assert recorded[0].details["via"] == "phone" and recorded[0].details["item_numbers"] == [2, 3]
    assert recorded[0].actor_kind == "user"


def test_record_offline_approval_by_email_from_proofing_and_bad_input(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, files_dir, items=2, preflight_errors=1)
    with pytest.raises(InvalidInput, match="phone or email"), db.session() as s:
        offline.record_offline_approval(s, s.get(Job, job_id), owner, "fax")
    with pytest.raises(NotFound), db.session() as s:
        offline.record_offline_approval(s, s.get(Job, job_id), owner, "email", item_ids=[999_999])
    ids = item_ids(db, job_id)
    with db.session() as s:
        job = offline.record_offline_approval(s, s.get(Job, job_id), owner, "email", item_ids=[ids[0]])
    assert job.status == S.PROOFING  # one of two: nothing moves yet
    with db.session() as s:
        job = offline.record_offline_approval(s, s.get(Job, job_id), owner, "email")
    assert job.status == S.APPROVED  # preflight has an error: it waits at approved
    with pytest.raises(InvalidInput, match="nothing to approve"), db.session() as s:
        offline.record_offline_approval(s, s.get(Job, job_id), owner, "email")


def test_skip_approval_is_logged_closes_the_link_and_respects_preflight(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    clean = seed_job(db, ws_id, owner, files_dir)
    created = new_link(db, clean, owner)
    with db.session() as s:
        job = offline.skip_approval(s, s.get(Job, clean), owner, "Repeat order, same as last year")
    assert job.status == S.PRODUCTION_READY and job.approval_skipped
    with db.read() as s:
        assert links.resolve(s, created.token) is None
    skipped = [e for e in _events(db, clean) if e.event_type == Event.APPROVAL_SKIPPED]
    assert (
        skipped[0].details["reason"] == "Repeat order, same as last year" and skipped[0].actor_kind == "user"
    )

    blocked = seed_job(db, ws_id, owner, files_dir, preflight_errors=3)
    with db.session() as s:
        job = offline.skip_approval(s, s.get(Job, blocked), owner)
    assert job.status == S.PROOFING and job.approval_skipped
    with pytest.raises(InvalidInput, match="can't be skipped"), db.session() as s:
        offline.skip_approval(s, s.get(Job, clean), owner)


def test_a_failing_notifier_never_breaks_the_customer(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def job_changed(self, job_id: int, event: str, **details: object) -> None:
            raise RuntimeError("slack is down")

    decisions.send_notices(Broken(), 1, [(Event.ITEM_APPROVED, {"item_id": 1})])
    assert "notifier failed" in caplog.text


def test_clean_note_refuses_control_characters_and_normalizes() -> None:
    assert decisions.clean_note("  Zoe\u0308 \r\nline two ", required=True) == "Zoë \nline two"
    with pytest.raises(InvalidInput, match="note"):
        decisions.clean_note("Zoe\x00\x07", required=True)
    assert decisions.clean_note("   ", required=False) is None
