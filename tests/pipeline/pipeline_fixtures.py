"""Helpers for the storage-integrated pipeline tests (items, catalog, proofing, preflight, tasks).

Imported explicitly, not a conftest: jobs built through the real use cases, a small custom template
that exercises every overflow policy, a notifier that remembers what it was told, and readers for the
activity log and the stored rows.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from pipeline.approval import offline
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.core.workers import WorkerPool
from pipeline.intake.items import Input, accept_batch, parse_into_batch, submit_input
from pipeline.intake.mapping import MappingPair
from pipeline.intake.parsing.model import ParsedItem, ParseResult
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event, for_job
from pipeline.templates import catalog
from pipeline.templates.workspace_fonts import forget_registry
from storage.db import Database
from storage.models import ActivityEvent, Item, Job, Workspace

# A 2 x 1 in test plate: one field per overflow policy, a required field, a max_chars field.
TINY_TOML = """
key = "tiny"
name = "Tiny test plate"
category = "Test"
width = 2.0
height = 1.0

[[fields]]
key = "name"
label = "Name"
required = true
x = 0.1
y = 0.05
width = 1.0
height = 0.2
size = 12.0
min_size = 10.0
overflow = "shrink"

[[fields]]
key = "code"
label = "Code"
x = 0.1
y = 0.3
width = 0.5
height = 0.15
size = 8.0
overflow = "fixed"

[[fields]]
key = "motto"
label = "Motto"
x = 0.1
y = 0.5
width = 0.8
height = 0.15
size = 8.0
overflow = "truncate"

[[fields]]
key = "note"
label = "Note"
x = 1.1
y = 0.05
width = 0.8
height = 0.4
size = 8.0
max_lines = 2
overflow = "wrap"
max_chars = 20

[[fields]]
key = "brand"
label = "Brand"
x = 1.1
y = 0.6
width = 0.8
height = 0.3
size = 10.0
min_size = 3.0
overflow = "shrink"
"""


class RecordingNotifier:
    """A Notifier that remembers every call (thread-safe: workers report too)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def job_changed(self, job_id: int, event: str, **details: Any) -> None:
        with self._lock:
            self.calls.append((job_id, event, details))

    def events(self, job_id: int | None = None) -> list[str]:
        with self._lock:
            return [e for j, e, _ in self.calls if job_id is None or j == job_id]


def make_runtime(db: Database, data_dir: Path, *, workers: int = 2, **settings: Any) -> Runtime:
    """A Runtime on the test database with its files under `data_dir` and a recording notifier."""
    return Runtime(
        settings=Settings(data_dir=data_dir, **settings),
        db=db,
        notifier=RecordingNotifier(),
        workers=WorkerPool(workers),
    )


def wait_idle(runtime: Runtime, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not runtime.workers.idle():
        assert time.monotonic() < deadline, "background work did not finish in time"
        time.sleep(0.01)


def new_job(db: Database, ws_id: int, actor: Actor, **fields: Any) -> int:
    data = {"customer_name": "Rebecca Stone", "customer_email": "rebecca@lakeside.org", **fields}
    with db.session() as s:
        return jobs.create_job(s, s.get(Workspace, ws_id), actor, **data).id


def get_job(db: Database, job_id: int) -> Job:
    with db.read() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def job_items(db: Database, job_id: int) -> list[Item]:
    with db.read() as s:
        return list(s.exec(select(Item).where(Item.job_id == job_id).order_by(col(Item.position))))


def events(db: Database, job_id: int) -> list[ActivityEvent]:
    with db.read() as s:
        return for_job(s, job_id)


def event_types(db: Database, job_id: int) -> list[str]:
    return [e.event_type for e in events(db, job_id)]


def last_event(db: Database, job_id: int, event_type: str) -> ActivityEvent:
    found = [e for e in events(db, job_id) if e.event_type == event_type]
    assert found, f"no {event_type!r} event in {event_types(db, job_id)}"
    return found[-1]


def status_moves(db: Database, job_id: int) -> list[tuple[str, str, str]]:
    """(from, to, actor kind) of every status change, in order."""
    return [
        (e.details["from"], e.details["to"], e.actor_kind)
        for e in events(db, job_id)
        if e.event_type == Event.STATUS_CHANGED
    ]


def parse_result(*items: tuple[dict[str, str], float], engine: str = "rules") -> ParseResult:
    """A ParseResult as a parser would give it: (values, confidence) per item."""
    parsed = [
        ParsedItem(
            values=dict(values),
            confidence=conf,
            reasons=[] if conf >= 0.85 else ["guessed"],
            source_line=i + 1,
            raw=" ".join(values.values()),
        )
        for i, (values, conf) in enumerate(items)
    ]
    columns = list(dict.fromkeys(k for values, _ in items for k in values))
    return ParseResult(items=parsed, engine=engine, engine_note=f"{engine} (test)", columns=columns)


def add_items(db: Database, job_id: int, actor: Actor, values: list[dict[str, str]], files_dir: Path) -> None:
    """Put `values` into the job through submit → parse result → review gate (append)."""
    with db.session() as s:
        submit_input(s, s.get(Job, job_id), actor, Input(text="(the order)"), files_dir)
    with db.session() as s:
        batch = parse_into_batch(s, s.get(Job, job_id), actor, parse_result(*[(v, 0.95) for v in values]))
        batch_id = batch.id
    with db.session() as s:
        accept_batch(s, s.get(Job, job_id), actor, batch_id)


def use_template(db: Database, ws_id: int, job_id: int, actor: Actor, key: str, files_dir: Path) -> None:
    """Choose `key` for the job and map every column onto the field of the same name."""
    with db.session() as s:
        ws, job = s.get(Workspace, ws_id), s.get(Job, job_id)
        tv = catalog.choose_template(s, ws, job, actor, key, files_dir)
        keys = {f.key for f in catalog.template_of(tv).fields}
        pairs = [
            MappingPair(column=c, field_key=c if c in keys else None) for c in catalog.job_columns(s, job)
        ]
        catalog.apply_mapping(s, job, actor, pairs)


def import_tiny(db: Database, ws_id: int, actor: Actor, files_dir: Path, toml_text: str = TINY_TOML) -> None:
    with db.session() as s:
        catalog.import_template(s, s.get(Workspace, ws_id), actor, toml_text, files_dir)


def job_with_items(
    db: Database,
    ws_id: int,
    actor: Actor,
    files_dir: Path,
    values: list[dict[str, str]],
    *,
    template: str | None = "badge",
) -> int:
    """A proofing job holding `values` (mapped 1:1 onto `template` when one is given)."""
    job_id = new_job(db, ws_id, actor)
    if values:
        add_items(db, job_id, actor, values, files_dir)
    if template is not None:
        use_template(db, ws_id, job_id, actor, template, files_dir)
    return job_id


def approve_by_phone(db: Database, job_id: int, actor: Actor) -> str:
    """Record the customer's approval of every item; returns the job's status afterwards."""
    with db.session() as s:
        job = offline.record_offline_approval(s, s.get(Job, job_id), actor, "phone", "OK on the phone")
        return job.status


def forget_font_registries() -> None:
    """Workspace font registries are cached per workspace id, and every test's workspace is number 1
    or 2 with its files in a new folder: forget them so no test sees another one's fonts."""
    for ws_id in range(1, 5):
        forget_registry(ws_id)
