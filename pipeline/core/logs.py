"""Structured (JSON-lines) logging that never prints secrets."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

# Slack tokens (bot xoxb-, user xoxp-, workspace xoxa-, refresh xoxr-, expiring xoxe.xoxp- and their
# xoxe- refresh tokens, legacy xoxo-/xoxs-, app-level xapp-), Slack's one-time OAuth codes, OpenAI keys
# (sk-, sk-proj-), approval links, the password of an smtp:// or smtps:// URL: masked wherever they
# appear in a log line, a message argument's repr or an exception's traceback.
SECRET_PATTERNS = [
    re.compile(r"\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9.-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"\b\d{6,}\.\d{6,}\.[0-9a-f]{16,}\b"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"(/approve/)[A-Za-z0-9_-]{8,}"),
    re.compile(r"(smtps?://[^\s:/@]*:)[^\s@]+(?=@)", re.IGNORECASE),
]


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        for pattern in SECRET_PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[secret]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not hide the line (or leak its args)
            text = f"{record.msg!s} (arguments not shown)"
        record.msg = self.redact(text)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("job", "workspace", "task", "event"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # libraries that narrate their routine work at INFO (ezdxf: each dictionary of a new drawing;
    # fontTools: each table it subsets)
    for noisy in ("alembic.runtime.migration", "httpx", "uvicorn.access", "ezdxf", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
