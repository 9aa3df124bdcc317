"""Proofs for a job: lay out every item once, render only what changed, keep every version.

The layout computed here is stored on the item; the proof draws it, preflight judges it and the
export cuts it, so all three see the same glyph run.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from pipeline.proofs.changes import changes_since_seen, item_label
from pipeline.proofs.inputs import DEFAULT_DPI, task_input_hash
from pipeline.proofs.pool import ProofPool, ProofResult, ProofTask, generate_proofs
from pipeline.proofs.sheet import draw_proof_sheet, measure_rows, reuse_layout
from pipeline.rendering.copyfit import NO_GROUPS, Copyfit, has_groups, measure
from pipeline.rendering.model import ItemLayout
from pipeline.templates.catalog import job_template
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Template
from pipeline.templates.workspace_fonts import registry_for
from storage.models import Item, Job, ProofStatus, ProofVersion, TemplateVersion, Workspace, utcnow

log = logging.getLogger(__name__)
SHEET_PREVIEW_DPI = 110

_pool: ProofPool | None = None
_pool_lock = threading.Lock()


def proof_pool() -> ProofPool:
    """One long-lived pool of proof processes per app process (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProofPool(workers=2)
        return _pool


def shutdown_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def item_layout(
    item: Item, template: Template, registry: FontRegistry, groups: Mapping[str, float] | None = None
) -> ItemLayout:
    """The item's stored layout when it was made from these values, this template and these copyfit
    group sizes (``job_copyfit(...).sizes``), else a fresh one."""
    return reuse_layout(item.layout, template, _field_values(item, template), registry, groups)


def job_copyfit(items: list[Item], template: Template, registry: FontRegistry) -> Copyfit:
    """The job's copyfit groups, measured over all its items (in job order) before anything is drawn;
    a big job is measured in a proof worker, off the web process's interpreter."""
    if not has_groups(template):
        return NO_GROUPS
    rows = [_field_values(item, template) for item in items]
    if len(rows) > MEASURE_INLINE_LIMIT:
        result: Copyfit = proof_pool().call(measure_rows, template, rows, pickle.dumps(registry))
        return result
    return measure(template, rows, registry)


MEASURE_INLINE_LIMIT = 50  # items; a smaller job's groups are measured right here


def _field_values(item: Item, template: Template) -> dict[str, str]:
    return {f.key: str(item.values.get(f.key, "") or "") for f in template.fields}


@dataclass(frozen=True)
class ProofRun:
    generated: int
    skipped: int
    failed: list[str]
    total: int
    sheet_path: str | None
    preview_path: str | None
    sheet_error: str | None = None


def generate_job_proofs(
    runtime: Runtime,
    job_id: int,
    actor: Actor,
    *,
    progress: Callable[[int, int], None] | None = None,
    item_ids: set[int] | None = None,
) -> ProofRun:
    """Render proofs for the job's items whose inputs changed (or `item_ids`), then the proof sheet."""
    files_dir = runtime.settings.files_dir
    with runtime.db.read() as s:
        job, ws, tv, template, items = _load(s, job_id)
        registry = registry_for(ws, files_dir)
    folder = files_dir / "proofs" / f"job-{job_id}"
    copyfit = job_copyfit(items, template, registry)
    tasks = _tasks_to_draw(items, template, registry, folder, item_ids, copyfit)
    drawn = {t.item_id: t.values for t in tasks}
    results: list[ProofResult] = []
    kept: list[int] = []
    pool = proof_pool() if len(tasks) > 2 else None
    # Stored batch by batch: a run cut off by a crash keeps what it finished, and the resumed run
    # (see pipeline/background/slow_steps.py) skips those items instead of drawing all of them again.
    for start in range(0, len(tasks), STORE_EVERY):
        batch = tasks[start : start + STORE_EVERY]

        def batch_progress(n: int, _total: int, offset: int = start) -> None:
            if progress is not None:
                progress(offset + n, len(tasks))

        rendered = generate_proofs(batch, batch_progress, pool=pool, registry=registry)
        results.extend(rendered)
        # kept in short transactions: on SQLite every other writer (a click, a page view) waits for them
        for at in range(0, len(rendered), COMMIT_EVERY):
            with runtime.db.session() as s:
                kept += _store(s, job, tv, template, rendered[at : at + COMMIT_EVERY], drawn)
    done = len(kept)
    failed = [f"item {r.item_id}: {r.error}" for r in results if not r.ok]
    sheet = preview = sheet_error = None
    if item_ids is None:  # a whole-job run posts the sheet; a single fixed item posts its own proof
        with runtime.db.read() as s:
            ordered = list(s.exec(select(Item).where(Item.job_id == job_id).order_by(col(Item.position))))
        try:
            sheet, preview = _proof_sheet(job, template, ordered, folder, registry, copyfit)
        except Exception as exc:  # the item proofs above are kept; the log says why
            log.exception("proof sheet of %s failed", job.ref)
            sheet_error = f"{type(exc).__name__}: {exc}"[:500]
    elif len(results) == 1 and results[0].ok and done:
        preview = Path(results[0].png_path)
    with runtime.db.session() as s:
        lock_job(s, job)
        changed = _changes_told(s, items, kept)
        record(
            s,
            job.workspace_id,
            job_id,
            Event.PROOFS_GENERATED,
            actor,
            generated=done,
            skipped=len(items) - len(tasks),
            failed=len(failed),
            total=len(items),
            sheet_path=str(sheet) if sheet else None,
            preview_path=str(preview) if preview else None,
            **({"sheet_error": sheet_error} if sheet_error else {}),
            **changed,
        )
    runtime.notifier.job_changed(job_id, Event.PROOFS_GENERATED)
    return ProofRun(
        done,
        len(items) - len(tasks),
        failed,
        len(items),
        str(sheet) if sheet else None,
        str(preview) if preview else None,
        sheet_error,
    )


def _tasks_to_draw(
    items: list[Item],
    template: Template,
    registry: FontRegistry,
    folder: Path,
    item_ids: set[int] | None,
    copyfit: Copyfit = NO_GROUPS,
) -> list[ProofTask]:
    """A task for each wanted item whose proof inputs changed (or whose proof is still pending). A run
    for chosen items also draws the items whose copyfit group size their change moved."""
    tasks: list[ProofTask] = []
    for index, item in enumerate(items):
        values = _field_values(item, template)
        sizes = copyfit.of_item(index)
        digest = task_input_hash(template, values, registry, dpi=DEFAULT_DPI, group_sizes=sizes)
        drawn = item.proof_status != ProofStatus.PENDING
        unchanged = digest == item.proof_input_hash and drawn
        regrouped = bool(copyfit.groups) and drawn and not unchanged
        wanted = item_ids is None or item.id in item_ids or regrouped
        if not wanted or unchanged:
            continue
        stem = folder / f"item-{item.id}-v{item.proof_version + 1}"
        tasks.append(
            ProofTask(
                item_id=item.id,
                template=template,
                values=values,
                pdf_path=f"{stem}.pdf",
                png_path=f"{stem}.png",
                input_hash=digest,
                layout=None,  # laid out by the proof worker (kept off the web process's interpreter)
                groups=copyfit.sizes,
            )
        )
    return tasks


STORE_EVERY = 100  # proofs rendered before they are stored (a run cut off resumes from there)
COMMIT_EVERY = 25  # proofs stored per transaction


def _store(
    s: Session,
    job: Job,
    tv: TemplateVersion,
    template: Template,
    results: list[ProofResult],
    drawn: dict[int, Mapping[str, Any]],
) -> list[int]:
    """Record finished proofs on their items; returns the ids of the items whose proofs were kept."""
    # the job first, then its items: the order every other use case locks them in
    same_template = lock_job(s, job).template_version_id == tv.id
    ids = [r.item_id for r in results if r.ok]
    if not ids:
        return []
    by_id = {it.id: it for it in s.exec(select(Item).where(col(Item.id).in_(ids)).with_for_update())}
    kept = []
    for r in results:
        item = by_id.get(r.item_id)
        if not r.ok or item is None:
            continue
        if not same_template or _field_values(item, template) != drawn[item.pk]:
            continue  # changed while its proof was drawn: that proof is stale, the item stays pending
        item.proof_version += 1
        s.add(
            ProofVersion(
                item_id=item.pk,
                version=item.proof_version,
                input_hash=r.input_hash,
                template_version_id=tv.id,
                pdf_path=r.pdf_path,
                png_path=r.png_path,
                values=dict(drawn[item.pk]),
            )
        )
        item.proof_input_hash = r.input_hash
        item.proof_status = ProofStatus.GENERATED
        if r.layout is not None:
            item.layout = r.layout
        item.updated_at = utcnow()
        kept.append(item.pk)
    return kept


CHANGES_TOLD = 10  # items whose changes the "proofs ready" event carries (the thread says how many more)


def _changes_told(s: Session, items: list[Item], kept: list[int]) -> dict[str, Any]:
    """For the event: the new proofs of items the customer had already looked at, and what changed."""
    found = changes_since_seen(s, kept)
    if not found:
        return {}
    number = {it.pk: n for n, it in enumerate(items, start=1)}
    label = {it.pk: item_label(it.values) for it in items}
    told = [
        {**c.as_details(), "number": number.get(c.item_id), "label": label.get(c.item_id, "")}
        for c in found[:CHANGES_TOLD]
    ]
    redrawn = set(kept)
    decided = (ProofStatus.APPROVED, ProofStatus.NEEDS_REVISION)
    unchanged = sum(1 for it in items if it.pk not in redrawn and it.proof_status in decided)
    return {"changes": told, "changed": len(found), "unchanged": unchanged}


def _load(s: Session, job_id: int) -> tuple[Job, Workspace, TemplateVersion, Template, list[Item]]:
    job = s.get(Job, job_id)
    if job is None:
        raise InvalidInput({"job": "no such job"})
    chosen = job_template(s, job)
    if chosen is None:
        raise InvalidInput({"template": f"{job.ref} has no template yet: choose one first"})
    tv, template = chosen
    ws = s.get_one(Workspace, job.workspace_id)
    items = list(s.exec(select(Item).where(Item.job_id == job_id).order_by(col(Item.position))))
    if not items:
        raise InvalidInput({"items": f"{job.ref} has no items yet"})
    return job, ws, tv, template, items


def _proof_sheet(
    job: Job, template: Template, items: list[Item], folder: Path, registry: FontRegistry, copyfit: Copyfit
) -> tuple[Path, Path]:
    """The job proof sheet (all items, a few per page) and a PNG of its first page, drawn in a proof
    worker for a big job: the drawing is pure CPU and would hold up the web process's requests."""
    rows = [(it.position + 1, _field_values(it, template), it.layout) for it in items]
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    sheet = folder / f"{job.ref}_proof-sheet_{stamp}.pdf"
    preview = sheet.with_suffix(".png")
    args = (rows, template, pickle.dumps(registry), str(sheet), str(preview),
            f"{job.ref} · {job.customer_name} · proof sheet", SHEET_PREVIEW_DPI, copyfit.sizes,
            [m[:1].upper() + m[1:] for m in copyfit.messages()])  # fmt: skip
    if len(items) > SHEET_INLINE_LIMIT:
        proof_pool().call(draw_proof_sheet, *args)
    else:
        draw_proof_sheet(*args)
    return sheet, preview


SHEET_INLINE_LIMIT = 20  # items; a smaller sheet is drawn right here (no worker round trip)
