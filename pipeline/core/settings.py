"""One typed settings object, read from the environment variables named in README.md ("Configuration")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SLACK_API_DEFAULT = "https://slack.com/api/"


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_dir: Path = Field(default=Path("./craftstage-data"))
    database_url: str = ""
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # the installable app (each workspace installs it through /slack/install; tokens in the database)
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    slack_api_url: str = SLACK_API_DEFAULT
    channel: str | None = None
    public_base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = 30.0
    timezone: str = "UTC"
    approval_rate_limit: int = 300  # requests per approval link per window
    approval_rate_window_s: int = 15 * 60
    approval_guess_limit: int = 30  # unknown links per client per window (and 20x that in all)
    trusted_proxies: str = ""  # addresses/CIDRs whose X-Forwarded-For is believed
    worker_threads: int = 4
    # "here": `serve` runs the background work itself (the embedded default); "workers": `serve` only
    # queues it and `python app.py worker` processes run it (PostgreSQL)
    background: Literal["here", "workers"] = "here"
    log_level: str = "INFO"
    scheduler: bool = True  # `serve` runs the scheduler too (CRAFTSTAGE_SCHEDULER=off: it does not)
    scheduler_interval_s: float = Field(default=60.0, gt=0)
    smtp_url: SecretStr | None = (
        None  # smtp://user:pass@host:587 (STARTTLS), smtps://…:465, smtp://127.0.0.1:1025
    )
    mail_from: str | None = None  # the address customer emails come from (a workspace may set its own)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from pipeline.core.addresses import parse_smtp_url

            parse_smtp_url(value.get_secret_value())  # its message never repeats the password
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        if value is not None:
            from pipeline.core.addresses import clean_address

            return clean_address(value, "CRAFTSTAGE_MAIL_FROM")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        import ipaddress

        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"{part!r} is not an IP address or CIDR range") from exc
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _one_slack_mode(self) -> Settings:
        oauth = (self.slack_client_id, self.slack_client_secret, self.slack_state_secret)
        if any(v is not None for v in oauth):
            if self.slack_bot_token is not None:
                raise ValueError(
                    "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: SLACK_BOT_TOKEN serves one workspace, "
                    "SLACK_CLIENT_ID (with SLACK_CLIENT_SECRET and SLACK_STATE_SECRET) an app that "
                    "workspaces install"
                )
            names = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET")
            missing = [name for name, value in zip(names, oauth, strict=True) if value is None]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} must be set too (the installable Slack app needs all three)"
                )
            if len(self.slack_state_secret.get_secret_value()) < 32:  # type: ignore[union-attr]
                raise ValueError(
                    "SLACK_STATE_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`)"
                )
        return self

    @model_validator(mode="after")
    def _workers_need_postgres(self) -> Settings:
        if self.background == "workers" and not self.effective_database_url.startswith("postgresql"):
            raise ValueError(
                "CRAFTSTAGE_BACKGROUND=workers needs PostgreSQL (DATABASE_URL=postgresql+psycopg://…): "
                "the worker processes share its queue. With SQLite, `serve` runs the background work itself"
            )
        return self

    @property
    def slack_oauth(self) -> bool:
        """The installable app: workspaces install it themselves and each has its own bot token."""
        return self.slack_client_id is not None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'craftstage.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def slack_enabled(self) -> bool:
        return (self.slack_bot_token is not None or self.slack_oauth) and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )

    @property
    def mail_enabled(self) -> bool:
        return self.smtp_url is not None

    @property
    def ai_enabled(self) -> bool:
        return self.openai_api_key is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: os.environ); empty variables count as unset."""
        env = os.environ if env is None else env
        names = {
            "CRAFTSTAGE_DATA_DIR": "data_dir",
            "DATABASE_URL": "database_url",
            "SLACK_BOT_TOKEN": "slack_bot_token",
            "SLACK_SIGNING_SECRET": "slack_signing_secret",
            "SLACK_APP_TOKEN": "slack_app_token",
            "SLACK_API_URL": "slack_api_url",
            "SLACK_CLIENT_ID": "slack_client_id",
            "SLACK_CLIENT_SECRET": "slack_client_secret",
            "SLACK_STATE_SECRET": "slack_state_secret",
            "CRAFTSTAGE_CHANNEL": "channel",
            "PUBLIC_BASE_URL": "public_base_url",
            "HOST": "host",
            "PORT": "port",
            "OPENAI_API_KEY": "openai_api_key",
            "OPENAI_BASE_URL": "openai_base_url",
            "OPENAI_MODEL": "openai_model",
            "OPENAI_TIMEOUT": "openai_timeout",
            "CRAFTSTAGE_TIMEZONE": "timezone",
            "CRAFTSTAGE_APPROVAL_RATE_LIMIT": "approval_rate_limit",
            "CRAFTSTAGE_APPROVAL_RATE_WINDOW": "approval_rate_window_s",
            "CRAFTSTAGE_APPROVAL_GUESS_LIMIT": "approval_guess_limit",
            "CRAFTSTAGE_TRUSTED_PROXIES": "trusted_proxies",
            "CRAFTSTAGE_WORKERS": "worker_threads",
            "CRAFTSTAGE_BACKGROUND": "background",
            "LOG_LEVEL": "log_level",
            "CRAFTSTAGE_SCHEDULER": "scheduler",
            "CRAFTSTAGE_SCHEDULER_INTERVAL": "scheduler_interval_s",
            "SMTP_URL": "smtp_url",
            "CRAFTSTAGE_MAIL_FROM": "mail_from",
        }
        values = {field: env[var] for var, field in names.items() if env.get(var, "").strip()}
        try:
            return cls.model_validate(values)
        except ValueError as exc:
            by_field = {field: var for var, field in names.items()}
            problems = []
            for err in getattr(exc, "errors", list)():
                if not err.get("loc"):  # a rule across variables: its message names them
                    problems.append(str(err["msg"]).removeprefix("Value error, "))
                    continue
                field = str(err["loc"][0])
                problems.append(f"{by_field.get(field, field)}: {err['msg']}")
            raise SettingsError("; ".join(problems) or str(exc)) from exc
