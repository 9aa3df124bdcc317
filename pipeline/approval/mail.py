"""Email to the customer: the SMTP server (SMTP_URL), addresses, and the approval email itself.

Messages are built with the standard library's `email` package: every header goes through its policy
(RFC 2047 encoding for non-ASCII names, quoting for display names), never through string formatting.
Text that reaches a header (the shop's and customer's names, the job's reference) is first reduced to
one line: CR, LF and every other control or separator character become a space, so nothing a shop or
a customer typed can end a header early or add one.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import re
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.core.errors import InvalidInput
from pipeline.jobs.jobs import EMAIL

SMTP_PORT, SMTPS_PORT = 587, 465
# the same shape jobs accept for the customer's address (pipeline/jobs/jobs.py)
ADDRESS = EMAIL  # the address rule the job form checks (pipeline/jobs/jobs.py)
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


# ---- the message -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkEmail:
    """What an approval email says; built from the job as it is when the email goes out."""

    purpose: str  # link | reminder
    shop_name: str
    customer_name: str
    to: str
    sender: str  # the From address (CRAFTSTAGE_MAIL_FROM or the workspace's own)
    reply_to: str | None  # the shop's own address
    job_ref: str
    reference: str | None
    items: int
    due_date: date | None
    url: str
    expires_local: datetime | None
    message_id: str

    @property
    def shop(self) -> str:
        return header_text(self.shop_name) or "Your print shop"

    @property
    def subject(self) -> str:
        what = f"{self.job_ref} ({header_text(self.reference, 80)})" if self.reference else self.job_ref
        if self.purpose == "reminder":
            return f"Reminder: your proofs for {what} are waiting for your approval"
        return f"Please approve your proofs for {what}"


_TEMPLATES = Environment(
    loader=PackageLoader("pipeline", "assets/mail"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _day(d: date) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"  # Tuesday 5 January 2027


def _context(mail: LinkEmail) -> dict[str, Any]:
    greeting_name = header_text(mail.customer_name, 100)
    return {
        "mail": mail,
        "shop": mail.shop,
        "greeting": f"Hello {greeting_name}," if greeting_name else "Hello,",
        "reference": header_text(mail.reference, 100) if mail.reference else None,
        "items": f"{mail.items} item" if mail.items == 1 else f"{mail.items} items",
        "due": _day(mail.due_date) if mail.due_date else None,
        "expires": f"{_day(mail.expires_local)}, {mail.expires_local:%H:%M} ({mail.expires_local.tzname()})"
        if mail.expires_local
        else None,
        "reminder": mail.purpose == "reminder",
    }


# SMTP's CRLF, and lines up to RFC 5322's hard limit of 998 characters: Python 3.11's folder can drop
# the quotes around a display name when it folds one ("A: b@evil.example" would read as an address)
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)
_ADDRESS_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def build_message(mail: LinkEmail, *, now: datetime) -> EmailMessage:
    """The multipart/alternative email (plain text first, then HTML) with its headers set."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = mail.subject
    people = {"From": (mail.shop, mail.sender), "To": (header_text(mail.customer_name), mail.to)}
    if mail.reply_to:
        people["Reply-To"] = (mail.shop, mail.reply_to)
    for header, (name, addr) in people.items():
        msg[header] = Address(display_name=name, addr_spec=addr)
    _check_addresses(msg, people)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mail.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    ctx = _context(mail)
    msg.set_content(_TEMPLATES.get_template("approval.txt").render(ctx), cte="quoted-printable")
    msg.add_alternative(
        _TEMPLATES.get_template("approval.html").render(ctx), subtype="html", cte="quoted-printable"
    )
    return msg


def _check_addresses(msg: EmailMessage, people: dict[str, tuple[str, str]]) -> None:
    """Read the address headers back as a mail program would; a display name that does not come back
    as it went in (a header long enough to be folded) is sent without the characters that are special
    in addresses, or without a display name at all."""
    for header, (name, addr) in people.items():
        for display in (name, _ADDRESS_SPECIALS.sub(" ", name), ""):
            del msg[header]
            msg[header] = Address(display_name=header_text(display), addr_spec=addr)
            back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)[header]
            found = [(a.display_name, a.addr_spec) for a in back.addresses]
            if found == [(header_text(display), addr)]:
                break
        else:
            raise ValueError(f"the {header} address {addr!r} cannot be written safely")


def message_id(outbox_id: int, sender: str) -> str:
    """One Message-ID per outbox row: a message the server got twice (a crash after it accepted one,
    before that was recorded) is recognisably the same message."""
    return f"<craftstage.{outbox_id}@{sender.rsplit('@', 1)[-1]}>"


# ---- the connection ----------------------------------------------------------------------------


class InsecureServer(smtplib.SMTPException):
    """The server offers no STARTTLS and is not on this machine: nothing is sent in clear."""


def connect(
    server: SmtpServer, *, timeout: float = 30.0, context: ssl.SSLContext | None = None
) -> smtplib.SMTP:
    """An open, logged-in SMTP connection (the caller quits it)."""
    context = context or ssl.create_default_context()
    conn: smtplib.SMTP
    if server.security == "tls":
        conn = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        conn = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        conn.ehlo()
        if server.security == "starttls":
            if conn.has_extn("starttls"):
                conn.starttls(context=context)
                conn.ehlo()
            elif not server.local:
                raise InsecureServer(f"{server.label} offers no STARTTLS; use smtps:// or a local relay")
        if server.username:
            conn.login(server.username, server.password or "")
    except BaseException:
        conn.close()
        raise
    return conn
