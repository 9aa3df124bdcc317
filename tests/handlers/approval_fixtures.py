"""Shared helpers for the approval tests: a job with real PNG proofs, a regenerated proof, a recording
notifier and the real app served by uvicorn on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image, ImageDraw, ImageFont
from sqlmodel import select

from handlers.web import create_web_app
from pipeline.approval import links
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.jobs import jobs, lifecycle
from pipeline.proofs.item import render_item_proof
from pipeline.rendering.layout import layout_item
from pipeline.templates.template import sample_templates
from storage.db import Database
from storage.models import Item, Job, JobStatus, ProofStatus, ProofVersion, Workspace, utcnow

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PEOPLE = [
    {"name": "Maria Gonzalez", "title": "Head Coach"},
    {"name": "Seán O'Connor", "title": "Most Improved Player"},
    {"name": "Zoë Müller", "title": "Team Captain"},
    {"name": "Chidi Okafor", "title": "Golden Boot"},
    {"name": "Priya Natarajan", "title": "Coach's Award"},
    {"name": "Björn Svensson", "title": "Rookie of the Year"},
]


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default()


def make_proof_png(
    path: Path, lines: list[str], size: tuple[int, int] = (750, 225), version: int = 1
) -> Path:
    """A believable trophy-plate proof: brushed brass, engraved text, a PROOF watermark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    img = Image.new("RGB", size, (214, 178, 96))
    draw = ImageDraw.Draw(img)
    for y in range(0, h, 3):  # brushed-metal stripes
        shade = 200 + (y * 7) % 23
        draw.line([(0, y), (w, y)], fill=(shade, int(shade * 0.83), int(shade * 0.45)))
    draw.rectangle([6, 6, w - 7, h - 7], outline=(120, 90, 30), width=3)
    draw.text((w - 14, h - 12), "PROOF", font=_font(h // 5, bold=True), fill=(170, 140, 70), anchor="rs")
    y = h // 2 - (len(lines) - 1) * h // 8
    for i, text in enumerate(lines):
        font = _font(h // 6 if i == 0 else h // 9, bold=i == 0)
        draw.text((w // 2, y), text, font=font, fill=(35, 25, 10), anchor="mm")
        y += h // 4
    if version > 1:
        draw.text((14, 12), f"v{version}", font=_font(h // 12), fill=(60, 45, 15))
    img.save(path, "PNG")
    return path


def seed_job(
    db: Database,
    ws_id: int,
    actor: Actor,
    files_dir: Path,
    *,
    items: int = 3,
    values: list[dict[str, str]] | None = None,
    reference: str | None = "PO-4471",
    due: date | None = date(2099, 12, 14),
    preflight_errors: int | None = 0,
    customer: str = "Rebecca Stone",
    plates: bool = False,
) -> int:
    """A job in proofing with `items` items, each with a PNG proof (version 1). With `plates`, the
    proofs are drawn by the proof renderer on the trophy-plate template (a PDF and its 150 dpi PNG)."""
    rows = values or [PEOPLE[i % len(PEOPLE)] for i in range(items)]
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        job = jobs.create_job(
            s, ws, actor, customer_name=customer, customer_email="rebecca@example.org", reference=reference
        )
        job.due_date = due
        lifecycle.move(s, job, JobStatus.PARSING, actor)
        for pos, vals in enumerate(rows):
            item = Item(job_id=job.id, position=pos, values=dict(vals), raw_values=dict(vals))
            s.add(item)
            s.flush()
            _add_proof(s, item, files_dir, 1, plates=plates)
        lifecycle.move(s, job, JobStatus.PROOFING, actor)
        if preflight_errors is not None:
            job.preflight_ran_at = utcnow()
            job.preflight_errors = preflight_errors
        s.add(job)
        return job.id


def _add_proof(s: Any, item: Item, files_dir: Path, version: int, *, plates: bool = False) -> None:
    rel = Path("proofs") / f"job-{item.job_id}" / f"item-{item.id}-v{version}.png"
    if plates:
        template = sample_templates()["trophy-plate"]
        values = {
            "name": item.values.get("name", ""),
            "achievement": item.values.get("title", ""),
            "year": item.values.get("year", "2026"),
        }
        (files_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        layout = layout_item(template, values)
        render_item_proof(template, layout, values, files_dir / rel.with_suffix(".pdf"), files_dir / rel)
    else:
        lines = [str(v) for v in item.values.values() if v] or ["(empty)"]
        make_proof_png(files_dir / rel, lines, version=version)
    s.add(
        ProofVersion(
            item_id=item.id,
            version=version,
            input_hash=f"h{item.id}-{version}",
            pdf_path=str(rel.with_suffix(".pdf")),
            png_path=str(rel),
            values=dict(item.values),
        )
    )
    item.proof_version = version
    item.proof_status = ProofStatus.GENERATED
    s.add(item)


def regenerate(db: Database, item_id: int, files_dir: Path, **new_values: str) -> int:
    """What the shop's fix does: new values (optional), a new proof version, status generated."""
    with db.session() as s:
        item = s.get(Item, item_id)
        if new_values:
            item.values = {**item.values, **new_values}
        stored = s.exec(
            select(ProofVersion.pdf_path).where(
                ProofVersion.item_id == item_id, ProofVersion.version == item.proof_version
            )
        ).first()
        plates = bool(stored) and (files_dir / str(stored)).is_file()
        _add_proof(s, item, files_dir, item.proof_version + 1, plates=plates)
        return item.proof_version


def item_ids(db: Database, job_id: int) -> list[int]:
    with db.read() as s:
        return list(s.exec(select(Item.id).where(Item.job_id == job_id).order_by(Item.position)))


def new_link(db: Database, job_id: int, actor: Actor, **kw: Any) -> links.NewLink:
    with db.session() as s:
        return links.create_link(s, s.get(Job, job_id), actor, base_url="http://test.invalid", **kw)


@dataclass
class RecordingNotifier:
    calls: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    def job_changed(self, job_id: int, event: str, **details: Any) -> None:
        self.calls.append((job_id, event, details))

    def events(self) -> list[str]:
        return [event for _, event, _ in self.calls]


@dataclass
class LiveServer:
    url: str
    runtime: Runtime
    notifier: RecordingNotifier

    @property
    def files_dir(self) -> Path:
        return self.runtime.settings.files_dir


def make_runtime(db: Database, tmp_path: Path, **settings: Any) -> tuple[Runtime, RecordingNotifier]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    notifier = RecordingNotifier()
    runtime = Runtime(settings=Settings(data_dir=data_dir, **settings), db=db, notifier=notifier)
    return runtime, notifier


@contextmanager
def serve(runtime: Runtime, notifier: RecordingNotifier) -> Iterator[LiveServer]:
    """The real app (`create_web_app`) on uvicorn in a background thread, on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_web_app(runtime), log_level="warning", lifespan="off", access_log=False, proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime, notifier)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
