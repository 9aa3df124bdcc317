"""Templates for jobs and the workspace's catalogue: choosing and mapping, proofs and preflight,
importing and exporting templates, fonts and machine profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.background import slow_steps
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.export import machines
from pipeline.intake.mapping import MappingPair, SerialSpec
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event
from pipeline.templates import catalog, workspace_fonts
from pipeline.templates.template import Template
from storage.models import Font, Job, MachineProfile, TemplateVersion, Workspace


@dataclass(frozen=True)
class TemplateForm:
    """The "choose template" window: the catalogue, and once one is chosen its fields to map."""

    ref: str
    choices: list[tuple[str, str]]  # (key, label)
    chosen: str | None = None
    fields: list[tuple[str, str, bool]] = field(default_factory=list)  # (key, label, required)
    columns: list[str] = field(default_factory=list)
    suggested: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (column, transform)


def template_form(runtime: Runtime, who: Who, ref: str, chosen: str | None = None) -> TemplateForm:
    files_dir = runtime.settings.files_dir
    with runtime.db.session() as s:  # the sample templates are stored on first use
        ws = s.get_one(Workspace, who.ws_id)
        job = jobs.get_job(s, ws, ref)
        infos = catalog.list_templates(s, ws, files_dir)
        choices = [(t.key, f"{t.name} ({t.width:g}×{t.height:g} in)") for t in infos]
        current = catalog.job_template(s, job)
        if chosen is None and current is not None:
            chosen = current[1].key
        if chosen is None:
            return TemplateForm(job.ref, choices)
        template = catalog.template_of(catalog.current_version(s, ws, chosen, files_dir))
        mapping = catalog.job_mapping(s, job) if job.template_version_id else None
        pairs = mapping.pairs if mapping else catalog.suggested_pairs(s, job, template)
        return TemplateForm(
            job.ref,
            choices,
            chosen,
            [(f.key, f.label or f.key, f.required) for f in template.fields],
            catalog.job_columns(s, job),
            {p.field_key: (p.column, p.transform) for p in pairs if p.field_key},
        )


def apply_template(
    runtime: Runtime, who: Who, ref: str, key: str, pairs: list[MappingPair], serial: SerialSpec | None
) -> tuple[int, str]:
    """Use template `key` for the job with this mapping: (job id, ref)."""
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, who.ws_id)
        job = jobs.get_job(s, ws, ref)
        catalog.choose_template(s, ws, job, who.actor, key, runtime.settings.files_dir)
        catalog.apply_mapping(s, job, who.actor, pairs, serial)
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.MAPPING_APPLIED)
    return job_id, done


def start_proofs(runtime: Runtime, who: Who, ref: str) -> str:
    """Proofs (then preflight) in the background: the job's ref."""
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
    if job.template_version_id is None:
        raise InvalidInput(
            {"template": f"{job.ref} has no template yet: press *Choose template* on its card"}
        )
    slow_steps.start_proofs(runtime, who.ws_id, job.pk, who.actor)
    return job.ref


def start_proofs_of(runtime: Runtime, who: Who, job_id: int) -> None:
    slow_steps.start_proofs(runtime, who.ws_id, job_id, who.actor)


def start_preflight(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
    slow_steps.start_preflight(runtime, who.ws_id, job.pk, who.actor)
    return job.ref


def has_template(runtime: Runtime, job_id: int) -> bool:
    with runtime.db.read() as s:
        return s.get_one(Job, job_id).template_version_id is not None


# -- the catalogue ---------------------------------------------------------------------------------


def list_templates(runtime: Runtime, who: Who) -> list[catalog.TemplateInfo]:
    with runtime.db.session() as s:
        return catalog.list_templates(s, s.get_one(Workspace, who.ws_id), runtime.settings.files_dir)


def show_template(runtime: Runtime, who: Who, key: str) -> tuple[TemplateVersion, Template]:
    with runtime.db.session() as s:
        tv = catalog.current_version(s, s.get_one(Workspace, who.ws_id), key, runtime.settings.files_dir)
        return tv, catalog.template_of(tv)


def export_template(runtime: Runtime, who: Who, key: str) -> tuple[str, Path | None]:
    """(TOML source, artwork file or None) of template `key`."""
    with runtime.db.session() as s:
        return catalog.export_template(s, s.get_one(Workspace, who.ws_id), key, runtime.settings.files_dir)


def import_template(
    runtime: Runtime, who: Who, source: str, artwork: tuple[str, bytes] | None
) -> tuple[str, int]:
    """A template (new, or a new version of its key): (key, version)."""
    with runtime.db.session() as s:
        tv = catalog.import_template(
            s, s.get_one(Workspace, who.ws_id), who.actor, source, runtime.settings.files_dir, artwork=artwork
        )
        return catalog.template_of(tv).key, tv.version


def list_fonts(runtime: Runtime, who: Who) -> list[Font]:
    with runtime.db.read() as s:
        return workspace_fonts.list_fonts(s, s.get_one(Workspace, who.ws_id))


def upload_font(runtime: Runtime, who: Who, data: bytes, filename: str) -> tuple[str, str]:
    """A font checked and kept for the workspace's templates: (family, weight)."""
    with runtime.db.session() as s:
        font = workspace_fonts.upload_font(
            s, s.get_one(Workspace, who.ws_id), who.actor, data, filename, runtime.settings.files_dir
        )
        return font.family, font.weight


# -- machine profiles --------------------------------------------------------------------------------


def list_profiles(runtime: Runtime, who: Who) -> list[tuple[str, str]]:
    """(name, description) of each machine profile."""
    with runtime.db.session() as s:  # the built-in profiles are stored on first use
        return [
            (p.name, machines.describe(p)) for p in machines.list_profiles(s, s.get_one(Workspace, who.ws_id))
        ]


def profile_values(runtime: Runtime, who: Who, name: str) -> tuple[str, dict[str, Any]]:
    """(name, values as entered) of a profile, for the edit window."""
    with runtime.db.session() as s:
        row: MachineProfile = machines.get_profile(s, s.get_one(Workspace, who.ws_id), name)
        return row.name, machines.entered_values(row)


def save_profile(runtime: Runtime, who: Who, existing: str | None, values: dict[str, Any]) -> tuple[str, str]:
    """Create a profile, or change `existing`: (name, description)."""
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, who.ws_id)
        if existing:
            row = machines.update_profile(s, ws, who.actor, existing, **values)
        else:
            row = machines.create_profile(s, ws, who.actor, **values)
        return row.name, machines.describe(row)


def delete_profile(runtime: Runtime, who: Who, name: str) -> str:
    """Remove a machine profile (owners and admins); exports already made keep their files."""
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, who.ws_id)
        found = machines.get_profile(s, ws, name).name
        machines.delete_profile(s, ws, who.actor, name)
        return found
