"""Cheap checks on an .xlsx archive before any XML in it is parsed.

A workbook is a ZIP of XML parts. A small file can still unpack to gigabytes (a "zip bomb") or declare
a sheet of billions of cells. These checks read only the ZIP directory and the first bytes of each
sheet, so they cost milliseconds whatever the file holds, and refuse with a sentence for the shop.
"""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl.utils import range_boundaries

from .model import ParseError

MAX_ENTRIES = 2_000
"""Parts in one workbook; real workbooks have tens."""
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
"""All parts together, unpacked."""
MAX_RATIO = 200
"""Unpacked / packed size of one part; real sheet XML packs 5-50 times."""
RATIO_FLOOR_BYTES = 1024 * 1024
"""Parts smaller than this unpacked are not held to the ratio (tiny parts pack oddly)."""
MAX_DECLARED_CELLS = 2_000_000
"""Rows x columns a sheet may declare in its <dimension>."""
_PREFIX_BYTES = 8192
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Za-z]{1,3}\d{1,7}(?::[A-Za-z]{1,3}\d{1,7})?)"')
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData[\s>/]")
_USED_RANGE = "; export the used range (or copy just the filled cells into a new workbook)"


def check_workbook_archive(data: bytes) -> None:
    """Refuse a workbook whose archive is too large unpacked, too many parts, or declares huge sheets."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ParseError("The workbook is a damaged ZIP archive; save it again from Excel as .xlsx.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ParseError(
                f"This spreadsheet holds {len(infos):,} parts (the limit is {MAX_ENTRIES:,}){_USED_RANGE}."
            )
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ParseError(
                f"This spreadsheet unpacks to {total / 1_048_576:,.0f} MB (the limit is "
                f"{MAX_UNCOMPRESSED_BYTES // 1_048_576} MB){_USED_RANGE}."
            )
        for info in infos:
            ratio = info.file_size // max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
                raise ParseError(
                    f"This spreadsheet's part {info.filename} unpacks to {ratio:,} times its packed size, "
                    f"which real workbooks never do{_USED_RANGE}."
                )
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                _check_dimension(archive, info)


def declared_size(prefix: bytes) -> tuple[int, int] | None:
    """(rows, columns) of the <dimension ref="A1:XFD50000"/> at the start of a sheet's XML, if any."""
    head = prefix
    if m := _SHEET_DATA.search(prefix):
        head = prefix[: m.start()]
    match = _DIMENSION.search(head)
    if not match:
        return None
    ref = match.group(1).decode().upper()
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
    except (ValueError, TypeError):
        return None
    if None in (min_col, min_row, max_col, max_row):
        return None
    return max_row - min_row + 1, max_col - min_col + 1


def _check_dimension(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    try:
        with archive.open(info) as fh:
            prefix = fh.read(_PREFIX_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ParseError(
            f"The workbook's part {info.filename} is damaged; save it again from Excel as .xlsx."
        ) from exc
    size = declared_size(prefix)
    if size is None:
        return
    rows, cols = size
    if rows * cols > MAX_DECLARED_CELLS:
        raise ParseError(f"This spreadsheet declares {rows:,} × {cols:,} cells{_USED_RANGE}.")
