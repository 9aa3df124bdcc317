"""PDF sheets for driver-based lasers (Epilog, Trotec, ULS print from a design app).

The page is the bed (points = mm x 72 / 25.4). Same conventions as the SVG: artwork and text are
filled in the exact engrave colour (non-zero winding for glyphs, the artwork's own rule), cut
outlines are stroked 0.001 in (0.072 pt) in the exact cut colour with no fill, drawn last; thin
artwork strokes the profile scores are stroked the same way in the score colour, before the cuts. Colours are
DeviceRGB. In curves mode the engraved regions are the clean outlines of ``regions`` (glyph pieces
placed with a ``cm`` transform), so the page has no text operators at all. In text mode every glyph
of the layout's glyph run is live text in the face that drew it, at the layout's position
(``pdf_text``). ``invariant=1`` makes the bytes depend on the content only.
"""

from __future__ import annotations

import io

from reportlab.pdfgen import canvas as rl_canvas

from pipeline.core.units import PT_PER_MM
from pipeline.export.pdf_text import EmbeddedFonts, field_text_ops
from pipeline.export.regions import Piece, item_regions, score_lines
from pipeline.export.sheet import CUT_HAIRLINE_MM, Sheet, Style, num, rgb
from pipeline.rendering.pdfstreams import binary_streams


def _color(color: str) -> str:
    return " ".join(num(c / 255, 6) for c in rgb(color))


def _piece_ops(piece: Piece, ox: float, oy: float, page_h: float) -> str:
    """One piece filled: its outline (item mm, y down) mapped onto the page by a ``cm``.

    (ox, oy) is the item's top-left in mm; glyph pieces are 1 pt tall outlines (6 decimals keep
    1 µm at any size), united pieces are in mm (4 decimals)."""
    k = piece.scale * PT_PER_MM
    places = 4 if piece.scale == 1.0 else 6
    x = (ox + piece.x) * PT_PER_MM
    y = page_h - (oy + piece.y) * PT_PER_MM
    return f"q {num(k, 7)} 0 0 {num(-k, 7)} {num(x, 4)} {num(y, 4)} cm {piece.outline.pdf(places)} f Q"


def render_pdf(sheet: Sheet, style: Style) -> bytes:
    """One sheet as a one-page PDF."""
    page_w, page_h = sheet.width * PT_PER_MM, sheet.height * PT_PER_MM
    buf = io.BytesIO()
    with binary_streams():
        c = rl_canvas.Canvas(buf, pagesize=(page_w, page_h), invariant=1, pageCompression=1)
        c.setTitle(sheet.title or "CraftStage export")
        c.setCreator("CraftStage")
        art = style.artwork
        engrave = _color(style.engrave_color)
        curves = style.text_mode == "curves"
        regions = [
            item_regions(item.layout if curves else None, art, style.score_width) for item in sheet.items
        ]
        ops = [
            _piece_ops(Piece(reg.artwork, 0.0, 0.0, 1.0), item.x, item.y, page_h)
            for item, reg in zip(sheet.items, regions, strict=True)
            if not reg.artwork.empty
        ]
        if ops:
            c.addLiteral(f"q {engrave} rg\n" + "\n".join(ops) + "\nQ")
        if art is not None and art.image is not None:
            for item in sheet.items:
                c.drawImage(
                    art.image_path,
                    item.x * PT_PER_MM,
                    page_h - (item.y + sheet.item_height) * PT_PER_MM,
                    sheet.item_width * PT_PER_MM,
                    sheet.item_height * PT_PER_MM,
                    mask="auto",
                )
        if curves:
            glyphs = [
                _piece_ops(piece, item.x, item.y, page_h)
                for item, reg in zip(sheet.items, regions, strict=True)
                for _key, pieces in reg.fields
                for piece in pieces
            ]
            if glyphs:
                c.addLiteral(f"q {engrave} rg\n" + "\n".join(glyphs) + "\nQ")
        else:
            fonts = EmbeddedFonts(c._doc)
            text = [
                op
                for item in sheet.items
                for fl in item.layout.fields
                for op in field_text_ops(fonts, fl, item.x * PT_PER_MM, page_h - item.y * PT_PER_MM)
            ]
            if text:
                c.addLiteral(f"q {engrave} rg\n" + "\n".join(text) + "\nQ")
        if style.score_color and (strokes := _score_strokes(sheet, style, page_h)):
            hairline = num(CUT_HAIRLINE_MM * PT_PER_MM, 4)
            c.addLiteral(
                f"q {_color(style.score_color)} RG {hairline} w 0 J 0 j [] 0 d\n" + "\n".join(strokes) + "\nQ"
            )
        if style.cut_outline:
            w, h = num(sheet.item_width * PT_PER_MM, 4), num(sheet.item_height * PT_PER_MM, 4)
            rects = []
            for item in sheet.items:
                bottom = page_h - (item.y + sheet.item_height) * PT_PER_MM
                rects.append(f"{num(item.x * PT_PER_MM, 4)} {num(bottom, 4)} {w} {h} re S")
            hairline = num(CUT_HAIRLINE_MM * PT_PER_MM, 4)
            c.addLiteral(
                f"q {_color(style.cut_color)} RG {hairline} w 0 J 0 j [] 0 d\n" + "\n".join(rects) + "\nQ"
            )
        c.showPage()
        c.save()
    return buf.getvalue()


def _score_strokes(sheet: Sheet, style: Style, page_h: float) -> list[str]:
    """The artwork's score lines of every item on the sheet, as PDF path strokes."""
    lines = score_lines(style.artwork, style.score_width)
    strokes = []
    for item in sheet.items:
        for pts, closed in lines:
            coords = [
                f"{num((item.x + x) * PT_PER_MM, 4)} {num(page_h - (item.y + y) * PT_PER_MM, 4)}"
                for x, y in pts
            ]
            strokes.append(
                f"{coords[0]} m " + " ".join(c + " l" for c in coords[1:]) + (" h" if closed else "") + " S"
            )
    return strokes
