"""Draw docs/lightburn-sheet.png: the demo's LightBurn project as an independent reader sees it.

    .venv/bin/python scripts/lightburn_picture.py

Runs `python app.py demo --template badge --format lbrn2` on a throwaway data folder, opens the
project it writes with MeerK40t's LightBurn loader (the reader the tests use; the test extra
installs it), and draws every shape it reads in its layer's LightBurn colour: fill layers filled
(nested contours as holes, as LightBurn fills them), line layers as lines. Shows the part of the bed
the first three items take.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "lightburn-sheet.png"
PX_PER_MM = 6
BORDER_MM = 3
ITEMS = 3  # the first items of the row
COLOURS = {"ENGRAVE": (0, 0, 0), "SCORE": (0, 0, 255), "CUT": (255, 0, 0)}  # LightBurn's C00, C01, C02
STEPS = 12  # points per curve segment


def _project() -> tuple[Path, str]:
    data = Path(tempfile.mkdtemp(prefix="craftstage-picture-"))
    env = {**os.environ, "CRAFTSTAGE_DATA_DIR": str(data)}
    run = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "demo", "--template", "badge", "--format", "lbrn2"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"- (\S+\.lbrn2)$", run.stdout, re.MULTILINE)
    if found is None:
        raise SystemExit(f"the demo wrote no LightBurn project:\n{run.stdout}")
    return Path(found.group(1)), str(data)


def _read(path: Path, home: str) -> list[tuple[str, bool, list[list[tuple[float, float]]]]]:
    """(layer, filled, contours in mm, y up) per shape, as MeerK40t reads the project."""
    os.environ["HOME"] = home  # MeerK40t keeps its settings there
    from meerk40t.core.elements import elements
    from meerk40t.core.units import UNITS_PER_MM
    from meerk40t.device import dummydevice
    from meerk40t.extra import lbrn
    from meerk40t.kernel import Kernel
    from meerk40t.network import kernelserver

    kernel = Kernel("MeerK40t", "0.0.0-picture", "MeerK40t", ansi=False)
    for plugin in (kernelserver.plugin, dummydevice.plugin, elements.plugin, lbrn.plugin):
        kernel.add_plugin(plugin)
    kernel(partial=True)
    kernel.console("service device start dummy 0\n")
    try:
        service = kernel.elements
        if not service.load(str(path)):
            raise SystemExit(f"MeerK40t did not load {path}")
        out = []
        for op in service.op_branch.children:
            filled = op.type == "op raster"
            for ref in op.children:
                node = ref.node
                if node.type == "elem rect":
                    x0, y0, x1, y1 = (v / UNITS_PER_MM for v in node.bbox(with_stroke=False))
                    out.append((op.label, False, [[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]))
                    continue
                g = node.geometry
                contours: list[list[tuple[float, float]]] = []
                for i in range(g.index):
                    ts = [k / STEPS for k in range(STEPS + 1)] if g.segment_type(i) == "cubic" else [0.0, 1.0]
                    pts = [g.position(i, t) / UNITS_PER_MM for t in ts]
                    pts = [(p.real, p.imag) for p in pts]
                    if (
                        contours
                        and abs(contours[-1][-1][0] - pts[0][0]) + abs(contours[-1][-1][1] - pts[0][1]) < 1e-6
                    ):
                        contours[-1] += pts[1:]
                    else:
                        contours.append(pts)
                out.append((op.label, filled, contours))
        return out
    finally:
        kernel()


def main() -> int:
    path, home = _project()
    shapes = _read(path, home)
    cuts = sorted(min(x for x, _y in cs[0]) for layer, _f, cs in shapes if layer == "CUT")
    right = cuts[ITEMS] - 0.5 if len(cuts) > ITEMS else float("inf")  # before the next item starts
    shapes = [s for s in shapes if max(x for c in s[2] for x, _y in c) < right]
    xs = [x for _l, _f, cs in shapes for c in cs for x, _y in c]
    ys = [y for _l, _f, cs in shapes for c in cs for _x, y in c]
    left, top = min(xs) - BORDER_MM, max(ys) + BORDER_MM
    size = (
        round((max(xs) - min(xs) + 2 * BORDER_MM) * PX_PER_MM),
        round((top - min(ys) + BORDER_MM) * PX_PER_MM),
    )

    def px(p: tuple[float, float]) -> tuple[float, float]:  # LightBurn's y up to the picture's y down
        return (p[0] - left) * PX_PER_MM, (top - p[1]) * PX_PER_MM

    picture = Image.new("RGB", size, (255, 255, 255))
    for layer, filled, contours in shapes:
        if filled:  # even-odd: every contour toggles the pixels it encloses
            mask = Image.new("1", size, 0)
            for contour in contours:
                one = Image.new("1", size, 0)
                ImageDraw.Draw(one).polygon([px(p) for p in contour], fill=1)
                mask = ImageChops.logical_xor(mask, one)
            picture.paste(COLOURS[layer], mask=mask)
        else:
            draw = ImageDraw.Draw(picture)
            for contour in contours:
                draw.line([px(p) for p in contour], fill=COLOURS[layer], width=2)
    OUT.parent.mkdir(exist_ok=True)
    picture.save(OUT, optimize=True)
    print(f"{OUT} ({size[0]}×{size[1]} px) from {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
