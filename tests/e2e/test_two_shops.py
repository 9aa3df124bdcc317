"""Two shops at once, end to end, against the real `python app.py serve` process on PostgreSQL with the
Slack and OpenAI stand-ins, and the customers in headless Chromium on a phone-sized screen.

Lakeside Trophies pastes a customer's email (parsed by the AI through the OpenAI stand-in) onto trophy
plates; its customer approves everything without JavaScript. Harbor Badges uploads a roster CSV (read by
the table reader) onto name badges; its customer asks for a change with JavaScript on, a member of the
shop edits the item from the thread, and the customer approves the new proof through the same link.
Both shops export (SVG curves, PDF) and complete their jobs. Then everything the app did is checked:
every Slack call, every file on disk and in Slack, and each job's activity log, event by event."""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import select

from pipeline.jobs.activity import describe
from storage.models import ActivityEvent, Export, Item, Job, ProofVersion, Task, Workspace
from tests.e2e.server import ServedApp, served_app, wait_for
from tests.e2e.shop import Person, Shop
from tests.standins.blockkit_limits import validate_message
from tests.standins.openai_api import OpenAIStandIn, Reply
from tests.standins.slack_api import BOT_TOKEN, DOWNLOAD, UPLOAD, WEBHOOK, FakeSlack
from tests.standins.slack_requests import files_value

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CORPUS = Path(__file__).resolve().parents[1] / "pipeline" / "intake" / "parsing" / "corpus"  # real orders
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PHONE = {"width": 390, "height": 844}
SVG = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHANGE_NOTE = "Please add his shirt number: Björn Svensson #4"

EMAIL = (CORPUS / "sample-email-plates.txt").read_text()
NUMBERED = re.compile(r"^(\d+)\| ?(.*)$")
PLATE_LINE = re.compile(r"^\d+\.\s+(?P<name>.+?)(?:\s+-\s+(?P<title>.+))?$")


def plates_model(body: dict[str, Any]) -> dict[str, Any]:
    """The stand-in model for Lakeside's email: numbered list lines are plates, "Last, First" is
    turned around with lower confidence (the model is unsure), everything else is left unused."""
    text = next(m["content"] for m in body["messages"] if m["role"] == "user")
    items, unused = [], []
    for line in text.split("\n"):
        numbered = NUMBERED.match(line)
        if not numbered:
            continue
        m = PLATE_LINE.match(numbered.group(2).strip())
        if m is None:
            if numbered.group(2).strip():
                unused.append({"line": int(numbered.group(1)), "why": "not a plate"})
            continue
        name, confidence, reasons = m.group("name").strip(), 0.95, []
        if "," in name:
            last, first = (part.strip() for part in name.split(",", 1))
            name, confidence, reasons = f"{first} {last}", 0.7, ["reordered Last, First"]
        values = dict.fromkeys(
            ("name", "title", "company", "date", "qty", "phone", "email", "pronouns", "note")
        )
        values.update(name=name, title=m.group("title"))
        items.append(
            {"line": int(numbered.group(1)), "values": values, "confidence": confidence, "reasons": reasons}
        )
    return {"items": items, "unused_lines": unused}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Debian's chromium is missing ({CHROMIUM}); install it with scripts/bootstrap"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def together(*steps: Callable[[], Any]) -> list[Any]:
    """Run each shop's steps at the same moment on its own thread; re-raise the first failure."""
    results: list[Any] = [None] * len(steps)
    errors: list[BaseException] = []

    def run(i: int, step: Callable[[], Any]) -> None:
        try:
            results[i] = step()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(steps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    if errors:
        raise errors[0]
    return results


def phone(browser: Browser, *, javascript: bool) -> Page:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_two_shops_from_new_job_to_completed(tmp_path: Path, browser: Browser) -> None:
    with (
        FakeSlack() as fake,
        OpenAIStandIn(default=Reply.computed(plates_model)) as openai,
        served_app(tmp_path, fake=fake, openai=openai) as app,
    ):
        lakeside = Shop(app, "T0LAKE0001", "lakeside", "C0LAKEPROD",
                        Person("U0ANNA0001", "anna"), Person("U0LEO00001", "leo"))  # fmt: skip
        harbor = Shop(app, "T0HARB0001", "harbor", "C0HARBPROD",
                      Person("U0BRUNO001", "bruno"), Person("U0CLARA001", "clara"))  # fmt: skip
        fake.add_team(lakeside.team_id, "Lakeside Trophies", lakeside.domain)
        fake.add_team(harbor.team_id, "Harbor Badges", harbor.domain)
        for shop in (lakeside, harbor):
            fake.add_channel(shop.channel, f"{shop.domain}-production", team_id=shop.team_id)
            for person in (shop.owner, shop.member):
                fake.add_user(person.user_id, person.name, team_id=shop.team_id)
        run_both_shops(app, fake, openai, browser, lakeside, harbor)
        app.settle()
        check_everything(app, fake, lakeside, harbor)


def run_both_shops(
    app: ServedApp, fake: FakeSlack, openai: OpenAIStandIn, browser: Browser, lakeside: Shop, harbor: Shop
) -> None:
    # each owner is the first person of their workspace and points the app at the production channel
    def set_up(shop: Shop) -> None:
        answer = shop.command("channel")
        assert f"<#{shop.channel}>" in answer.text
        refused = shop.command("channel", by=shop.member)
        assert "owner or admin" in refused.text

    together(lambda: set_up(lakeside), lambda: set_up(harbor))

    def lakeside_order() -> str:
        ref, parse_view = lakeside.create_job(
            name="Rebecca Stone",
            email="rebecca@lakeside-soccer.example",
            reference="LYS-24",
            due="2030-06-14",
        )
        template_view = lakeside.parse_and_review(
            parse_view, {"order_text": {"value": {"type": "plain_text_input", "value": EMAIL}}}
        )
        lakeside.choose_template(
            template_view, "trophy-plate", {"name": "name", "achievement": "title", "year": "__none__"}
        )
        lakeside.wait_thread(ref, "Preflight")
        return lakeside.approval_link(ref)

    def harbor_order() -> str:
        ref, parse_view = harbor.create_job(
            name="Dana Whitfield", email="dana@harbor-fc.example", reference="HFC-2031", due="2030-07-01"
        )
        roster = harbor.upload("roster.csv", (CORPUS / "sample-roster.csv").read_bytes(), mimetype="text/csv")
        template_view = harbor.parse_and_review(parse_view, {"order_file": {"value": files_value(roster)}})
        harbor.choose_template(template_view, "badge", {"name": "player name", "title": "position"})
        harbor.wait_thread(ref, "Preflight")
        return harbor.approval_link(ref)

    lakeside_url, harbor_url = together(lakeside_order, harbor_order)
    assert lakeside_url.startswith(app.url + "/approve/") and harbor_url.startswith(app.url + "/approve/")
    assert len(openai.completion_requests) >= 1  # Lakeside's email went through the AI

    # the customers, on their phones, at the same time as the shops go on working
    lakeside_phone = phone(browser, javascript=False)
    lakeside_phone.goto(lakeside_url)
    expect(lakeside_phone.locator(".shop-name")).to_have_text("Lakeside Trophies")
    expect(lakeside_phone.get_by_role("heading", level=1)).to_have_text("Order LYS-24")
    shot(lakeside_phone, "lakeside-1-opened")
    lakeside_phone.get_by_role("button", name="Approve all 6 remaining").click()
    lakeside_phone.wait_for_url("**/approve-all?shown=*")
    lakeside_phone.get_by_role("button", name="Yes, approve all 6").click()
    lakeside_phone.wait_for_url("**m=all*")
    expect(lakeside_phone.locator("#summary")).to_contain_text("All 6 proofs approved")
    shot(lakeside_phone, "lakeside-2-approved")

    harbor_phone = phone(browser, javascript=True)
    harbor_phone.goto(harbor_url)
    expect(harbor_phone.get_by_role("heading", level=1)).to_have_text("Order HFC-2031")
    card = harbor_phone.locator("li.card", has_text="Björn Svensson")
    card.locator("summary").click()
    card.get_by_label(re.compile(r"What should change on .+ — item \d+\?")).fill(CHANGE_NOTE)
    card.get_by_role("button", name="Send change request").click()
    expect(card.locator(".badge")).to_have_text("Change requested")
    harbor_phone.get_by_role("button", name="Approve all 5 remaining").click()
    harbor_phone.locator("#confirm-all").get_by_role("button", name="Yes, approve all 5").click()
    expect(harbor_phone.locator("#progress")).to_contain_text("6 of 6 reviewed")
    shot(harbor_phone, "harbor-1-change-requested")

    # Lakeside exports and completes; Harbor's member fixes the item from the thread meanwhile
    def lakeside_finish() -> None:
        wait_for(
            lambda: job_status(app, "T0LAKE0001") == "production_ready", what="Lakeside production_ready"
        )
        lakeside.export("J-1001", "svg")
        lakeside.wait_thread("J-1001", "Export ready")
        lakeside.export("J-1001", "pdf")
        wait_for(lambda: len(exports(app, "T0LAKE0001")) == 2, what="two Lakeside exports")
        lakeside.command("complete J-1001")

    def harbor_fix() -> None:
        text = harbor.wait_thread("J-1001", CHANGE_NOTE)
        assert "Björn" in text
        message = next(m for m in harbor.thread("J-1001") if CHANGE_NOTE in (m.get("text") or ""))
        button = next(
            e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == "item_edit"
        )  # fmt: skip
        harbor.click("item_edit", button["value"], by=harbor.member, message=message)
        modal = harbor.wait_view("job_edit_item", by=harbor.member)
        assert CHANGE_NOTE in json.dumps(modal["blocks"], ensure_ascii=False)
        values = {}
        for block in modal["blocks"]:
            if block.get("block_id", "").startswith("v:"):
                initial = block["element"].get("initial_value") or ""
                new = "Björn Svensson #4" if initial == "Björn Svensson" else initial
                values[block["block_id"]] = {"value": {"type": "plain_text_input", "value": new}}
        answer = harbor.submit(modal, values, by=harbor.member)
        assert answer.get("response_action") in (None, "clear"), answer
        harbor.wait_thread("J-1001", "item 4")  # re-proofed: the thread says the proof was redone

    together(lakeside_finish, harbor_fix)

    # Harbor's customer sees version 2 on the same link and approves it
    wait_for(lambda: item_proof_version(app, "T0HARB0001", "Björn Svensson #4") == 2, what="Harbor proof v2")
    harbor_phone.reload()
    card = harbor_phone.locator("li.card", has_text="Björn Svensson #4")
    expect(card.locator(".version-line")).to_have_text("Updated proof · version 2")
    expect(card.locator(".version-note")).to_have_text(CHANGE_NOTE)
    card.get_by_role("button", name=re.compile(r"Approve .+ — item \d+")).click()
    expect(harbor_phone.locator("#summary")).to_contain_text("All 6 proofs approved")
    shot(harbor_phone, "harbor-2-approved")
    assert lakeside_phone.problems == [] and harbor_phone.problems == []

    wait_for(lambda: job_status(app, "T0HARB0001") == "production_ready", what="Harbor production_ready")
    harbor.export("J-1001", "dxf", "curves")
    wait_for(lambda: len(exports(app, "T0HARB0001")) == 1, what="Harbor export")
    harbor.command("complete J-1001")

    # each owner's Home tab is their own shop's dashboard
    for shop, customer, other in ((lakeside, "Rebecca Stone", "Dana Whitfield"),
                                  (harbor, "Dana Whitfield", "Rebecca Stone")):  # fmt: skip
        resp = shop.slack.app_home_opened(user=shop.owner.user_id, team=shop.team_id)
        assert resp.status_code == 200
        home = wait_for(lambda s=shop: fake.home_view(s.owner.user_id), what="the Home tab")
        text = json.dumps(home["blocks"], ensure_ascii=False)
        assert customer in text and other not in text


# -- reading the app's state ------------------------------------------------------------------------


def _job(s: Any, team: str) -> Job:
    ws = s.exec(select(Workspace).where(Workspace.slack_team_id == team)).one()
    return s.exec(select(Job).where(Job.workspace_id == ws.id)).one()


def job_status(app: ServedApp, team: str) -> str:
    with app.reading() as s:
        return _job(s, team).status


def exports(app: ServedApp, team: str) -> list[Export]:
    with app.reading() as s:
        return list(s.exec(select(Export).where(Export.job_id == _job(s, team).id).order_by("id")))


def item_proof_version(app: ServedApp, team: str, name: str) -> int:
    with app.reading() as s:
        items = s.exec(select(Item).where(Item.job_id == _job(s, team).id)).all()
        return next(
            (i.proof_version or 0 for i in items if name in json.dumps(i.values, ensure_ascii=False)), 0
        )


# -- the checks ---------------------------------------------------------------------------------------


def check_everything(app: ServedApp, fake: FakeSlack, lakeside: Shop, harbor: Shop) -> None:
    check_slack_calls(app, fake, lakeside, harbor)
    check_files(app, fake, lakeside, harbor)
    check_activity(app, lakeside, harbor)
    assert "Traceback" not in app.log()


def check_slack_calls(app: ServedApp, fake: FakeSlack, lakeside: Shop, harbor: Shop) -> None:
    calls = fake.calls()
    plain = (UPLOAD, WEBHOOK, DOWNLOAD)  # not Web API methods: plain HTTP answers
    failed = [(c.method, c.response) for c in calls if (c.status != 200 if c.method in plain else not c.ok)]
    assert failed == []
    assert {c.token for c in calls if c.method not in (UPLOAD, WEBHOOK)} == {BOT_TOKEN}
    # only the Web API methods the product needs, each asked with the right arguments (the stand-in
    # answers invalid ones with Slack's own errors, counted in `failed` above)
    assert {c.method for c in calls} <= {
        "auth.test", "team.info", "views.open", "views.update", "views.publish", "chat.postMessage",
        "chat.update", "conversations.replies", "conversations.history", "files.info",
        "files.getUploadURLExternal", "files.completeUploadExternal", UPLOAD, DOWNLOAD, WEBHOOK,
    }  # fmt: skip
    assert len(fake.calls("team.info")) == 2  # each shop's name asked once, for its approval page
    channels = {lakeside.channel, harbor.channel}
    posts = fake.calls("chat.postMessage")
    assert {c.params["channel"] for c in posts} == channels
    for shop, other in ((lakeside, harbor), (harbor, lakeside)):
        messages = fake.messages(shop.channel)
        texts = [m.get("text") or "" for m in messages]
        # nothing of the other shop's order ever shows up in this shop's channel
        other_customer = "Rebecca Stone" if other is lakeside else "Dana Whitfield"
        assert not any(other_customer in t for t in texts)
        # one card per job, updated in place; every other message is a reply in its thread
        cards = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        assert [c["text"].split(" ")[0] for c in cards] == ["J-1001"]
        card = cards[0]
        assert all(m.get("thread_ts") == card["ts"] for m in messages if m is not card)
        assert validate_message(card["blocks"], card["text"]) == []
        assert "Completed" in json.dumps(card["blocks"])
        updates = [c for c in fake.calls("chat.update") if c.params["channel"] == shop.channel]
        assert updates and {c.params["ts"] for c in updates} == {card["ts"]}
        # no message posted twice (the sender's exactly-once), and every message valid Block Kit
        replies = [m for m in messages if m is not card and m.get("blocks")]
        seen = Counter(json.dumps(m["blocks"], sort_keys=True) for m in replies)
        assert [b for b, n in seen.items() if n > 1] == []
        for m in replies:
            assert validate_message(m["blocks"], m.get("text")) == []
    # each person's ephemeral answers and modals went to that person only
    for shop in (lakeside, harbor):
        for view in fake.views(user=shop.owner.user_id) + fake.views(user=shop.member.user_id):
            other = harbor if shop is lakeside else lakeside
            assert other.owner.user_id not in json.dumps(view)


def check_files(app: ServedApp, fake: FakeSlack, lakeside: Shop, harbor: Shop) -> None:
    uploads = fake.uploaded_files(include_incomplete=True)
    assert all(f.completed for f in uploads)  # every three-step upload was finished
    by_channel = {ch: [f for f in uploads if f.channel == ch] for ch in (lakeside.channel, harbor.channel)}
    for shop in (lakeside, harbor):
        names = [f.name for f in by_channel[shop.channel]]
        sheets = [f for f in by_channel[shop.channel] if f.name.endswith("_proofs.pdf")]
        assert len(sheets) >= 1, names
        for sheet in sheets:
            pdf = pdfium.PdfDocument(sheet.content)
            assert len(pdf) >= 1
            page_text = pdf[0].get_textpage().get_text_range()
            assert "J-1001" in page_text
        card_ts = shop.card("J-1001")["ts"]
        assert all(f.thread_ts == card_ts for f in by_channel[shop.channel])

    files_dir = app.data_dir / "files"
    leftovers = [p for p in files_dir.rglob(".*") if p.name.endswith(".part") or ".staging." in p.name]
    assert leftovers == []

    with app.reading() as s:
        for team, count in (("T0LAKE0001", 6), ("T0HARB0001", 6)):
            job = _job(s, team)
            items = s.exec(select(Item).where(Item.job_id == job.id).order_by("position")).all()
            assert len(items) == count
            for item in items:
                versions = s.exec(select(ProofVersion).where(ProofVersion.item_id == item.id)).all()
                assert [v.version for v in versions] == list(range(1, item.proof_version + 1))
                for v in versions:
                    pdf = pdfium.PdfDocument(str(files_dir / v.pdf_path))
                    assert len(pdf) == 1
                    with Image.open(files_dir / v.png_path) as png:
                        assert png.width > 300 and png.height > 100
                latest = pdfium.PdfDocument(str(files_dir / versions[-1].pdf_path))
                words = latest[0].get_textpage().get_text_range()
                first = (item.values.get("name") or item.values.get("player name") or "").split()[0]
                assert first in words, (first, words)
            tasks = s.exec(select(Task).where(Task.job_id == job.id)).all()
            assert [t for t in tasks if t.state != "done"] == []
        check_exports(s, files_dir, fake, lakeside, harbor)


def check_exports(s: Any, files_dir: Path, fake: FakeSlack, lakeside: Shop, harbor: Shop) -> None:
    zips = {f.name: f for f in fake.uploaded_files() if f.name.endswith(".zip")}
    lake = s.exec(select(Export).where(Export.job_id == _job(s, "T0LAKE0001").id).order_by("id")).all()
    harb = s.exec(select(Export).where(Export.job_id == _job(s, "T0HARB0001").id).order_by("id")).all()
    assert [e.output_format for e in lake] == ["svg", "pdf"] and [e.output_format for e in harb] == ["dxf"]
    for export in [*lake, *harb]:
        on_disk = files_dir / export.zip_path
        assert all((files_dir / f).is_file() for f in export.files)
        posted = zips[on_disk.name]
        assert posted.content == on_disk.read_bytes()  # what the operator downloads is the file we made
        with zipfile.ZipFile(io.BytesIO(posted.content)) as zf:
            assert zf.testzip() is None
            names = zf.namelist()
            manifest = json.loads(zf.read(next(n for n in names if n.endswith("manifest.json"))))
            assert manifest["job"]["ref"] == "J-1001" and manifest["job"]["items"] == 6
            assert manifest["job"]["customer"] == ("Rebecca Stone" if export in lake else "Dana Whitfield")
            sheets = [n for n in names if n.endswith("." + export.output_format)]
            assert sheets, names
            for name in sheets:
                data = zf.read(name)
                if export.output_format == "svg":
                    root = ElementTree.fromstring(data)
                    assert root.get("width", "").endswith("mm")
                    assert list(root.iter(f"{SVG}text")) == []  # text already converted to curves
                    assert len(list(root.iter(f"{SVG}path"))) >= 6
                elif export.output_format == "pdf":
                    assert len(pdfium.PdfDocument(data)) >= 1
                else:
                    assert b"SECTION" in data and b"ENTITIES" in data


def check_activity(app: ServedApp, lakeside: Shop, harbor: Shop) -> None:
    with app.reading() as s:
        logs = {
            team: [
                (describe(e.event_type), e.actor_kind, e.actor_id, e.details)
                for e in s.exec(
                    select(ActivityEvent).where(ActivityEvent.job_id == _job(s, team).id).order_by("id")
                )
            ]
            for team in ("T0LAKE0001", "T0HARB0001")
        }
    anna, bruno, clara = ("user", "U0ANNA0001"), ("user", "U0BRUNO001"), ("user", "U0CLARA001")
    system = ("system", "system")

    def customer(team: str) -> tuple[str, str]:
        """The customer acts through the job's approval link (the two shops made theirs in either order)."""
        link = next(d["link_id"] for e, _, _, d in logs[team] if e == "Approval link generated")
        return ("customer", f"link:{link}")

    lake_customer, harbor_customer = customer("T0LAKE0001"), customer("T0HARB0001")

    def moved(frm: str, to: str, actor: tuple[str, str]) -> tuple[str, str, str, str]:
        return (f"Status changed {frm}→{to}", *actor, "")

    def steps(log: list[tuple[str, str, str, dict[str, Any]]]) -> list[tuple[str, ...]]:
        out = []
        for event, kind, actor, details in log:
            if event == "Status changed":
                out.append((f"Status changed {details['from']}→{details['to']}", kind, actor, ""))
            else:
                out.append((event, kind, actor, _key_detail(event, details)))
        return out

    assert steps(logs["T0LAKE0001"]) == [
        ("Job created", *anna, "Rebecca Stone"),
        moved("draft", "parsing", anna),
        ("Input submitted", *anna, "pasted text"),
        ("Items parsed", *anna, "6 by ai, 1 flagged"),
        ("Items accepted", *anna, "6"),
        moved("parsing", "proofing", anna),
        ("Template chosen", *anna, "trophy-plate"),
        ("Mapping applied", *anna, "name→name, title→achievement"),
        ("Proofs generated", *anna, "6 of 6"),
        ("Preflight completed", *anna, "0 errors"),
        moved("proofing", "pending_approval", anna),
        ("Approval link generated", *anna, ""),
        ("Approval page viewed", *lake_customer, ""),
        ("Item approved", *lake_customer, "1, 2, 3, 4, 5 and 6"),
        moved("pending_approval", "approved", lake_customer),
        moved("approved", "production_ready", system),
        moved("production_ready", "exported", anna),
        ("Export created", *anna, "svg curves v1"),
        moved("exported", "exported", anna),
        ("Export created", *anna, "pdf curves v2"),
        moved("exported", "completed", anna),
        ("Job completed", *anna, ""),
    ]
    assert steps(logs["T0HARB0001"]) == [
        ("Job created", *bruno, "Dana Whitfield"),
        moved("draft", "parsing", bruno),
        ("Input submitted", *bruno, "roster.csv"),
        ("Items parsed", *bruno, "6 by rules, 2 flagged"),
        ("Items accepted", *bruno, "6"),
        moved("parsing", "proofing", bruno),
        ("Template chosen", *bruno, "badge"),
        ("Mapping applied", *bruno, "player name→name, position→title"),
        ("Proofs generated", *bruno, "6 of 6"),
        ("Preflight completed", *bruno, "0 errors"),
        moved("proofing", "pending_approval", bruno),
        ("Approval link generated", *bruno, ""),
        ("Approval page viewed", *harbor_customer, ""),
        ("Change requested", *harbor_customer, CHANGE_NOTE),
        ("Item approved", *harbor_customer, "1, 2, 3, 5 and 6"),
        ("Item edited", *clara, "Björn Svensson #4"),
        ("Proofs generated", *clara, "1 of 6"),
        ("Preflight completed", *clara, "0 errors"),
        ("Item approved", *harbor_customer, "4 (Björn Svensson #4, Defense)"),
        moved("pending_approval", "approved", harbor_customer),
        moved("approved", "production_ready", system),
        moved("production_ready", "exported", bruno),
        ("Export created", *bruno, "dxf curves v1"),
        moved("exported", "completed", bruno),
        ("Job completed", *bruno, ""),
    ]


def _key_detail(event: str, d: dict[str, Any]) -> str:
    """The one detail of each event that says it recorded the right thing."""
    match event:
        case "Job created":
            return d["customer"]
        case "Input submitted":
            return d["source"]
        case "Items parsed":
            return f"{d['items']} by {d['engine']}, {d['flagged']} flagged"
        case "Items accepted":
            return str(d["added"])
        case "Template chosen":
            return d["template"]
        case "Mapping applied":
            return ", ".join(f"{k}→{v}" for k, v in d["pairs"].items())
        case "Proofs generated":
            return f"{d['generated']} of {d['total']}"
        case "Preflight completed":
            return f"{d['errors']} errors"
        case "Change requested":
            return d["note"]
        case "Item approved":
            return d["item_label"]
        case "Item edited":
            return d["values"]["name"]
        case "Export created":
            return f"{d['format']} {d['mode']} v{d['version']}"
    return ""
