"""A workspace's templates in the database: samples on first use, import/export, versions, the
template and mapping of a job. The file format itself lives in pipeline/templates/template.py."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, PermissionDenied
from pipeline.core.files import safe_name, write_atomic
from pipeline.intake.items import mark_items_changed
from pipeline.intake.mapping import FieldMapping as Mapping
from pipeline.intake.mapping import MappingPair, SerialSpec, suggest_mapping
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import (
    Template,
    TemplateError,
    dump_template,
    load_template,
    sample_templates,
)
from pipeline.templates.workspace_fonts import registry_for
from storage.models import FieldMapping, Item, Job, ProofStatus, TemplateVersion, Workspace, utcnow
from storage.models import Template as TemplateRow


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    name: str
    category: str
    version: int
    width: float
    height: float
    fields: list[str]


def _artwork_dir(files_dir: Path, ws_id: int, key: str, version: int) -> Path:
    return files_dir / "templates" / f"ws-{ws_id}" / safe_name(key) / f"v{version}"


def ensure_samples(session: Session, ws: Workspace, files_dir: Path) -> None:
    """Give a workspace the sample templates the first time it looks at its templates."""
    have = set(session.exec(select(TemplateRow.key).where(TemplateRow.workspace_id == ws.id)))
    for key, template in sample_templates().items():
        if key not in have:
            _store(session, ws, template, files_dir, actor_display="CraftStage samples")


def _store(
    session: Session,
    ws: Workspace,
    template: Template,
    files_dir: Path,
    *,
    actor_display: str,
    row: TemplateRow | None = None,
) -> TemplateVersion:
    if row is None:
        row = TemplateRow(
            workspace_id=ws.pk,
            key=template.key,
            name=template.name,
            category=template.category,
            current_version=0,
        )
        session.add(row)
        session.flush()
    version = row.current_version + 1
    artwork_dir = None
    art = template.artwork_path()
    if art is not None and art.is_file():
        # the stored copy sits flat in the version's own folder, whatever path the file named
        folder = _artwork_dir(files_dir, ws.pk, template.key, version)
        name = safe_name(art.name)
        write_atomic(folder / name, art.read_bytes())
        template = replace(template, artwork=name, base_dir=str(folder))
        artwork_dir = str(folder)
    tv = TemplateVersion(
        template_id=row.pk,
        version=version,
        source=dump_template(template),
        content_hash=template.content_hash,
        artwork_path=artwork_dir,
        created_by=actor_display,
    )
    session.add(tv)
    row.current_version, row.name, row.category = version, template.name, template.category
    session.flush()
    return tv


def list_templates(session: Session, ws: Workspace, files_dir: Path) -> list[TemplateInfo]:
    ensure_samples(session, ws, files_dir)
    rows = session.exec(
        select(TemplateRow)
        .where(TemplateRow.workspace_id == ws.id, col(TemplateRow.archived).is_(False))
        .order_by(col(TemplateRow.category), col(TemplateRow.key))
    ).all()
    out = []
    for row in rows:
        tv = _version(session, row, row.current_version)
        t = template_of(tv)
        out.append(
            TemplateInfo(
                row.key,
                row.name,
                row.category,
                row.current_version,
                t.width,
                t.height,
                [f.key for f in t.fields],
            )
        )
    return out


def _row(session: Session, ws: Workspace, key: str) -> TemplateRow:
    row = session.exec(
        select(TemplateRow).where(TemplateRow.workspace_id == ws.id, TemplateRow.key == key)
    ).first()
    if row is None:
        raise NotFound(f"There is no template {key!r} here (`/template list` shows them).")
    return row


def _version(session: Session, row: TemplateRow, version: int) -> TemplateVersion:
    tv = session.exec(
        select(TemplateVersion).where(
            TemplateVersion.template_id == row.id, TemplateVersion.version == version
        )
    ).one()
    return tv


def current_version(session: Session, ws: Workspace, key: str, files_dir: Path) -> TemplateVersion:
    ensure_samples(session, ws, files_dir)
    row = _row(session, ws, key)
    return _version(session, row, row.current_version)


@functools.lru_cache(maxsize=256)
def _parse(source: str, base_dir: str | None) -> Template:
    return load_template(source, base_dir=base_dir, check_files=False)


def template_of(tv: TemplateVersion) -> Template:
    """The Template of a stored version (parsed once per process; versions never change)."""
    return _parse(tv.source, tv.artwork_path)


def export_template(session: Session, ws: Workspace, key: str, files_dir: Path) -> tuple[str, Path | None]:
    """The template's TOML text and its artwork file (if any)."""
    tv = current_version(session, ws, key, files_dir)
    return tv.source, template_of(tv).artwork_path()


def import_template(
    session: Session,
    ws: Workspace,
    actor: Actor,
    toml_text: str,
    files_dir: Path,
    *,
    artwork: tuple[str, bytes] | None = None,
    registry: FontRegistry | None = None,
) -> TemplateVersion:
    """Add a template, or a new version of one with the same key (only when something changed).

    Fonts are checked against the workspace's fonts unless `registry` says otherwise. The artwork the
    file names is the uploaded one (whatever folder the file names it in: versions keep it flat), or,
    when none is uploaded, the current version's artwork of the same name (an edited export)."""
    if not actor.is_admin:
        raise PermissionDenied("Only an owner or admin can import templates.")
    if registry is None:
        registry = registry_for(ws, files_dir)
    try:
        draft = load_template(toml_text, registry=registry, check_files=False)
    except TemplateError as exc:
        raise InvalidInput({"template": "; ".join(exc.messages)}) from None
    if artwork is not None and not draft.artwork:
        raise InvalidInput(
            {"artwork": 'the template names no artwork: add a line like artwork = "border.svg" to it'}
        )
    existing = session.exec(
        select(TemplateRow).where(TemplateRow.workspace_id == ws.id, TemplateRow.key == draft.key)
    ).first()
    with tempfile.TemporaryDirectory() as tmp:
        template = draft
        if draft.artwork:
            name = safe_name(draft.artwork)
            data = artwork[1] if artwork is not None else _current_artwork(session, existing, name)
            if data is not None:
                (Path(tmp) / name).write_bytes(data)
            try:
                template = load_template(
                    dump_template(replace(draft, artwork=name)), base_dir=tmp, registry=registry
                )
            except TemplateError as exc:
                raise InvalidInput({"template": "; ".join(exc.messages)}) from None
        if existing is not None:
            current = _version(session, existing, existing.current_version)
            if current.content_hash == template.content_hash:
                return current
        tv = _store(session, ws, template, files_dir, actor_display=actor.display, row=existing)
    record(session, ws.pk, None, Event.TEMPLATE_IMPORTED, actor, key=template.key, version=tv.version)
    return tv


def _current_artwork(session: Session, row: TemplateRow | None, name: str) -> bytes | None:
    """The bytes of the current version's artwork when it has this (stored, flat) name."""
    if row is None:
        return None
    art = template_of(_version(session, row, row.current_version)).artwork_path()
    if art is None or art.name != name or not art.is_file():
        return None
    return art.read_bytes()


# -- a job's template and mapping -------------------------------------------------------------------


def suggested_pairs(session: Session, job: Job, template: Template) -> list[MappingPair]:
    columns = job_columns(session, job)
    return suggest_mapping(columns, [f.key for f in template.fields])


def job_columns(session: Session, job: Job) -> list[str]:
    """The parsed columns of the job's items, in first-seen order."""
    seen: dict[str, None] = {}
    for raw in session.exec(select(Item.raw_values).where(Item.job_id == job.id).limit(2000)):
        for key in raw:
            seen.setdefault(key, None)
    return list(seen)


def choose_template(
    session: Session, ws: Workspace, job: Job, actor: Actor, key: str, files_dir: Path
) -> TemplateVersion:
    """Use `key`'s current version for the job; the mapping must then be given again."""
    job = lock_job(session, job)
    tv = current_version(session, ws, key, files_dir)
    if job.template_version_id == tv.id:
        return tv
    job.template_version_id = tv.id
    existing = session.exec(select(FieldMapping).where(FieldMapping.job_id == job.id)).first()
    if existing is not None:
        session.delete(existing)
    # every proof showed the old template: approvals lapse and each item needs a new proof
    for item in session.exec(
        select(Item).where(Item.job_id == job.id, Item.proof_status != ProofStatus.PENDING)
    ):
        item.proof_status = ProofStatus.PENDING
        item.updated_at = utcnow()
    record(session, ws.pk, job.pk, Event.TEMPLATE_CHOSEN, actor, template=key, version=tv.version)
    mark_items_changed(session, job, actor, reason="the template changed")
    return tv


def apply_mapping(
    session: Session, job: Job, actor: Actor, pairs: list[MappingPair], serial: SerialSpec | None = None
) -> int:
    """Map every item's raw values onto the template's fields; returns how many items changed."""
    job = lock_job(session, job)
    if job.template_version_id is None:
        raise InvalidInput({"template": "choose a template first"})
    tv = session.get_one(TemplateVersion, job.template_version_id)
    template = template_of(tv)
    keys = {f.key for f in template.fields}
    bad = [p.field_key for p in pairs if p.field_key and p.field_key not in keys]
    if bad:
        raise InvalidInput({"mapping": f"the template has no field {bad[0]!r}"})
    if serial is not None and serial.field not in keys:
        raise InvalidInput({"serial": f"the template has no field {serial.field!r}"})
    mapping = Mapping(pairs=pairs, serial=serial, template_key=template.key, template_version=tv.version)
    items = list(session.exec(select(Item).where(Item.job_id == job.id).order_by(col(Item.position))))
    mapped = mapping.apply_all([it.raw_values for it in items])
    changed = 0
    for item, values in zip(items, mapped, strict=True):
        if item.values != values:
            item.values = values
            item.proof_status = (
                ProofStatus.PENDING if item.proof_status != ProofStatus.PENDING else item.proof_status
            )
            item.updated_at = utcnow()
            changed += 1
    row = session.exec(select(FieldMapping).where(FieldMapping.job_id == job.id)).first()
    if row is None:
        row = FieldMapping(job_id=job.pk, template_version_id=tv.pk)
        session.add(row)
    row.template_version_id = tv.pk
    row.pairs = [p.to_dict() for p in pairs]
    row.serial = serial.to_dict() if serial else None
    row.updated_at = utcnow()
    record(
        session,
        job.workspace_id,
        job.id,
        Event.MAPPING_APPLIED,
        actor,
        changed=changed,
        pairs={p.column: p.field_key for p in pairs if p.field_key},
        transforms={p.column: p.transform for p in pairs if p.transform != "none"},
    )
    if changed:
        mark_items_changed(session, job, actor, reason="the mapping changed")
    return changed


def job_mapping(session: Session, job: Job) -> Mapping | None:
    row = session.exec(select(FieldMapping).where(FieldMapping.job_id == job.id)).first()
    if row is None:
        return None
    return Mapping(
        pairs=[MappingPair.from_dict(p) for p in row.pairs],
        serial=SerialSpec.from_dict(row.serial) if row.serial else None,
    )


def job_template(session: Session, job: Job) -> tuple[TemplateVersion, Template] | None:
    if job.template_version_id is None:
        return None
    tv = session.get_one(TemplateVersion, job.template_version_id)
    return tv, template_of(tv)
