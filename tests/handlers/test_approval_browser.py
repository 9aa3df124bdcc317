"""The approval page in a real headless Chromium (Debian's), on a phone-sized screen, with and without
JavaScript. Screenshots go to test-artifacts/approval/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from pipeline.approval import decisions, links
from pipeline.approval.page import load_page
from pipeline.core.actors import Actor
from storage.db import Database
from storage.models import Job, JobStatus
from tests.handlers.approval_fixtures import item_ids, make_runtime, new_link, regenerate, seed_job, serve

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "approval"
PHONE = {"width": 390, "height": 844}
NOTE = "Please spell it Seán with the accent, and the title should read “Most Valuable Player”."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Debian's chromium is missing ({CHROMIUM}); install it with scripts/bootstrap"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


class Shots:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        backend = request.node.callspec.params.get("db", "db") if hasattr(request.node, "callspec") else "db"
        self.prefix = f"{request.node.originalname}-{backend}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str, *, full_page: bool = False) -> Path:
        path = ARTIFACTS / f"{self.prefix}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request)


def _watch(page: Page) -> list[str]:
    """Console errors (CSP violations included) and uncaught script errors, collected for the end."""
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def _job_status(db: Database, job_id: int) -> str:
    with db.read() as s:
        return s.get(Job, job_id).status


def _open(browser: Browser, url: str, *, javascript: bool = True, viewport: dict | None = None) -> Page:
    context = browser.new_context(
        viewport=viewport or PHONE, device_scale_factor=2, java_script_enabled=javascript, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _proofs_loaded(page: Page, item_id: int) -> None:
    img = page.locator(f"#item-{item_id} img")
    img.scroll_into_view_if_needed()
    expect(img).to_be_visible()
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0 }",
        arg=f"#item-{item_id} img",
    )


def test_customer_flow_with_javascript(
    browser: Browser, db: Database, ws_id: int, owner: Actor, tmp_path: Path, shots: Shots
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=4)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, f"{server.url}/approve/{token}")
        problems = _watch(page)
        page.goto(f"{server.url}/approve/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Order PO-4471")
        expect(page.locator(".shop-name")).to_have_text("Lakeside Trophies")
        expect(page.locator(".meta")).to_contain_text("Due Monday, 14 December 2099")
        _proofs_loaded(page, ids[0])
        page.evaluate("window.scrollTo(0, 0)")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shots.take(page, "1-opened")
        page.evaluate("window.__sameDocument = true")

        page.get_by_role("button", name="Approve item 1").click()
        expect(page.locator(f"#item-{ids[0]} .badge")).to_contain_text("Approved")
        expect(page.locator("#toast")).to_contain_text("Item 1 approved.")
        expect(page.locator("#progress")).to_contain_text("1 of 4 reviewed")

        card = page.locator(f"#item-{ids[1]}")
        card.locator("summary").click()
        card.get_by_label("What should change on item 2?").fill(NOTE)
        expect(card.locator(".counter")).to_have_text(f"{len(NOTE)} / 2,000")
        shots.take(page, "2-change-note")
        card.get_by_role("button", name="Send change request").click()
        expect(page.locator(f"#item-{ids[1]} .badge")).to_have_text("Change requested")
        expect(page.locator(f"#item-{ids[1]} .note-text")).to_have_text(NOTE)
        expect(page.locator("#toast")).to_contain_text(
            "change request for item 2 was sent to Lakeside Trophies"
        )

        page.get_by_role("button", name="Approve all 2 remaining").click()
        dialog = page.locator("#confirm-all")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("You're approving 2 remaining proofs exactly as shown")
        shots.take(page, "3-confirm-dialog")
        dialog.get_by_role("button", name="Yes, approve all 2").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#summary")).to_contain_text("Thanks, you've reviewed every proof")
        expect(page.locator("#progress")).to_contain_text("4 of 4 reviewed")
        expect(page.locator("#toast")).to_contain_text("2 proofs approved.")
        assert page.evaluate("window.__sameDocument") is True  # all of it without a page load
        page.evaluate("window.scrollTo(0, 0)")
        shots.take(page, "4-reviewed")
        assert _job_status(db, job_id) == JobStatus.PENDING_APPROVAL

        # the shop fixes item 2; the same link shows the new proof, and the customer approves it
        regenerate(db, ids[1], runtime.settings.files_dir, title="Most Valuable Player")
        page.reload()
        card = page.locator(f"#item-{ids[1]}")
        expect(card.locator(".version")).to_have_text("Updated proof · version 2")
        expect(card.locator("img")).to_have_attribute("src", f"/approve/{token}/proof/{ids[1]}/2.png")
        _proofs_loaded(page, ids[1])
        card.get_by_role("button", name="Approve item 2").click()
        expect(page.locator("#summary")).to_contain_text("All 4 proofs approved")
        page.evaluate("window.scrollTo(0, 0)")
        shots.take(page, "5-all-approved")
        shots.take(page, "6-all-approved-full", full_page=True)
        assert problems == []
    assert _job_status(db, job_id) == JobStatus.PRODUCTION_READY


def test_customer_flow_without_javascript(
    browser: Browser, db: Database, ws_id: int, owner: Actor, tmp_path: Path, shots: Shots
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=4)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=False)
        problems = _watch(page)
        page.goto(f"{server.url}/approve/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Order PO-4471")
        _proofs_loaded(page, ids[0])

        page.get_by_role("button", name="Approve item 1").click()
        page.wait_for_url(f"**/approve/{token}?m=approved*")
        expect(page.locator(f"#item-{ids[0]} .flash")).to_have_text("Item 1 approved.")
        expect(page.locator(f"#item-{ids[0]} .badge")).to_contain_text("Approved")
        shots.take(page, "1-approved-flash")

        card = page.locator(f"#item-{ids[1]}")
        card.locator("summary").click()  # <details> opens without any script
        card.get_by_label("What should change on item 2?").fill(NOTE)
        card.get_by_role("button", name="Send change request").click()
        page.wait_for_url("**m=changed*")
        expect(page.locator(f"#item-{ids[1]} .note-text")).to_have_text(NOTE)
        expect(page.locator(f"#item-{ids[1]} .flash")).to_contain_text("was sent to Lakeside Trophies")

        page.get_by_role("button", name="Approve all 2 remaining").click()
        page.wait_for_url("**/approve-all?shown=*")
        expect(page.get_by_role("heading", level=1)).to_have_text("Approve all 2 remaining proofs?")
        expect(page.locator(".confirm-list li")).to_have_count(2)
        shots.take(page, "2-confirm-page")
        page.get_by_role("button", name="Yes, approve all 2").click()
        page.wait_for_url("**m=all*")
        expect(page.locator("#flash")).to_contain_text("2 proofs approved.")
        expect(page.locator("#summary")).to_contain_text("Thanks, you've reviewed every proof")
        expect(page.locator("#progress")).to_contain_text("4 of 4 reviewed")
        shots.take(page, "3-reviewed")
        assert problems == []
    with db.read() as s:
        view = load_page(s, links.resolve(s, token))
    assert [i.state for i in view.items] == ["approved", "change_requested", "approved", "approved"]


def test_readable_and_accessible_at_360px(
    browser: Browser, db: Database, ws_id: int, owner: Actor, tmp_path: Path, shots: Shots
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=4)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with db.session() as s:
        decisions.decide(s, token, ids[0], 1, "approve")
        decisions.decide(
            s, token, ids[1], 1, "change", "A much longer name: Maria-Fernanda Gonzalez de la Cruz"
        )
    with serve(runtime, notifier) as server:
        page = _open(browser, "", viewport={"width": 360, "height": 740})
        page.goto(f"{server.url}/approve/{token}")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('textarea')].filter(t => !t.labels.length).length"
        )
        assert unlabelled == 0
        assert page.evaluate(
            "[...document.querySelectorAll('img')].every(i => i.alt.startsWith('Proof of item'))"
        )
        ratios = page.evaluate(
            """selectors => {
              const rgb = c => c.match(/[\\d.]+/g).map(Number);
              const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 })
                .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
              const background = el => { for (; el; el = el.parentElement) {
                const c = rgb(getComputedStyle(el).backgroundColor); if (c.length < 4 || c[3] > 0) return c; }
                return [255, 255, 255]; };
              return Object.fromEntries(selectors.map(sel => {
                const el = document.querySelector(sel);
                if (!el) return [sel, null];
                const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
                return [sel, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; }));
            }""",
            [
                "body",
                ".shop-name",
                ".eyebrow",
                ".meta",
                ".lede",
                ".progress-title",
                ".count-ok",
                ".count-change",
                ".btn-all",
                ".badge-ok",
                ".badge-change",
                ".badge-open",
                ".values dt",
                ".note-text",
                ".note-after",
                ".zoom",
                ".btn-approve",
                ".btn-change",
                ".foot",
            ],
        )
        assert [sel for sel, r in ratios.items() if r is None] == []
        low = {sel: round(r, 2) for sel, r in ratios.items() if r < 4.5}
        assert low == {}, f"contrast below 4.5:1: {low}"
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), "keyboard focus must be visible"
        page.locator(f"#item-{ids[2]} .btn-approve").focus()
        page.locator(f"#item-{ids[2]}").scroll_into_view_if_needed()
        shots.take(page, "focus-360")
        headings = page.evaluate("[...document.querySelectorAll('h1, h2')].map(h => h.tagName)")
        assert headings[0] == "H1" and headings.count("H1") == 1 and "H2" in headings


def test_the_neutral_page_in_the_browser(
    browser: Browser, db: Database, tmp_path: Path, shots: Shots
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    with serve(runtime, notifier) as server:
        page = _open(browser, "")
        response = page.goto(f"{server.url}/approve/{'n' * 43}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("This link isn't available")
        assert page.locator("meta[name=robots]").get_attribute("content") == "noindex, nofollow"
        shots.take(page, "unavailable")
