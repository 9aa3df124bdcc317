"""Deployment secrets kept in the data folder, and the sealing of what must not lie in the database
readable.

A secret is a file made once (mode 0600) that every process of the deployment reads. An approval
link's token is otherwise only stored as its hash; the link emailed to a customer has to be kept for
the reminders, so it is sealed (Fernet: AES-CBC with an HMAC, from `cryptography`) under such a key:
a copy of the database alone (a backup, a dump) opens no link.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from pipeline.core.settings import Settings

LINK_KEY_FILE = "link-mail.key"


def secret_file(path: Path) -> bytes:
    """The secret kept in `path`, made there first if missing (mode 0600; of several processes
    starting together exactly one writes it, the others read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        try:
            value = bytes.fromhex(path.read_text().strip())
            if len(value) >= 32:
                return value
        except (FileNotFoundError, ValueError):
            pass
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: exactly one process's secret wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    raise RuntimeError(f"cannot read or create {path}")


def _fernet(settings: Settings) -> Fernet:
    key = secret_file(settings.data_dir / LINK_KEY_FILE)[:32]
    return Fernet(base64.urlsafe_b64encode(key))


def seal(settings: Settings, text: str) -> str:
    return _fernet(settings).encrypt(text.encode()).decode("ascii")


def unseal(settings: Settings, sealed: str) -> str | None:
    """The text sealed with this deployment's key; None when it was sealed under another key (the data
    folder's key file was replaced) or is not a sealed value."""
    try:
        return _fernet(settings).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
