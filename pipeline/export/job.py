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
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from pipeline.core import instance
from pipeline.core.actors import Actor
from pipeline.core.errors import NotFound, TransitionRefused
from pipeline.core.files import partial_prefix, safe_name
from pipeline.export import dxf, lightburn, pdf, svg
from pipeline.export.machines import profile_settings
from pipeline.export.manifest import approval_label, build_manifest, manifest_bytes
from pipeline.export.prepare import Prepared, prepare
from pipeline.export.sheet import PlacedItem, Sheet, Style
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.workspace_fonts import registry_for
from storage.models import (
    Export,
    Job,
    JobStatus,
    Workspace,
)

EXTENSIONS = {"svg": "svg", "pdf": "pdf", "dxf": "dxf", "lbrn2": "lbrn2"}

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bytes


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


def _write_sheets(prep: Prepared, job: Job, base: str, folder: Path) -> list[str]:
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
    prep: Prepared,
    version: int,
    zip_path: str,
    files: list[str],
) -> Export:
    """The Export row, the move to exported and the activity events."""
    row = Export(
        job_id=job.pk,
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
        ws.pk,
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
            ws.pk,
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
    prep = prepare(
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
        relative = [_relative(p, files_dir) for p in files]
        row = _record(session, ws, job, actor, prep, version, _relative(zip_path, files_dir), relative)
    except BaseException:
        _remove(staging, written)
        raise
    return ExportResult(
        export_id=_export_id(row),
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


def _remove(staging: Path, written: list[Path]) -> None:
    """Everything an export wrote before it failed: its staging folder, its folder and its zip."""
    shutil.rmtree(staging, ignore_errors=True)
    for path in written:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _export_id(row: Export) -> int:
    assert row.id is not None  # flushed by _record
    return row.id


def _manifest(prep: Prepared, job: Job, files_meta: list[dict[str, Any]]) -> dict[str, Any]:
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
