"""LightBurn projects read back by an independent reader: MeerK40t's LightBurn loader.

MeerK40t (a laser program, on PyPI) opens ``.lbrn``/``.lbrn2`` files with its own loader. It is
driven the way its own test suite does it: a kernel with the dummy device and the elements service,
the loader registered as a plugin, and ``elements.load(path)``, which picks the loader by the file's
extension. What it builds is read back as plain data: each layer (MeerK40t's operation: name, kind,
speed, power) with the shapes it holds, and each item's group of shapes with their geometry in
millimetres. MeerK40t keeps LightBurn's coordinates as they are (y up, no mirroring), so a point
reads back as (x, y) in LightBurn's frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Point = tuple[float, float]


@dataclass
class Shape:
    kind: str  # "path" | "rect"
    layer: str  # the name of the layer (operation) that holds it
    segments: list[list[Point]] = field(default_factory=list)  # path: each segment at t = 0, 1/4 … 1
    kinds: list[str] = field(default_factory=list)  # path: "line" | "cubic" per segment
    # path: its contours (segments joined end to start), each segment (start, c0, c1, end) in mm
    contours: list[list[tuple[Point, Point, Point, Point]]] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None  # rect: x0, y0, x1, y1 (mm, y up)


@dataclass
class Layer:
    name: str
    kind: str  # MeerK40t's operation type: "op raster" (LightBurn fill), "op cut" (line)
    speed: float  # mm/s
    power: float  # per mille (LightBurn's percent × 10)


@dataclass
class Project:
    layers: list[Layer]
    groups: list[list[Shape]]  # per item group, its shapes in file order
    loose: list[Shape]  # shapes outside any group
    note: str | None


SAMPLES = (0.0, 0.25, 0.5, 0.75, 1.0)


class Reader:
    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel

    def load(self, path: Path) -> Project:
        from meerk40t.core.units import UNITS_PER_MM

        elements = self.kernel.elements
        elements.note = None
        assert elements.load(str(path)), f"MeerK40t did not load {path}"
        layer_of: dict[int, str] = {}
        layers = []
        for op in elements.op_branch.children:
            layers.append(Layer(op.label, op.type, float(op.speed), float(op.power)))
            for ref in op.children:
                assert id(ref.node) not in layer_of, "a shape on two layers"
                layer_of[id(ref.node)] = op.label

        def shape(node: Any) -> Shape:
            layer = layer_of.get(id(node), "")
            if node.type == "elem rect":
                x0, y0, x1, y1 = node.bbox(with_stroke=False)
                return Shape("rect", layer, box=tuple(v / UNITS_PER_MM for v in (x0, y0, x1, y1)))
            assert node.type == "elem path", node.type
            g = node.geometry
            segments, kinds = [], []
            contours: list[list[tuple[Point, Point, Point, Point]]] = []
            for i in range(g.index):
                kinds.append(g.segment_type(i))
                pts = [g.position(i, t) / UNITS_PER_MM for t in SAMPLES]
                segments.append([(p.real, p.imag) for p in pts])
                start, c0, _info, c1, end = (v / UNITS_PER_MM for v in g.segments[i])
                if kinds[-1] != "cubic":
                    c0, c1 = start, end
                seg = tuple((v.real, v.imag) for v in (start, c0, c1, end))
                if contours and abs(complex(*contours[-1][-1][3]) - start) < 1e-9:
                    contours[-1].append(seg)  # type: ignore[arg-type]
                else:
                    contours.append([seg])  # type: ignore[list-item]
            return Shape("path", layer, segments, kinds, contours=contours)

        groups: list[list[Shape]] = []
        loose: list[Shape] = []
        for file_node in elements.elem_branch.children:
            for child in file_node.children:
                if child.type == "group":
                    groups.append([shape(n) for n in child.children])
                else:
                    loose.append(shape(child))
        return Project(layers, groups, loose, elements.note)


@contextmanager
def meerk40t_reader(home: Path) -> Iterator[Reader]:
    """A MeerK40t kernel (its settings kept under ``home``) with the LightBurn loader."""
    from meerk40t.core.elements import elements
    from meerk40t.device import dummydevice
    from meerk40t.extra import lbrn
    from meerk40t.kernel import Kernel
    from meerk40t.network import kernelserver

    before = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        kernel = Kernel("MeerK40t", "0.0.0-testing", "MeerK40t", ansi=False)
        kernel.add_plugin(kernelserver.plugin)
        kernel.add_plugin(dummydevice.plugin)
        kernel.add_plugin(elements.plugin)
        kernel.add_plugin(lbrn.plugin)
        kernel(partial=True)  # booted and running, as far as the main loop
        kernel.console("service device start dummy 0\n")
        try:
            yield Reader(kernel)
        finally:
            kernel()  # shut down
    finally:
        if before is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = before
