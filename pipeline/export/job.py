"""The export use case: a production-ready job's items on laser beds, as files and a zip.

Order of work: every check that can refuse comes first (status and preflight through the
lifecycle's guard, profile, template, layouts, glyphs, bed size, fonts), then the files are written
into a hidden staging folder that is renamed into place whole, then the zip (temporary name,
renamed), and only then the database: the Export row, the move to ``exported`` and the activity
events. A failure at any point removes what this export wrote and leaves the job as it was.

Files live under ``files_dir/exports/job-<id>/``: the sheets and manifest of export number n in
``v<n>/``, the zip beside them. Paths stored in the database and the log are relative to
``files_dir``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from pipeline import instance, lifecycle
from pipeline.activity import Event, record
from pipeline.actors import Actor
from pipeline.catalog import job_template
from pipeline.errors import InvalidInput, NotFound, TransitionRefused
from pipeline.export import dxf, lightburn, pdf, pdf_text, svg
from pipeline.export.artwork import Artwork, ArtworkError, load_artwork
from pipeline.export.bed import BedPlan, Slot, plan_bed
from pipeline.export.manifest import approval_label, build_manifest, manifest_bytes
from pipeline.export.sheet import PlacedItem, Sheet, Style
from pipeline.files import partial_prefix, safe_name
from pipeline.fonts import FontError, FontRegistry, load_font
from pipeline.jobs import lock_job
from pipeline.layout import ItemLayout, layout_item, normalize_text
from pipeline.machines import FORMATS, TEXT_MODES, get_profile, profile_settings
from pipeline.proofing import registry_for
from pipeline.templates import Template
from pipeline.units import MM_PER_IN
from storage.models import (
    ApprovalDecision,
    Export,
    Item,
    Job,
    JobStatus,
    MachineProfile,
    ProofStatus,
    Workspace,
)

EXTENSIONS = {"svg": "svg", "pdf": "pdf", "dxf": "dxf", "lbrn2": "lbrn2"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bytes
_LISTED = 12  # item numbers named in a refusal


@dataclass(frozen=True)
class ExportResult:
    export_id: int
    job_ref: str
    version: int  # the job's n-th export
    profile_name: str
    output_format: str
    text_mode: str  # what was written (DXF is always curves)
    sheets: int
    items: int
    zip_path: Path
    directory: Path  # the folder holding the sheets and the manifest
    files: tuple[Path, ...]  # sheets in order, then the manifest
    manifest_path: Path
    without_approval: bool
    not_approved: int  # items without the customer's approval (skipped or missing)
    warnings: tuple[str, ...]
    seconds: float


def writer_for(output_format: str) -> Callable[[Sheet, Style], bytes]:
    """The sheet writer of a format (looked up at call time, so tests can replace one)."""
    return {
        "svg": svg.render_svg,
        "pdf": pdf.render_pdf,
        "dxf": dxf.render_dxf,
        "lbrn2": lightburn.render_lbrn2,
    }[output_format]


def write_file(path: Path, data: bytes) -> None:
    """Write one file of an export (into the staging folder; renamed into place with it)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


# -- checks ------------------------------------------------------------------------------------------
def _refuse_unless_exportable(session: Session, job: Job, actor: Actor) -> None:
    why = lifecycle.check(session, job, JobStatus.EXPORTED, actor)
    if why is None:
        return
    if job.deleted_at is None and job.status not in (JobStatus.PRODUCTION_READY, JobStatus.EXPORTED):
        status = job.status.replace("_", " ")
        why = f"it is {status}; export needs it production ready (or already exported, to export again)"
    raise TransitionRefused(f"{job.ref} can't be exported: {why}.")


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_LISTED]))
    return shown + (f" and {len(numbers) - _LISTED} more" if len(numbers) > _LISTED else "")


def _stored_layout(
    item: Item, template: Template, template_hash: str, values: dict[str, str]
) -> ItemLayout | None:
    """The layout stored with the item's proof, if it is still the layout of its values."""
    d = item.layout
    if not d or d.get("template_hash") != template_hash:
        return None
    try:
        layout = ItemLayout.from_dict(d)
    except (KeyError, TypeError, ValueError):
        return None
    if [f.key for f in layout.fields] != [f.key for f in template.fields]:
        return None
    if any(f.text != normalize_text(values.get(f.key)) for f in layout.fields):
        return None
    return layout


def _values(item: Item) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (item.values or {}).items()}


def _layouts(items: list[Item], template: Template, registry: FontRegistry) -> list[ItemLayout]:
    template_hash = template.content_hash
    out = []
    for item in items:
        values = _values(item)
        out.append(
            _stored_layout(item, template, template_hash, values)
            or layout_item(template, values, registry=registry)
        )
    return out


def _refuse_bad_layouts(layouts: list[ItemLayout]) -> None:
    """Never silently drop a character or let text run over a neighbour, even if preflight is stale."""
    missing = [n for n, lay in enumerate(layouts, 1) if any(f.missing for f in lay.fields)]
    if missing:
        chars = sorted({chr(c) for lay in layouts for f in lay.fields for c in f.missing})
        shown = " ".join(f"{ch} (U+{ord(ch):04X})" for ch in chars[:8])
        raise InvalidInput(
            {
                "items": (
                    f"item(s) {_numbers(missing)} contain characters no available font can draw: {shown}. "
                    "Run preflight (MISSING_GLYPH), then change the text or the field's font."
                )
            }
        )
    overflowing = [n for n, lay in enumerate(layouts, 1) if lay.overflowed]
    if overflowing:
        raise InvalidInput(
            {
                "items": (
                    f"item(s) {_numbers(overflowing)} do not fit their fields. "
                    "Run preflight (OVERFLOW) and fix them."
                )
            }
        )


def _sort_key(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", normalize_text(value))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _bed_order(items: list[Item], template: Template, order: str) -> list[int]:
    """Indexes into ``items`` in the order they go onto the beds."""
    if order != "name":
        return list(range(len(items)))
    keys = [f.key for f in template.fields]
    by = "name" if "name" in keys else keys[0]
    return sorted(range(len(items)), key=lambda i: (_sort_key(_values(items[i]).get(by, "")), i))


def _approvals(session: Session, job: Job, items: list[Item]) -> list[str | None]:
    """For each item, how its current proof was approved (link|phone|email), or None."""
    rows = session.exec(
        select(ApprovalDecision.item_id, ApprovalDecision.proof_version, ApprovalDecision.via)
        .join(Item, col(Item.id) == col(ApprovalDecision.item_id))
        .where(Item.job_id == job.id, ApprovalDecision.decision == "approved")
    ).all()
    via = {(item_id, version): how for item_id, version, how in rows}
    out: list[str | None] = []
    for item in items:
        how = via.get((item.id, item.proof_version))
        if item.proof_status != ProofStatus.APPROVED or how == "skipped":
            out.append(None)
        else:
            out.append(how or "recorded")
    return out


def _fonts_needed(layouts: list[ItemLayout]) -> list[dict[str, Any]]:
    """Every font file the text's glyphs are drawn with, once each; ``fallback`` when it only ever
    draws characters a field's own font lacks."""
    seen: dict[str, dict[str, Any]] = {}
    for lay in layouts:
        for fl in lay.fields:
            for index in sorted({font for line in fl.lines for font in line.columns[0]}):
                ref = fl.fonts[index]
                own = ref.sha256 == fl.font.sha256
                if ref.sha256 in seen:
                    seen[ref.sha256]["fallback"] &= not own
                    continue
                lf = load_font(ref.path)
                seen[ref.sha256] = {
                    "family": lf.family,
                    "weight": lf.weight,
                    "face": ref.name,
                    "file": Path(ref.path).name,
                    "sha256": ref.sha256,
                    "fallback": not own,
                }
    return sorted(seen.values(), key=lambda f: (f["fallback"], f["family"], f["weight"], f["face"]))


def _check_pdf_text(layouts: list[ItemLayout]) -> None:
    try:
        pdf_text.check_layouts((n, fl) for n, lay in enumerate(layouts, 1) for fl in lay.fields)
    except pdf_text.PdfTextRefused as exc:
        raise InvalidInput({"text_mode": f"PDF text mode can't write {exc}: export in curves mode"}) from None


# -- files -------------------------------------------------------------------------------------------
def _zip(zip_path: Path, members: list[Path]) -> None:
    """A zip whose bytes depend only on the members' names and contents; written atomically."""
    tmp = zip_path.with_name(f"{partial_prefix(zip_path.name)}{uuid.uuid4().hex[:8]}.part")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for path in members:
                info = zipfile.ZipInfo(path.name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                zf.writestr(info, path.read_bytes(), compresslevel=1)  # 3x faster than 6, a little larger
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _relative(path: Path, files_dir: Path) -> str:
    try:
        return path.relative_to(files_dir).as_posix()
    except ValueError:
        return str(path)


# -- the use case ------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """Everything an export writes, worked out (and checked) before any file is touched."""

    profile: MachineProfile
    fmt: str
    mode: str  # what is written
    requested_mode: str
    template_version: int
    template: Template
    items: list[Item]
    layouts: list[ItemLayout]
    plan: BedPlan
    order: list[int]  # indexes into items, in bed order
    slots: list[Slot]  # per item (job order)
    style: Style
    approvals: list[str | None]  # per item: how it was approved, None when it was not
    fonts_needed: list[dict[str, Any]]
    notes: list[str]

    @property
    def not_approved(self) -> int:
        return sum(1 for a in self.approvals if a is None)


def _prepare(
    session: Session,
    ws: Workspace,
    job: Job,
    *,
    profile_name: str,
    output_format: str | None,
    text_mode: str | None,
    registry: FontRegistry,
) -> _Prepared:
    profile = get_profile(session, ws, profile_name)
    fmt = (output_format or profile.output_format).strip().lower()
    requested_mode = (text_mode or profile.text_mode).strip().lower()
    errors = {}
    if fmt not in FORMATS:
        errors["output_format"] = f"{output_format!r} is not one of: {', '.join(FORMATS)}"
    if requested_mode not in TEXT_MODES:
        errors["text_mode"] = f"{text_mode!r} is not one of: {', '.join(TEXT_MODES)}"
    if errors:
        raise InvalidInput(errors)
    found = job_template(session, job)
    if found is None:
        raise InvalidInput({"template": f"{job.ref} has no template: choose one first"})
    tv, template = found
    stmt = select(Item).where(Item.job_id == job.id).order_by(col(Item.position), col(Item.id))
    items = list(session.exec(stmt))
    if not items:
        raise InvalidInput({"items": f"{job.ref} has no items"})

    notes: list[str] = []
    mode = requested_mode
    if fmt == "dxf" and mode == "text":
        mode = "curves"
        notes.append("DXF has no portable live text: the text was exported as curves (glyph outlines).")
    if fmt == "lbrn2" and mode == "text":
        mode = "curves"
        notes.append(lightburn.TEXT_NOTE)
    try:
        layouts = _layouts(items, template, registry)
    except FontError as exc:
        raise InvalidInput({"fonts": f"{exc}: regenerate the proofs"}) from None
    _refuse_bad_layouts(layouts)
    if fmt == "pdf" and mode == "text":
        _check_pdf_text(layouts)

    item_w, item_h = round(template.width * MM_PER_IN, 6), round(template.height * MM_PER_IN, 6)
    order = _bed_order(items, template, profile.item_order)
    plan = plan_bed(
        len(items),
        item_w,
        item_h,
        bed_width=profile.bed_width_mm,
        bed_height=profile.bed_height_mm,
        margin=profile.margin_mm,
        gap=profile.gap_mm,
        cut_outline=profile.cut_outline,
    )
    notes += plan.warnings
    slots: list[Slot] = [plan.slots[0]] * len(items)
    for slot_index, item_index in enumerate(order):
        slots[item_index] = plan.slots[slot_index]

    artwork: Artwork | None = None
    if profile.include_artwork:
        try:
            artwork = load_artwork(template)
        except ArtworkError as exc:
            raise InvalidInput({"artwork": str(exc)}) from None
        if artwork is not None:
            notes += artwork.warnings
            if artwork.image is not None and fmt == "dxf":
                notes.append(
                    "DXF carries no raster images: the template's image artwork is not in the files."
                )
            if artwork.image is not None and fmt == "lbrn2":
                notes.append(lightburn.IMAGE_NOTE)
    fonts_needed: list[dict[str, Any]] = []
    if mode == "text":
        fonts_needed = _fonts_needed(layouts)
        names = ", ".join(f"{f['face']} ({f['file']})" for f in fonts_needed)
        notes.append(f"Text mode: the laser PC needs these fonts installed: {names}. Curves mode needs none.")
    style = Style(
        text_mode=mode,
        cut_color=profile.cut_color,
        engrave_color=profile.engrave_color,
        cut_outline=profile.cut_outline,
        artwork=artwork,
        aligns={f.key: f.align for f in template.fields},
        weights={f.key: f.weight for f in template.fields},
        score_color=profile.score_color,
        score_width=profile.score_width_mm if profile.score_color else 0.0,
        laser=lightburn.profile_laser(profile),
    )
    return _Prepared(
        profile=profile,
        fmt=fmt,
        mode=mode,
        requested_mode=requested_mode,
        template_version=tv.version,
        template=template,
        items=items,
        layouts=layouts,
        plan=plan,
        order=order,
        slots=slots,
        style=style,
        approvals=_approvals(session, job, items),
        fonts_needed=fonts_needed,
        notes=notes,
    )


def _write_sheets(prep: _Prepared, job: Job, base: str, folder: Path) -> list[str]:
    """Write every sheet and the manifest into ``folder``; returns the file names in order."""
    write = writer_for(prep.fmt)
    plan = prep.plan
    names: list[str] = []
    files_meta: list[dict[str, Any]] = []
    for number in range(1, plan.sheets + 1):
        indexes = [prep.order[k] for k in plan.on_sheet(number)]
        sheet = Sheet(
            number=number,
            count=plan.sheets,
            width=plan.bed_width,
            height=plan.bed_height,
            item_width=plan.item_width,
            item_height=plan.item_height,
            items=tuple(
                PlacedItem(i + 1, prep.slots[i].x, prep.slots[i].y, prep.layouts[i]) for i in indexes
            ),
            title=f"{job.ref} {prep.template.key}: sheet {number} of {plan.sheets}",
        )
        data = write(sheet, prep.style)
        name = f"{base}_{number}of{plan.sheets}.{EXTENSIONS[prep.fmt]}"
        write_file(folder / name, data)
        names.append(name)
        files_meta.append(
            {
                "name": name,
                "sheet": number,
                "items": len(indexes),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    names.append(f"{base}_manifest.json")
    write_file(folder / names[-1], manifest_bytes(_manifest(prep, job, files_meta)))
    return names


def _record(
    session: Session,
    ws: Workspace,
    job: Job,
    actor: Actor,
    prep: _Prepared,
    version: int,
    zip_path: str,
    files: list[str],
) -> Export:
    """The Export row, the move to exported and the activity events."""
    row = Export(
        job_id=job.id,
        profile_name=prep.profile.name,
        output_format=prep.fmt,
        text_mode=prep.mode,
        zip_path=zip_path,
        files=files,
        sheets=prep.plan.sheets,
        without_approval=prep.not_approved > 0,
        created_by=actor.display[:200],
    )
    session.add(row)
    session.flush()
    lifecycle.move(
        session, job, JobStatus.EXPORTED, actor, reason=f"export v{version} created", export=version
    )
    record(
        session,
        ws.id,
        job.id,
        Event.EXPORT_CREATED,
        actor,
        zip_path=zip_path,
        sheets=prep.plan.sheets,
        format=prep.fmt,
        mode=prep.mode,
        profile=prep.profile.name,
        files=[Path(f).name for f in files],
        items=len(prep.items),
        version=version,
        warnings=list(prep.notes),
    )
    if prep.not_approved:
        numbers = [n for n, a in enumerate(prep.approvals, 1) if a is None]
        record(
            session,
            ws.id,
            job.id,
            Event.EXPORTED_WITHOUT_APPROVAL,
            actor,
            approval_skipped=job.approval_skipped,
            not_approved=prep.not_approved,
            items=numbers[:100],
            version=version,
        )
    session.flush()
    return row


def export_job(
    session: Session,
    ws: Workspace,
    job: Job,
    actor: Actor,
    *,
    profile_name: str,
    output_format: str | None = None,
    text_mode: str | None = None,
    files_dir: Path,
    registry: FontRegistry | None = None,
) -> ExportResult:
    """Export a production-ready (or exported) job with a machine profile; see the module docstring.

    ``output_format``/``text_mode`` default to the profile's; ``registry`` to the workspace's fonts.
    Refusals: TransitionRefused (status, preflight not run or with errors), NotFound (profile),
    InvalidInput (format, mode, template, items, glyphs, overflow, bed too small, artwork, fonts).
    A file-system error (the disk full…) leaves no file of this export behind.
    """
    started = time.perf_counter()
    files_dir = Path(files_dir)
    job = lock_job(session, job)
    if job.workspace_id != ws.id:
        raise NotFound(f"{job.ref} is not a job of this workspace.")
    _refuse_unless_exportable(session, job, actor)
    prep = _prepare(
        session,
        ws,
        job,
        profile_name=profile_name,
        output_format=output_format,
        text_mode=text_mode,
        registry=registry or registry_for(ws, files_dir),
    )
    version = session.exec(select(func.count()).select_from(Export).where(Export.job_id == job.id)).one() + 1
    base = f"{job.ref}_{safe_name(prep.template.key)}"
    root = files_dir / "exports" / f"job-{job.id}"
    final_dir = root / f"v{version}"
    zip_path = root / f"{base}_{prep.fmt}_{prep.mode}_v{version}.zip"
    staging = root / f".v{version}.staging.{instance.tag()}.{uuid.uuid4().hex[:12]}"
    written: list[Path] = []
    try:
        staging.mkdir(parents=True)
        names = _write_sheets(prep, job, base, staging)
        if final_dir.exists():  # left by an export whose transaction did not commit
            shutil.rmtree(final_dir)
        os.replace(staging, final_dir)
        written.append(final_dir)
        files = tuple(final_dir / n for n in names)
        _zip(zip_path, list(files))
        written.append(zip_path)
        row = _record(
            session,
            ws,
            job,
            actor,
            prep,
            version,
            _relative(zip_path, files_dir),
            [_relative(p, files_dir) for p in files],
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for path in written:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    return ExportResult(
        export_id=row.id,
        job_ref=job.ref,
        version=version,
        profile_name=prep.profile.name,
        output_format=prep.fmt,
        text_mode=prep.mode,
        sheets=prep.plan.sheets,
        items=len(prep.items),
        zip_path=zip_path,
        directory=final_dir,
        files=files,
        manifest_path=files[-1],
        without_approval=prep.not_approved > 0,
        not_approved=prep.not_approved,
        warnings=tuple(prep.notes),
        seconds=time.perf_counter() - started,
    )


def _manifest(prep: _Prepared, job: Job, files_meta: list[dict[str, Any]]) -> dict[str, Any]:
    plan = prep.plan
    entries = []
    for n, (item, slot, via) in enumerate(zip(prep.items, prep.slots, prep.approvals, strict=True), start=1):
        entries.append(
            {
                "number": n,
                "position": item.position,
                "item_id": item.id,
                "values": item.values,
                "sheet": slot.sheet,
                "row": slot.row + 1,
                "column": slot.column + 1,
                "x_mm": slot.x,
                "y_mm": slot.y,
                "width_mm": plan.item_width,
                "height_mm": plan.item_height,
                "proof_version": item.proof_version,
                "approval": approval_label(via, job.approval_skipped),
                "approved_via": via,
            }
        )
    approved = len(prep.items) - prep.not_approved
    return build_manifest(
        job={
            "ref": job.ref,
            "reference": job.reference,
            "customer": job.customer_name,
            "items": len(prep.items),
        },
        template={
            "key": prep.template.key,
            "name": prep.template.name,
            "version": prep.template_version,
            "content_hash": prep.template.content_hash,
            "width_mm": plan.item_width,
            "height_mm": plan.item_height,
        },
        profile=profile_settings(prep.profile),
        output={
            "format": prep.fmt,
            "text_mode": prep.mode,
            "requested_text_mode": prep.requested_mode,
            "sheets": plan.sheets,
            "columns": plan.columns,
            "rows": plan.rows,
            "per_sheet": plan.per_sheet,
            "files": files_meta,
            **({"dxf_version": dxf.DXF_VERSION_NOTE} if prep.fmt == "dxf" else {}),
            **({"lightburn_layers": lightburn.manifest_layers(prep.style)} if prep.fmt == "lbrn2" else {}),
        },
        approval={
            "approved": approved,
            "approval_skipped": job.approval_skipped,
            "not_approved": prep.not_approved,
            "exported_without_approval": prep.not_approved > 0,
        },
        fonts_needed=prep.fonts_needed,
        notes=prep.notes,
        items=entries,
    )
