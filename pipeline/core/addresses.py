"""Email addresses as CraftStage accepts them, and the SMTP server a deployment names (SMTP_URL).

Settings, the job form and the workspace's sender addresses all check addresses here; text that
reaches a mail header goes through `header_text` first, so nothing typed can end a header early.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from pipeline.core.errors import InvalidInput

SMTP_PORT, SMTPS_PORT = 587, 465
# the one address rule: the job form's customer address, the sender addresses, the settings
ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_SPACES = re.compile(r"\s+")
HEADER_TEXT_LIMIT = 200


class MailSetupError(ValueError):
    """SMTP_URL or a sender address is unusable; the message never contains the password."""


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes. `security`: "tls" (smtps://, TLS from the first byte), "starttls" (smtp://:
    upgraded with STARTTLS, which only a relay on this machine may go without)."""

    host: str
    port: int
    security: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def local(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def label(self) -> str:
        """host:port, for messages and logs (no user name, no password)."""
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:pass@host:587` (STARTTLS), `smtps://user:pass@host:465`, `smtp://127.0.0.1:1025`.

    User name and password are percent-decoded (a password with `@` or `/` is written `%40`, `%2F`).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise MailSetupError("SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS)")
    try:
        port = parts.port
    except ValueError:
        raise MailSetupError("SMTP_URL has a port that is not a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise MailSetupError("SMTP_URL names no server (smtp://user:password@host:587)")
    if (parts.path and parts.path != "/") or parts.query or parts.fragment:
        raise MailSetupError("SMTP_URL takes no path or options after the host and port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password and not username:
        raise MailSetupError("SMTP_URL has a password without a user name")
    return SmtpServer(
        host=host,
        port=port or (SMTPS_PORT if scheme == "smtps" else SMTP_PORT),
        security="tls" if scheme == "smtps" else "starttls",
        username=username,
        password=password,
    )


def clean_address(value: str, label: str) -> str:
    """An email address as CraftStage accepts it (the customer's rules); `Name <addr>` gives `addr`."""
    text = value.strip()
    m = re.fullmatch(r"[^<>]*<([^<>]+)>", text)
    if m:
        text = m.group(1).strip()
    if not ADDRESS.match(text) or any(_unsafe(ch) for ch in text):
        raise MailSetupError(
            f"{label}: {value.strip()[:100]!r} is not an email address like shop@example.com"
        )
    return text


def check_address(field_name: str, value: str | None, label: str) -> str | None:
    """For workspace settings: a clean address, or None for an empty value (InvalidInput otherwise)."""
    if value is None or not str(value).strip():
        return None
    try:
        return clean_address(str(value), label)
    except MailSetupError as exc:
        raise InvalidInput({field_name: str(exc)}) from None


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "CZ" and ch != " "


def header_text(value: str | None, limit: int = HEADER_TEXT_LIMIT) -> str:
    """`value` as one line for a header: control, format and line/paragraph separator characters become
    spaces, runs of spaces one space."""
    text = "".join(" " if _unsafe(ch) else ch for ch in unicodedata.normalize("NFC", value or ""))
    text = _SPACES.sub(" ", text).strip()
    return text[:limit].rstrip()
