"""The whole shop flow through Slack, over HTTP with signed requests, against the Slack stand-in:
create → parse → review → template & mapping → proofs → preflight → approval link → the customer's
decisions (through the approval page's use case) → export → complete. Then the Home tab, retries and
bad signatures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from pipeline.approval import decisions, links
from pipeline.approval.page import load_page
from pipeline.jobs.activity import describe
from storage.db import Database
from storage.models import ActivityEvent, Job, Outbox, Task
from tests.acceptance.harness import RunningApp, running_app
from tests.standins.blockkit_limits import validate_message, validate_view
from tests.standins.slack_api import DEFAULT_USER_ID as DEFAULT_USER
from tests.standins.slack_api import PRODUCTION_CHANNEL_ID
from tests.standins.slack_requests import (
    checkboxes_value,
    date_value,
    select_value,
    text_value,
)

EMAIL = """Hi there,

Here is this year's list for the brass plates:

1. Maria Gonzalez - Head Coach
2. Tom Whitaker - Assistant Coach
3. Nguyen, Linh - Team Captain
4. Zoë Müller
5. Seán O'Connor - Most Improved Player

Cheers,
Rebecca
(555) 201-4433
"""


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Any:
    with running_app(db, tmp_path / "data") as running:
        yield running


def submit(
    app: RunningApp,
    callback_id: str,
    values: dict[str, Any],
    meta: str = "",
    *,
    view_id: str | None = None,
    **kw: Any,
) -> httpx.Response:
    """Submit a modal; `view_id` keeps a chain of windows on the one view Slack opened, as Slack does."""
    base = {"id": view_id} if view_id else None
    resp = app.slack.view_submission(callback_id, values=values, private_metadata=meta, view=base, **kw)
    assert resp.status_code == 200, resp.text
    return resp


SENT_VIEW_KEYS = ("type", "callback_id", "title", "close", "submit", "blocks", "private_metadata")


def check_view(view: dict[str, Any]) -> None:
    """Validate what the app sent (not the fields Slack adds to its answer)."""
    assert validate_view({k: view[k] for k in SENT_VIEW_KEYS if k in view}) == []


def response_view(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert body.get("response_action") == "update", body
    check_view(body["view"])
    return body["view"]


def wait_view(app: RunningApp, callback_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for view in reversed(app.fake.views()):
            if view.get("callback_id") == callback_id:
                return view
        time.sleep(0.05)
    raise AssertionError(f"no view {callback_id}")


def card_and_thread(app: RunningApp, ref: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    app.settle()
    cards = [
        m
        for m in app.fake.messages(PRODUCTION_CHANNEL_ID)
        if m.get("thread_ts") in (None, m["ts"]) and (m.get("text") or "").startswith(ref)
    ]
    assert len(cards) == 1, [m.get("text") for m in app.fake.messages(PRODUCTION_CHANNEL_ID)]
    return cards[0], app.fake.posts_in_thread(PRODUCTION_CHANNEL_ID, cards[0]["ts"])


def create_job(app: RunningApp, **fields: Any) -> tuple[httpx.Response, str]:
    resp = app.slack.slash_command("/job", "new")
    assert resp.status_code == 200
    opened = wait_view(app, "job_new")
    check_view(opened)
    values = {
        "customer_name": {"value": text_value(fields.get("name", "Rebecca Stone"))},
        "customer_email": {"value": text_value(fields.get("email", "rebecca@lakeside.example"))},
        "reference": {"value": text_value(fields.get("reference", "LYS-24"))},
        "due_date": {"value": date_value(fields.get("due"))},
        "notes": {"value": text_value(None)},
    }
    resp = submit(app, "job_new", values, opened["private_metadata"], view_id=opened["id"])
    return resp, opened["id"]


def test_full_flow_from_new_job_to_completed(app: RunningApp, db: Database) -> None:
    resp, view_id = create_job(app, due="2030-01-15")
    parse_view = response_view(resp)
    assert parse_view["callback_id"] == "job_parse"
    meta = parse_view["private_metadata"]
    ref = json.loads(meta)["job"]
    assert ref == "J-1001"

    # parse: paste the customer's email
    resp = submit(app, "job_parse", {"order_text": {"value": text_value(EMAIL)}}, meta, view_id=view_id)
    assert response_view(resp)["callback_id"] == "working"
    review = wait_view(app, "job_review")
    flagged = [b for b in review["blocks"] if b.get("block_id", "").startswith("fix:")]
    assert flagged, "the Last, First line should be flagged for review"
    # submitting without acknowledging is answered next to the field
    resp = submit(app, "job_review", {}, review["private_metadata"], view_id=view_id)
    assert resp.json()["response_action"] == "errors" and "ack" in resp.json()["errors"]
    resp = submit(
        app,
        "job_review",
        {"ack": {"value": checkboxes_value("all")}},
        review["private_metadata"],
        view_id=view_id,
    )
    template_view = response_view(resp)
    assert template_view["callback_id"] == "job_template"

    # choose the trophy plate; the window then asks which column goes into each field
    resp = submit(
        app,
        "job_template",
        {"template": {"value": select_value("trophy-plate")}},
        template_view["private_metadata"],
        view_id=view_id,
    )
    mapping_view = response_view(resp)
    suggested = {
        b["block_id"]: b["element"].get("initial_option", {}).get("value")
        for b in mapping_view["blocks"]
        if b.get("block_id", "").startswith("map:")
    }
    assert suggested == {"map:name": "name", "map:achievement": "title", "map:year": "__none__"}
    resp = submit(
        app,
        "job_template",
        {
            "template": {"value": select_value("trophy-plate")},
            "map:name": {"value": select_value("name")},
            "tf:name": {"value": select_value("none")},
            "map:achievement": {"value": select_value("title")},
            "tf:achievement": {"value": select_value("none")},
            "map:year": {"value": select_value("__none__")},
            "tf:year": {"value": select_value("none")},
        },
        mapping_view["private_metadata"],
        view_id=view_id,
    )
    assert response_view(resp)["callback_id"] == "info"
    card, thread = card_and_thread(app, ref)
    texts = " | ".join(m.get("text", "") for m in thread)
    assert "Parsed *5* item(s)" in texts
    assert "Proofs ready" in texts
    assert "Preflight" in texts
    uploads = app.fake.uploaded_files()
    assert any(f.name.endswith("_proofs.pdf") and f.content.startswith(b"%PDF") for f in uploads)
    assert validate_message(card["blocks"], card["text"]) == []

    with db.read() as s:
        job = s.exec(select(Job).where(Job.number == 1001)).one()
        assert job.status == "proofing" and job.preflight_ran_at is not None

    # approval link
    app.slack.block_actions("job_approval", ref)
    opened = wait_view(app, "job_approval")
    resp = submit(
        app, "job_approval", {"expires_days": {"value": text_value("14")}}, opened["private_metadata"]
    )
    assert response_view(resp)["callback_id"] == "info"
    app.settle()
    link_posts = [
        m
        for m in app.fake.posts_in_thread(PRODUCTION_CHANNEL_ID, card["ts"])
        if "/approve/" in m.get("text", "")
    ]
    assert len(link_posts) == 1
    url = link_posts[0]["text"].split("\n")[1]
    token = url.rsplit("/", 1)[1]
    with db.read() as s:
        assert all(o.payload.get("url") == "[sent]" for o in s.exec(select(Outbox)))  # token scrubbed

    # the customer approves everything through the approval page's use case
    with db.session() as s:
        page = load_page(s, links.resolve(s, token))
        shown = {item.id: item.proof_version for item in page.items}
        decisions.approve_all_remaining(s, token, shown)
    app.runtime.notifier.job_changed(0, "approved")
    with db.read() as s:
        job = s.exec(select(Job).where(Job.number == 1001)).one()
        assert job.status in ("approved", "production_ready"), job.status

    # export from the card's button
    app.slack.block_actions("job_export", ref)
    opened = wait_view(app, "job_export")
    profile = opened["blocks"][1]["element"]["options"][0]["value"]
    resp = submit(
        app,
        "job_export",
        {
            "profile": {"value": select_value(profile)},
            "format": {"value": select_value("svg")},
            "mode": {"value": select_value("curves")},
        },
        opened["private_metadata"],
    )
    assert response_view(resp)["callback_id"] == "info"
    app.settle()
    with db.read() as s:
        failures = [(t.kind, t.error) for t in s.exec(select(Task)) if t.state == "failed"]
    assert failures == []
    assert any(f.name.endswith(".zip") for f in app.fake.uploaded_files()), [
        (f.name, f.title) for f in app.fake.uploaded_files()
    ]

    # complete, twice: the second answers "already"
    assert app.slack.slash_command("/job", f"complete {ref}").status_code == 200
    second = app.slack.slash_command("/job", f"complete {ref}")
    assert "already completed" in second.text
    card, thread = card_and_thread(app, ref)
    assert "Completed" in json.dumps(card["blocks"])
    with db.read() as s:
        events = [describe(e.event_type) for e in s.exec(select(ActivityEvent).order_by("id"))]
    for expected in (
        "Job created",
        "Items parsed",
        "Items accepted",
        "Template chosen",
        "Proofs generated",
        "Preflight completed",
        "Approval link generated",
        "Export created",
        "Job completed",
    ):
        assert expected in events, expected


def test_bad_signatures_and_stale_requests_are_refused(app: RunningApp, db: Database) -> None:
    from tests.standins.slack_requests import slash_command

    req = slash_command("/job", "new", fake=app.fake)
    assert app.slack.send(req, bad_signature=True).status_code == 401
    assert app.slack.send(req, stale_by=600).status_code == 401
    assert app.slack.send(req, unsigned=True).status_code == 401
    with db.read() as s:
        assert s.exec(select(Job)).all() == []
    assert app.fake.calls("views.open") == []


def test_unknown_subcommand_and_other_workspace_job_are_ephemeral(app: RunningApp) -> None:
    resp = app.slack.slash_command("/job", "frobnicate")
    assert "I don't know `/job frobnicate`" in resp.text and resp.json()["response_type"] == "ephemeral"
    resp = app.slack.slash_command("/job", "show J-4242")
    assert "no job J-4242" in resp.text


def test_home_tab_dashboard_filters_search_sort_and_pages(app: RunningApp, db: Database) -> None:
    for i in range(20):
        create_job(app, name=f"Customer {i:02d} <b>", reference=f"PO-{i}", due="2030-01-15")
    app.settle()
    resp = app.slack.app_home_opened()
    assert resp.status_code == 200
    app.settle()
    home = app.fake.home_view(DEFAULT_USER)
    check_home(home)
    text = json.dumps(home["blocks"])
    assert "Page 1 of 2" in text and "Customer 19 &lt;b&gt;" in text
    # search from the Home tab's own box
    app.slack.block_actions("home_search", "po-3", view=home)
    app.settle()
    home = app.fake.home_view(DEFAULT_USER)
    assert "J-1004" in json.dumps(home["blocks"]) and "J-1005" not in json.dumps(home["blocks"])
    assert json.loads(home["private_metadata"])["search"] == "po-3"
    # next page, then a status filter
    app.slack.block_actions("home_search", "", view=home)
    app.settle()
    home = app.fake.home_view(DEFAULT_USER)
    app.slack.block_actions("home_page_next", "2", view=home)
    app.settle()
    home = app.fake.home_view(DEFAULT_USER)
    assert "Page 2 of 2" in json.dumps(home["blocks"])
    check_home(home)


def test_home_tab_refreshes_after_a_change(app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.home import VIEWERS

    monkeypatch.setattr(VIEWERS, "MIN_GAP_S", 0.0)
    app.slack.app_home_opened()
    app.settle()
    assert "J-1001" not in json.dumps(app.fake.home_view(DEFAULT_USER)["blocks"])
    create_job(app, name="Fresh Customer")
    app.settle()
    assert "Fresh Customer" in json.dumps(app.fake.home_view(DEFAULT_USER)["blocks"])


def check_home(view: dict[str, Any]) -> None:
    assert validate_view({k: view[k] for k in ("type", "blocks", "private_metadata") if k in view}) == []


def test_retried_event_and_double_submitted_modal_act_once(app: RunningApp, db: Database) -> None:
    from tests.standins.slack_requests import app_home_opened

    req = app_home_opened(DEFAULT_USER)
    assert app.slack.send(req).status_code == 200
    assert app.slack.send(req, retry_num=1).status_code == 200  # Slack retrying the same event id
    app.settle()
    assert len(app.fake.calls("views.publish")) == 1
    # the same modal submitted twice (double click): one job
    opened_id = "V0DOUBLE01"
    values = {
        "customer_name": {"value": text_value("Twice Clicked")},
        "customer_email": {"value": text_value("twice@example.com")},
        "reference": {"value": text_value(None)},
        "due_date": {"value": date_value(None)},
        "notes": {"value": text_value(None)},
    }
    view = {"id": opened_id, "hash": "1.same"}
    for _ in range(2):
        resp = app.slack.view_submission("job_new", values=values, private_metadata="{}", view=view)
        assert resp.status_code == 200
    with db.read() as s:
        assert [j.customer_name for j in s.exec(select(Job))] == ["Twice Clicked"]


def test_slack_429_storm_while_posting_loses_nothing(app: RunningApp, db: Database) -> None:
    app.fake.outage(["chat.postMessage", "chat.update"], status=429, seconds=3)
    create_job(app, name="Storm Customer")
    time.sleep(3.5)
    app.settle(30)
    card, _ = card_and_thread(app, "J-1001")
    assert "Storm Customer" in card["text"]


def job_waiting_for_approval(app: RunningApp) -> None:
    """J-1001: two items parsed and accepted, the badge template mapped, an approval link made."""
    resp, view_id = create_job(app)
    meta = response_view(resp)["private_metadata"]
    submit(
        app,
        "job_parse",
        {"order_text": {"value": text_value("Maria Gonzalez\nTom Whitaker\n")}},
        meta,
        view_id=view_id,
    )
    review = wait_view(app, "job_review")
    template_view = response_view(submit(app, "job_review", {}, review["private_metadata"], view_id=view_id))
    mapping = response_view(
        submit(
            app,
            "job_template",
            {"template": {"value": select_value("badge")}},
            template_view["private_metadata"],
            view_id=view_id,
        )
    )
    submit(
        app,
        "job_template",
        {"template": {"value": select_value("badge")}, "map:name": {"value": select_value("name")}},
        mapping["private_metadata"],
        view_id=view_id,
    )
    app.settle()
    app.slack.block_actions("job_approval", "J-1001")
    opened = wait_view(app, "job_approval")
    submit(app, "job_approval", {"expires_days": {"value": text_value("30")}}, opened["private_metadata"])
    app.settle()


def test_change_request_edit_item_and_new_proof_on_the_same_link(app: RunningApp, db: Database) -> None:
    job_waiting_for_approval(app)
    card, thread = card_and_thread(app, "J-1001")
    token = next(m["text"] for m in thread if "/approve/" in m["text"]).split("\n")[1].rsplit("/", 1)[1]
    with db.session() as s:
        page = load_page(s, links.resolve(s, token))
        first = page.items[0]
        decisions.decide(s, token, first.id, first.proof_version, "change", "Please spell it María")
    app.runtime.notifier.job_changed(0, "change")
    app.settle()
    _, thread = card_and_thread(app, "J-1001")
    change = next(m for m in thread if "asked for a change" in m["text"])
    edit = next(b for b in change["blocks"] if b["type"] == "actions")["elements"][0]
    app.slack.block_actions(edit["action_id"], edit["value"], message=change)
    edit_view = wait_view(app, "job_edit_item")
    # the customer's note is shown to the shop
    assert "María" in json.dumps(edit_view["blocks"], ensure_ascii=False)
    submit(
        app,
        "job_edit_item",
        {"v:name": {"value": text_value("María Gonzalez")}, "v:title": {"value": text_value(None)}},
        edit_view["private_metadata"],
    )
    app.settle()
    with db.session() as s:
        page = load_page(s, links.resolve(s, token))
        item = next(i for i in page.items if i.id == first.id)
        assert item.proof_version == first.proof_version + 1 and item.values["name"] == "María Gonzalez"
        assert s.exec(select(Job)).one().status == "pending_approval"


def test_a_new_workspace_is_named_after_its_team_without_delaying_the_answer(
    app: RunningApp, db: Database
) -> None:
    from storage.models import Workspace

    app.fake.add_team("T0SLOW0001", "Slow Lake Trophies", "slowlake")
    app.fake.slow(4.0, "team.info")  # Slack answering slowly must not hold the acknowledgement up
    started = time.monotonic()
    resp = app.slack.slash_command("/job", "help", team_id="T0SLOW0001", user_id="U0SLOW0001")
    assert resp.status_code == 200 and time.monotonic() - started < 2.0

    def name() -> str:
        with db.read() as s:
            return s.exec(select(Workspace).where(Workspace.slack_team_id == "T0SLOW0001")).one().name

    assert name() == "T0SLOW0001"  # known by its id until Slack answers
    deadline = time.monotonic() + 15
    while name() != "Slow Lake Trophies":
        assert time.monotonic() < deadline, "the workspace was never named"
        time.sleep(0.1)
    assert len(app.fake.calls("team.info")) == 1
