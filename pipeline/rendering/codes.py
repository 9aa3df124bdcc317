"""QR codes and barcodes as engraved vector geometry.

``encode`` turns a value into a symbol: its dark modules as a grid (rows of ``"0"``/``"1"``; a 1D
code is one row whose bars run the full height). QR comes from segno, Code 128 and EAN-13 from
python-barcode, Data Matrix (ECC 200) from libdmtx through pylibdmtx.

``place_code`` fits a symbol into a field's box (millimetres, y down): the module size is the
template's ``module_mm`` or the largest the box allows with the quiet zone around it, and the
symbol sits in the box by the field's alignment. ``code_path`` is the engraved shape: every dark
module united with skia-pathops into one outline (neighbouring modules share exact edges, so the
union has no hairline gaps between them), or, for dark materials whose engraving comes out light,
the inverse: the symbol's area with its quiet zone, minus the dark modules.

``check_code`` is what preflight says about one code: the value cannot be encoded (characters Code
128 cannot hold, an EAN-13 that is not 13 digits with the right check digit), the value is too long
for the code at that size, modules below the machine's smallest, a quiet zone below the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pathops

from pipeline.templates.template import KINDS

KIND_NAMES = {"qr": "QR code", "code128": "Code 128", "datamatrix": "Data Matrix", "ean13": "EAN-13"}
# The quiet zone each standard asks for, in modules on every side (1D codes: left and right only).
# QR: ISO/IEC 18004 (4); Data Matrix: ISO/IEC 16022 (1); Code 128: ISO/IEC 15417 (10); EAN-13:
# GS1 (11 on the left, 7 on the right: 11 is used on both sides).
QUIET_ZONE = {"qr": 4, "datamatrix": 1, "code128": 10, "ean13": 11}
LINEAR = frozenset({"code128", "ean13"})
MIN_MODULE_MM = 0.25  # a machine profile's default smallest module: a CO2 laser on anodised aluminium

# pylibdmtx draws each module as a 5-pixel square inside a 10-pixel margin (libdmtx's defaults)
_DMTX_MODULE_PX = 5
_DMTX_MARGIN_PX = 10
_GRID = 1000  # module sizes are kept to whole micrometres


class CodeError(ValueError):
    """The value cannot be put into this kind of code; the message says why, for the shop."""

    def __init__(self, message: str, *, too_long: bool = False) -> None:
        super().__init__(message)
        self.too_long = too_long


@dataclass(frozen=True, slots=True)
class Symbol:
    """An encoded code: ``modules`` are its rows, ``"1"`` for a dark module (no quiet zone).

    ``text`` is what a scanner reads back (an EAN-13 given 12 digits gains its check digit)."""

    kind: str
    text: str
    modules: tuple[str, ...]

    @property
    def columns(self) -> int:
        return len(self.modules[0])

    @property
    def rows(self) -> int:
        return len(self.modules)

    @property
    def linear(self) -> bool:
        return self.kind in LINEAR


def _qr(value: str, error_correction: str) -> Symbol:
    import segno
    from segno import DataOverflowError

    try:
        qr = segno.make_qr(value, error=error_correction, boost_error=False)
    except DataOverflowError:
        raise CodeError(
            f"{len(value)} characters are more than a QR code holds at error correction {error_correction}",
            too_long=True,
        ) from None
    rows = tuple("".join("1" if dark else "0" for dark in row) for row in qr.matrix_iter(scale=1, border=0))
    return Symbol("qr", value, rows)


def code128_refusals(value: str) -> list[str]:
    """The characters of ``value`` Code 128 cannot encode (it holds ASCII only), each once."""
    return list(dict.fromkeys(ch for ch in value if ord(ch) > 127))


def _code128(value: str) -> Symbol:
    from barcode.codex import Code128

    bad = code128_refusals(value)
    if bad:
        shown = ", ".join(f"'{ch}'" for ch in bad[:5])
        raise CodeError(
            f"Code 128 cannot encode {shown} (letters without accents, digits and ASCII signs only)"
        )
    return Symbol("code128", value, (Code128(value).build()[0],))


def ean13_check_digit(digits12: str) -> str:
    """The GS1 check digit of 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


def _ean13(value: str) -> Symbol:
    from barcode.ean import EAN13

    if not value.isascii() or not value.isdigit() or len(value) not in (12, 13):
        raise CodeError(f"an EAN-13 is 12 or 13 digits (got '{value}')", too_long=len(value) > 13)
    check = ean13_check_digit(value[:12])
    if len(value) == 13 and value[12] != check:
        raise CodeError(f"'{value}' has the wrong check digit: the last digit should be {check}")
    return Symbol("ean13", value[:12] + check, (EAN13(value[:12]).build()[0],))


def _datamatrix(value: str) -> Symbol:
    from pylibdmtx.pylibdmtx import PyLibDMTXError
    from pylibdmtx.pylibdmtx import encode as dmtx_encode

    try:
        data = value.encode("latin-1")  # what a reader assumes without an ECI
    except UnicodeEncodeError:
        bad = ", ".join(f"'{ch}'" for ch in dict.fromkeys(ch for ch in value if ord(ch) > 255))
        raise CodeError(f"a Data Matrix here cannot encode {bad} (Latin-1 characters only)") from None
    try:
        enc = dmtx_encode(data)
    except PyLibDMTXError:
        raise CodeError(f"{len(value)} characters are more than a Data Matrix holds", too_long=True) from None
    step = enc.bpp // 8
    cols = (enc.width - 2 * _DMTX_MARGIN_PX) // _DMTX_MODULE_PX
    rows = (enc.height - 2 * _DMTX_MARGIN_PX) // _DMTX_MODULE_PX
    centre = _DMTX_MARGIN_PX + _DMTX_MODULE_PX // 2
    grid = []
    for r in range(rows):
        y = centre + r * _DMTX_MODULE_PX
        line = []
        for c in range(cols):
            x = centre + c * _DMTX_MODULE_PX
            line.append("1" if enc.pixels[(y * enc.width + x) * step] < 128 else "0")
        grid.append("".join(line))
    return Symbol("datamatrix", value, tuple(grid))


@lru_cache(maxsize=2048)
def encode(kind: str, value: str, error_correction: str = "M") -> Symbol:
    """The symbol of ``value`` as a ``kind`` code; CodeError when it cannot be encoded."""
    if not value:
        raise CodeError("there is no value to encode")
    if kind == "qr":
        return _qr(value, error_correction)
    if kind == "code128":
        return _code128(value)
    if kind == "ean13":
        return _ean13(value)
    if kind == "datamatrix":
        return _datamatrix(value)
    raise CodeError(f"unknown kind of code {kind!r} (choose one of: {', '.join(KINDS)})")


# -- placing -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlacedCode:
    """A symbol placed in an item, millimetres from the item's top-left corner (y down).

    (x, y) is the symbol's first module, without the quiet zone; ``height`` is the bars' height of
    a 1D code and ``rows * module`` of a 2D one. ``fits`` is False when the symbol at ``module`` is
    larger than the field's box."""

    symbol: Symbol
    x: float
    y: float
    module: float
    height: float
    quiet_zone: int
    fits: bool

    @property
    def width(self) -> float:
        return self.symbol.columns * self.module

    @property
    def quiet_box(self) -> tuple[float, float, float, float]:
        """The symbol with its quiet zone: x0, y0, x1, y1 (1D codes: left and right only)."""
        q = self.quiet_zone * self.module
        qy = 0.0 if self.symbol.linear else q
        return (self.x - q, self.y - qy, self.x + self.width + q, self.y + self.height + qy)

    def to_dict(self) -> dict[str, Any]:
        s = self.symbol
        return {
            "kind": s.kind,
            "text": s.text,
            "modules": list(s.modules),
            "x": self.x,
            "y": self.y,
            "module": self.module,
            "height": self.height,
            "quiet_zone": self.quiet_zone,
            "fits": self.fits,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlacedCode:
        return cls(
            Symbol(d["kind"], d["text"], tuple(d["modules"])),
            d["x"],
            d["y"],
            d["module"],
            d["height"],
            d["quiet_zone"],
            d["fits"],
        )


def place_code(
    symbol: Symbol,
    box: tuple[float, float, float, float],
    *,
    quiet_zone: int | None = None,
    module_mm: float | None = None,
    align: str = "center",
    valign: str = "middle",
) -> PlacedCode:
    """Fit ``symbol`` with its quiet zone into ``box`` (x, y, width, height in mm)."""
    bx, by, bw, bh = box
    q = QUIET_ZONE[symbol.kind] if quiet_zone is None else quiet_zone
    across = symbol.columns + 2 * q
    down = 0 if symbol.linear else symbol.rows + 2 * q
    if module_mm is not None:
        module = module_mm
    else:
        largest = bw / across if symbol.linear else min(bw / across, bh / down)
        module = int(largest * _GRID) / _GRID
    width = across * module
    height = bh if symbol.linear else down * module
    fits = width <= bw + 1e-9 and height <= bh + 1e-9
    free_x, free_y = bw - width, bh - height
    x = bx + {"left": 0.0, "center": free_x / 2, "right": free_x}[align] + q * module
    y = by + {"top": 0.0, "middle": free_y / 2, "bottom": free_y}[valign]
    if not symbol.linear:
        y += q * module
    bar_height = bh if symbol.linear else symbol.rows * module
    return PlacedCode(symbol, round(x, 6), round(y, 6), module, bar_height, q, fits)


def _runs(row: str) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    out = []
    start = None
    for i, ch in enumerate(row + "0"):
        if ch == "1" and start is None:
            start = i
        elif ch != "1" and start is not None:
            out.append((start, i - start))
            start = None
    return out


def code_path(code: PlacedCode, *, inverted: bool = False) -> pathops.Path:
    """The engraved shape of a placed code, item mm, y down: one clean union of its dark modules
    (or, ``inverted``, of its light modules and quiet zone)."""
    m = code.module
    raw = pathops.Path()
    rows = code.symbol.modules
    row_h = code.height if code.symbol.linear else m
    for r, row in enumerate(rows):
        y0 = code.y + r * row_h
        y1 = code.y + (r + 1) * row_h
        for start, length in _runs(row):
            x0 = code.x + start * m
            x1 = code.x + (start + length) * m
            # anticlockwise in y-down coordinates, like every cleaned outer contour
            raw.moveTo(x0, y0)
            raw.lineTo(x0, y1)
            raw.lineTo(x1, y1)
            raw.lineTo(x1, y0)
            raw.close()
    dark = pathops.simplify(raw, fix_winding=True, keep_starting_points=False, clockwise=False)
    if not inverted:
        return dark
    qx0, qy0, qx1, qy1 = code.quiet_box
    area = pathops.Path()
    area.moveTo(qx0, qy0)
    area.lineTo(qx0, qy1)
    area.lineTo(qx1, qy1)
    area.lineTo(qx1, qy0)
    area.close()
    return pathops.op(area, dark, pathops.PathOp.DIFFERENCE, fix_winding=True, keep_starting_points=False)


def pdf_ops(path: pathops.Path) -> str:
    """PDF path construction operators of a code's outline in its own units (lines only), no paint
    operator: the caller maps them onto the page with ``cm``."""
    out: list[str] = []
    for verb, pts in path.segments:
        if verb == "moveTo":
            out.append(f"{pts[0][0]:.4f} {pts[0][1]:.4f} m")
        elif verb == "lineTo":
            out.append(f"{pts[0][0]:.4f} {pts[0][1]:.4f} l")
        elif verb == "closePath":
            out.append("h")
        else:  # code outlines are unions of rectangles
            raise ValueError(f"unexpected {verb} in a code outline")
    return " ".join(out)


# -- checking ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a code, in preflight's terms: an issue code and a sentence for the shop."""

    code: str  # CODE_UNENCODABLE | CODE_TOO_LONG | CODE_MODULE_SMALL | CODE_QUIET_ZONE
    message: str


def check_code(
    kind: str,
    value: str,
    box: tuple[float, float, float, float],
    *,
    error_correction: str = "M",
    quiet_zone: int | None = None,
    module_mm: float | None = None,
    min_module_mm: float = 0.0,
    align: str = "center",
    valign: str = "middle",
) -> tuple[PlacedCode | None, list[Finding]]:
    """Encode and place one code and say what is wrong with it (an empty list: nothing)."""
    name = KIND_NAMES.get(kind, kind)
    try:
        symbol = encode(kind, value, error_correction)
    except CodeError as exc:
        return None, [Finding("CODE_TOO_LONG" if exc.too_long else "CODE_UNENCODABLE", str(exc))]
    placed = place_code(symbol, box, quiet_zone=quiet_zone, module_mm=module_mm, align=align, valign=valign)
    out: list[Finding] = []
    size = f"{box[2]:.1f} × {box[3]:.1f} mm"
    if not placed.fits:
        out.append(
            Finding(
                "CODE_TOO_LONG",
                f"'{value}' needs a {name} of {_grid(symbol)} modules, which at {placed.module:g} mm "
                f"per module with its quiet zone does not fit {size}: shorten it or make the field larger",
            )
        )
    elif placed.module <= 0:
        out.append(Finding("CODE_TOO_LONG", f"'{value}' is too long for a {name} in {size}"))
    elif min_module_mm > 0 and placed.module < min_module_mm - 1e-9:
        out.append(
            Finding(
                "CODE_MODULE_SMALL",
                f"the {name} of '{value}' ({_grid(symbol)} modules) has {placed.module:.3f} mm modules in "
                f"{size}; the machine needs at least {min_module_mm:g} mm: shorten the value, lower the "
                "error correction or make the field larger",
            )
        )
    standard = QUIET_ZONE[kind]
    if placed.quiet_zone < standard:
        out.append(
            Finding(
                "CODE_QUIET_ZONE",
                f"the {name} has a quiet zone of {placed.quiet_zone} module"
                f"{'' if placed.quiet_zone == 1 else 's'}; scanners need {standard}: "
                f"set quiet_zone = {standard} or leave it out",
            )
        )
    return placed, out


def _grid(symbol: Symbol) -> str:
    return str(symbol.columns) if symbol.linear else f"{symbol.columns} × {symbol.rows}"
