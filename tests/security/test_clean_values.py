"""Clean values: NUL, lone surrogates and control characters are refused with a field error at every
entry point, flagged in parse results, and never reach a database write; tokens are masked in logs."""

from __future__ import annotations

import io
import logging

import pytest

from pipeline.approval import decisions
from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.core.logs import JsonFormatter, RedactingFilter
from pipeline.intake import items
from pipeline.intake.parsing import parse_order
from pipeline.jobs import jobs
from storage.db import Database
from storage.models import Item, ParseBatch, Workspace
from tests.acceptance.harness import RunningApp
from tests.security import tenant_fixtures
from tests.security.tenant_fixtures import job_values, jobs_of
from tests.standins.slack_api import DEFAULT_USER_ID, TEAM_ID

app = tenant_fixtures.app
BAD = {"NUL": "Bob\x00 Jones", "surrogate": "Bob \ud800Jones", "control": "Bob\x1b[31m Jones"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_new_job_window_refuses_bad_characters(app: RunningApp, db: Database, kind: str) -> None:
    app.slack.slash_command("/job", "help")
    values = job_values(BAD[kind])
    resp = app.slack.view_submission("job_new", values=values, private_metadata="{}")
    body = resp.json()
    assert body["response_action"] == "errors", body
    assert "Customer name contains" in body["errors"]["customer_name"]
    assert jobs_of(db, TEAM_ID) == []


def _job_with_items(db: Database, ws_id: int, owner: Actor, order: str) -> tuple[int, list[int]]:
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        job = jobs.create_job(s, ws, owner, customer_name="Rebecca", customer_email="r@example.com")
        job = items.lock_job(s, job)
        from pipeline.jobs import lifecycle

        lifecycle.move(s, job, "parsing", owner)
        batch = items.parse_into_batch(s, job, owner, parse_order(text=order))
        created = items.accept_batch(s, job, owner, batch.id, acknowledge_all=True)
        return job.id, [i.id for i in created]


def test_parse_results_are_flagged_and_stored_without_nul(db: Database, ws_id: int, owner: Actor) -> None:
    # a NUL and a lone surrogate inside an order: on PostgreSQL neither may reach the JSON write
    job_id, ids = _job_with_items(
        db, ws_id, owner, "name\ttitle\nAlice Smith\tCEO\nCara Lee\tC\ud800FO\nDan Ray\tC\x00EO\n"
    )
    with db.read() as s:
        batch = s.exec(ParseBatch.__table__.select()).first()
        stored = [s.get(Item, i) for i in ids]
    texts = [" ".join(str(v) for v in it.values.values()) for it in stored]
    assert not any("\x00" in t or "\ud800" in t for t in texts)
    flagged = [it for it in batch.items if any("U+0000" in r or "U+D800" in r for r in it["reasons"])]
    assert len(flagged) == 2 and all(it["confidence"] < 0.85 for it in flagged)
    assert any("\ufffd" in t for t in texts)  # shown, not silently dropped


@pytest.mark.parametrize("kind", sorted(BAD))
def test_item_edit_refuses_bad_characters(db: Database, ws_id: int, owner: Actor, kind: str) -> None:
    job_id, ids = _job_with_items(db, ws_id, owner, "Alice Smith\nBob Jones\n")
    with db.session() as s:
        job = s.get(jobs.Job, job_id)
        with pytest.raises(InvalidInput) as exc:
            items.edit_item(s, job, ids[0], owner, {"name": BAD[kind]})
    assert "Name contains" in exc.value.errors["name"]
    with db.read() as s:
        assert s.get(Item, ids[0]).values["name"] == "Alice Smith"


def test_edit_item_window_answers_with_a_field_error(app: RunningApp, db: Database) -> None:
    tenant_fixtures.new_job(app, "Anna", team_id=TEAM_ID, user_id=DEFAULT_USER_ID)
    owner = Actor.user(DEFAULT_USER_ID, "alice", "owner")
    job = jobs_of(db, TEAM_ID)[0]
    with db.session() as s:
        job = items.lock_job(s, s.get(jobs.Job, job.id))
        from pipeline.jobs import lifecycle

        lifecycle.move(s, job, "parsing", owner)
        batch = items.parse_into_batch(s, job, owner, parse_order(text="Alice Smith\n"))
        item_id = items.accept_batch(s, job, owner, batch.id, acknowledge_all=True)[0].id
        ref = job.ref
    from bot.modals import metadata

    resp = app.slack.view_submission(
        "job_edit_item",
        values={"v:name": {"value": {"type": "plain_text_input", "value": "Al\x00ice"}}},
        private_metadata=metadata(job=ref, item=item_id),
    )
    assert resp.json()["response_action"] == "errors", resp.text
    assert "NUL" in resp.json()["errors"]["v:name"]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_approval_change_note_refuses_bad_characters(kind: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        decisions.clean_note(f"Please spell it {BAD[kind]}", required=True)
    assert "Your note contains" in exc.value.errors["note"]
    assert decisions.clean_note("Line one\n\tLine two", required=True) == "Line one\n\tLine two"


TOKENS = [
    "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOp",
    "xoxp-1111111111-2222222222-3333333333-abcdef0123456789",
    "xoxa-2-1111111111-2222222222-abcdef",
    "xoxr-1111111111-2222222222-abcdef",
    "xoxe-1-My0xLTEyMzQ1Njc4OTAtYWJjZGVm",
    "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtYWJjZGVm",
    "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
]


def test_every_token_form_is_masked_in_logs_and_exception_reprs() -> None:
    signing_secret = "8f14e45fceea167a5a36dedd4bea2543"
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter([signing_secret]))
    log = logging.getLogger("craftstage.test.tokens")
    log.addHandler(handler)
    log.propagate = False
    try:
        for token in TOKENS:
            log.warning("slack said %s", {"token": token})
            try:
                raise RuntimeError(f"refresh failed for {token!r}")
            except RuntimeError as exc:
                log.error("oops: %r", exc, exc_info=True)
        log.info("verifying with %s", signing_secret)
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    for token in TOKENS:
        assert token not in text and token[12:] not in text, token
    assert signing_secret not in text
    assert text.count("[secret]") >= 3 * len(TOKENS)
