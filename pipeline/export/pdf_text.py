"""PDF text mode: the layout's glyph run written as live text, glyph by glyph (docs/export.md).

Text mode must engrave what the customer approved, so nothing is re-shaped or re-measured here:
every glyph of every line is written in the face the layout drew it with (the field's font or a
fallback), by glyph id, at the layout's own position. Each face is a Type0 font with Identity-H
encoding (a character code is the glyph id), its TrueType outlines embedded as a subset that keeps
the glyph ids (fontTools). Within a run of one face, each glyph's advance is the font's own width
(``/W``) and a ``TJ`` adjustment makes up the difference to the layout's advance (kerning, and
anything else the shaper decided); a glyph with an offset (a mark) or a new face starts a new run
at its exact position. Ligatures are single glyphs like any other. A ToUnicode map gives every glyph
the characters of its cluster, so the text can still be searched and copied.

What cannot be expressed is refused before anything is written (``check_line``): a face without
TrueType outlines (CFF-flavoured OpenType), or a glyph no face has (.notdef).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont
from reportlab.pdfbase import pdfdoc

from pipeline.rendering.model import FieldLayout, Line
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import FontError


class PdfTextRefused(Exception):
    """A line that PDF text mode cannot write exactly as laid out; the message says why."""


def _n(v: float, places: int = 4) -> str:
    text = f"{v:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass(frozen=True)
class _FaceInfo:
    """What the PDF font objects need from a face (read once per font file)."""

    postscript: str
    upem: int
    advances: tuple[int, ...]  # per glyph id, font units
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int
    italic_angle: float
    truetype: bool


@lru_cache(maxsize=32)
def _face_info(path: str, sha256: str) -> _FaceInfo:
    lf = load_font(path)
    if lf.sha256 != sha256:
        raise FontError(f"font file {path} changed since the layout was computed")
    tt = lf.tt
    with lf._lock:  # the lazily decompiled tables are not thread-safe
        hmtx = tt["hmtx"].metrics
        order = tt.getGlyphOrder()
        head, hhea = tt["head"], tt["hhea"]
        os2 = tt.get("OS/2")
        post = tt.get("post")
        name = tt["name"].getDebugName(6) or lf.full_name
        info = _FaceInfo(
            postscript="".join(ch for ch in name if 33 <= ord(ch) <= 126 and ch not in "()<>[]{}/%#"),
            upem=int(head.unitsPerEm),
            advances=tuple(int(hmtx[g][0]) for g in order),
            bbox=(int(head.xMin), int(head.yMin), int(head.xMax), int(head.yMax)),
            ascent=int(hhea.ascent),
            descent=int(hhea.descent),
            cap_height=int(getattr(os2, "sCapHeight", 0) or hhea.ascent),
            italic_angle=float(post.italicAngle) if post is not None else 0.0,
            truetype="glyf" in tt,
        )
    return info


def _width(info: _FaceInfo, gid: int) -> int:
    """A glyph's ``/W`` width: whole thousandths of an em, as some readers (PDFium) keep only the
    integer part; the ``TJ`` adjustments carry the exact remainder."""
    return round(info.advances[gid] * 1000 / info.upem) if gid < len(info.advances) else 0


def check_line(fl: FieldLayout, line: Line) -> None:
    """Refuse (PdfTextRefused) a line text mode cannot write exactly as the proof draws it."""
    fonts, gids = line.columns[0], line.columns[1]
    for index in sorted(set(fonts)):
        ref = fl.fonts[index]
        info = _face_info(ref.path, ref.sha256)
        if not info.truetype:
            raise PdfTextRefused(
                f"{ref.name} has PostScript (CFF) outlines, which PDF text mode does not embed"
            )
    if 0 in gids:
        raise PdfTextRefused("it has a character no font can draw")


@lru_cache(maxsize=64)
def _subset(path: str, sha256: str, gids: tuple[int, ...]) -> bytes:
    """The face with only ``gids`` (and .notdef) kept, glyph ids unchanged; deterministic bytes."""
    font = TTFont(path, recalcTimestamp=False, lazy=True)  # only the kept glyphs are decompiled
    options = ft_subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "DSIG", "FFTM"]
    sub = ft_subset.Subsetter(options)
    sub.populate(gids=list(gids))
    sub.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@dataclass
class _Face:
    path: str
    sha256: str
    name: str  # resource name, e.g. "FT1"
    text: dict[int, str] = field(default_factory=dict)  # gid -> the characters it draws


def _utf16(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode(mapping: dict[int, str]) -> bytes:
    entries = [(gid, text) for gid, text in sorted(mapping.items()) if text]
    out = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for k in range(0, len(entries), 100):
        chunk = entries[k : k + 100]
        out.append(f"{len(chunk)} beginbfchar")
        out += [f"<{gid:04X}> <{_utf16(text)}>" for gid, text in chunk]
        out.append("endbfchar")
    out += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return ("\n".join(out) + "\n").encode("ascii")


class EmbeddedFonts:
    """The faces one PDF's text uses; reportlab asks for their objects when it writes the document."""

    def __init__(self, doc: pdfdoc.PDFDocument) -> None:
        self._doc = doc
        self._faces: dict[str, _Face] = {}
        doc.delayedFonts.append(self)

    def face(self, path: str, sha256: str) -> _Face:
        face = self._faces.get(sha256)
        if face is None:
            face = self._faces[sha256] = _Face(path, sha256, f"FT{len(self._faces) + 1}")
        return face

    def addObjects(self, doc: pdfdoc.PDFDocument) -> None:  # noqa: N802 (reportlab's hook name)
        fonts = doc.idToObject[pdfdoc.BasicFonts].dict
        for face in self._faces.values():
            fonts[face.name] = self._font(doc, face)

    def _font(self, doc: pdfdoc.PDFDocument, face: _Face) -> pdfdoc.PDFObjectReference:
        info = _face_info(face.path, face.sha256)
        gids = tuple(sorted(face.text))
        data = _subset(face.path, face.sha256, gids)
        tag = "".join(
            chr(65 + b % 26) for b in hashlib.sha256(face.sha256.encode() + repr(gids).encode()).digest()[:6]
        )
        base = f"{tag}+{info.postscript}"
        k = 1000 / info.upem
        program = pdfdoc.PDFStream(content=data, filters=[pdfdoc.PDFZCompress])
        program.dictionary["Length1"] = len(data)
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "FontName": pdfdoc.PDFName(base),
                "Flags": 4,  # symbolic: glyphs are chosen by id, not by a standard encoding
                "FontBBox": pdfdoc.PDFArray([round(v * k) for v in info.bbox]),
                "ItalicAngle": info.italic_angle,
                "Ascent": round(info.ascent * k),
                "Descent": round(info.descent * k),
                "CapHeight": round(info.cap_height * k),
                "StemV": 80,
                "FontFile2": doc.Reference(program, f"FontFile2:{base}"),
            }
        )
        widths: list[object] = []
        for gid in gids:
            widths += [gid, pdfdoc.PDFArray([_width(info, gid)])]
        cid_font = pdfdoc.PDFDictionary(
            {
                "Type": "/Font",
                "Subtype": "/CIDFontType2",
                "BaseFont": pdfdoc.PDFName(base),
                "CIDSystemInfo": pdfdoc.PDFDictionary(
                    {
                        "Registry": pdfdoc.PDFString("Adobe"),
                        "Ordering": pdfdoc.PDFString("Identity"),
                        "Supplement": 0,
                    }
                ),
                "FontDescriptor": doc.Reference(descriptor, f"FontDescriptor:{base}"),
                "CIDToGIDMap": "/Identity",
                "W": pdfdoc.PDFArray(widths),
            }
        )
        cmap = pdfdoc.PDFStream(content=_to_unicode(face.text), filters=[pdfdoc.PDFZCompress])
        font = pdfdoc.PDFDictionary(
            {
                "Type": "/Font",
                "Subtype": "/Type0",
                "BaseFont": pdfdoc.PDFName(base),
                "Encoding": "/Identity-H",
                "DescendantFonts": pdfdoc.PDFArray([doc.Reference(cid_font, f"CIDFont:{base}")]),
                "ToUnicode": doc.Reference(cmap, f"ToUnicode:{base}"),
            }
        )
        return doc.Reference(font, f"Font:{base}")


def _cluster_text(fl: FieldLayout, line: Line, last: bool) -> list[str]:
    """For each glyph of the line, the characters it draws: its cluster's, on the cluster's first
    glyph in visual order, nothing on the others. A truncated field's '…' (or '...') is the
    cluster at the cut."""
    clusters = line.columns[2]
    start = min(clusters, default=0)
    end = start + len(line.text)
    tail = ""
    if last and fl.truncated:
        tail = "…" if line.text.endswith("…") else "..." if line.text.endswith("...") else ""
        end -= len(tail)
    bounds = sorted({c for c in clusters if c < end})
    end_of = dict(zip(bounds, [*bounds[1:], end], strict=True))
    out: list[str] = []
    seen: set[int] = set()
    for c in clusters:
        out.append("" if c in seen else fl.text[c : end_of[c]] if c < end else tail)
        seen.add(c)
    return out


def field_text_ops(fonts: EmbeddedFonts, fl: FieldLayout, ox: float, top: float) -> list[str]:
    """Text operators drawing a laid-out field; (ox, top) is the item's top-left in page points
    (y up: ``top`` is the page y of the item's top edge)."""
    out: list[str] = []
    size = fl.size
    for line in fl.lines:
        check_line(fl, line)
        out.append("BT")
        current: tuple[str, float] | None = None
        run: list[str] = []
        pending = 0.0  # the TJ adjustment before the next glyph of the run (thousandths of an em)
        pen = 0.0
        prev_offset = True
        texts = iter(_cluster_text(fl, line, line is fl.lines[-1]))
        for font, gid, _cluster, advance, dx, dy in zip(*line.columns, strict=True):
            ref = fl.fonts[font]
            info = _face_info(ref.path, ref.sha256)
            face = fonts.face(ref.path, ref.sha256)
            text = next(texts)
            if text and gid not in face.text:
                face.text[gid] = text
            else:
                face.text.setdefault(gid, "")
            scale = size / info.upem
            offset = bool(dx or dy)
            if current != (face.name, size) or offset or prev_offset:
                if run:
                    out.append(f"[{' '.join(run)}] TJ")
                    run = []
                if current != (face.name, size):
                    out.append(f"/{face.name} {_n(size)} Tf")
                    current = (face.name, size)
                x = ox + line.x + pen + dx * scale
                y = top - (line.baseline - dy * scale)
                out.append(f"1 0 0 1 {_n(x)} {_n(y)} Tm")
                pending = 0.0
            if pending:
                run.append(_n(pending))
            run.append(f"<{gid:04X}>")
            # after this glyph PDF moves by the font's width; the layout by ``advance``
            pending = _width(info, gid) - advance * 1000 / info.upem
            pen += advance * scale
            prev_offset = offset
        if run:
            out.append(f"[{' '.join(run)}] TJ")
        out.append("ET")
    return out


def check_layouts(fields: Iterable[tuple[int, FieldLayout]]) -> None:
    """Refuse text mode (PdfTextRefused naming the item and line) for any line it cannot write."""
    for number, fl in fields:
        for line in fl.lines:
            try:
                check_line(fl, line)
            except PdfTextRefused as exc:
                raise PdfTextRefused(f"item {number}, line {line.text!r}: {exc}") from None
            except FontError as exc:
                raise PdfTextRefused(f"item {number}, line {line.text!r}: {exc}") from None
