"""The approval page in a real headless Chromium (Debian's), on a phone-sized screen, with and without
JavaScript: the customer's flows, axe-core on every state at phone and desktop sizes, keyboard focus
never hidden, sharp previews at a device pixel ratio of 3, the enlarged view. Screenshots go to
test-artifacts/approval/."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from pipeline.approval import decisions, links
from pipeline.approval.page import load_page
from pipeline.core.actors import Actor
from pipeline.jobs import lifecycle
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
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "approval"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # package.json; scripts/bootstrap runs `npm ci`
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NOTE = "Please spell it Seán with the accent, and the title should read “Most Valuable Player”."


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(f"Debian's chromium is missing ({CHROMIUM}); install it with scripts/bootstrap")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


class Shots:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        # the parameters' ids ("sqlite-script", "postgres-no-script"): each case keeps its own pictures
        params = request.node.callspec.id if hasattr(request.node, "callspec") else "db"
        self.prefix = f"{request.node.originalname}-{params}"
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


def _open(
    browser: Browser, url: str, *, javascript: bool = True, viewport: dict | None = None, scale: float = 2
) -> Page:
    context = browser.new_context(
        viewport=viewport or PHONE, device_scale_factor=scale, java_script_enabled=javascript, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


class Plain:
    """A page as a browser with JavaScript off sees it (loaded and parsed with scripting off, so
    <noscript> holds elements and the page's script never runs), in which the test can still run
    axe-core: scripting is switched back on only once the page is there."""

    def __init__(self, browser: Browser, viewport: dict) -> None:
        self.page = _open(browser, "", viewport=viewport)
        self.page.route("**/static/approval.js*", lambda route: route.abort())
        self.cdp = self.page.context.new_cdp_session(self.page)

    def _scripting(self, on: bool) -> None:
        self.cdp.send("Emulation.setScriptExecutionDisabled", {"value": not on})
        if on:  # with scripting on, Chromium hides <noscript>: show its content as it was shown
            self.page.evaluate(
                "document.querySelectorAll('noscript').forEach(n => n.replaceWith(...n.childNodes))"
            )

    def goto(self, url: str) -> Page:
        self._scripting(False)
        self.page.goto(url)
        self._scripting(True)
        return self.page

    def click(self, locator: Locator) -> Page:
        """Clicks something that loads a new page (a form's button) and waits for that page."""
        self._scripting(False)
        with self.page.expect_navigation():
            locator.click()
        self._scripting(True)
        return self.page


def _label(name: str, n: int) -> str:
    return f"{name} — item {n}"


def _image_loaded(page: Page, selector: str) -> None:
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )


def _proofs_loaded(page: Page, item_id: int) -> None:
    img = page.locator(f"#item-{item_id} .proof img")
    img.scroll_into_view_if_needed()
    expect(img).to_be_visible()
    _image_loaded(page, f"#item-{item_id} .proof img")


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

        page.get_by_role("button", name="Approve Maria Gonzalez — item 1", exact=True).click()
        expect(page.locator(f"#item-{ids[0]} .badge")).to_contain_text("Approved")
        expect(page.locator(f"#item-{ids[0]} .flash")).to_have_text("Maria Gonzalez — item 1 approved.")
        expect(page.locator("#announce")).to_have_text("Maria Gonzalez — item 1 approved.")
        expect(page.locator("#progress")).to_contain_text("1 of 4 reviewed")
        assert page.evaluate("document.activeElement.id") == f"title-{ids[0]}"

        card = page.locator(f"#item-{ids[1]}")
        summary = card.locator("summary")
        expect(summary).to_have_accessible_name("Request change to Seán O'Connor — item 2")
        summary.click()
        card.get_by_label("What should change on Seán O'Connor — item 2?").fill(NOTE)
        expect(card.locator(".counter")).to_have_text(f"{len(NOTE)} / 2,000")
        shots.take(page, "2-change-note")
        card.get_by_role("button", name="Send change request for Seán O'Connor — item 2").click()
        expect(page.locator(f"#item-{ids[1]} .badge")).to_have_text("Change requested")
        expect(page.locator(f"#item-{ids[1]} .note-text")).to_have_text(NOTE)
        sent = "Thanks. Your change request for Seán O'Connor — item 2 was sent to Lakeside Trophies."
        expect(page.locator(f"#item-{ids[1]} .flash")).to_have_text(sent)
        expect(page.locator("#announce")).to_have_text(sent)

        # approve-all comes after the last item, and its dialog lists what it approves
        assert page.evaluate(
            "document.getElementById('items').compareDocumentPosition(document.getElementById('bulk'))"
            " & Node.DOCUMENT_POSITION_FOLLOWING"
        )
        page.get_by_role("button", name="Approve all 2 remaining").click()
        dialog = page.locator("#confirm-all")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("You're approving 2 remaining proofs exactly as shown")
        expect(dialog.locator(".confirm-list li")).to_have_text(
            [_label("Zoë Müller", 3), _label("Chidi Okafor", 4)]
        )
        shots.take(page, "3-confirm-dialog")
        dialog.get_by_role("button", name="Yes, approve all 2").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#summary")).to_contain_text("Thanks, you've reviewed every proof")
        expect(page.locator("#progress")).to_contain_text("4 of 4 reviewed")
        expect(page.locator("#flash")).to_have_text("2 proofs approved.")
        expect(page.locator("#announce")).to_have_text("2 proofs approved.")
        expect(page.locator(".lede")).to_contain_text("You've reviewed every proof")
        assert page.evaluate("window.__sameDocument") is True  # all of it without a page load
        page.evaluate("window.scrollTo(0, 0)")
        shots.take(page, "4-reviewed")
        assert _job_status(db, job_id) == JobStatus.PENDING_APPROVAL

        # the shop fixes item 2; the same link shows the new proof, and the customer approves it
        regenerate(db, ids[1], runtime.settings.files_dir, title="Most Valuable Player")
        page.reload()
        card = page.locator(f"#item-{ids[1]}")
        expect(card.locator(".version-line")).to_have_text("Updated proof · version 2")
        expect(card.locator(".version-note")).to_have_text(NOTE)  # beside it, what the customer asked
        expect(card.locator(".proof img")).to_have_attribute("src", f"/approve/{token}/proof/{ids[1]}/2.png")
        _proofs_loaded(page, ids[1])
        card.get_by_role("button", name="Approve Seán O'Connor — item 2").click()
        expect(page.locator("#summary")).to_contain_text("All 4 proofs approved")
        expect(page.locator(".lede")).to_have_text(
            "Every proof is approved. There is nothing more to do here."
        )
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

        page.get_by_role("button", name="Approve Maria Gonzalez — item 1").click()
        page.wait_for_url(f"**/approve/{token}?m=approved*")
        expect(page.locator(f"#item-{ids[0]} .flash")).to_have_text("Maria Gonzalez — item 1 approved.")
        expect(page.locator(f"#item-{ids[0]} .flash")).to_be_focused()  # read out on arrival
        expect(page.locator(f"#item-{ids[0]} .badge")).to_contain_text("Approved")
        shots.take(page, "1-approved-flash")

        card = page.locator(f"#item-{ids[1]}")
        card.locator("summary").click()  # <details> opens without any script
        card.get_by_label("What should change on Seán O'Connor — item 2?").fill(NOTE)
        card.get_by_role("button", name="Send change request for Seán O'Connor — item 2").click()
        page.wait_for_url("**m=changed*")
        expect(page.locator(f"#item-{ids[1]} .note-text")).to_have_text(NOTE)
        expect(page.locator(f"#item-{ids[1]} .flash")).to_contain_text("was sent to Lakeside Trophies")

        page.get_by_role("button", name="Approve all 2 remaining").click()
        page.wait_for_url("**/approve-all?shown=*")
        expect(page.get_by_role("heading", level=1)).to_have_text("Approve all 2 remaining proofs?")
        expect(page.locator(".confirm-list li .confirm-values")).to_have_text(
            [_label("Zoë Müller", 3), _label("Chidi Okafor", 4)]
        )
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
            "[...document.querySelectorAll('img')]"
            ".every(i => i.alt.startsWith('Proof of ') && i.alt.includes(' — item '))"
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


# ---- axe-core on every state, at phone and desktop sizes, with the script and without -------------


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        _missing(f"axe-core is missing ({AXE}); scripts/bootstrap installs it with `npm ci`")
    return AXE.read_text()


class Axe:
    """Runs axe-core (every rule axe runs by default, WCAG 2.x A and AA included) in a page and keeps
    what it found, by state."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: dict[str, list[str]] = {}
        self.scans = 0

    def scan(self, page: Page, state: str) -> None:
        page.wait_for_load_state("load")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.source)
        violations = page.evaluate(
            """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v =>
                 `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`))"""
        )
        self.scans += 1
        if violations:
            self.found[state] = violations


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_axe_finds_no_violation_in_any_state(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    shots: Shots,
    axe_source: str,
    size: str,
) -> None:
    viewport = PHONE if size == "phone" else DESKTOP
    runtime, notifier = make_runtime(db, tmp_path)
    files = runtime.settings.files_dir
    job_id = seed_job(db, ws_id, owner, files, items=4, plates=True)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    paused_job = seed_job(db, ws_id, owner, files, items=2, reference="PO-4472")
    paused = new_link(db, paused_job, owner).token
    with db.session() as s:  # the shop took this one back to change it: "being updated"
        lifecycle.move(s, s.get(Job, paused_job), JobStatus.PROOFING, owner)
    axe = Axe(axe_source)
    with serve(runtime, notifier) as server:
        base = f"{server.url}/approve/{token}"
        page = _open(browser, "", viewport=viewport)
        plain = Plain(browser, viewport)  # the same pages as without JavaScript

        def both(state: str, url: str) -> None:
            axe.scan(plain.goto(url), f"{state} (no script)")

        page.goto(base)
        axe.scan(page, "opened")
        both("opened", base)
        shown = ",".join(f"{i}:1" for i in ids)
        both("confirm page", f"{base}/approve-all?shown={shown}")

        page.locator(f"#item-{ids[0]} .proof").click()
        expect(page.locator(f"#view-{ids[0]}")).to_be_visible()
        axe.scan(page, "enlarged")
        page.keyboard.press("Escape")
        expect(page.locator(f"#view-{ids[0]}")).to_be_hidden()
        plain.goto(f"{base}#view-{ids[0]}")
        expect(plain.page.locator(f"#view-{ids[0]}")).to_be_visible()
        axe.scan(plain.page, "enlarged (no script)")

        card = page.locator(f"#item-{ids[1]}")
        card.locator("summary").click()
        card.locator("textarea").fill("   ")
        card.locator(".btn-send").click()
        expect(card.locator(".field-error")).to_be_visible()
        axe.scan(page, "note refused")
        plain_card = plain.goto(base).locator(f"#item-{ids[1]}")
        plain_card.locator("summary").click()
        plain_card.locator("textarea").fill("   ")
        refused = plain.click(plain_card.locator(".btn-send"))
        expect(refused.locator(f"#error-{ids[1]}")).to_be_visible()
        expect(refused.locator(f"#note-{ids[1]}")).to_be_focused()
        axe.scan(refused, "note refused (no script)")

        card.locator("textarea").fill(NOTE)
        card.locator(".btn-send").click()
        expect(page.locator(f"#item-{ids[1]} .note-text")).to_have_text(NOTE)
        axe.scan(page, "change sent")
        both("change sent", f"{base}?m=changed&i={ids[1]}")

        page.locator(f"#item-{ids[0]} .btn-approve").click()
        expect(page.locator(f"#item-{ids[0]} .badge")).to_contain_text("Approved")
        axe.scan(page, "one approved")
        both("one approved", f"{base}?m=approved&i={ids[0]}")

        page.get_by_role("button", name="Approve all 2 remaining").click()
        expect(page.locator("#confirm-all")).to_be_visible()
        axe.scan(page, "approve-all dialog")
        shots.take(page, f"axe-{size}-dialog")
        page.locator("#confirm-all .js-confirm").click()
        expect(page.locator("#summary")).to_contain_text("Thanks, you've reviewed every proof")
        axe.scan(page, "all reviewed")
        both("all reviewed", f"{base}?m=all&a=2&s=0")

        regenerate(db, ids[1], files, title="Most Valuable Player")
        page.reload()
        expect(page.locator(f"#item-{ids[1]} .version-note")).to_have_text(NOTE)
        expect(page.locator(f"#item-{ids[1]} .changes-list ins")).to_have_text("now Most Valuable Player")
        axe.scan(page, "updated proof")
        both("updated proof", f"{base}?m=stale&i={ids[1]}")
        page.get_by_label("What you saw (version 1)").check()
        expect(page.locator(f"#item-{ids[1]} .proof-before img")).to_be_visible()
        axe.scan(page, "the version seen before")
        page.get_by_label("New proof (version 2)").check()
        shots.take(page, f"axe-{size}-updated", full_page=True)

        page.locator(f"#item-{ids[1]} .btn-approve").click()
        expect(page.locator("#summary")).to_contain_text("All 4 proofs approved")
        axe.scan(page, "all approved")
        both("all approved", f"{base}?m=approved&i={ids[1]}")

        page.goto(f"{server.url}/approve/{paused}")
        axe.scan(page, "being updated")
        page.goto(f"{server.url}/approve/{'n' * 43}")
        axe.scan(page, "unavailable link")
        page.goto(f"{base}/items/{ids[0]}", wait_until="load")  # a reload of a form's address
        axe.scan(page, "back from a form address")
    assert axe.scans == 22
    assert axe.found == {}, "\n".join(f"{state}: {v}" for state, vs in axe.found.items() for v in vs)


# ---- keyboard: every focused control in full view, never under the sticky bar -------------------

FULLY_VISIBLE = """el => {
  const r = el.getBoundingClientRect();
  if (!r.width || !r.height) return "it has no box";
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth)
    return `it is outside the window (${Math.round(r.top)}..${Math.round(r.bottom)})`;
  const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;  // edge midpoints (corners are round)
  const points = [[cx, r.top + 1], [cx, r.bottom - 1], [r.left + 1, cy], [r.right - 1, cy], [cx, cy]];
  for (const [x, y] of points) {
    const top = document.elementFromPoint(x, y);
    if (top && top !== el && !el.contains(top)) {
      const cover = top.closest("[id]");
      const name = top.tagName.toLowerCase() + (cover ? " in #" + cover.id : "") + " " + top.className;
      return `covered by ${name} at ${Math.round(x)},${Math.round(y)}`;
    }
  }
  return "";
}"""

DESCRIBE = (
    """el => (el.getAttribute("aria-label") || el.innerText || el.id || el.tagName).trim().slice(0, 60)"""
)


def _hidden_focus(page: Page) -> str:
    """'' when the focused element is wholly visible and uncovered, else what is wrong with it."""
    problem = page.evaluate(f"({FULLY_VISIBLE})(document.activeElement)")
    return f"{page.evaluate(f'({DESCRIBE})(document.activeElement)')}: {problem}" if problem else ""


def _focus_after_load(page: Page) -> str:
    """What is wrong with where focus landed once the page that answered a decision is loaded (''
    when it is in full view). Without JavaScript that page is a new load: its autofocus may land
    while the page is still being laid out, so it is given until the load is done."""
    page.wait_for_function("document.activeElement !== document.body")
    page.wait_for_load_state("load")
    with contextlib.suppress(PlaywrightTimeout):  # the assertion that follows says what is wrong
        page.wait_for_function(f"({FULLY_VISIBLE})(document.activeElement) === ''", timeout=3_000)
    return _hidden_focus(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_every_focused_control_is_fully_visible(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    shots: Shots,
    javascript: bool,
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=12)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=javascript)
        page.goto(f"{server.url}/approve/{token}")
        hidden: list[str] = []
        stops = 0
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.outerHTML")
        while True:
            stops += 1
            if problem := _hidden_focus(page):
                hidden.append(problem)
                shots.take(page, f"hidden-{stops}")
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement === document.body") or stops > 200:
                break
            if page.evaluate("document.activeElement.outerHTML") == first:
                break
        assert stops >= 12 * 3 + 1  # the skip link, then per item: enlarge, approve, request change
        # and back up again (controls now come in from the top, where the sticky bar is)
        page.keyboard.press("Shift+Tab")
        for _ in range(stops - 1):
            if problem := _hidden_focus(page):
                hidden.append(f"(backwards) {problem}")
            page.keyboard.press("Shift+Tab")
        assert hidden == [], "\n".join(hidden)

        # deciding by keyboard: where focus lands afterwards is in full view too
        page.locator(f"#item-{ids[6]} .btn-approve").focus()
        page.keyboard.press("Enter")
        expect(page.locator(f"#item-{ids[6]} .badge")).to_contain_text("Approved")
        assert _focus_after_load(page) == ""
        card = page.locator(f"#item-{ids[8]}")
        card.locator("summary").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(card.locator("textarea")).to_be_focused()
        page.keyboard.type("Please make the name larger.")
        page.keyboard.press("Tab")
        assert _hidden_focus(page) == ""  # "Send change request" is not under anything
        page.keyboard.press("Enter")
        expect(page.locator(f"#item-{ids[8]} .badge")).to_have_text("Change requested")
        assert _focus_after_load(page) == ""
        shots.take(page, "after-change-request")
        # the very next control is in full view as well
        page.keyboard.press("Tab")
        assert _hidden_focus(page) == ""


def test_without_javascript_the_answer_is_in_view_when_the_page_arrives_in_pieces(
    browser: Browser, db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    """On a slow line the page after a decision is parsed and laid out in pieces: the message must
    still end up focused and wholly in view (a scroll made once, while the page was half there, is
    clamped to what had arrived)."""
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=12)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=False)
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}/approve/{token}")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        slow = {
            "offline": False,
            "latency": 20,
            "downloadThroughput": 30_000,  # bytes a second: the page takes a few seconds
            "uploadThroughput": 100_000,
        }
        cdp.send("Network.emulateNetworkConditions", slow)
        page.locator(f"#item-{ids[8]} .btn-approve").click()
        expect(page.locator(f"#item-{ids[8]} .badge")).to_contain_text("Approved", timeout=30_000)
        assert page.url.endswith(f"#result-{ids[8]}")
        expect(page.locator(f"#result-{ids[8]}")).to_be_focused(timeout=30_000)  # read out on arrival
        assert _focus_after_load(page) == ""


# ---- sharp previews at a device pixel ratio of 3 ----------------------------------------------

REAL_PIXELS = """async img => {
  const probe = new Image();
  probe.src = img.currentSrc;
  await probe.decode();
  return {src: img.currentSrc, pixels: probe.naturalWidth, shown: img.getBoundingClientRect().width};
}"""


@pytest.mark.parametrize(
    ("viewport", "scale", "picked"),
    [(PHONE, 3, "w1200"), (DESKTOP, 2, "w1200"), (PHONE, 2, "w750"), (PHONE, 1, "1")],
    ids=["phone-3x", "desktop-2x", "phone-2x", "phone-1x"],
)
def test_previews_have_the_pixels_the_screen_shows(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    viewport: dict,
    scale: float,
    picked: str,
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=3, plates=True)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", viewport=viewport, scale=scale)
        page.goto(f"{server.url}/approve/{token}")
        for item_id in ids:
            _proofs_loaded(page, item_id)
            img = page.locator(f"#item-{item_id} .proof img")
            seen = img.evaluate(REAL_PIXELS)
            assert seen["pixels"] >= seen["shown"] * scale, seen
            # no more than the screen needs: a 1x phone gets the proof's own 150 dpi PNG
            assert seen["src"].endswith(f"/{item_id}/1.png" if picked == "1" else f"/1.{picked}.png"), seen
        # the large preview is the proof itself, drawn again from its PDF: same picture, more pixels
        big = page.request.get(f"{server.url}/approve/{token}/proof/{ids[0]}/1.w1200.png")
        assert big.status == 200 and big.headers["content-type"] == "image/png"
        assert big.headers["cache-control"] == "private, no-store"
        assert page.request.get(f"{server.url}/approve/{token}/proof/{ids[0]}/1.w999.png").status == 404


# ---- the enlarged view keeps the customer's place and their unsent note ----------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_enlarged_view_keeps_place_and_unsent_note(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    shots: Shots,
    javascript: bool,
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=4, plates=True)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=javascript, scale=3)
        page.goto(f"{server.url}/approve/{token}")
        card = page.locator(f"#item-{ids[2]}")
        card.locator("summary").click()
        card.locator("textarea").fill(NOTE)
        card.locator(".proof").scroll_into_view_if_needed()
        before = page.evaluate("window.scrollY")
        card.locator(".proof").click()
        viewer = page.locator(f"#view-{ids[2]}")
        expect(viewer).to_be_visible()
        expect(viewer.get_by_role("heading")).to_have_text("Proof of Zoë Müller — item 3")
        _image_loaded(page, f"#view-{ids[2]} img")
        shown = viewer.locator("img").evaluate(REAL_PIXELS)
        assert shown["shown"] > page.locator(f"#item-{ids[2]} .proof img").bounding_box()["width"]
        assert shown["pixels"] >= 1200
        shots.take(page, "enlarged")
        if javascript:
            expect(viewer.locator(".viewer-close")).to_be_focused()
            page.keyboard.press("Escape")
        else:
            viewer.get_by_role("link", name="Close").click()
        expect(viewer).to_be_hidden()
        assert page.url.startswith(f"{server.url}/approve/{token}")  # never left the page
        expect(card.locator("textarea")).to_have_value(NOTE)  # the unsent note is still there
        if javascript:
            # the very same place (to a device pixel: going back in history may restore it a frame later)
            page.wait_for_function(f"Math.abs(window.scrollY - {before}) < 1", timeout=3_000)
            expect(card.locator(".proof")).to_be_focused()
        else:
            assert (
                page.evaluate(f"({FULLY_VISIBLE})(document.querySelector('#item-{ids[2]} .card-title'))")
                == ""
            )
        # the phone's Back button closes it as well (the script's history entry)
        if javascript:
            card.locator(".proof").click()
            expect(viewer).to_be_visible()
            page.go_back()
            expect(viewer).to_be_hidden()
            expect(card.locator("textarea")).to_have_value(NOTE)


# ---- a long page: the first proofs at once, the rest added by the script a block at a time ----


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_a_long_page_is_whole_with_and_without_javascript(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    shots: Shots,
    javascript: bool,
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=12)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=javascript)
        problems = _watch(page)
        # a link to an item further down lands on that item once it is there
        page.goto(f"{server.url}/approve/{token}#item-{ids[10]}")
        cards = page.locator("#items .card")
        expect(cards).to_have_count(12)
        for n, item_id in enumerate(ids):
            expect(cards.nth(n)).to_have_attribute("id", f"item-{item_id}")  # in order, none twice
        expect(page.locator(".js-more-note")).to_be_hidden()
        expect(page.locator(f"#item-{ids[10]} .card-title")).to_be_in_viewport()
        shots.take(page, "item-11")
        if javascript:
            # one list, numbered 1 to 12, and the added cards work like the first ones
            expect(page.locator("#items-list > li")).to_have_count(12)
            assert page.locator("noscript.js-more").count() == 0
            card = page.locator(f"#item-{ids[9]}")
            card.locator("summary").click()
            card.locator("textarea").fill(NOTE)
            expect(card.locator(".counter")).to_have_text(f"{len(NOTE)} / 2,000")
            card.get_by_role("button", name=re.compile("^Send change request")).click()
            expect(card.locator(".badge")).to_have_text("Change requested")
            page.get_by_role("button", name="Approve all 11 remaining").click()
            expect(page.locator("#confirm-all .confirm-list li")).to_have_count(11)
            page.locator("#confirm-all").get_by_role("button", name="Yes, approve all 11").click()
            expect(page.locator("#progress")).to_contain_text("12 of 12 reviewed")
        else:
            page.locator(f"#item-{ids[11]}").get_by_role("button", name=re.compile("^Approve ")).click()
            page.wait_for_url("**m=approved*")
            expect(page.locator(f"#item-{ids[11]} .badge")).to_contain_text("Approved")
            expect(page.locator("#items .card")).to_have_count(12)
        assert problems == []
        # the whole page at once, as the note's link gives it should the script not run
        whole = page.request.get(f"{server.url}/approve/{token}?all=1").text()
        assert whole.count('class="card ') == 12 and "js-more" not in whole


# ---- what changed since the customer last looked ------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_an_updated_proof_shows_what_changed(
    browser: Browser,
    db: Database,
    ws_id: int,
    owner: Actor,
    tmp_path: Path,
    shots: Shots,
    javascript: bool,
) -> None:
    runtime, notifier = make_runtime(db, tmp_path)
    job_id = seed_job(db, ws_id, owner, runtime.settings.files_dir, items=3, plates=True)
    token = new_link(db, job_id, owner).token
    ids = item_ids(db, job_id)
    with db.session() as s:
        decisions.decide(s, token, ids[0], 1, "approve")
        decisions.decide(s, token, ids[1], 1, "change", note="The award is Most Valuable Player")
    regenerate(db, ids[1], runtime.settings.files_dir, title="Most Valuable Player")
    with serve(runtime, notifier) as server:
        page = _open(browser, "", javascript=javascript, scale=3)
        problems = _watch(page)
        page.goto(f"{server.url}/approve/{token}#item-{ids[1]}")
        card = page.locator(f"#item-{ids[1]}")
        expect(card.locator(".changes-line")).to_have_text("Changed since version 1, the one you looked at:")
        expect(card.locator(".changes-list del")).to_have_text("was Most Improved Player")
        expect(card.locator(".changes-list ins")).to_have_text("now Most Valuable Player")
        # the old value is struck through, the new one highlighted
        assert "line-through" in card.locator(".changes-list del").evaluate(
            "el => getComputedStyle(el).textDecorationLine"
        )
        new_img, old_img = card.locator("a.proof img"), card.locator(".proof-before img")
        expect(new_img).to_be_visible()
        expect(old_img).to_be_hidden()
        _proofs_loaded(page, ids[1])
        card.locator(".compare").scroll_into_view_if_needed()
        shots.take(page, "1-new-proof")
        card.get_by_label("What you saw (version 1)").check()  # a tap on the label, or keyboard
        expect(new_img).to_be_hidden()
        expect(old_img).to_be_visible()
        _image_loaded(page, f"#item-{ids[1]} .proof-before img")
        assert old_img.evaluate("i => i.currentSrc").split("/proof/")[1].startswith(f"{ids[1]}/1.")
        shots.take(page, "2-what-you-saw")
        card.get_by_label("New proof (version 2)").focus()
        page.keyboard.press("Space")
        expect(new_img).to_be_visible()
        expect(page.locator(f"#item-{ids[0]} .unchanged")).to_have_text("Unchanged since you last looked.")
        expect(page.locator(f"#item-{ids[2]} .unchanged")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert problems == []
