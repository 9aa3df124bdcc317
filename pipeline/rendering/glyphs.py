"""What the proof and the export draw: every glyph of a laid-out field placed in template points, its
outline (cached per font and glyph), and drawing it into any fontTools pen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from pipeline.rendering.model import FieldLayout
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import FontError


# -- what the proof and the export draw -------------------------------------------------------------
class PlacedGlyph(NamedTuple):
    font_path: str
    font_sha256: str
    units_per_em: int
    gid: int
    x: float  # pt from the template's left edge: the glyph origin, offsets applied
    y: float  # pt from the template's top edge: the glyph's baseline (y down)
    size: float  # pt


def glyph_placements(fl: FieldLayout) -> Iterator[PlacedGlyph]:
    """Every glyph of a laid-out field, in drawing order, positioned in template points."""
    size = fl.size
    for line in fl.lines:
        pen = 0.0
        for font, gid, _cluster, advance, dx, dy in zip(*line.columns, strict=True):
            ref = fl.fonts[font]
            scale = size / ref.units_per_em
            yield PlacedGlyph(
                ref.path, ref.sha256, ref.units_per_em, gid,
                line.x + pen + dx * scale, line.baseline - dy * scale, size,
            )  # fmt: skip
            pen += advance * scale


def glyph_outline(font_path: str, gid: int, sha256: str | None = None) -> tuple[tuple[str, tuple], ...]:
    """A glyph's outline as RecordingPen operations in font units (y up, components decomposed),
    cached per font + glyph. With ``sha256`` (from the layout), a font file that has changed since
    the layout was computed raises FontError instead of drawing other glyphs."""
    lf = load_font(font_path)
    if sha256 is not None and lf.sha256 != sha256:
        raise FontError(f"font file {font_path} changed since the layout was computed")
    return lf.outline(gid)


def draw_placed_glyph(p: PlacedGlyph, pen: Any, *, scale: float = 1.0) -> None:
    """Draw a placed glyph into any fontTools pen in template coordinates (y down), times ``scale``.

    ``scale`` converts points to the output unit, e.g. ``25.4 / 72`` for millimetres.
    """
    from fontTools.pens.recordingPen import replayRecording
    from fontTools.pens.transformPen import TransformPen

    s = p.size / p.units_per_em * scale
    transform = TransformPen(pen, (s, 0, 0, -s, p.x * scale, p.y * scale))
    replayRecording(glyph_outline(p.font_path, p.gid, p.font_sha256), transform)
