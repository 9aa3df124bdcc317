"""Uploaded files: what kind of file it is, which text encoding, then the right reader."""

from __future__ import annotations

import codecs
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from .lexicon import normalize_text
from .model import ParseError, ParseResult
from .rules import parse_text
from .tables import parse_delimited

MAX_FILE_BYTES = 10 * 1024 * 1024
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
TEXT_SUFFIXES = {".txt", ".text", ""}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 (byte-order mark)"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 (byte-order mark)"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE (byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE (byte-order mark)"),
)
_BINARY_KINDS = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office file (.xls/.doc) or a password-protected workbook"),
)


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    """A human description of the encoding, e.g. 'UTF-16 LE (no byte-order mark)'."""


def sniff_kind(data: bytes) -> str | None:
    """'xlsx', 'docx', 'zip' or a description of a known binary format; None for anything else."""
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "a damaged ZIP archive"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "a Word document (.docx)"
        return "a ZIP archive"
    for magic, kind in _BINARY_KINDS:
        if data.startswith(magic):
            return kind
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a NUL in every other byte: odd positions for LE, even for BE."""
    half = len(sample) // 2
    if half < 2:
        return None
    even = sum(1 for b in sample[0::2] if b == 0)
    odd = sum(1 for b in sample[1::2] if b == 0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:20000]
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or 0x7F <= ord(ch) < 0xA0)
    return "\x00" in sample or controls > max(2, len(sample) // 100)


def decode_bytes(data: bytes) -> DecodedText:
    """Decode text bytes: BOMs, BOM-less UTF-16, UTF-8, then Windows-1252 (Latin-1 for its 5 holes)."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data[len(bom) :].decode(codec), label)
            except UnicodeDecodeError as exc:
                raise ParseError(f"The file starts like {label} text but is not valid {label}.") from exc
    if utf16 := _utf16_without_bom(data[:4096]):
        try:
            label = (
                "UTF-16 LE (no byte-order mark)" if utf16.endswith("le") else "UTF-16 BE (no byte-order mark)"
            )
            return _checked(data[: len(data) // 2 * 2].decode(utf16), label)
        except UnicodeDecodeError:
            pass
    try:
        return _checked(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        return _checked(data.decode("cp1252"), "Windows-1252")
    except UnicodeDecodeError:
        return _checked(data.decode("latin-1"), "Latin-1")


def _checked(text: str, label: str) -> DecodedText:
    if _looks_binary(text):
        raise ParseError(
            "This file does not look like text: it contains binary data. It may be a spreadsheet, "
            "image or other file renamed to .csv or .txt. Export the list as CSV, or upload the .xlsx itself."
        )
    return DecodedText(text, label)


def check_upload(data: bytes, filename: str) -> None:
    """Refuse an empty or oversized upload."""
    if not data:
        raise ParseError(f"The file {filename!r} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB. "
            "Split it into smaller files."
        )


def is_table_upload(data: bytes, filename: str) -> bool:
    """Files whose columns are explicit: .csv, .tsv, .xlsx (or anything that is really a workbook)."""
    suffix = PurePath(filename or "").suffix.lower()
    return suffix in TABLE_SUFFIXES or suffix in XLSX_SUFFIXES or sniff_kind(data) == "xlsx"


def read_text_file(data: bytes, filename: str) -> DecodedText:
    """The text of an uploaded text file, NFC-normalized; ParseError for binary or empty files."""
    check_upload(data, filename)
    suffix = PurePath(filename or "").suffix.lower()
    kind = sniff_kind(data)
    if suffix == ".xls":
        raise ParseError("Old Excel .xls files are not supported; save the sheet as .xlsx or CSV.")
    if kind is not None and kind != "xlsx":
        raise ParseError(
            f"{filename!r} is {kind}, not a list this app can read. Upload a .csv, .tsv, .txt or .xlsx file, "
            "or paste the names as text."
        )
    decoded = decode_bytes(data)
    text = normalize_text(decoded.text)
    if not text.strip():
        raise ParseError(f"The file {filename!r} has no text in it.")
    return DecodedText(text, decoded.encoding)


def parse_file(data: bytes, filename: str) -> ParseResult:
    """Parse an uploaded .csv, .tsv, .txt or .xlsx file with the rule-based readers.

    Tables keep their own header names (lower-cased) as value keys. Raises ParseError with a
    sentence for the shop when the file cannot be read.
    """
    check_upload(data, filename)
    suffix = PurePath(filename or "").suffix.lower()
    kind = sniff_kind(data)
    if kind == "xlsx":
        from .workbook import parse_xlsx  # openpyxl is only needed for workbooks

        result = parse_xlsx(data)
        if suffix not in XLSX_SUFFIXES:
            result.notes.insert(
                0, f"The file is named {suffix or 'without an extension'} but is an Excel workbook."
            )
        return _finish(result, "table file")
    if suffix in XLSX_SUFFIXES:
        raise ParseError(
            f"{filename!r} is not a valid Excel workbook"
            + (f" (it is {kind})." if kind else ".")
            + " Save it again from Excel as .xlsx or export it as CSV."
        )
    decoded = read_text_file(data, filename)
    if suffix in TABLE_SUFFIXES:
        result = parse_delimited(decoded.text, preferred=TABLE_SUFFIXES[suffix])
        how = "table file"
    else:
        result = parse_text(decoded.text)
        how = "text file"
    result.notes.insert(0, f"Read as {decoded.encoding}.")
    return _finish(result, how)


def _finish(result: ParseResult, how: str) -> ParseResult:
    result.engine = "rules"
    result.engine_note = f"rule-based parser ({how})"
    return result
