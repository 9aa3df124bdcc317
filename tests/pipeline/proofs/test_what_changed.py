"""What changed since the customer last looked, on both databases: each proof version keeps the field
values it was drawn from, a new proof of an item the customer had decided on is compared with that
version field by field, the "proofs ready" thread reply says so a line per item, and the approval
page's view of the item carries the earlier version beside the new one. Migration 0013 gives the
proofs drawn before it what values it can."""

from __future__ import annotations

import pdfplumber
import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import col, select

from bot.messages import RENDERERS
from pipeline.approval import decisions, links
from pipeline.approval.page import load_page
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.intake.items import edit_item
from pipeline.jobs.activity import Event
from pipeline.proofs.changes import FieldChange, changes_since_seen, field_changes
from pipeline.proofs.job import generate_job_proofs
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import ActivityEvent, Item, Job, ProofVersion
from tests.pipeline.pipeline_fixtures import job_items, job_with_items, last_event

pytestmark = pytest.mark.usefixtures("stop_the_proof_pool", "fresh_font_registries")
PEOPLE = [
    {"name": "Zoë Müller", "title": "Team Captain"},
    {"name": "Seán O'Connor", "title": "Most Improved Player"},
    {"name": "Chidi Okafor", "title": "Rookie of the Year"},
    {"name": "Priya <Natarajan>", "title": "Coach's Award"},
]


def test_field_changes_compare_text_in_the_new_versions_order() -> None:
    assert field_changes({"name": "Ann", "title": "Coach"}, {"title": "Coach", "name": "Anne"}) == [
        FieldChange("name", "Ann", "Anne")
    ]
    assert field_changes({"year": 2026}, {"year": "2026", "title": None}) == []  # "" and None are alike
    assert field_changes(None, {"name": "Ann"}) is None  # an earlier version drawn before values were kept


def test_a_new_proof_says_what_changed_since_the_customer_looked(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    files = runtime.settings.files_dir
    job_id = job_with_items(db, ws_id, owner, files, PEOPLE)
    generate_job_proofs(runtime, job_id, owner)
    items = job_items(db, job_id)
    with db.read() as s:
        kept = {v.item_id: v.values for v in s.exec(select(ProofVersion))}
    assert kept == {it.id: PEOPLE[n] for n, it in enumerate(items)}  # the values each proof was drawn from
    with db.session() as s:
        token = links.create_link(s, s.get(Job, job_id), owner, base_url="http://test.invalid").token
        decisions.decide(s, token, items[0].id, 1, "approve")
        decisions.decide(s, token, items[1].id, 1, "change", "The award is Most Valuable Player")
        decisions.decide(s, token, items[3].id, 1, "change", "Drop the brackets? No, keep them, bigger")
    with db.session() as s:  # the shop fixes item 2 and, unasked, item 3 (never decided on)
        job = s.get(Job, job_id)
        edit_item(s, job, items[1].id, owner, {"title": "Most Valuable Player"})
        edit_item(s, job, items[2].id, owner, {"title": "Rookie of the Season"})
    run = generate_job_proofs(runtime, job_id, owner)
    assert run.generated == 2
    details = last_event(db, job_id, Event.PROOFS_GENERATED).details
    assert details["changes"] == [
        {
            "item_id": items[1].id,
            "version": 2,
            "seen": 1,
            "fields": [["title", "Most Improved Player", "Most Valuable Player"]],
            "number": 2,
            "label": "Seán O'Connor",
        }
    ]
    assert (details["changed"], details["unchanged"]) == (1, 2)  # items 1 and 4 kept the proof they saw
    with db.read() as s:
        v2 = s.exec(
            select(ProofVersion).where(ProofVersion.item_id == items[1].id, col(ProofVersion.version) == 2)
        ).one()
    with pdfplumber.open(v2.pdf_path) as pdf:  # the new proof is the one with the new title
        assert "Most Valuable Player" in pdf.pages[0].extract_text()

    # the thread's "proofs ready" reply, a line for the item, escaped for mrkdwn
    with db.read() as s:
        ev, job = last_event(db, job_id, Event.PROOFS_GENERATED), s.get(Job, job_id)
        text = RENDERERS[Event.PROOFS_GENERATED](ev, job)[0].text
    assert (
        ":arrows_counterclockwise: Item 2 (Seán O'Connor), version 1 → 2: "
        "Title “Most Improved Player” → “Most Valuable Player”."
    ) in text
    assert "2 other item(s) unchanged since the customer last looked." in text

    # the approval page's view: the new proof beside the one the customer looked at
    with db.read() as s:
        link = links.resolve(s, token)
        view = load_page(s, link)
    card = view.items[1]
    assert card.compare and card.before is not None and card.before.proof_version == 1
    assert card.changes == [FieldChange("title", "Most Improved Player", "Most Valuable Player")]
    assert card.before.png_path != card.png_path
    assert [i.unchanged for i in view.items] == [True, False, False, True]
    assert view.items[2].before is None  # a new proof of an item never decided on: nothing to compare
    with db.read() as s:
        assert [c.item_id for c in changes_since_seen(s, [it.id for it in items])] == [items[1].id]

    # the customer approves the new proof: nothing more to tell about it
    with db.session() as s:
        decisions.decide(s, token, items[1].id, 2, "approve")
    with db.read() as s:
        view = load_page(s, links.resolve(s, token))
    assert not view.items[1].compare and not any(i.unchanged for i in view.items)


def test_a_redrawn_proof_with_the_same_words_is_told_as_a_new_layout(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    files = runtime.settings.files_dir
    job_id = job_with_items(db, ws_id, owner, files, PEOPLE[3:])
    generate_job_proofs(runtime, job_id, owner)
    (item,) = job_items(db, job_id)
    with db.session() as s:
        token = links.create_link(s, s.get(Job, job_id), owner, base_url="http://test.invalid").token
        decisions.decide(s, token, item.id, 1, "change", "Keep <the> brackets & make it bigger")
    with db.session() as s:  # its proof's inputs changed (a font file replaced, say), not its words
        s.get(Item, item.id).proof_input_hash = None
    run = generate_job_proofs(runtime, job_id, owner, item_ids={item.id})
    assert run.generated == 1
    with db.read() as s:
        ev, job = last_event(db, job_id, Event.PROOFS_GENERATED), s.get(Job, job_id)
        text = RENDERERS[Event.PROOFS_GENERATED](ev, job)[0].text
    assert "Item 1 (Priya &lt;Natarajan&gt;), version 1 → 2: same wording, new layout." in text


# ---- migration 0013: an item's current proof gets the item's values, unless it changed since ----


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("proof_version")}


def test_proof_versions_get_their_values_from_the_items(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    people = [{"name": n, "title": "Coach"} for n in ("Ann Lee", "Bo Chan", "Cy Diaz")]
    job_id = job_with_items(db, ws_id, owner, runtime.settings.files_dir, people)
    generate_job_proofs(runtime, job_id, owner)
    a, b, c = job_items(db, job_id)
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), a.id, owner, {"title": "Head Coach"})
    generate_job_proofs(runtime, job_id, owner)  # a: version 2
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), b.id, owner, {"title": "Captain"})  # b: pending, not drawn again
    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012")
        assert "values" not in _columns(db)
    finally:
        upgrade(db)
    with db.read() as s:
        rows = s.exec(select(ProofVersion).order_by(col(ProofVersion.item_id), col(ProofVersion.version)))
        kept = {(v.item_id, v.version): v.values for v in rows}
    assert kept == {
        (a.id, 1): None,  # an earlier version: its values were not kept
        (a.id, 2): {"name": "Ann Lee", "title": "Head Coach"},
        (b.id, 1): None,  # the item changed after this proof was drawn
        (c.id, 1): {"name": "Cy Diaz", "title": "Coach"},
    }


def test_ten_long_changes_fit_the_thread_reply() -> None:
    long = "Ω" * 400
    changes = [
        {
            "item_id": n,
            "version": 2,
            "seen": 1,
            "number": n,
            "label": long,
            "fields": [["name", long, long + "!"]] * 6,
        }
        for n in range(1, 11)
    ]
    ev = ActivityEvent(
        workspace_id=1, job_id=1, event_type=Event.PROOFS_GENERATED, actor_kind="user", actor_id="U1",
        details={"generated": 12, "total": 40, "changes": changes, "changed": 12, "unchanged": 28},
    )  # fmt: skip
    (msg,) = RENDERERS[Event.PROOFS_GENERATED](ev, Job(workspace_id=1, number=7))
    assert all(len(b["text"]["text"]) <= 3000 for b in msg.blocks)
    assert "".join(b["text"]["text"] for b in msg.blocks).count(":arrows_counterclockwise:") == 10
    assert "and 2 more fields" not in msg.text and "and 2 more field(s)" in msg.text
    assert "_…and 2 more new proof(s) of items the customer had looked at._" in msg.text
    assert "28 other item(s) unchanged since the customer last looked." in msg.text
