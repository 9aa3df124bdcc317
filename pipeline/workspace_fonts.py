"""Fonts a workspace uploads: validated by opening them, stored by content hash, usable at once."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from pipeline.activity import record
from pipeline.actors import Actor
from pipeline.errors import InvalidInput, PermissionDenied
from pipeline.fonts import FontValidationError, store_uploaded_font, validate_font_bytes
from pipeline.proofing import fonts_dir, forget_registry
from storage.models import Font, Workspace


def upload_font(
    session: Session, ws: Workspace, actor: Actor, data: bytes, filename: str, files_dir: Path
) -> Font:
    if not actor.is_admin:
        raise PermissionDenied("Sorry — uploading fonts is for the workspace's owners and admins.")
    try:
        validate_font_bytes(data, filename)
        stored = store_uploaded_font(data, filename, fonts_dir(files_dir, ws.id or 0))
    except FontValidationError as exc:
        raise InvalidInput({"font": str(exc)}) from None
    existing = session.exec(
        select(Font).where(Font.workspace_id == ws.id, Font.sha256 == stored.sha256)
    ).first()
    if existing is not None:
        return existing
    font = Font(
        workspace_id=ws.id,
        family=stored.family,
        weight=stored.weight,
        filename=filename[:255],
        path=str(stored.path),
        sha256=stored.sha256,
    )
    session.add(font)
    record(
        session,
        ws.id,
        None,
        "Font uploaded",
        actor,
        family=stored.family,
        weight=stored.weight,
        filename=filename[:255],
    )
    forget_registry(ws.id or 0)
    return font


def list_fonts(session: Session, ws: Workspace) -> list[Font]:
    stmt = select(Font).where(Font.workspace_id == ws.id).order_by(col(Font.family), col(Font.weight))
    return list(session.exec(stmt))
