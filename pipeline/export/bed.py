"""Items on the laser bed: a grid, row by row from the top-left, as many sheets as needed.

All items of a job share the template, so one cell size serves every item. Cells start at the
margin and are ``gap`` apart; nothing is rotated or scaled. Coordinates are mm from the bed's
top-left corner (y down), the item's top-left corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.core.errors import InvalidInput

_EPS = 1e-6  # mm; absorbs float noise when an item fits the bed exactly


@dataclass(frozen=True, slots=True)
class Slot:
    sheet: int  # 1-based
    row: int  # 0-based, within the sheet
    column: int
    x: float  # mm, the item's top-left corner on the bed
    y: float


@dataclass(frozen=True)
class BedPlan:
    bed_width: float  # mm
    bed_height: float
    item_width: float
    item_height: float
    margin: float
    gap: float
    columns: int
    rows: int
    sheets: int
    slots: tuple[Slot, ...]  # one per item, in the order the items were given
    warnings: tuple[str, ...]

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def on_sheet(self, sheet: int) -> range:
        """Indexes (into ``slots``) of the items on a sheet."""
        start = (sheet - 1) * self.per_sheet
        return range(start, min(len(self.slots), start + self.per_sheet))


def _fmt(v: float) -> str:
    return f"{round(v, 2):g}"


def plan_bed(
    count: int,
    item_width: float,
    item_height: float,
    *,
    bed_width: float,
    bed_height: float,
    margin: float,
    gap: float,
    cut_outline: bool = True,
) -> BedPlan:
    """Place ``count`` items of one size on beds. A bed that cannot take one item is refused
    (InvalidInput on ``profile``); a zero gap is allowed, with a warning when outlines are cut."""
    if item_width <= 0 or item_height <= 0:
        raise InvalidInput({"template": "the template has no size"})
    usable_w, usable_h = bed_width - 2 * margin, bed_height - 2 * margin
    columns = math.floor((usable_w + gap) / (item_width + gap) + _EPS) if usable_w > 0 else 0
    rows = math.floor((usable_h + gap) / (item_height + gap) + _EPS) if usable_h > 0 else 0
    if columns < 1 or rows < 1:
        raise InvalidInput(
            {
                "profile": (
                    f"a {_fmt(item_width)} × {_fmt(item_height)} mm item does not fit the "
                    f"{_fmt(bed_width)} × {_fmt(bed_height)} mm bed: inside the {_fmt(margin)} mm margin "
                    f"only {_fmt(max(usable_w, 0))} × {_fmt(max(usable_h, 0))} mm is usable. "
                    "Use a profile with a larger bed or a smaller margin."
                )
            }
        )
    per_sheet = columns * rows
    slots = []
    for i in range(count):
        sheet, cell = divmod(i, per_sheet)
        row, column = divmod(cell, columns)
        slots.append(
            Slot(
                sheet + 1,
                row,
                column,
                round(margin + column * (item_width + gap), 6),
                round(margin + row * (item_height + gap), 6),
            )
        )
    warnings = []
    if gap == 0 and cut_outline and count > 1:
        warnings.append(
            "The gap is 0 mm: neighbouring items' cut outlines share their edges, so each shared edge "
            "is cut twice. Set a gap in the machine profile to keep the items apart."
        )
    return BedPlan(
        bed_width=bed_width,
        bed_height=bed_height,
        item_width=item_width,
        item_height=item_height,
        margin=margin,
        gap=gap,
        columns=columns,
        rows=rows,
        sheets=max(1, math.ceil(count / per_sheet)) if count else 0,
        slots=tuple(slots),
        warnings=tuple(warnings),
    )
