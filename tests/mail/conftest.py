"""A real SMTP server on a free port for every mail test (aiosmtpd, tests/standins/smtp_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standins.smtp_server import SmtpStandIn


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with SmtpStandIn() as server:
        yield server
