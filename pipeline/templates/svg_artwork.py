"""SVG artwork, read safely: one loader for proofs, template checks and export.

Artwork comes from a shop's template import, so it is untrusted. It must be self-contained: the
loader refuses any reference to something outside the file (other files, URLs, entities, XInclude,
stylesheets, scripts, foreign objects) and names it, so the shop can fix the file. Embedded
raster images (`data:` links) are refused too: the proof renderer cannot draw them, and a picture
belongs in PNG or JPEG artwork. Only links inside the file (`#id`) are followed. Size and element caps
keep a huge file from stalling an import. The checked tree is handed to svglib with no file path,
so svglib has nothing to resolve references against.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from lxml import etree

MAX_SVG_BYTES = 1024 * 1024
MAX_SVG_ELEMENTS = 2_000
SELF_CONTAINED = "artwork must be self-contained (only links inside the file, like #id, are allowed)"

_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_FORBIDDEN_TAGS = {"script", "foreignObject", "iframe", "object", "embed", "audio", "video", "handler"}
_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_IMPORT = re.compile(r"@import\s+(?:url\()?\s*['\"]?([^'\")\s;]*)", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


class ArtworkRefused(ValueError):
    """SVG artwork that is not used; the message is a sentence for the shop."""


def _refer(ref: str) -> ArtworkRefused:
    shown = ref if len(ref) <= 120 else ref[:117] + "..."
    return ArtworkRefused(f"artwork refers to {shown}; {SELF_CONTAINED}")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=False,
    )


def _check_size(size: int) -> None:
    if size > MAX_SVG_BYTES:
        raise ArtworkRefused(
            f"the SVG is {size / 1_048_576:.1f} MB; artwork may be at most "
            f"{MAX_SVG_BYTES // 1024:,} KB (simplify it or save it as a PNG)"
        )


def check_svg_bytes(data: bytes) -> Any:
    """Parse and check SVG bytes; the lxml root element, or ArtworkRefused with the reason."""
    _check_size(len(data))
    if _ENTITY.search(data) or _DOCTYPE_SUBSET.search(data):
        raise ArtworkRefused(f"artwork declares XML entities (<!ENTITY ...>); {SELF_CONTAINED}")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise ArtworkRefused(f"not a readable SVG ({exc})") from None
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname != "svg":
        raise ArtworkRefused("not an SVG document (the root element is not <svg>)")
    if root.getroottree().docinfo.internalDTD is not None:
        raise ArtworkRefused(f"artwork declares its own DTD (<!DOCTYPE ... [ ]>); {SELF_CONTAINED}")
    for count, node in enumerate(root.iter(), 1):
        if count > MAX_SVG_ELEMENTS:
            raise ArtworkRefused(
                f"the SVG has more than {MAX_SVG_ELEMENTS:,} elements; simplify it or save it as a PNG"
            )
        _check_node(node)
    for node in root.itersiblings(preceding=True):  # processing instructions before <svg>
        _check_node(node)
    return root


def _check_node(node: Any) -> None:
    if isinstance(node, etree._ProcessingInstruction):
        raise _refer(f"<?{node.target} {node.text or ''}?>".strip())
    if isinstance(node, etree._Entity):
        raise ArtworkRefused(f"artwork uses the XML entity &{node.name};; {SELF_CONTAINED}")
    if not isinstance(node.tag, str):
        return
    qname = etree.QName(node)
    if qname.namespace == _XINCLUDE_NS:
        raise _refer(f"xi:{qname.localname} {node.get('href', '')}".strip())
    if qname.localname in _FORBIDDEN_TAGS:
        raise ArtworkRefused(f"artwork contains a <{qname.localname}> element; {SELF_CONTAINED}")
    for name, value in node.attrib.items():
        attr = etree.QName(name).localname
        if attr == "href" or name == _XLINK_HREF:
            _check_href(value)
        elif attr.lower().startswith("on"):
            raise ArtworkRefused(f"artwork has a script attribute ({attr}); {SELF_CONTAINED}")
        else:
            _check_css(value)
    if qname.localname == "style" and node.text:
        _check_css(node.text)


def _check_href(value: str) -> None:
    ref = value.strip()
    if ref.startswith("#") and len(ref) > 1:
        return  # a part of this same file
    if ref.lower().startswith("data:"):
        raise ArtworkRefused(
            f"artwork embeds an image ({ref[:30]}...); SVG artwork must be vectors only "
            "(use a PNG or JPEG file as the artwork for a picture)"
        )
    raise _refer(ref or "an empty link")


def _check_css(text: str) -> None:
    for match in _URL.finditer(text):
        ref = match.group(2).strip()
        if not ref.startswith("#"):
            raise _refer(f"url({ref})")
    if imported := _IMPORT.search(text):
        raise _refer(f"@import {imported.group(1)}".strip())


def check_svg_file(path: Path) -> Any:
    """Check an SVG file without reading more than the size cap; the lxml root element."""
    try:
        _check_size(path.stat().st_size)
        with open(path, "rb") as fh:
            data = fh.read(MAX_SVG_BYTES + 1)
    except OSError as exc:
        raise ArtworkRefused(f"the SVG could not be read ({exc.strerror})") from None
    return check_svg_bytes(data)


def load_svg(path: Path) -> Any:
    """A checked SVG artwork as a reportlab Drawing; ArtworkRefused for an unusable file."""
    from svglib.svglib import SvgRenderer

    root = check_svg_file(path)
    try:
        # A file-like source (not a path) gives svglib no directory to resolve references in.
        drawing = SvgRenderer(io.BytesIO()).render(root)
    except Exception as exc:  # svglib raises assorted errors on odd input
        raise ArtworkRefused(f"the SVG could not be converted ({type(exc).__name__}: {exc})") from None
    if drawing is None or drawing.width <= 0 or drawing.height <= 0:
        raise ArtworkRefused("the SVG has no size (give it width/height or a viewBox)")
    return drawing
