"""SVG sheets: 1 user unit = 1 mm, groups per operation, colours as plain attributes.

Layout of the file: ``<g id="ARTWORK">`` (the template's artwork, engraved: filled in the engrave
colour), ``<g id="ENGRAVE">`` (the text: one ``<path>`` per item and field in curves mode, one
``<text>`` per line in text mode), ``<g id="SCORE">`` when the profile scores thin artwork strokes
(one hairline ``<path>`` per item in the score colour), then ``<g id="CUT">`` (one hairline
``<rect>`` per item), so
software that runs operations in file order engraves before it cuts. Every coordinate is absolute
(no transforms); numbers have at most 3 decimals (1 µm).
"""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape, quoteattr

from pipeline.core.units import MM_PER_PT
from pipeline.export.regions import ItemRegions, Piece, item_regions, score_lines, svg_path_data
from pipeline.export.sheet import (
    CUT_HAIRLINE_MM,
    GROUP_ARTWORK,
    GROUP_CUT,
    GROUP_ENGRAVE,
    GROUP_SCORE,
    PlacedItem,
    Sheet,
    Style,
    num,
)

_ANCHOR = {"left": ("start", 0.0), "center": ("middle", 0.5), "right": ("end", 1.0)}


def _artwork(sheet: Sheet, style: Style, regions: list[ItemRegions]) -> list[str]:
    art = style.artwork
    if art is None:
        return []
    out = [f'<g id="{GROUP_ARTWORK}">']
    fill = style.engrave_color
    for item, reg in zip(sheet.items, regions, strict=True):
        x, y = item.x, item.y
        if not reg.artwork.empty:
            d = svg_path_data([Piece(reg.artwork, 0.0, 0.0, 1.0)], x, y)
            out.append(f'<path id="art-{item.number}" d="{d}" fill="{fill}" stroke="none"/>')
        if art.image is not None:
            data = base64.b64encode(art.image).decode("ascii")
            out.append(
                f'<image id="art-{item.number}" x="{num(x)}" y="{num(y)}" width="{num(sheet.item_width)}" '
                f'height="{num(sheet.item_height)}" preserveAspectRatio="none" '
                f'xlink:href="data:{art.image_mime};base64,{data}"/>'
            )
    out.append("</g>")
    return out


def _curves(item: PlacedItem, reg: ItemRegions, fill: str) -> list[str]:
    out = []
    for key, pieces in reg.fields:
        d = svg_path_data(pieces, item.x, item.y)
        if d:
            out.append(f'<path id="item-{item.number}-{key}" d="{d}" fill="{fill}" stroke="none"/>')
    return out


def _text(item: PlacedItem, style: Style) -> list[str]:
    out = []
    for fl in item.layout.fields:
        anchor, factor = _ANCHOR[style.aligns.get(fl.key, "left")]
        weight = ' font-weight="bold"' if style.weights.get(fl.key) == "bold" else ""
        family = quoteattr(fl.font.used_family)
        size = num(fl.size * MM_PER_PT)
        for n, line in enumerate(fl.lines, start=1):
            x = item.x + (line.x + line.width * factor) * MM_PER_PT
            y = item.y + line.baseline * MM_PER_PT
            out.append(
                f'<text id="item-{item.number}-{fl.key}-{n}" x="{num(x)}" y="{num(y)}" font-family={family} '
                f'font-size="{size}"{weight} text-anchor="{anchor}" fill="{style.engrave_color}" '
                f'stroke="none">{escape(line.text)}</text>'
            )
    return out


def _score(sheet: Sheet, style: Style) -> list[str]:
    """Thin artwork strokes as hairlines in the score colour (when the profile scores them)."""
    lines = score_lines(style.artwork, style.score_width) if style.score_color else []
    if not lines:
        return []
    out = [f'<g id="{GROUP_SCORE}">']
    paint = f'fill="none" stroke="{style.score_color}" stroke-width="{num(CUT_HAIRLINE_MM, 4)}"'
    for item in sheet.items:
        d = "".join(
            "M" + "L".join(f"{num(item.x + x)} {num(item.y + y)}" for x, y in pts) + ("Z" if closed else "")
            for pts, closed in lines
        )
        out.append(f'<path id="score-{item.number}" d="{d}" {paint}/>')
    out.append("</g>")
    return out


def render_svg(sheet: Sheet, style: Style) -> bytes:
    """One sheet as an SVG document (UTF-8 bytes)."""
    w, h = num(sheet.width), num(sheet.height)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
        f'width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">',
    ]
    if sheet.title:
        parts.append(f"<title>{escape(sheet.title)}</title>")
    curves = style.text_mode == "curves"
    regions = [
        item_regions(item.layout if curves else None, style.artwork, style.score_width)
        for item in sheet.items
    ]
    parts += _artwork(sheet, style, regions)
    parts.append(f'<g id="{GROUP_ENGRAVE}">')
    for item, reg in zip(sheet.items, regions, strict=True):
        parts += _curves(item, reg, style.engrave_color) if curves else _text(item, style)
    parts.append("</g>")
    parts += _score(sheet, style)
    if style.cut_outline:
        parts.append(f'<g id="{GROUP_CUT}">')
        size = f'width="{num(sheet.item_width)}" height="{num(sheet.item_height)}"'
        paint = f'fill="none" stroke="{style.cut_color}" stroke-width="{num(CUT_HAIRLINE_MM, 4)}"'
        for item in sheet.items:
            parts.append(f'<rect id="cut-{item.number}" x="{num(item.x)}" y="{num(item.y)}" {size} {paint}/>')
        parts.append("</g>")
    parts.append("</svg>\n")
    return "\n".join(parts).encode("utf-8")
