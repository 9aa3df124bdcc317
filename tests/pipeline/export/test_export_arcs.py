"""DXF arcs: the lines and circular arcs written for curves stay within 10 µm of them.

Each glyph outline is turned into arc contours, rebuilt as an LWPOLYLINE with bulges by ezdxf and
read back through ezdxf's own path module; points sampled densely on the true curves must lie
within the tolerance of that path, and the path's points within the tolerance of the curves.
"""

from __future__ import annotations

import ezdxf
import ezdxf.path
import numpy as np
import pytest

from pipeline.export.outline import arc_contours, outline_of
from pipeline.export.regions import _glyph
from pipeline.rendering.glyphs import PlacedGlyph
from pipeline.templates.font_faces import load_font
from tests.pipeline.conftest_layout import DEJAVU_DIR

TOLERANCE = 0.01  # mm


def _samples(ops: tuple, per_curve: int = 64) -> list[np.ndarray]:
    """Dense points on each contour of M/L/Q/C/Z segments."""
    contours, cur, pts = [], (0.0, 0.0), []
    t = np.linspace(0, 1, per_curve)[:, None]
    for op in ops:
        if op[0] == "M":
            pts, cur = [np.array([op[1]])], op[1]
        elif op[0] == "L":
            pts.append(np.array([cur, op[1]]))
            cur = op[1]
        elif op[0] == "Q":
            p0, p1, p2 = (np.array(p) for p in (cur, op[1], op[2]))
            pts.append((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2)
            cur = op[2]
        elif op[0] == "C":
            p0, p1, p2, p3 = (np.array(p) for p in (cur, *op[1:]))
            pts.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3)
            cur = op[3]
        else:
            contours.append(np.vstack(pts))
    return contours


def _flat_points(ops: tuple) -> int:
    """Points a flattening to the tolerance needs: a quadratic's distance to its n chords is at most
    |P0 - 2 P1 + P2| / (4 n^2)."""
    n, cur = 0, (0.0, 0.0)
    for op in ops:
        if op[0] == "Q":
            d = float(np.hypot(cur[0] - 2 * op[1][0] + op[2][0], cur[1] - 2 * op[1][1] + op[2][1]))
            n += max(1, int(np.ceil(np.sqrt(d / (4 * TOLERANCE)))))
        elif op[0] in "LC":
            n += 1
        if op[0] != "Z":
            cur = op[-1]
    return n


def _distance(points: np.ndarray, polyline: np.ndarray) -> float:
    """The largest distance from any point to a closed polyline."""
    a, b = polyline, np.roll(polyline, -1, axis=0)
    ab = b - a
    worst = 0.0
    for chunk in np.array_split(points, max(1, len(points) // 256)):
        ap = chunk[:, None, :] - a[None, :, :]
        t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-18), 0, 1)
        d = np.linalg.norm(ap - t[..., None] * ab, axis=-1).min(axis=1)
        worst = max(worst, float(d.max()))
    return worst


@pytest.mark.parametrize("font", ["DejaVuSans.ttf", "DejaVuSerif-Bold.ttf"])
@pytest.mark.parametrize("size", [8.0, 30.0, 120.0])
def test_arcs_stay_within_the_tolerance_of_the_curves(font: str, size: float) -> None:
    lf = load_font(DEJAVU_DIR / font)
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    vertices = flat = 0
    for ch in "Og&@SøŒß":
        gid = lf.tt.getBestCmap()[ord(ch)]
        glyph = _glyph(PlacedGlyph(lf.path, lf.sha256, lf.upem, lf.tt.getGlyphID(gid), 0.0, 0.0, 1.0))
        path = glyph.path.transform(size, 0, 0, size, 0, 0)
        outline = outline_of(path)
        flat += _flat_points(outline.ops)
        contours = arc_contours(outline.ops, TOLERANCE)
        truth = _samples(outline.ops)
        assert len(contours) == len(truth)
        for c, true_pts in zip(contours, truth, strict=True):
            vertices += len(c.xs)
            ent = msp.add_lwpolyline(
                [(x, -y, 0, 0, b) for x, y, b in zip(c.xs, c.ys, c.bulges, strict=True)],
                format="xyseb",
                close=True,
            )
            read = np.array([(v.x, -v.y) for v in ezdxf.path.make_path(ent).flattening(0.0002)])
            assert _distance(true_pts, read) <= TOLERANCE * 1.05
            assert _distance(read, true_pts) <= TOLERANCE * 1.05
            x0, y0, x1, y1 = c.bounds
            assert read[:, 0].min() == pytest.approx(x0, abs=1e-3) and read[:, 0].max() == pytest.approx(
                x1, abs=1e-3
            )
            assert read[:, 1].min() == pytest.approx(y0, abs=1e-3) and read[:, 1].max() == pytest.approx(
                y1, abs=1e-3
            )
    assert vertices < (0.45 if size >= 30 else 0.6) * flat, (vertices, flat)
