"""Hostile spreadsheets for the parsing limits: `python -m tests.security.bombs DIR` writes them to DIR.

- dimension-bomb.xlsx: about 1.5 KB, declares the range A1:XFD50000 (50,000 x 16,384 cells).
- whitespace-bomb.xlsx: about 1 MB compressed, a sheet with about 1 GB of whitespace inside.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
_ROWS = (
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>Jane Doe</t></is></c></row>'
)


def _package(path: Path, sheet_parts: Iterable[bytes] | None = None, sheet: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if sheet_parts is None:
            zf.writestr("xl/worksheets/sheet1.xml", sheet)
        else:
            with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
                for part in sheet_parts:
                    fh.write(part)
    return path


def dimension_bomb(path: Path) -> Path:
    """A tiny workbook whose sheet declares A1:XFD50000 and holds a cell in the last row."""
    sheet = (
        _SHEET_HEAD
        + '<dimension ref="A1:XFD50000"/>'
        + _ROWS
        + '<row r="50000"><c r="XFD50000" t="inlineStr">'
        "<is><t>x</t></is></c></row></sheetData></worksheet>"
    )
    return _package(path, sheet=sheet)


def whitespace_bomb(path: Path, gigabytes: float = 1.0) -> Path:
    """A workbook of about 1 MB whose sheet XML holds about `gigabytes` GB of spaces between two rows."""
    chunk = b" " * (8 * 1024 * 1024)
    count = int(gigabytes * 1024**3) // len(chunk)

    def parts() -> Iterator[bytes]:
        yield (_SHEET_HEAD + _ROWS).encode()
        for _ in range(count):
            yield chunk
        yield b"</sheetData></worksheet>"

    return _package(path, sheet_parts=parts())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.security.bombs DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for made in (dimension_bomb(out / "dimension-bomb.xlsx"), whitespace_bomb(out / "whitespace-bomb.xlsx")):
        print(f"{made}  {made.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
