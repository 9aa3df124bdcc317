"""Preflight (docs/preflight.md): every item checked against its template, from the same layout results
the proof drew. Errors block production_ready and export; warnings do not; info is for awareness."""

from __future__ import annotations

import io
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.pdfgen import canvas as rl_canvas
from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.units import MM_PER_IN, MM_PER_PT, PT_PER_IN
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from pipeline.proofs.draw import ProofError, draw_artwork
from pipeline.proofs.item import pdf_to_png
from pipeline.proofs.job import item_layout
from pipeline.rendering.codes import KIND_NAMES, MIN_MODULE_MM, check_code
from pipeline.rendering.copyfit import Copyfit, measure
from pipeline.rendering.model import FieldLayout
from pipeline.rendering.pdfstreams import binary_streams
from pipeline.templates.catalog import job_template
from pipeline.templates.template import Field, Template
from pipeline.templates.workspace_fonts import registry_for
from storage.models import Item, Job, JobStatus, MachineProfile, PreflightIssue, Workspace, utcnow

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY = {
    "OVERFLOW": ERROR,
    "MISSING_REQUIRED": ERROR,
    "EMPTY_JOB": ERROR,
    "NO_TEMPLATE": ERROR,
    "MISSING_GLYPH": ERROR,
    "CODE_UNENCODABLE": ERROR,
    "CODE_TOO_LONG": ERROR,
    "CODE_MODULE_SMALL": ERROR,
    "CODE_QUIET_ZONE": ERROR,
    "CODE_MODULE_FINE": WARNING,
    "SHRINK_WARNING": WARNING,
    "MISSING_FONT": WARNING,
    "LONG_TEXT": WARNING,
    "TRUNCATED": WARNING,
    "DUPLICATE_ITEM": WARNING,
    "SPECIAL_CHAR": INFO,
    "COPYFIT_GROUP": INFO,
}
SHRINK_LIMIT = 0.70  # shrunk more than 30% below the base size
LONG_FACTOR = 2.0  # "unusually long for the job": over twice the field's median length …
LONG_MIN_CHARS = 24  # … and at least this long
_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Issue:
    code: str
    item_id: int | None
    position: int | None  # 1-based item number, as the shop sees it
    field: str | None
    message: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]


@dataclass(frozen=True)
class Report:
    issues: list[Issue]

    def count(self, severity: str) -> int:
        return sum(1 for i in self.issues if i.severity == severity)

    @property
    def errors(self) -> int:
        return self.count(ERROR)

    @property
    def warnings(self) -> int:
        return self.count(WARNING)

    @property
    def infos(self) -> int:
        return self.count(INFO)


def _q(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"'{text}'"


def check_item(
    item_no: int,
    item_id: int | None,
    template: Template,
    fields: dict[str, FieldLayout],
    values: dict[str, str],
    machines: dict[str, float] | None = None,
    artwork: Image.Image | None = None,
) -> list[Issue]:
    """The per-field checks of one item, from its layout. ``machines``: the smallest code module
    (mm) of each of the workspace's machine profiles, by name; ``artwork``: what the template's
    artwork engraves (item mm), which must stay out of codes' quiet zones."""
    out: list[Issue] = []

    def add(code: str, f: Field, message: str) -> None:
        out.append(Issue(code, item_id, item_no, f.key, f"Item {item_no}, {f.label or f.key}: {message}"))

    for f in template.fields:
        fl = fields[f.key]
        text = fl.text
        if not text:
            if f.required:
                add(
                    "MISSING_REQUIRED", f, f"'{f.key}' is required but empty: fill it in, or make it optional"
                )
            continue
        if f.is_code:
            for code, message in _code_checks(f, text, fields, machines or {}, artwork):
                add(code, f, message)
            if f.max_chars and len(text) > f.max_chars:
                add("LONG_TEXT", f, f"{_q(text)} has {len(text)} characters; the field allows {f.max_chars}")
            continue
        if fl.missing:
            chars = ", ".join(f"'{chr(c)}' (U+{c:04X})" for c in fl.missing[:5])
            add(
                "MISSING_GLYPH",
                f,
                f"the font {fl.font.used_name} (and its fallback) cannot draw {chars}: "
                "use a font that has it, or change the text",
            )
        if fl.overflowed:
            add("OVERFLOW", f, _overflow_message(f, fl))
        elif fl.policy == "shrink" and _own_ratio(fl) < SHRINK_LIMIT:
            add(
                "SHRINK_WARNING",
                f,
                f"{_q(text)} was shrunk to {fl.size:g} pt from {fl.base_size:g} pt "
                f"({(1 - fl.shrink_ratio) * 100:.0f}% smaller): check it is still readable, or shorten it",
            )
        if fl.truncated:
            add(
                "TRUNCATED",
                f,
                f"{_q(text)} was cut to fit; {_q(fl.removed_text, 40)} is missing: "
                "shorten the text, or use shrink or wrap",
            )
        if fl.font.substituted:
            add(
                "MISSING_FONT",
                f,
                f"{fl.font.reason}: upload the font (TTF/OTF) if the engraving must use it. "
                "Curves export keeps the laser PC independent of fonts",
            )
        if f.max_chars and len(text) > f.max_chars:
            add("LONG_TEXT", f, f"{_q(text)} has {len(text)} characters; the field allows {f.max_chars}")
        if any(ord(ch) > 127 for ch in text):
            add("SPECIAL_CHAR", f, f"{_q(text)} has non-ASCII characters: check them on the proof")
    return out


def _code_checks(
    f: Field,
    text: str,
    fields: dict[str, FieldLayout],
    machines: dict[str, float],
    artwork: Image.Image | None,
) -> list[tuple[str, str]]:
    """A code field's problems: what ``check_code`` finds, modules finer than the machines engrave,
    and other fields' ink or the artwork inside the code's quiet zone."""
    box = (f.x * MM_PER_IN, f.y * MM_PER_IN, f.width * MM_PER_IN, f.height * MM_PER_IN)
    placed, findings = check_code(
        f.kind or "",
        text,
        box,
        error_correction=f.error_correction or "M",
        quiet_zone=f.quiet_zone,
        module_mm=f.module_mm,
        align=f.align,
        valign=f.valign,
    )
    out = [(x.code, x.message) for x in findings]
    if placed is None or not placed.fits:
        return out
    name = KIND_NAMES[placed.symbol.kind]
    module = placed.module
    too_fine = sorted(n for n, least in machines.items() if module < least - 1e-9)
    if too_fine and len(too_fine) == len(machines):
        least = min(machines.values())
        out.append(
            (
                "CODE_MODULE_SMALL",
                f"the {name}'s modules are {module:.3f} mm; no machine profile engraves below {least:g} mm: "
                "shorten the value, lower the error correction or make the field larger",
            )
        )
    elif too_fine:
        out.append(
            (
                "CODE_MODULE_FINE",
                f"the {name}'s modules are {module:.3f} mm, finer than "
                + ", ".join(f"'{n}' engraves ({machines[n]:g} mm)" for n in too_fine)
                + ": export it on another machine profile",
            )
        )
    x0, y0, x1, y1 = placed.quiet_box
    if artwork is not None and _art_inside(artwork, placed.quiet_box):
        out.append(
            (
                "CODE_QUIET_ZONE",
                f"the template's artwork reaches into the {name} or its quiet zone (the clear margin "
                "scanners need): move the field or change the artwork",
            )
        )
    for other in fields.values():
        if other.key == f.key or other.empty:
            continue
        if other.code is not None:  # its symbol (quiet zones may share the clear margin)
            c = other.code
            ox0, oy0, ox1, oy1 = c.x, c.y, c.x + c.width, c.y + c.height
        elif other.lines:
            ox0 = min(ln.x for ln in other.lines) * MM_PER_PT
            ox1 = max(ln.x + ln.width for ln in other.lines) * MM_PER_PT
            oy0 = min(ln.ink_top for ln in other.lines) * MM_PER_PT
            oy1 = max(ln.ink_bottom for ln in other.lines) * MM_PER_PT
        else:
            continue
        if ox0 < x1 and x0 < ox1 and oy0 < y1 and y0 < oy1:
            out.append(
                (
                    "CODE_QUIET_ZONE",
                    f"'{other.key}' reaches into the {name}'s quiet zone (the clear margin scanners need): "
                    "move the fields apart or make the code smaller",
                )
            )
    return out


_ART_DPI = 200  # the artwork as the proof draws it, fine enough for a 0.13 mm line
_ART_INK = 160  # a pixel darker than this (of 255) is ink


def _art_inside(artwork: Image.Image, box: tuple[float, float, float, float]) -> bool:
    """Is any of the artwork's ink inside the box (item mm)?"""
    k = _ART_DPI / MM_PER_IN
    x0, y0, x1, y1 = (max(0, int(v * k)) for v in box)
    crop = artwork.crop((x0, y0, max(x0 + 1, x1), max(y0 + 1, y1)))
    darkest = crop.getextrema()[0]  # a greyscale image: (darkest, lightest)
    assert isinstance(darkest, int | float)
    return darkest < _ART_INK


def _own_ratio(fl: FieldLayout) -> float:
    """How far a value shrank on its own: one its copyfit group set smaller still counts by its own
    size (the group's longest value, which set that size, gets the warning)."""
    return fl.shrink_ratio if fl.natural_size is None else fl.natural_size / fl.base_size


def _overflow_message(f: Field, fl: FieldLayout) -> str:
    text = _q(fl.text)
    lines = f"{f.max_lines} line{'s' if f.max_lines != 1 else ''}"
    if fl.policy == "shrink":
        return (
            f"{text} does not fit '{f.key}' even at {f.min_size:g} pt in {lines}: shorten it, "
            "or lower the minimum size"
        )
    if fl.policy == "wrap":
        return f"{text} does not fit '{f.key}' in {lines} at {fl.size:g} pt: shorten it, or allow more lines"
    if fl.policy == "truncate":
        return f"{text} cannot be cut to fit '{f.key}': make the field larger"
    return f"{text} does not fit '{f.key}' at {fl.size:g} pt: shorten it, or use the shrink policy"


def _job_checks(items: list[Item], template: Template) -> list[Issue]:
    """Checks across items: duplicates and text unusually long for this job."""
    out: list[Issue] = []
    first_seen: dict[tuple, int] = {}
    for it in items:
        key = tuple(
            (f.key, " ".join(str(it.values.get(f.key, "") or "").split()).casefold()) for f in template.fields
        )
        if not any(v for _, v in key):
            continue
        if key in first_seen:
            out.append(
                Issue(
                    "DUPLICATE_ITEM",
                    it.id,
                    it.position + 1,
                    None,
                    f"Item {it.position + 1} has the same values as item {first_seen[key]}: "
                    "remove it if it is not meant twice",
                )
            )
        else:
            first_seen[key] = it.position + 1
    lengths: dict[str, list[int]] = defaultdict(list)
    for it in items:
        for f in template.fields:
            if it.values.get(f.key):
                lengths[f.key].append(len(str(it.values[f.key])))
    for f in template.fields:
        if len(lengths[f.key]) < 3 or f.max_chars:
            continue
        median = statistics.median(lengths[f.key])
        for it in items:
            n = len(str(it.values.get(f.key, "") or ""))
            if n >= LONG_MIN_CHARS and n > LONG_FACTOR * median:
                out.append(
                    Issue(
                        "LONG_TEXT",
                        it.id,
                        it.position + 1,
                        f.key,
                        f"Item {it.position + 1}, {f.label or f.key}: {n} characters, much longer "
                        f"than the others (typically {median:g}): check it is meant",
                    )
                )
    return out


def _group_notes(copyfit: Copyfit) -> list[Issue]:
    """What each copyfit group did, for awareness: the size every item shares and why."""
    said = [(g, g.message()) for g in copyfit.groups if g.count + g.overflowed > 1]
    return [Issue("COPYFIT_GROUP", None, None, g.fields[0], m[:1].upper() + m[1:]) for g, m in said]


def check_job(session: Session, job: Job, files_dir: Path) -> Report:
    """Preflight a job without storing anything."""
    chosen = job_template(session, job)
    items = list(session.exec(select(Item).where(Item.job_id == job.id).order_by(col(Item.position))))
    issues: list[Issue] = []
    if not items:
        issues.append(Issue("EMPTY_JOB", None, None, None, f"{job.ref} has no items: add the order's items"))
    if chosen is None:
        issues.append(Issue("NO_TEMPLATE", None, None, None, f"{job.ref} has no template: choose one"))
    if chosen is not None and items:
        _, template = chosen
        ws = session.get_one(Workspace, job.workspace_id)
        registry = registry_for(ws, files_dir)
        codes = any(f.is_code for f in template.fields)
        machines = _machine_minimums(session, ws) if codes else {}
        art = _artwork_image(template) if codes else None
        rows = [{f.key: str(it.values.get(f.key, "") or "") for f in template.fields} for it in items]
        copyfit = measure(template, rows, registry)
        for it in items:
            layout = item_layout(it, template, registry, copyfit.sizes)
            fields = {fl.key: fl for fl in layout.fields}
            issues.extend(check_item(it.position + 1, it.id, template, fields, it.values, machines, art))
        issues.extend(_job_checks(items, template))
        issues.extend(_group_notes(copyfit))
    issues.sort(key=lambda i: (_ORDER[i.severity], i.position or 0, i.field or "", i.code))
    return Report(issues)


def _artwork_image(template: Template) -> Image.Image | None:
    """The template's artwork alone, drawn as the proof draws it (greyscale, ``_ART_DPI``); None
    without artwork or when it cannot be drawn (the proof says why)."""
    if template.artwork_path() is None:
        return None
    w, h = template.width * PT_PER_IN, template.height * PT_PER_IN
    buf = io.BytesIO()
    with binary_streams():
        c = rl_canvas.Canvas(buf, pagesize=(w, h), invariant=1)
        try:
            draw_artwork(c, template)
        except ProofError:
            return None
        c.showPage()
        c.save()
    png = pdf_to_png(buf.getvalue(), template.width, template.height, _ART_DPI)
    return Image.open(io.BytesIO(png)).convert("L")


def _machine_minimums(session: Session, ws: Workspace) -> dict[str, float]:
    """The smallest code module of each machine profile (read only: the built-in examples with their
    defaults when the workspace has not installed them yet)."""
    stmt = select(MachineProfile.name, MachineProfile.min_module_mm).where(
        MachineProfile.workspace_id == ws.id
    )
    found = {name: least for name, least in session.exec(stmt)}
    return found or {"the built-in profiles": MIN_MODULE_MM}


def checked_as(session: Session, job: Job) -> tuple[Any, ...]:
    """What a preflight report depends on, cheaply: the template version and the items' last change."""
    count, changed = session.exec(
        select(func.count(col(Item.id)), func.max(Item.updated_at)).where(Item.job_id == job.id)
    ).one()
    return (job.template_version_id, count, changed)


def run_preflight(
    session: Session,
    job: Job,
    actor: Actor,
    files_dir: Path,
    checked: tuple[Report, tuple[Any, ...]] | None = None,
) -> Report:
    """Check, store the results, log "Preflight completed", and move approved jobs on when clean.
    `checked`: a report made beforehand (outside this write transaction, so a long check does not
    hold the database's write lock) with `checked_as` at that moment; used when nothing changed since."""
    job = lock_job(session, job)
    if checked is not None and checked[1] == checked_as(session, job):
        report = checked[0]
    else:
        report = check_job(session, job, files_dir)
    session.execute(delete(PreflightIssue).where(col(PreflightIssue.job_id) == job.id))
    for issue in report.issues:
        session.add(
            PreflightIssue(
                job_id=job.pk,
                item_id=issue.item_id,
                field_key=issue.field,
                code=issue.code,
                severity=issue.severity,
                message=issue.message,
            )
        )
    now = utcnow()
    if report.errors and not job.preflight_errors:
        job.preflight_errors_since = now
    elif not report.errors:
        job.preflight_errors_since = None
    job.preflight_errors, job.preflight_warnings, job.preflight_infos = (
        report.errors,
        report.warnings,
        report.infos,
    )
    job.preflight_ran_at = now
    session.add(job)
    top = [
        {"severity": i.severity, "code": i.code, "item": i.position, "field": i.field, "message": i.message}
        for i in report.issues[:15]
    ]
    record(
        session,
        job.workspace_id,
        job.id,
        Event.PREFLIGHT_COMPLETED,
        actor,
        errors=report.errors,
        warnings=report.warnings,
        infos=report.infos,
        top=top,
    )
    if not report.errors:
        if job.status == JobStatus.APPROVED:
            lifecycle.move(session, job, JobStatus.PRODUCTION_READY, SYSTEM)
        elif (
            job.status == JobStatus.PROOFING
            and job.approval_skipped
            and not lifecycle.check(session, job, JobStatus.PRODUCTION_READY, SYSTEM)
        ):
            lifecycle.move(
                session, job, JobStatus.PRODUCTION_READY, SYSTEM, reason="approval skipped on purpose"
            )
    return report


def stored_issues(session: Session, job: Job) -> list[PreflightIssue]:
    stmt = select(PreflightIssue).where(PreflightIssue.job_id == job.id).order_by(col(PreflightIssue.id))
    return list(session.exec(stmt))
