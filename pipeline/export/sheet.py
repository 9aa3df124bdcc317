"""What a writer draws: one bed (sheet) with its placed items, and how to draw them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.export.artwork import Artwork
from pipeline.rendering.model import ItemLayout

CUT_HAIRLINE_MM = 0.0254  # 0.001 in: what Epilog, ULS and LightBurn users read as "cut this line"
GROUP_ARTWORK = "ARTWORK"
GROUP_ENGRAVE = "ENGRAVE"
GROUP_CUT = "CUT"
GROUP_SCORE = "SCORE"


@dataclass(frozen=True, slots=True)
class PlacedItem:
    number: int  # 1-based item number in the job
    x: float  # mm, top-left corner on the bed (y down)
    y: float
    layout: ItemLayout


@dataclass(frozen=True)
class Sheet:
    number: int  # 1-based
    count: int  # sheets in the export
    width: float  # bed, mm
    height: float
    item_width: float  # mm
    item_height: float
    items: tuple[PlacedItem, ...]
    title: str = ""


@dataclass(frozen=True)
class LayerSettings:
    """One operation's laser settings from the machine profile (LightBurn writes them as a layer's
    cut settings); ``None`` leaves the laser program's own default."""

    mode: str = "line"  # fill | line
    speed: float | None = None  # mm/s
    power: float | None = None  # % of the laser's maximum power
    passes: int | None = None
    interval: float | None = None  # mm between fill lines (fill only)


@dataclass(frozen=True)
class LaserSettings:
    """The profile's settings per operation: engrave (text and artwork), score, cut."""

    engrave: LayerSettings = LayerSettings(mode="fill")
    score: LayerSettings = LayerSettings()
    cut: LayerSettings = LayerSettings()


@dataclass(frozen=True)
class Style:
    text_mode: str  # curves | text
    cut_color: str  # "#RRGGBB"
    engrave_color: str
    cut_outline: bool = True
    artwork: Artwork | None = None
    aligns: Mapping[str, str] = field(default_factory=dict)  # field key -> left | center | right
    weights: Mapping[str, str] = field(default_factory=dict)  # field key -> normal | bold
    score_color: str = ""  # "#RRGGBB": thin artwork strokes as lines in this colour; "" = filled
    score_width: float = 0.0  # mm: the widest stroke that is a score line (0 when scoring is off)
    invert_codes: bool = False  # codes engrave their quiet zone and light modules (dark materials)
    laser: LaserSettings = LaserSettings()  # per-operation settings (LightBurn layers)


def rgb(color: str) -> tuple[int, int, int]:
    """'#FF8000' -> (255, 128, 0)."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def num(v: float, places: int = 3) -> str:
    """A short fixed-precision number: no exponent, no trailing zeros, never '-0'."""
    text = f"{v:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
