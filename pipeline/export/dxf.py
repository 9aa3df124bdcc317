"""DXF sheets (ezdxf) for CAD-minded shops, Trotec and RDWorks users.

R2010, ``$INSUNITS`` = 4 (mm), y up with the origin at the bed's bottom-left corner. Layers
``ARTWORK`` and ``ENGRAVE`` (engrave colour) and ``CUT`` (cut colour), each with its exact RGB as
a true colour and the nearest ACI for older readers; entities take their layer's colour. Curves
only: DXF has no portable live text, so text mode is drawn as curves too (the export says so). Glyph
outlines and artwork are closed LWPOLYLINEs (curves flattened to a few µm); holes are the inner
contours, so laser software fills them even-odd. Cut outlines are closed rectangles on ``CUT``.

ezdxf stamps files with the time and random GUIDs; its fixed-metadata option (a 2000-01-01 date
and constant GUIDs) is switched on while a sheet is built and written, so the bytes depend on the
content only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Lock

import ezdxf
from ezdxf import colors

from pipeline.export.glyphs import field_glyphs
from pipeline.export.sheet import GROUP_ARTWORK, GROUP_CUT, GROUP_ENGRAVE, Sheet, Style, rgb

_LOCK = Lock()
_PRIMARY_ACI = {
    (255, 0, 0): 1,
    (255, 255, 0): 2,
    (0, 255, 0): 3,
    (0, 255, 255): 4,
    (0, 0, 255): 5,
    (255, 0, 255): 6,
    (0, 0, 0): 7,
    (255, 255, 255): 7,
}


@contextmanager
def _fixed_metadata() -> Iterator[None]:
    with _LOCK:
        previous = ezdxf.options.write_fixed_meta_data_for_testing
        ezdxf.options.write_fixed_meta_data_for_testing = True
        try:
            yield
        finally:
            ezdxf.options.write_fixed_meta_data_for_testing = previous


def aci_for(color: str) -> int:
    """The AutoCAD colour index of an exact primary, else the nearest of 1-255."""
    target = rgb(color)
    if target in _PRIMARY_ACI:
        return _PRIMARY_ACI[target]

    def distance(i: int) -> int:
        r, g, b = colors.aci2rgb(i)
        return (r - target[0]) ** 2 + (g - target[1]) ** 2 + (b - target[2]) ** 2

    return min(range(1, 256), key=distance)


def render_dxf(sheet: Sheet, style: Style) -> bytes:
    """One sheet as a DXF R2010 document (UTF-8 bytes)."""
    with _fixed_metadata():
        doc = ezdxf.new("R2010", setup=True)
        doc.units = ezdxf.units.MM
        doc.header["$MEASUREMENT"] = 1  # metric
        for name, color in (
            (GROUP_ARTWORK, style.engrave_color),
            (GROUP_ENGRAVE, style.engrave_color),
            (GROUP_CUT, style.cut_color),
        ):
            layer = doc.layers.add(name, color=aci_for(color))
            layer.rgb = rgb(color)
        msp = doc.modelspace()
        msp.dxf.extmin = msp.dxf.limmin = (0, 0, 0)
        msp.dxf.extmax = msp.dxf.limmax = (sheet.width, sheet.height, 0)
        top = sheet.height
        add = msp.add_lwpolyline
        art = style.artwork
        if art is not None and art.shapes:
            attribs = {"layer": GROUP_ARTWORK}
            for item in sheet.items:
                x0, y0 = item.x, top - item.y
                for shape in art.shapes:
                    for contour in shape.contours:
                        add(
                            [(round(x0 + x, 4), round(y0 - y, 4)) for x, y in contour],
                            format="xy",
                            close=True,
                            dxfattribs=attribs,
                        )
        attribs = {"layer": GROUP_ENGRAVE}
        for item in sheet.items:
            for fl in item.layout.fields:
                for g in field_glyphs(fl, item.x, item.y):
                    gx, gy, s = g.x, top - g.y, g.size
                    for xs, ys in g.shape.contours:
                        add(
                            list(
                                zip(
                                    [round(gx + s * v, 4) for v in xs],
                                    [round(gy - s * v, 4) for v in ys],
                                    strict=True,
                                )
                            ),
                            close=True,
                            dxfattribs=attribs,
                        )
        if style.cut_outline:
            attribs = {"layer": GROUP_CUT}
            w, h = sheet.item_width, sheet.item_height
            for item in sheet.items:
                x, y = item.x, top - item.y
                add(
                    [(x, y - h), (x + w, y - h), (x + w, y), (x, y)],
                    format="xy",
                    close=True,
                    dxfattribs=attribs,
                )
        stream = io.StringIO()
        doc.write(stream)
        return doc.encode(stream.getvalue())
