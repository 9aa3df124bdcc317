"""Fonts: only real TrueType/OpenType faces are stored; a web font renamed .ttf is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.templates import workspace_fonts
from pipeline.templates.font_files import BUNDLED_FONTS_DIR
from pipeline.templates.font_uploads import FontValidationError, validate_font_bytes
from storage.db import Database
from storage.models import Font, Workspace

DEJAVU = BUNDLED_FONTS_DIR / "dejavu" / "DejaVuSans.ttf"


def web_font(flavor: str) -> bytes:
    """A real font re-saved as WOFF or WOFF2 by fontTools (the file a shop may find on a website)."""
    tt = TTFont(DEJAVU)
    tt.flavor = flavor
    buf = io.BytesIO()
    tt.save(buf)
    return buf.getvalue()


def test_a_woff_renamed_ttf_is_refused_by_its_first_bytes() -> None:
    data = web_font("woff")
    assert data[:4] == b"wOFF"
    TTFont(io.BytesIO(data)).close()  # fontTools itself would open it: the check must not rely on that
    with pytest.raises(FontValidationError, match="WOFF web font renamed .ttf"):
        validate_font_bytes(data, "Brand.ttf")


def test_a_woff2_renamed_otf_is_refused() -> None:
    data = b"wOF2" + DEJAVU.read_bytes()[4:]  # the WOFF2 signature is what tells it apart
    with pytest.raises(FontValidationError, match="WOFF2 web font renamed .otf"):
        validate_font_bytes(data, "Brand.otf")


def test_a_file_that_does_not_start_like_a_font_is_refused() -> None:
    data = b"\x00\x02\x00\x00" + DEJAVU.read_bytes()[4:]
    with pytest.raises(FontValidationError, match="does not start like a TrueType or OpenType font"):
        validate_font_bytes(data, "Odd.ttf")


def test_a_woff_upload_stores_nothing(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    files = tmp_path / "files"
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        with pytest.raises(InvalidInput) as refused:
            workspace_fonts.upload_font(s, ws, owner, web_font("woff"), "Brand.ttf", files)
    assert "WOFF" in refused.value.errors["font"]
    with db.read() as s:
        assert s.exec(select(Font).where(Font.workspace_id == ws_id)).all() == []
    assert not any(p.is_file() for p in files.rglob("*"))
    # the real font still goes in
    with db.session() as s:
        font = workspace_fonts.upload_font(
            s, s.get(Workspace, ws_id), owner, DEJAVU.read_bytes(), "D.ttf", tmp_path
        )
        assert font.family == "DejaVu Sans"
