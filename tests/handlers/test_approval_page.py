"""The approval page over real HTTP: uvicorn serving `create_web_app`, driven with httpx."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from markupsafe import escape
from sqlmodel import select

from pipeline.approval import links, page
from pipeline.core.actors import Actor
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, for_job
from storage.db import Database
from storage.models import (
    ApprovalDecision,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    ProofVersion,
    utcnow,
)
from tests.handlers.approval_fixtures import (
    PEOPLE,
    LiveServer,
    item_ids,
    make_runtime,
    new_link,
    regenerate,
    seed_job,
    serve,
)

REQUIRED_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-robots-tag": "noindex, nofollow",
}


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    runtime, notifier = make_runtime(db, tmp_path)
    with serve(runtime, notifier) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _status(db: Database, item_id: int) -> str:
    with db.read() as s:
        return s.get(Item, item_id).proof_status


def _job_status(db: Database, job_id: int) -> str:
    with db.read() as s:
        return s.get(Job, job_id).status


def _assert_security_headers(r: httpx.Response) -> None:
    for name, value in REQUIRED_HEADERS.items():
        assert r.headers.get(name) == value, name
    csp = r.headers["content-security-policy"]
    for part in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.fixture
def order(db: Database, ws_id: int, owner: Actor, live: LiveServer) -> tuple[int, str, list[int]]:
    job_id = seed_job(db, ws_id, owner, live.files_dir, items=3)
    return job_id, new_link(db, job_id, owner).token, item_ids(db, job_id)


# ---- the page ----------------------------------------------------------------------------------


def test_page_shows_shop_order_due_date_progress_and_every_proof(
    client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    r = client.get(f"/approve/{token}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="en">' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Lakeside Trophies" in html and "<h1>Order PO-4471</h1>" in html
    assert "Due Monday, 14 December 2099" in html
    assert "<strong>0</strong> of 3 reviewed" in html and '<progress max="3" value="0"' in html
    for n, item_id in enumerate(ids, start=1):
        assert f'src="/approve/{token}/proof/{item_id}/1.png"' in html
        label = escape(f"{PEOPLE[n - 1]['name']} — item {n}")
        assert f'<label for="note-{item_id}">What should change on {label}?</label>' in html
        assert (
            f'<button type="submit" class="btn btn-approve">Approve<span class="sr-only"> {label}</span>'
            in html
        )
        assert f'action="/approve/{token}/items/{item_id}"' in html
    # the first two previews load at once, the third when scrolled to; the enlarged views when opened
    assert html.count('loading="lazy"') == 1 + 3 and html.count('loading="eager"') == 2
    assert html.count('class="viewer"') == 3 and f'href="#view-{ids[0]}"' in html
    assert "Maria Gonzalez" in html and "Seán O&#39;Connor" in html
    assert "Approve all 3 remaining" in html
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP forbids it
    _assert_security_headers(r)
    assert r.headers["cache-control"] == "no-store"


def test_assets_are_served_by_the_app_with_headers(
    client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    html = client.get(f"/approve/{order[1]}").text
    css = re.search(r'href="(/approve/static/approval\.css\?v=\w+)"', html).group(1)
    js = re.search(r'src="(/approve/static/approval\.js\?v=\w+)"', html).group(1)
    for url, kind in ((css, "text/css"), (js, "javascript")):
        r = client.get(url)
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "immutable" in r.headers["cache-control"]
        _assert_security_headers(r)
    icon = client.get("/approve/icon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no external assets


def test_proof_images_go_through_the_token(
    db: Database,
    ws_id: int,
    owner: Actor,
    client: httpx.Client,
    live: LiveServer,
    order: tuple[int, str, list[int]],
) -> None:
    _, token, ids = order
    other_job = seed_job(db, ws_id, owner, live.files_dir, items=1)
    foreign = item_ids(db, other_job)[0]
    r = client.get(f"/approve/{token}/proof/{ids[0]}/1.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and r.headers["cache-control"] == "private, no-store"
    _assert_security_headers(r)
    neutral = client.get("/approve/" + "A" * 43).text
    for bad in (
        f"/approve/{token}/proof/{foreign}/1.png",  # another job's item
        f"/approve/{token}/proof/{ids[0]}/2.png",  # a version that does not exist
        f"/approve/{token[:-1]}x/proof/{ids[0]}/1.png",  # tampered token
    ):
        r = client.get(bad)
        assert (r.status_code, r.text) == (404, neutral), bad


def test_unknown_expired_revoked_and_replaced_links_get_one_neutral_page(
    db: Database, ws_id: int, owner: Actor, client: httpx.Client, live: LiveServer
) -> None:
    expired_job = seed_job(db, ws_id, owner, live.files_dir, items=1)
    expired = new_link(db, expired_job, owner).token
    with db.session() as s:
        link = s.exec(select(ApprovalLink).where(ApprovalLink.job_id == expired_job)).one()
        link.expires_at = utcnow() - timedelta(seconds=1)
    revoked_job = seed_job(db, ws_id, owner, live.files_dir, items=1)
    revoked = new_link(db, revoked_job, owner).token
    with db.session() as s:
        links.revoke_link(s, s.get(Job, revoked_job), owner)
    replaced_job = seed_job(db, ws_id, owner, live.files_dir, items=1)
    replaced = new_link(db, replaced_job, owner).token
    good = new_link(db, replaced_job, owner).token
    answers = []
    for path in (
        f"/approve/{expired}",
        f"/approve/{revoked}",
        f"/approve/{replaced}",
        f"/approve/{good[:-1]}{'A' if good[-1] != 'A' else 'B'}",  # tampered
        f"/approve/{good[:30]}",  # truncated
        "/approve/" + "z" * 43,  # unknown
        "/approve/%3Cscript%3E",
        f"/approve/{good}/nothing-here",
    ):
        r = client.get(path)
        _assert_security_headers(r)
        answers.append((r.status_code, r.text))
    assert {status for status, _ in answers} == {404}
    assert len({body for _, body in answers}) == 1, "the neutral page must not differ"
    body = answers[0][1]
    assert "This link isn" in body and "expired" in body  # one sentence for all cases
    assert client.get(f"/approve/{good}").status_code == 200


# ---- deciding with plain forms (no JavaScript) ------------------------------------------------


def test_approve_with_a_plain_form_redirects_back_with_a_message(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    job_id, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    r = client.post(
        f"/approve/{token}/items/{ids[0]}", data={"csrf": csrf, "version": "1", "decision": "approve"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/approve/{token}?m=approved&i={ids[0]}#result-{ids[0]}"
    _assert_security_headers(r)
    page = client.get(r.headers["location"]).text
    assert f'id="result-{ids[0]}"' in page  # the message the address points to
    assert "Maria Gonzalez — item 1 approved." in page and "<strong>1</strong> of 3 reviewed" in page
    assert _status(db, ids[0]) == ProofStatus.APPROVED
    assert live.notifier.events() == [Event.ITEM_APPROVED]
    assert live.notifier.calls[0][0] == job_id and live.notifier.calls[0][2]["item_id"] == ids[0]


def test_missing_or_foreign_csrf_is_refused(
    db: Database,
    ws_id: int,
    owner: Actor,
    client: httpx.Client,
    live: LiveServer,
    order: tuple[int, str, list[int]],
) -> None:
    _, token, ids = order
    other = new_link(db, seed_job(db, ws_id, owner, live.files_dir, items=1), owner).token
    foreign_csrf = _csrf(client.get(f"/approve/{other}").text)
    for data in (
        {"version": "1", "decision": "approve"},
        {"csrf": "", "version": "1", "decision": "approve"},
        {"csrf": foreign_csrf, "version": "1", "decision": "approve"},
        {"csrf": "0" * 64, "version": "1", "decision": "approve"},
    ):
        r = client.post(f"/approve/{token}/items/{ids[0]}", data=data)
        assert r.status_code == 403 and "Please try again" in r.text
        _assert_security_headers(r)
    r = client.post(f"/approve/{token}/approve-all", data={"shown": f"{ids[0]}:1", "confirm": "yes"})
    assert r.status_code == 403
    assert _status(db, ids[0]) == ProofStatus.GENERATED and live.notifier.calls == []
    secret = live.runtime.settings.data_dir / "approval-csrf.key"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_a_double_submitted_form_decides_once(
    db: Database, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    form = {"csrf": csrf, "version": "1", "decision": "approve"}
    first = client.post(f"/approve/{token}/items/{ids[1]}", data=form)
    second = client.post(f"/approve/{token}/items/{ids[1]}", data=form)
    assert "m=approved" in first.headers["location"] and "m=decided" in second.headers["location"]
    assert "Seán O&#39;Connor — item 2 was already decided" in client.get(second.headers["location"]).text
    with db.read() as s:
        assert len(s.exec(select(ApprovalDecision)).all()) == 1


def test_two_customers_at_once_exactly_one_wins(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def customer(decision: str) -> None:
        with httpx.Client(base_url=live.url, timeout=30) as c:
            barrier.wait()
            r = c.post(
                f"/approve/{token}/items/{ids[0]}",
                data={"csrf": csrf, "version": "1", "decision": decision, "note": "Make it bold"},
                headers={"accept": "application/json"},
            )
            results.append(f"{r.status_code} {r.json()['message']}")

    threads = [
        threading.Thread(target=customer, args=(d,)) for d in ("approve", "change", "approve", "change")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [r for r in results if r.startswith("200")]
    losers = [r for r in results if r.startswith("409")]
    assert len(winners) == 1 and len(losers) == 3, results
    assert all("Maria Gonzalez — item 1 was already decided" in r for r in losers)
    with db.read() as s:
        assert len(s.exec(select(ApprovalDecision)).all()) == 1
    assert len(live.notifier.calls) == 1


def test_change_request_needs_a_note_and_refuses_100_kb(
    db: Database, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    url = f"/approve/{token}/items/{ids[0]}"
    r = client.post(url, data={"csrf": csrf, "version": "1", "decision": "change", "note": "   "})
    assert r.status_code == 422 and "Please describe the change you need." in r.text
    assert f'aria-describedby="hint-{ids[0]} error-{ids[0]}" aria-invalid="true"' in r.text
    assert '<details class="change" open>' in r.text
    huge = "Please engrave: " + "x" * 102_400
    r = client.post(url, data={"csrf": csrf, "version": "1", "decision": "change", "note": huge})
    assert r.status_code == 422
    assert "102,416 characters long. Please keep it under 2,000 characters" in r.text
    assert len(r.text) < 60_000  # the draft comes back cut to the limit, not echoed in full
    j = client.post(
        url,
        data={"csrf": csrf, "version": "1", "decision": "change", "note": huge},
        headers={"accept": "application/json"},
    )
    assert j.status_code == 422 and j.json()["field"] == "note" and "2,000" in j.json()["message"]
    sneaky = "</textarea><script>steal()</script>" + "y" * 2001
    r = client.post(url, data={"csrf": csrf, "version": "1", "decision": "change", "note": sneaky})
    assert r.status_code == 422 and "&lt;/textarea&gt;&lt;script&gt;steal()" in r.text
    assert "<script>steal()" not in r.text
    assert _status(db, ids[0]) == ProofStatus.GENERATED
    too_big = client.post(
        url,
        content=b"csrf=" + b"a" * (3 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_big.status_code == 413 and "too long" in too_big.text


def test_html_and_script_in_a_note_are_shown_as_text(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    note = '</textarea><script>alert("pwned")</script><img src=x onerror=alert(1)>'
    r = client.post(
        f"/approve/{token}/items/{ids[2]}",
        data={"csrf": csrf, "version": "1", "decision": "change", "note": note},
    )
    assert "m=changed" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "Your change request for Zoë Müller — item 3 was sent to Lakeside Trophies" in page
    shown = "&lt;/textarea&gt;&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;"
    assert shown + "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert live.notifier.events() == [Event.CHANGE_REQUESTED]
    assert live.notifier.calls[0][2]["note"] == note  # the shop's thread gets the words; Slack escapes them
    assert _status(db, ids[2]) == ProofStatus.NEEDS_REVISION


def test_values_and_names_are_escaped(
    db: Database, ws_id: int, owner: Actor, client: httpx.Client, live: LiveServer
) -> None:
    with db.session() as s:
        from storage.models import Workspace

        s.get(Workspace, ws_id).name = "<b>Shop</b>"
    job_id = seed_job(
        db,
        ws_id,
        owner,
        live.files_dir,
        values=[{"name": "<script>x()</script>", "<i>k</i>": "a&b"}],
        reference="<PO>",
    )
    html = client.get(f"/approve/{new_link(db, job_id, owner).token}").text
    assert "&lt;b&gt;Shop&lt;/b&gt;" in html and "Order &lt;PO&gt;" in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "&lt;i&gt;k&lt;/i&gt;" in html and "a&amp;b" in html
    assert "<script>x()" not in html and "<b>Shop" not in html


def test_a_stale_decision_points_at_the_new_proof(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    regenerate(db, ids[0], live.files_dir, name="Maria González")
    r = client.post(
        f"/approve/{token}/items/{ids[0]}", data={"csrf": csrf, "version": "1", "decision": "approve"}
    )
    assert "m=stale" in r.headers["location"] and r.headers["location"].endswith(
        f"&i={ids[0]}#result-{ids[0]}"
    )
    page = client.get(r.headers["location"]).text
    assert "updated Maria González — item 1 while you were looking. Please check the new proof." in page
    assert f"/proof/{ids[0]}/2.png" in page and "Updated proof &middot; version 2" in page
    assert "Maria González" in page
    j = client.post(
        f"/approve/{token}/items/{ids[0]}",
        data={"csrf": csrf, "version": "1", "decision": "approve"},
        headers={"accept": "application/json"},
    )
    assert j.status_code == 409 and f"/proof/{ids[0]}/2.png" in j.json()["card"]
    assert _status(db, ids[0]) == ProofStatus.GENERATED
    r = client.post(
        f"/approve/{token}/items/{ids[0]}", data={"csrf": csrf, "version": "2", "decision": "approve"}
    )
    assert "m=approved" in r.headers["location"]


def test_a_token_of_job_a_cannot_touch_an_item_of_job_b(
    db: Database,
    ws_id: int,
    owner: Actor,
    client: httpx.Client,
    live: LiveServer,
    order: tuple[int, str, list[int]],
) -> None:
    _, token_a, _ = order
    job_b = seed_job(db, ws_id, owner, live.files_dir, items=1)
    new_link(db, job_b, owner)
    b_item = item_ids(db, job_b)[0]
    csrf = _csrf(client.get(f"/approve/{token_a}").text)
    r = client.post(
        f"/approve/{token_a}/items/{b_item}", data={"csrf": csrf, "version": "1", "decision": "approve"}
    )
    assert r.status_code == 404 and "not part of this order" in r.text
    assert _status(db, b_item) == ProofStatus.GENERATED and live.notifier.calls == []
    shown = client.get(f"/approve/{token_a}/approve-all", params={"shown": f"{b_item}:1"})
    assert shown.status_code == 303  # nothing of this order to confirm


def test_decisions_update_in_place_with_json(
    db: Database, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    r = client.post(
        f"/approve/{token}/items/{ids[1]}",
        data={"csrf": csrf, "version": "1", "decision": "approve"},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] and body["message"] == "Seán O'Connor — item 2 approved." and body["level"] == "success"
    assert 'data-state="approved"' in body["card"] and f'id="item-{ids[1]}"' in body["card"]
    assert "<strong>1</strong> of 3 reviewed" in body["progress"]
    assert "Approve all 2 remaining" in body["bulk"]
    _assert_security_headers(r)


def test_approve_all_remaining_with_the_confirmation_page(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    job_id, token, ids = order
    page = client.get(f"/approve/{token}").text
    csrf = _csrf(page)
    client.post(
        f"/approve/{token}/items/{ids[0]}",
        data={"csrf": csrf, "version": "1", "decision": "change", "note": "Bigger"},
    )
    shown = re.search(r'name="shown" value="([\d:,]*)"', client.get(f"/approve/{token}").text).group(1)
    assert shown == f"{ids[1]}:1,{ids[2]}:1"
    confirm = client.get(f"/approve/{token}/approve-all", params={"shown": shown})
    assert confirm.status_code == 200 and "Approve all 2 remaining proofs?" in confirm.text
    assert "— item 2<" in confirm.text and "— item 3<" in confirm.text and "— item 1<" not in confirm.text
    unconfirmed = client.post(f"/approve/{token}/approve-all", data={"csrf": csrf, "shown": shown})
    assert unconfirmed.status_code == 303 and "/approve-all?shown=" in unconfirmed.headers["location"]
    done = client.post(f"/approve/{token}/approve-all", data={"csrf": csrf, "shown": shown, "confirm": "yes"})
    assert done.status_code == 303 and "m=all&a=2" in done.headers["location"]
    page = client.get(done.headers["location"]).text
    assert "2 proofs approved." in page and "Thanks, you've reviewed every proof" in page
    assert _job_status(db, job_id) == JobStatus.PENDING_APPROVAL  # one change is still open
    # the shop fixes item 1; its new proof shows up on the same link and the customer approves it
    regenerate(db, ids[0], live.files_dir)
    page = client.get(f"/approve/{token}").text
    assert f"/proof/{ids[0]}/2.png" in page and "remaining</button>" not in page
    r = client.post(
        f"/approve/{token}/items/{ids[0]}", data={"csrf": csrf, "version": "2", "decision": "approve"}
    )
    page = client.get(r.headers["location"]).text
    assert "All 3 proofs approved" in page and "That was the last one" in page
    assert 'class="js-decide"' not in page  # nothing left to press
    assert _job_status(db, job_id) == JobStatus.PRODUCTION_READY
    assert Event.STATUS_CHANGED in live.notifier.events()


def test_approve_all_with_json_leaves_changed_proofs_alone(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    regenerate(db, ids[2], live.files_dir)  # after the customer opened the page
    r = client.post(
        f"/approve/{token}/approve-all",
        data={"csrf": csrf, "shown": ",".join(f"{i}:1" for i in ids), "confirm": "yes"},
        headers={"accept": "application/json"},
    )
    body = r.json()
    assert r.status_code == 200 and body["level"] == "warning"
    assert body["message"].startswith("2 proofs approved. 1 proof changed while you were looking")
    assert 'data-state="open"' in body["items"] and f"/proof/{ids[2]}/2.png" in body["items"]
    assert [_status(db, i) for i in ids] == ["approved", "approved", "generated"]


def test_a_paused_job_shows_a_notice_and_refuses_decisions(
    db: Database, owner: Actor, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    job_id, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    with db.session() as s:
        lifecycle.move(s, s.get(Job, job_id), JobStatus.PROOFING, owner)
    page = client.get(f"/approve/{token}").text
    assert "Your proofs are being updated" in page and 'class="js-decide"' not in page
    r = client.post(
        f"/approve/{token}/items/{ids[0]}", data={"csrf": csrf, "version": "1", "decision": "approve"}
    )
    assert "m=closed" in r.headers["location"]
    assert "updating these proofs right now" in client.get(r.headers["location"]).text


def test_page_views_are_logged_once_however_often_it_reloads(
    db: Database, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    job_id, token, _ = order
    for _ in range(5):
        assert client.get(f"/approve/{token}").status_code == 200
    with db.read() as s:
        views = [e for e in for_job(s, job_id) if e.event_type == Event.APPROVAL_PAGE_VIEWED]
        assert len(views) == 1 and views[0].actor_kind == "customer"


# ---- rate limit --------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_a_friendly_page(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    runtime, notifier = make_runtime(db, tmp_path, approval_rate_limit=5, approval_rate_window_s=600)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=2)
    token = new_link(db, job_id, owner).token
    first = item_ids(db, job_id)[0]
    with serve(runtime, notifier) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        for _ in range(3):  # proof images of a working link, and assets, do not use up the allowance
            assert c.get(f"/approve/{token}/proof/{first}/1.png").status_code == 200
            assert c.get("/approve/static/approval.css").status_code == 200
        codes = [c.get(f"/approve/{token}").status_code for _ in range(5)]
        assert codes == [200] * 5
        limited = c.get(f"/approve/{token}")
        assert limited.status_code == 429
        wait = int(limited.headers["retry-after"])  # until the current fixed window ends
        assert 1 <= wait <= 600
        minutes = max(1, -(-wait // 60))
        assert "Please wait a moment" in limited.text
        assert f"try again in about {minutes} minute" in limited.text
        _assert_security_headers(limited)
        assert c.post(f"/approve/{token}/items/{first}", data={}).status_code == 429
        assert c.get(f"/approve/{token}/proof/{first}/1.png").status_code == 429
        j = c.get(f"/approve/{token}", headers={"accept": "application/json"})
        assert j.status_code == 429 and "Too many requests" in j.json()["message"]
        # the limit is per link: another link of the shop is not affected
        other = new_link(db, seed_job(db, ws_id, owner, runtime.settings.files_dir, items=1), owner).token
        assert c.get(f"/approve/{other}").status_code == 200


def test_an_item_being_re_proofed_shows_no_old_proof_and_no_buttons(
    db: Database, client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    with db.session() as s:  # the shop edited the item; its new proof is not made yet
        s.get(Item, ids[1]).proof_status = ProofStatus.PENDING
    page = client.get(f"/approve/{token}").text
    card = page[page.index(f'id="item-{ids[1]}"') : page.index(f'id="item-{ids[2]}"')]
    assert "Proof on its way" in card and "The proof for this item is on its way." in card
    assert "<img" not in card and "js-decide" not in card
    assert "<strong>0</strong> of 3 reviewed" in page


def test_static_files_and_the_page_are_compressed_as_the_browser_asks(
    client: httpx.Client, order: tuple[int, str, list[int]]
) -> None:
    import brotli

    html = client.get(f"/approve/{order[1]}").text
    css = re.search(r'href="(/approve/static/approval\.css\?v=\w+)"', html).group(1)
    plain = client.get(css, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    for asked, used in (("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip")):
        r = client.get(css, headers={"accept-encoding": asked})
        assert r.headers["content-encoding"] == used and r.headers["vary"] == "Accept-Encoding"
        assert r.content == plain.content  # httpx decodes both
        assert int(r.headers["content-length"]) < len(plain.content) / 3
        assert "immutable" in r.headers["cache-control"]
    raw = httpx.get(f"{client.base_url}{css}", headers={"accept-encoding": "br"})
    with (
        httpx.Client() as c,
        c.stream("GET", f"{client.base_url}{css}", headers={"accept-encoding": "br"}) as s,
    ):
        wire = b"".join(s.iter_raw())
    assert brotli.decompress(wire) == raw.content
    etag = plain.headers["etag"]
    assert client.get(css, headers={"if-none-match": etag}).status_code == 304
    assert client.get("/approve/static/nothing.css").status_code == 404
    page = client.get(f"/approve/{order[1]}", headers={"accept-encoding": "br"})
    assert page.headers["content-encoding"] == "br" and page.headers["vary"] == "Accept-Encoding"
    assert "<h1>Order PO-4471</h1>" in page.text


def test_items_are_called_by_their_plate() -> None:
    def item(number: int, **values: str) -> page.ItemView:
        return page.ItemView(number, number, dict(values), 1, None, None, "open", None)

    assert item(7, name="  Chloé   Dubois ", title="Coach").label == "Chloé Dubois — item 7"
    assert item(3, name="", title="Team Captain").label == "Team Captain — item 3"
    assert item(2, name=" ").label == "Item 2"
    long = item(1, name="x" * 80).label
    assert long == "x" * 59 + "… — item 1"


def test_an_updated_proof_shows_what_the_customer_asked_for(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    note = "Please use <b>bold</b> & the full name"
    client.post(
        f"/approve/{token}/items/{ids[0]}",
        data={"csrf": csrf, "version": "1", "decision": "change", "note": note},
    )
    page = client.get(f"/approve/{token}").text
    assert "You asked:" not in page  # the request is shown as such until the new proof comes
    regenerate(db, ids[0], live.files_dir)
    page = client.get(f"/approve/{token}").text
    assert "Updated proof &middot; version 2</p>" in page
    assert '<span class="version-note">Please use &lt;b&gt;bold&lt;/b&gt; &amp; the full name</span>' in page


def test_a_long_page_writes_its_first_proofs_as_cards_and_the_rest_in_blocks(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, client: httpx.Client
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir, items=12)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    html = client.get(f"/approve/{token}").text
    first, *blocks = html.split('<noscript class="js-more">')
    assert first.count('class="card ') == 5  # FIRST_CARDS, drawn at once
    assert [b.split("</noscript>")[0].count('class="card ') for b in blocks] == [5, 2]
    assert '<ol class="items" start="6" aria-label="Proofs 6 to 10">' in html
    assert '<ol class="items" start="11" aria-label="Proofs 11 to 12">' in html
    # inside a block the note field is a field (a <noscript> cannot hold another)
    assert f'"js-note"><textarea id="note-{ids[1]}"' in html
    assert f'<textarea id="note-{ids[7]}"' in html and f'"js-note"><textarea id="note-{ids[7]}"' not in html
    assert f'href="/approve/{token}?all=1">show all 12 proofs</a>' in html
    # the whole page at once: on ?all=1, and when a message belongs to a card further down
    for url in (f"/approve/{token}?all=1", f"/approve/{token}?m=approved&i={ids[9]}"):
        whole = client.get(url).text
        assert whole.count('class="card ') == 12 and "js-more" not in whole, url


def test_an_updated_proof_shows_what_changed_since_the_customer_looked(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    for item_id, decision in ((ids[0], "approve"), (ids[1], "change")):
        client.post(
            f"/approve/{token}/items/{item_id}",
            data={"csrf": csrf, "version": "1", "decision": decision, "note": "Title: <Most Valuable>"},
        )
    page = client.get(f"/approve/{token}").text
    assert "compare" not in page and "Unchanged since" not in page  # nothing new yet
    regenerate(db, ids[1], live.files_dir, title="<Most Valuable> Player")
    regenerate(db, ids[2], live.files_dir, title="Coach")  # never decided on: no "before" to show
    page = client.get(f"/approve/{token}").text
    card = page.split(f'id="item-{ids[1]}"')[1].split('<li class="card')[0]
    assert "Changed since version 1, the one you looked at:" in card
    assert (
        '<li><span class="changes-field">Title:</span> <del><span class="sr-only">was </span>'
        f'{escape(PEOPLE[1]["title"])}</del> <span aria-hidden="true">&rarr;</span> '
        '<ins><span class="sr-only">now </span>&lt;Most Valuable&gt; Player</ins></li>'
    ) in card
    assert card.count("<li>") == 1  # only what changed
    # both proofs, the new one shown; the radio buttons choose (no script needed)
    assert f'id="show-new-{ids[1]}" checked>' in card and f'id="show-old-{ids[1]}">' in card
    assert f'src="/approve/{token}/proof/{ids[1]}/2.png"' in card
    assert f'src="/approve/{token}/proof/{ids[1]}/1.png"' in card
    first = page.split(f'id="item-{ids[0]}"')[1].split('<li class="card')[0]
    assert '<p class="unchanged">Unchanged since you last looked.</p>' in first
    third = page.split(f'id="item-{ids[2]}"')[1].split("</main>")[0]
    assert "Changed since" not in third and "Unchanged since" not in third and "compare" not in third
    # once the customer decides on the new proof, the card is plain again
    client.post(
        f"/approve/{token}/items/{ids[1]}", data={"csrf": csrf, "version": "2", "decision": "approve"}
    )
    page = client.get(f"/approve/{token}").text
    assert "Changed since" not in page and "Unchanged since" not in page and 'class="compare"' not in page


def test_a_layout_change_and_an_unknown_earlier_version_are_said_plainly(
    db: Database, client: httpx.Client, live: LiveServer, order: tuple[int, str, list[int]]
) -> None:
    _, token, ids = order
    csrf = _csrf(client.get(f"/approve/{token}").text)
    for item_id in ids[:2]:
        client.post(
            f"/approve/{token}/items/{item_id}",
            data={"csrf": csrf, "version": "1", "decision": "change", "note": "Bigger, please"},
        )
    regenerate(db, ids[0], live.files_dir)  # same words, drawn again
    with db.session() as s:  # a version drawn before proof versions kept their values
        s.exec(select(ProofVersion).where(ProofVersion.item_id == ids[1])).one().values = None
    regenerate(db, ids[1], live.files_dir)
    page = client.get(f"/approve/{token}").text
    assert "The wording is the same as version 1, the one you looked at; the layout changed." in page
    assert "Compare it above with version 1, the one you looked at." in page
