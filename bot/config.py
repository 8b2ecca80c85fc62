"""Every setting passiton reads, from the environment or a `.env` file.

Attribute names are the environment variable names in lower case, so a setting can be found by
grepping for its name; `.env.example` documents each one and a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Storage
    database_url: str = "sqlite:///./passiton.db"

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    # Fernet keys for the Slack tokens OAuth stores (bot.store.token_crypto): first encrypts, all decrypt
    passiton_token_keys: SecretStr | None = Field(default=None, validate_default=True)
    slack_api_url: str = SLACK_DEFAULT_API_URL

    # Matching and the optional LLM layer
    passiton_embedder: Literal["local", "openai"] = "local"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_embedding_model: str = "text-embedding-3-small"
    openai_timeout_seconds: float = Field(default=8.0, gt=0, le=120)
    passiton_fetch_pages: bool = False

    # Email
    smtp_url: str | None = None
    email_from: str = "passiton <passiton@localhost>"
    passiton_inbound_address: str | None = None
    passiton_trusted_mta: str | None = None  # authserv-id(s) whose Authentication-Results count
    passiton_max_email_bytes: int = Field(default=2_000_000, ge=10_000)

    # Web
    public_url: str = "http://localhost:3000"
    passiton_secret_key: SecretStr | None = None

    # Policy defaults (each member may tighten them for themselves)
    passiton_share_per_day: int = Field(default=1, ge=0, le=20)
    passiton_nudges_per_week: int = Field(default=5, ge=0, le=100)
    passiton_share_per_week: int = Field(default=3, ge=0, le=100)
    passiton_help_per_week: int = Field(default=3, ge=0, le=100)
    passiton_helpers_per_question: int = Field(default=3, ge=1, le=10)
    # How long a question is left to its channel before any help DM goes out.
    passiton_help_grace_minutes: int = Field(default=45, ge=0, le=24 * 60)
    # Channels this small are read by all their members: they count as having seen what is posted there.
    passiton_small_channel_members: int = Field(default=12, ge=0, le=10_000)
    passiton_morning_hour: int = Field(default=9, ge=0, le=23)
    passiton_help_until_hour: int = Field(default=18, ge=9, le=24)
    passiton_welcome_dm: bool = True
    passiton_channel_intro: bool = True
    passiton_retention_days: int = Field(default=90, ge=1)
    passiton_event_workers: int = Field(default=2, ge=1, le=32)
    passiton_event_lease_seconds: int = Field(default=300, ge=2, le=3600)
    passiton_event_max_attempts: int = Field(default=5, ge=1, le=50)
    passiton_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Delivery (outbox senders) and jobs
    passiton_outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    passiton_outbox_lease_seconds: int = Field(default=120, ge=5, le=3600)
    passiton_outbox_keep_days: int = Field(default=14, ge=1)
    passiton_slack_rate_scale: float = Field(default=1.0, gt=0, le=100)
    passiton_leader_lease_seconds: float = Field(default=30.0, ge=2, le=600)
    passiton_leader_heartbeat_seconds: float = Field(default=5.0, gt=0, le=120)
    passiton_uninstall_grace_days: int = Field(default=30, ge=0, le=3650)

    # History backfill (bot/backfill): on install and when invited, read this many days of a channel's
    # history; 0 turns it off. conversations.history/replies calls per minute per workspace.
    passiton_backfill_days: int = Field(default=90, ge=0, le=3650)
    passiton_backfill_per_minute: float = Field(default=50.0, gt=0, le=10_000)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; the bare scheme would make SQLAlchemy look for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("passiton_token_keys")
    @classmethod
    def _check_token_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        from bot.store.token_crypto import TokenKeyError, parse_token_keys

        raw = value.get_secret_value() if value is not None else ""
        try:
            keys = parse_token_keys(raw)
        except TokenKeyError as exc:
            raise ValueError(str(exc)) from None
        oauth = info.data.get("slack_client_id") and info.data.get("slack_client_secret")
        if oauth and not keys:
            raise ValueError(
                "required with SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: OAuth stores each workspace's bot "
                "token encrypted with it (`passiton tokens new-key` makes one)"
            )
        return value if keys else None

    @field_validator("slack_api_url", "public_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value or None

    @model_validator(mode="after")
    def _check_leader_timing(self) -> Settings:
        # A heartbeat slower than a third of the lease lets a healthy leader's session be ended as idle.
        if self.passiton_leader_heartbeat_seconds * 3 > self.passiton_leader_lease_seconds:
            raise ValueError(
                "PASSITON_LEADER_HEARTBEAT_SECONDS must be at most a third of PASSITON_LEADER_LEASE_SECONDS"
            )
        return self

    def secret(self, name: str) -> str | None:
        """The plain value of a secret setting, or None when unset."""
        value = getattr(self, name)
        if value is None:
            return None
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's multi-line report into one line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"setting {name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings for a command, or print the one line naming the bad setting and exit 2.

    Kept beside the settings (not in `bot.cli`) so every feature's commands can use it without importing
    the CLI that imports them."""
    import typer  # the commands' own dependency; the settings themselves do not need it

    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        typer.echo(f"passiton: {exc}", err=True)
        raise typer.Exit(2) from None
