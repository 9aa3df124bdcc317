"""Fonts a workspace uploads: validated by opening them, stored by content hash, usable at once; and
the font registry each workspace draws with (bundled, the machine's and its own fonts)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, PermissionDenied
from pipeline.jobs.activity import Event, record
from pipeline.templates.font_uploads import FontValidationError, store_uploaded_font, validate_font_bytes
from pipeline.templates.fonts import FontRegistry
from storage.models import Font, Workspace

_registries: dict[tuple[int, str], FontRegistry] = {}
_registries_lock = threading.Lock()


def registry_for(ws: Workspace, files_dir: Path) -> FontRegistry:
    """The fonts a workspace can use: bundled, the machine's, and the ones it uploaded."""
    key = (ws.id or 0, ws.default_font)
    with _registries_lock:
        reg = _registries.get(key)
        if reg is None:
            reg = FontRegistry(
                workspace_dirs=(fonts_dir(files_dir, ws.id or 0),), default_family=ws.default_font
            )
            _registries[key] = reg
        return reg


def forget_registry(ws_id: int) -> None:
    """A font was uploaded or removed: the next lookup scans again."""
    with _registries_lock:
        for key in [k for k in _registries if k[0] == ws_id]:
            del _registries[key]


def fonts_dir(files_dir: Path, ws_id: int) -> Path:
    return files_dir / "fonts" / f"ws-{ws_id}"


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
        workspace_id=ws.pk,
        family=stored.family,
        weight=stored.weight,
        filename=filename[:255],
        path=str(stored.path),
        sha256=stored.sha256,
    )
    session.add(font)
    record(
        session,
        ws.pk,
        None,
        Event.FONT_UPLOADED,
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
