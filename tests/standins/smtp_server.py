"""A real SMTP server on a free loopback port (aiosmtpd), for the customer-email tests.

It speaks real SMTP: what CraftStage sends goes through smtplib, a socket and aiosmtpd's parser. The
test can stop and start it on the same port (the server is down), make it answer 4xx to every
recipient for a while (busy), refuse given addresses with 5xx, ask for a login, and offer STARTTLS or
speak TLS from the first byte with a certificate made for 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (openssl), for STARTTLS and smtps:// tests."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class _Handler:
    server: SmtpStandIn
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address in self.server.refuse:
            return self.server.refuse[address]
        if self.server.busy:
            return self.server.busy
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data if session.authenticated else None
        with self.server.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
            )
        return "250 2.0.0 Message accepted for delivery"


class SmtpStandIn:
    def __init__(
        self,
        *,
        login: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.port = free_port()
        self.refuse: dict[str, str] = {}  # address → the reply to its RCPT, e.g. "550 5.1.1 no such user"
        self.busy: str | None = None  # a 4xx reply to every RCPT while set
        self.lock = threading.Lock()
        self.handler = _Handler(self)
        self.logins: list[str] = []
        self._login = login
        self._starttls = starttls
        self._tls = tls
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        with self.lock:
            return list(self.handler.received)

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self._login is not None
        ok = ok and (data.login.decode(), data.password.decode()) == self._login
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    def start(self) -> SmtpStandIn:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "ready_timeout": 10}
        if self._login is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self._starttls is not None)
        if self._starttls is not None:
            kwargs.update(tls_context=self._starttls, require_starttls=True)
        if self._tls is not None:
            kwargs.update(ssl_context=self._tls, server_hostname="127.0.0.1")
        self._controller = Controller(self.handler, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
