"""Everything an export writes, worked out and checked before any file is touched (docs/export.md):
the profile's format and text mode, the template and items, every item's layout (the one stored with
its proof when it still holds), no missing glyph or overflow, the bed plan and order, the artwork, the
fonts text mode needs, and how each item was approved.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from pipeline.core.errors import InvalidInput
from pipeline.core.units import MM_PER_IN
from pipeline.export import lightburn, pdf_text
from pipeline.export.artwork import Artwork, ArtworkError, load_artwork
from pipeline.export.bed import BedPlan, Slot, plan_bed
from pipeline.export.machines import FORMATS, TEXT_MODES, get_profile
from pipeline.export.sheet import Style
from pipeline.rendering.copyfit import holds_group_sizes, measure
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.rendering.run import normalize_text
from pipeline.templates.catalog import job_template
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import FontError
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Template
from storage.models import (
    ApprovalDecision,
    Item,
    Job,
    MachineProfile,
    ProofStatus,
    Workspace,
)

_LISTED = 12  # item numbers named in a refusal


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_LISTED]))
    return shown + (f" and {len(numbers) - _LISTED} more" if len(numbers) > _LISTED else "")


def _stored_layout(
    item: Item, template: Template, template_hash: str, values: dict[str, str], groups: dict[str, float]
) -> ItemLayout | None:
    """The layout stored with the item's proof, if it is still the layout of its values at its copyfit
    groups' sizes."""
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
    return layout if holds_group_sizes(layout, template, groups) else None


def _values(item: Item) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (item.values or {}).items()}


def _layouts(items: list[Item], template: Template, registry: FontRegistry) -> list[ItemLayout]:
    """Every item's layout, at the copyfit group sizes of the whole job (as its proofs were drawn)."""
    template_hash = template.content_hash
    rows = [_values(item) for item in items]
    groups = measure(template, rows, registry).sizes
    out = []
    for item, values in zip(items, rows, strict=True):
        out.append(
            _stored_layout(item, template, template_hash, values, groups)
            or layout_item(template, values, registry=registry, groups=groups)
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


def _refuse_fine_codes(layouts: list[ItemLayout], profile: str, least: float) -> None:
    """A code whose modules are finer than the machine engraves would not scan: refuse it."""
    fine = [
        n
        for n, lay in enumerate(layouts, 1)
        if any(f.code is not None and f.code.module < least - 1e-9 for f in lay.fields)
    ]
    if fine:
        raise InvalidInput(
            {
                "items": (
                    f"item(s) {_numbers(fine)} have codes with modules finer than {least:g} mm, the "
                    f"smallest '{profile}' engraves. Run preflight (CODE_MODULE_SMALL) and fix them, "
                    "or choose another machine profile."
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
        select(col(ApprovalDecision.item_id), col(ApprovalDecision.proof_version), col(ApprovalDecision.via))
        .join(Item, col(Item.id) == col(ApprovalDecision.item_id))
        .where(Item.job_id == job.id, ApprovalDecision.decision == "approved")
    ).all()
    via = {(item_id, version): how for item_id, version, how in rows}
    out: list[str | None] = []
    for item in items:
        how = via.get((item.pk, item.proof_version))
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


# -- the use case ------------------------------------------------------------------------------------
@dataclass
class Prepared:
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


def prepare(
    session: Session,
    ws: Workspace,
    job: Job,
    *,
    profile_name: str,
    output_format: str | None,
    text_mode: str | None,
    registry: FontRegistry,
) -> Prepared:
    profile = get_profile(session, ws, profile_name)
    fmt, requested_mode = _format_and_mode(profile, output_format, text_mode)
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
    _refuse_fine_codes(layouts, profile.name, profile.min_module_mm)
    if fmt == "pdf" and mode == "text":
        _check_pdf_text(layouts)

    order = _bed_order(items, template, profile.item_order)
    plan = _plan(profile, template, len(items))
    notes += plan.warnings
    slots: list[Slot] = [plan.slots[0]] * len(items)
    for slot_index, item_index in enumerate(order):
        slots[item_index] = plan.slots[slot_index]
    artwork = _artwork(profile, template, fmt, notes)
    fonts_needed: list[dict[str, Any]] = []
    if mode == "text":
        fonts_needed = _fonts_needed(layouts)
        names = ", ".join(f"{f['face']} ({f['file']})" for f in fonts_needed)
        notes.append(f"Text mode: the laser PC needs these fonts installed: {names}. Curves mode needs none.")
    return Prepared(
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
        style=_style(profile, template, mode, artwork),
        approvals=_approvals(session, job, items),
        fonts_needed=fonts_needed,
        notes=notes,
    )


def _format_and_mode(
    profile: MachineProfile, output_format: str | None, text_mode: str | None
) -> tuple[str, str]:
    """The output format and the text mode asked for (the profile's unless given), both checked."""
    fmt = (output_format or profile.output_format).strip().lower()
    requested_mode = (text_mode or profile.text_mode).strip().lower()
    errors = {}
    if fmt not in FORMATS:
        errors["output_format"] = f"{output_format!r} is not one of: {', '.join(FORMATS)}"
    if requested_mode not in TEXT_MODES:
        errors["text_mode"] = f"{text_mode!r} is not one of: {', '.join(TEXT_MODES)}"
    if errors:
        raise InvalidInput(errors)
    return fmt, requested_mode


def _plan(profile: MachineProfile, template: Template, count: int) -> BedPlan:
    """`count` items of the template's size on the profile's beds."""
    item_w, item_h = round(template.width * MM_PER_IN, 6), round(template.height * MM_PER_IN, 6)
    return plan_bed(
        count,
        item_w,
        item_h,
        bed_width=profile.bed_width_mm,
        bed_height=profile.bed_height_mm,
        margin=profile.margin_mm,
        gap=profile.gap_mm,
        cut_outline=profile.cut_outline,
    )


def _artwork(profile: MachineProfile, template: Template, fmt: str, notes: list[str]) -> Artwork | None:
    """The template's artwork when the profile includes it; what it can't carry is added to `notes`."""
    if not profile.include_artwork:
        return None
    try:
        artwork = load_artwork(template)
    except ArtworkError as exc:
        raise InvalidInput({"artwork": str(exc)}) from None
    if artwork is not None:
        notes += artwork.warnings
        if artwork.image is not None and fmt == "dxf":
            notes.append("DXF carries no raster images: the template's image artwork is not in the files.")
        if artwork.image is not None and fmt == "lbrn2":
            notes.append(lightburn.IMAGE_NOTE)
    return artwork


def _style(profile: MachineProfile, template: Template, mode: str, artwork: Artwork | None) -> Style:
    return Style(
        text_mode=mode,
        cut_color=profile.cut_color,
        engrave_color=profile.engrave_color,
        cut_outline=profile.cut_outline,
        artwork=artwork,
        aligns={f.key: f.align for f in template.fields},
        weights={f.key: f.weight for f in template.fields},
        score_color=profile.score_color,
        score_width=profile.score_width_mm if profile.score_color else 0.0,
        invert_codes=profile.invert_codes,
        laser=lightburn.profile_laser(profile),
    )
