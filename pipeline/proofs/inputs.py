"""What a proof depends on, as one hash: the template version, the item's values as the layout sees
them, the font files, the render options and the renderer version. Same hash, same proof, so only
items whose hash changed are drawn again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.rendering.run import normalize_text
from pipeline.templates.fonts import FontRegistry, default_registry
from pipeline.templates.template import Template

PROOF_RENDER_VERSION = 2  # part of every proof input hash: bump when drawing changes

DEFAULT_DPI = 150


# -- input hash -------------------------------------------------------------------------------------
def proof_input_hash(
    template_hash: str,
    values: Mapping[str, Any],
    font_hashes: Iterable[str],
    *,
    options: Mapping[str, Any] | None = None,
) -> str:
    """sha256 over everything a proof depends on: the template version, the item's values (as the
    layout sees them: NFC, whitespace collapsed), the font files and the render options (dpi, boxes),
    plus the renderer version. Same hash, same proof."""
    doc = {
        "renderer": PROOF_RENDER_VERSION,
        "template": template_hash,
        "values": {str(k): normalize_text(None if v is None else str(v)) for k, v in values.items()},
        "fonts": sorted(set(font_hashes)),
        "options": dict(options or {}),
    }
    payload = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def task_input_hash(
    template: Template,
    values: Mapping[str, Any],
    registry: FontRegistry | None = None,
    *,
    dpi: int = DEFAULT_DPI,
    show_boxes: bool = False,
    group_sizes: Mapping[str, float] | None = None,
) -> str:
    """The input hash of one item's proof as ``generate_proofs`` renders it: the values of the
    template's fields, its fonts and fallbacks, dpi and boxes (see proof_input_hash), and the sizes
    its copyfit groups set on its fields (``Copyfit.of_item``: a field's key and size), so an item is
    drawn again exactly when its group's size changes what it shows."""
    options: dict[str, Any] = {"dpi": dpi, "show_boxes": show_boxes}
    if group_sizes:  # left out without groups: the hashes of proofs made before groups still hold
        options["group_sizes"] = {k: group_sizes[k] for k in sorted(group_sizes)}
    return proof_input_hash(
        template.content_hash,
        {f.key: values.get(f.key) for f in template.fields},
        template_font_hashes(template, registry),
        options=options,
    )


def template_font_hashes(template: Template, registry: FontRegistry | None = None) -> tuple[str, ...]:
    """Content hashes of every face the template's fields can draw with (their fonts and fallbacks)."""
    reg = registry or default_registry()
    hashes: set[str] = set()
    for f in template.fields:
        hashes.add(reg.resolve(template.font_of(f), f.weight).font.sha256)
        hashes.update(ff.sha256 for ff in reg.fallback_chain(f.weight))
    return tuple(sorted(hashes))
