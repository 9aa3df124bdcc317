"""Block Kit builders stay inside Slack's documented limits, whatever the data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot import blocks as B
from bot import modals, order_modals
from bot.home import HomeState, home_view
from pipeline.jobs.activity import Event
from pipeline.jobs.jobs import JobPage, JobRow
from pipeline.jobs.summary import JobSummary
from storage.models import ActivityEvent, Job
from tests.standins.blockkit_limits import validate_message, validate_view

LONG = "Dr. Alexander Pemberton-Hughes Jr. <!channel> & " * 40


def summary(**kw: object) -> JobSummary:
    base = dict(
        ref="J-1042",
        status="proofing",
        customer_name=LONG,
        reference=LONG,
        due_date="2026-12-01",
        urgency="overdue",
        items=5000,
        flagged=120,
        proofs_generated=4000,
        approved=10,
        needs_revision=3,
        has_template=True,
        batch_waiting=False,
        preflight_ran=True,
        preflight_errors=12,
        preflight_warnings=40,
        approval_skipped=False,
        deleted=False,
        next_action="preflight",
    )
    base.update(kw)
    return JobSummary(**base)


@pytest.mark.parametrize("action", [*B.NEXT_ACTION_BUTTONS, ""])
def test_card_fits_for_every_next_action(action: str) -> None:
    text, blocks = B.job_card(summary(next_action=action))
    assert validate_message(blocks, text) == []
    assert "<!channel>" not in text


def test_job_list_of_a_full_page_fits() -> None:
    jobs = [
        Job(
            id=i,
            workspace_id=1,
            number=1000 + i,
            customer_name=LONG[:200],
            customer_email="a@b.co",
            status="proofing",
            due_date=date(2026, 12, 1),
        )
        for i in range(100)
    ]
    page = JobPage([JobRow(j, "overdue", True) for j in jobs], total=100_000, page=3, per_page=100)
    text, blocks = B.job_list(page, heading="Jobs matching <b>")
    assert validate_message(blocks, text) == []


def test_home_view_fits_with_problems_and_activity() -> None:
    jobs = [
        Job(
            id=i,
            workspace_id=1,
            number=1000 + i,
            customer_name=LONG[:200],
            customer_email="a@b.co",
            status="pending_approval",
            reference=LONG[:100],
        )
        for i in range(15)
    ]
    page = JobPage(
        [JobRow(j, "due_soon", i % 2 == 0) for i, j in enumerate(jobs)], total=5000, page=2, per_page=15
    )
    events = [
        ActivityEvent(
            id=i,
            workspace_id=1,
            job_id=i,
            event_type=Event.ITEMS_PARSED,
            actor_kind="user",
            actor_display=LONG[:200],
            created_at=datetime(2026, 11, 28, tzinfo=UTC),
        )
        for i in range(8)
    ]
    view = home_view(
        HomeState(status="proofing", search="x" * 200, page=2),
        page,
        {"proofing": 5000},
        events,
        {i: f"J-{1000 + i}" for i in range(8)},
        ["No production channel"],
    )
    assert validate_view(view) == []


def test_review_modal_of_a_large_batch_is_summarized_within_limits() -> None:
    items = [
        {
            "values": {"name": f"Name {i} " + "x" * 300, "title": "t"},
            "confidence": 0.5 if i % 2 else 0.95,
            "reasons": ["reordered Last, First"] * 30,
        }
        for i in range(2000)
    ]
    view = order_modals.review_modal("J-1042", 7, "rules " * 200, items, ["Hi there"] * 500, has_items=True)
    assert validate_view(view) == []
    assert len(view["private_metadata"]) < 3000


def test_review_modal_says_why_each_item_is_flagged_in_sentences() -> None:
    items = [
        {
            "values": {"name": "Mr. & Mrs. Delgado"},
            "confidence": 0.8,
            "reasons": [
                "two names joined by '&': kept as one couple",
                "its second line could be a second name",
                "quantity 2: expanded into 2 items (1 of 2)",
                "two names joined by '&': kept as one couple",
            ],
        },
        {"values": {"name": "Keystone Tooling"}, "confidence": 0.5, "reasons": []},
        {"values": {"name": "Ana Ruiz"}, "confidence": 0.95, "reasons": ["reordered Last, First"]},
    ]
    view = order_modals.review_modal("J-7", 3, "rule-based parser", items, [], has_items=False)
    assert validate_view(view) == []
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    first = next(t for t in texts if "Delgado" in t)
    assert first.splitlines()[1:] == [
        "• Two names joined by '&amp;': kept as one couple.",
        "• Its second line could be a second name.",
    ]
    second = next(t for t in texts if "Keystone" in t)
    assert second.splitlines()[1] == "• The parser was not sure of this item (no reason recorded)."
    assert not any("Ana Ruiz" in t and "Last, First" in t for t in texts)  # not flagged: no reasons shown


def test_every_modal_is_valid() -> None:
    views = [
        modals.new_job_modal("C1"),
        order_modals.parse_modal("J-1", LONG, has_items=True, error=LONG),
        modals.template_modal("J-1", [("badge", "Badge")] * 150),
        modals.template_modal(
            "J-1",
            [("badge", "Badge")],
            chosen="badge",
            fields=[(f"f{i}", LONG[:80], True) for i in range(60)],
            columns=[LONG[:200]] * 150,
            suggested={"f1": (LONG[:150], "title")},
        ),
        modals.edit_item_modal("J-1", 3, 3, [(f"f{i}", LONG[:80], LONG) for i in range(60)], note=LONG * 3),
        modals.approval_modal("J-1", "a@b.co", has_link=True),
        modals.record_approval_modal("J-1"),
        modals.export_modal("J-1", [("CO2", "CO2")], initial="CO2", warning=LONG),
        modals.info_modal("x" * 40, LONG),
    ]
    for view in views:
        assert validate_view(view) == [], view["callback_id"]


def test_escape_only_the_three_characters() -> None:
    assert B.esc("<@U1> & <!here> 'quotes' \"x\"") == "&lt;@U1&gt; &amp; &lt;!here&gt; 'quotes' \"x\""
