"""Codes as vector outlines: each one decodes back to exactly its value, and the checks name what
is wrong before anything is engraved."""

from __future__ import annotations

import pathops
import pytest

from pipeline.rendering.codes import (
    QUIET_ZONE,
    CodeError,
    check_code,
    code_path,
    encode,
    place_code,
)
from tests.pipeline.rendering.code_scan import path_image, read_codes

FORMAT = {"qr": "QRCode", "code128": "Code128", "datamatrix": "DataMatrix", "ean13": "EAN13"}
CASES = [
    ("qr", "https://pets.example/t/Q7X2?n=Biscuit"),
    ("qr", "Biscuit · 555-0142 · Zoë"),
    ("code128", "SN-000123/b"),
    ("code128", "00412345"),
    ("datamatrix", "ASSET 42-7"),
    ("datamatrix", "Ünïcode Latin-1"),
    ("ean13", "4006381333931"),
]


@pytest.mark.parametrize(("kind", "value"), CASES)
@pytest.mark.parametrize("inverted", [False, True])
def test_every_code_decodes_to_its_value(kind: str, value: str, inverted: bool) -> None:
    placed = place_code(encode(kind, value), (3.0, 3.0, 30.0, 20.0))
    assert placed.fits
    image = path_image(code_path(placed, inverted=inverted), 36.0, 26.0, dpi=600)
    assert read_codes(image, engraved_light=inverted) == [(FORMAT[kind], value)]


def test_ean13_gains_its_check_digit() -> None:
    symbol = encode("ean13", "400638133393")
    assert symbol.text == "4006381333931"
    image = path_image(code_path(place_code(symbol, (2.0, 2.0, 40.0, 15.0))), 44.0, 19.0)
    assert read_codes(image) == [("EAN13", "4006381333931")]


def test_one_outline_without_gaps_between_modules() -> None:
    """Neighbouring modules are one shape: the finder pattern's 7×7 ring is one outer contour with one
    hole, and the outline's area is exactly the dark modules' area."""
    symbol = encode("qr", "gapless")
    placed = place_code(symbol, (0.0, 0.0, 21.0, 21.0))
    path = code_path(placed)
    dark = sum(row.count("1") for row in symbol.modules)
    assert path.area == pytest.approx(dark * placed.module**2, rel=1e-6)
    corner = pathops.Path()
    x, y, m = placed.x, placed.y, placed.module
    corner.moveTo(x, y)
    corner.lineTo(x, y + 7 * m)
    corner.lineTo(x + 7 * m, y + 7 * m)
    corner.lineTo(x + 7 * m, y)
    corner.close()
    finder = pathops.op(path, corner, pathops.PathOp.INTERSECTION)
    contours = list(finder.contours)
    assert len(contours) == 3  # the 7×7 ring's outside, its hole, the 3×3 centre
    assert finder.area == pytest.approx((49 - 25 + 9) * m * m, rel=1e-6)


def test_inverted_is_the_quiet_zone_and_light_modules() -> None:
    symbol = encode("datamatrix", "invert")
    placed = place_code(symbol, (0.0, 0.0, 12.0, 12.0))
    x0, y0, x1, y1 = placed.quiet_box
    light = symbol.rows * symbol.columns - sum(r.count("1") for r in symbol.modules)
    quiet = (x1 - x0) * (y1 - y0) - symbol.rows * symbol.columns * placed.module**2
    assert code_path(placed, inverted=True).area == pytest.approx(light * placed.module**2 + quiet, rel=1e-6)


def test_module_size_fills_the_box_with_the_quiet_zone() -> None:
    symbol = encode("qr", "size")  # 21 × 21
    placed = place_code(symbol, (0.0, 0.0, 29.0, 40.0), align="left", valign="top")
    assert placed.module == pytest.approx(1.0)  # 21 + 2 × 4 modules in 29 mm
    assert (placed.x, placed.y) == (4.0, 4.0)
    bars = place_code(encode("code128", "AB"), (10.0, 5.0, 60.0, 8.0))
    assert bars.height == 8.0 and bars.y == 5.0
    assert bars.quiet_box[0] >= 10.0 - 1e-9 and bars.quiet_box[2] <= 70.0 + 1e-9


def test_a_fixed_module_size_that_does_not_fit_is_too_long() -> None:
    placed, findings = check_code("qr", "x" * 120, (0.0, 0.0, 20.0, 20.0), module_mm=0.5)
    assert placed is not None and not placed.fits
    assert [f.code for f in findings] == ["CODE_TOO_LONG"]
    assert "does not fit 20.0 × 20.0 mm" in findings[0].message


def test_more_than_the_code_holds_is_too_long() -> None:
    placed, findings = check_code("qr", "9" * 7100, (0.0, 0.0, 200.0, 200.0), error_correction="H")
    assert placed is None
    assert [f.code for f in findings] == ["CODE_TOO_LONG"]


def test_modules_below_the_machine_minimum() -> None:
    url = "https://pets.example/owners/biscuit-the-beagle/contact?ref=tag-000123"
    _, findings = check_code("qr", url, (0.0, 0.0, 12.0, 12.0), min_module_mm=0.25, error_correction="H")
    assert [f.code for f in findings] == ["CODE_MODULE_SMALL"]
    assert "at least 0.25 mm" in findings[0].message
    _, fine = check_code("qr", url, (0.0, 0.0, 25.0, 25.0), min_module_mm=0.25, error_correction="L")
    assert fine == []


def test_missing_quiet_zone() -> None:
    _, findings = check_code("qr", "quiet", (0.0, 0.0, 20.0, 20.0), quiet_zone=1)
    assert [f.code for f in findings] == ["CODE_QUIET_ZONE"]
    assert f"scanners need {QUIET_ZONE['qr']}" in findings[0].message


@pytest.mark.parametrize("value", ["Zoë-7", "№ 12", "Müller"])
def test_code128_refuses_characters_it_cannot_encode(value: str) -> None:
    placed, findings = check_code("code128", value, (0.0, 0.0, 60.0, 10.0))
    assert placed is None
    assert [f.code for f in findings] == ["CODE_UNENCODABLE"]
    assert "Code 128 cannot encode" in findings[0].message
    with pytest.raises(CodeError):
        encode("code128", value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("40063813339", "12 or 13 digits"), ("400638133393X", "12 or 13"), ("4006381333932", "should be 1")],
)
def test_ean13_refuses_what_is_not_an_ean(value: str, problem: str) -> None:
    _, findings = check_code("ean13", value, (0.0, 0.0, 40.0, 15.0))
    assert [f.code for f in findings] == ["CODE_UNENCODABLE"] and problem in findings[0].message


def test_error_correction_changes_the_symbol() -> None:
    low, high = encode("qr", "level", "L"), encode("qr", "level", "H")
    assert low.modules != high.modules
    for symbol in (low, high):
        image = path_image(code_path(place_code(symbol, (1.0, 1.0, 20.0, 20.0))), 22.0, 22.0)
        assert read_codes(image) == [("QRCode", "level")]


def test_placed_code_round_trips_through_its_dict() -> None:
    placed = place_code(encode("datamatrix", "store me"), (1.0, 2.0, 10.0, 10.0))
    assert type(placed).from_dict(placed.to_dict()) == placed
