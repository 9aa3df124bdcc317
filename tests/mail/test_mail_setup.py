"""SMTP_URL and the sender address: parsing, STARTTLS, TLS and login against a real server, passwords
kept out of messages and logs, and address headers that stay what they say however long a name is."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import ssl
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.approval.mail import LinkEmail, build_message, connect, message_id
from pipeline.core.addresses import MailSetupError, parse_smtp_url
from pipeline.core.settings import Settings, SettingsError
from tests.standins.smtp_server import SmtpStandIn, self_signed

PASSWORD = "s3cr3t:p@ss/word"
ENCODED = "s3cr3t%3Ap%40ss%2Fword"


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password"),
    [
        (
            f"smtp://apikey:{ENCODED}@smtp.sendgrid.net:587",
            "smtp.sendgrid.net",
            587,
            "starttls",
            "apikey",
            PASSWORD,
        ),
        (
            "smtp://shop%40example.com:pw@mail.example.com",
            "mail.example.com",
            587,
            "starttls",
            "shop@example.com",
            "pw",
        ),
        ("smtps://user:pw@smtp.example.com", "smtp.example.com", 465, "tls", "user", "pw"),
        ("SMTPS://user:pw@smtp.example.com:2465/", "smtp.example.com", 2465, "tls", "user", "pw"),
        ("smtp://127.0.0.1:1025", "127.0.0.1", 1025, "starttls", None, None),
    ],
)
def test_smtp_url_forms(
    url: str, host: str, port: int, security: str, user: str | None, password: str | None
) -> None:
    server = parse_smtp_url(url)
    assert (server.host, server.port, server.security) == (host, port, security)
    assert (server.username, server.password) == (user, password)
    assert password is None or password not in repr(server)


def test_local_relays_are_the_only_servers_allowed_without_tls() -> None:
    assert parse_smtp_url("smtp://127.0.0.1:1025").local
    assert parse_smtp_url("smtp://localhost:25").local
    assert parse_smtp_url("smtp://[::1]:25").local
    assert not parse_smtp_url("smtp://mail.example.com").local
    assert not parse_smtp_url("smtp://10.0.0.5:25").local


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"https://user:{ENCODED}@mail.example.com", "must start with smtp://"),
        (f"smtp://user:{ENCODED}@:587", "names no server"),
        (f"smtp://user:{ENCODED}@mail.example.com:99999", "port"),
        (f"smtp://user:{ENCODED}@mail.example.com:587/inbox", "no path"),
        (f"smtp://user:{ENCODED}@mail.example.com:587?tls=off", "no path or options"),
        (f"smtp://:{ENCODED}@mail.example.com", "password without a user name"),
    ],
)
def test_a_bad_smtp_url_is_refused_naming_the_variable_not_the_password(url: str, says: str) -> None:
    with pytest.raises(MailSetupError, match=says) as refused:
        parse_smtp_url(url)
    assert "s3cr3t" not in str(refused.value)
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"SMTP_URL": url})
    assert str(bad.value).startswith("SMTP_URL:") and "s3cr3t" not in str(bad.value)


def test_mail_from_is_an_address() -> None:
    assert Settings.from_env({"CRAFTSTAGE_MAIL_FROM": "Proofs <proofs@shop.example>"}).mail_from == (
        "proofs@shop.example"
    )
    for bad in ("proofs", "proofs@shop.example\r\nBcc: x@evil.example", "a@b@c.example"):
        with pytest.raises(SettingsError, match="CRAFTSTAGE_MAIL_FROM"):
            Settings.from_env({"CRAFTSTAGE_MAIL_FROM": bad})


def test_the_smtp_password_never_reaches_the_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app

    monkeypatch.setenv("SMTP_URL", f"smtp://apikey:{ENCODED}@smtp.sendgrid.net:587")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        app._settings()
        log = logging.getLogger("craftstage.test")
        log.error("login failed for %s with %s", f"smtp://apikey:{ENCODED}@smtp.sendgrid.net:587", PASSWORD)
        log.error("another URL: smtps://someone:hunter22@mail.example.org:465 refused")
        try:
            raise ConnectionError(f"could not log in with {PASSWORD!r}")
        except ConnectionError:
            log.exception("connect failed")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert err.count("[secret]") >= 4
    for leaked in (PASSWORD, ENCODED, "hunter22"):
        assert leaked not in err


# ---- real connections --------------------------------------------------------------------------


def _mail(**kw: object) -> LinkEmail:
    base: dict[str, object] = {
        "purpose": "link",
        "shop_name": "Lakeside Trophies",
        "customer_name": "Rebecca Stone",
        "to": "rebecca@example.org",
        "sender": "proofs@craftstage.example",
        "reply_to": None,
        "job_ref": "J-1001",
        "reference": None,
        "items": 1,
        "due_date": date(2099, 1, 1),
        "url": "http://127.0.0.1/approve/" + "A" * 43,
        "expires_local": None,
        "message_id": message_id(1, "proofs@craftstage.example"),
    }
    return LinkEmail(**{**base, **kw})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    client = ssl.create_default_context(cafile=str(certificate[0]))
    return server, client


def test_starttls_then_login_on_smtp_url(certificate: tuple[Path, Path]) -> None:
    server_ctx, client_ctx = _contexts(certificate)
    with SmtpStandIn(login=("shop", PASSWORD), starttls=server_ctx) as smtp:
        conn = connect(parse_smtp_url(smtp.url(userinfo=f"shop:{ENCODED}")), context=client_ctx)
        try:
            assert conn.sock is not None and isinstance(conn.sock, ssl.SSLSocket)  # upgraded before login
            conn.send_message(build_message(_mail(), now=datetime.now(UTC)))
        finally:
            conn.quit()
        assert smtp.logins == ["shop"] and [r.login for r in smtp.received] == ["shop"]
        # the certificate is checked: an unknown one is refused, nothing is sent
        with pytest.raises(ssl.SSLCertVerificationError):
            connect(parse_smtp_url(smtp.url(userinfo=f"shop:{ENCODED}")))
        assert len(smtp.received) == 1


def test_smtps_speaks_tls_from_the_first_byte(certificate: tuple[Path, Path]) -> None:
    server_ctx, client_ctx = _contexts(certificate)
    with SmtpStandIn(login=("shop", "pw"), tls=server_ctx) as smtp:
        conn = connect(parse_smtp_url(smtp.url("smtps", "shop:pw")), context=client_ctx)
        try:
            conn.send_message(build_message(_mail(), now=datetime.now(UTC)))
        finally:
            conn.quit()
        assert [r.rcpt_tos for r in smtp.received] == [["rebecca@example.org"]]


def test_a_wrong_password_is_refused_by_the_server() -> None:
    import smtplib

    with SmtpStandIn(login=("shop", "right")) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        connect(parse_smtp_url(smtp.url(userinfo="shop:wrong")))


# ---- address headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        'Zoë "The Boss" O\'Brien, Head: victim@evil.example; <x@evil.example>',
        ("Ünïcode 株式会社 Trophies, Inc.: a@evil.example; " * 6)[:200],
        ("A: b@evil.example, " * 12)[:200],
    ],
)
def test_long_names_with_address_characters_never_change_the_addresses(name: str) -> None:
    msg = build_message(
        _mail(shop_name=name, customer_name=name, reply_to="office@shop.example"), now=datetime.now(UTC)
    )
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert [a.addr_spec for a in back["From"].addresses] == ["proofs@craftstage.example"]
    assert [a.addr_spec for a in back["To"].addresses] == ["rebecca@example.org"]
    assert [a.addr_spec for a in back["Reply-To"].addresses] == ["office@shop.example"]
    shown = back["To"].addresses[0].display_name
    plain_words = " ".join(re.sub(r'[()<>\[\]:;@\\,."]', " ", name).split())
    assert shown in (" ".join(name.split()), plain_words)  # as given, or without address characters
