"""Email to the customer: the approval email itself and the connection it leaves by (the SMTP server and
the addresses are read in pipeline/core/addresses.py).

Messages are built with the standard library's `email` package: every header goes through its policy
(RFC 2047 encoding for non-ASCII names, quoting for display names), never through string formatting.
Text that reaches a header (the shop's and customer's names, the job's reference) is first reduced to
one line: CR, LF and every other control or separator character become a space, so nothing a shop or
a customer typed can end a header early or add one.
"""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.core.addresses import SmtpServer, header_text

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
