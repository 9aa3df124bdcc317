"""Settings come from the environment; logs are JSON lines without secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.core import logs
from pipeline.core.settings import Settings, SettingsError


def test_defaults_make_the_embedded_mode_work() -> None:
    s = Settings.from_env({})
    assert s.data_dir == Path("./craftstage-data")
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.effective_database_url.endswith("craftstage-data/craftstage.db")
    assert s.slack_api_url == "https://slack.com/api/"
    assert not s.slack_enabled and not s.ai_enabled


def test_every_documented_variable_is_read(tmp_path: Path) -> None:
    env = {
        "CRAFTSTAGE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql+psycopg://u@h/db",
        "SLACK_BOT_TOKEN": "xoxb-1-2-3",
        "SLACK_SIGNING_SECRET": "shh-secret",
        "SLACK_APP_TOKEN": "xapp-1-2",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
        "CRAFTSTAGE_CHANNEL": "C123",
        "PUBLIC_BASE_URL": "https://proofs.example.com",
        "PORT": "9000",
        "OPENAI_API_KEY": "sk-test-123456789",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_MODEL": "gpt-test",
        "CRAFTSTAGE_TIMEZONE": "America/Chicago",
    }
    s = Settings.from_env(env)
    assert s.effective_database_url == "postgresql+psycopg://u@h/db"
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert (s.channel, s.port, s.openai_model, s.timezone) == ("C123", 9000, "gpt-test", "America/Chicago")
    assert s.slack_enabled and s.ai_enabled
    assert "xoxb" not in repr(s) and "sk-test" not in repr(s)


@pytest.mark.parametrize(
    ("env", "var"),
    [({"CRAFTSTAGE_TIMEZONE": "Mars/Olympus"}, "CRAFTSTAGE_TIMEZONE"), ({"PORT": "eighty"}, "PORT")],
)
def test_bad_values_name_the_variable(env: dict, var: str) -> None:
    with pytest.raises(SettingsError, match=var):
        Settings.from_env(env)


def test_logs_are_json_and_redact_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("INFO", secrets=["my-signing-secret"])
    log = logging.getLogger("craftstage.test")
    log.setLevel(logging.INFO)  # whatever other tests did to the loggers above it
    log.disabled = False
    log.info("token xoxb-123-456-abc and %s, link https://x/approve/AbCdEf0123456789xyz", "my-signing-secret")
    try:
        raise RuntimeError("failed with sk-live-abcdefghijkl")
    except RuntimeError:
        log.exception("boom")
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    # only this test's lines: background threads of earlier tests may log meanwhile
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "craftstage.test" in line]
    text = json.dumps(lines)
    assert "xoxb-123" not in text and "my-signing-secret" not in text and "sk-live" not in text
    assert "AbCdEf0123456789xyz" not in text
    assert lines[0]["level"] == "info" and "/approve/[secret]" in lines[0]["msg"]
    assert "RuntimeError" in lines[1]["exc"]
