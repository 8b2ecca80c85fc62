"""Alembic, driven from code so `passiton db upgrade` works from an installed wheel."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "alembic"))
    # ConfigParser interpolates '%'; URL-encoded passwords contain it.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head", *, token_keys: str | None = None) -> None:
    """Migrate to `revision`; `token_keys` (PASSITON_TOKEN_KEYS) encrypts stored Slack tokens (0005)."""
    cfg = alembic_config(database_url)
    if token_keys:
        cfg.attributes["token_keys"] = token_keys
    command.upgrade(cfg, revision)


def downgrade(database_url: str, revision: str, *, token_keys: str | None = None) -> None:
    cfg = alembic_config(database_url)
    if token_keys:
        cfg.attributes["token_keys"] = token_keys
    command.downgrade(cfg, revision)


def current_heads(database_url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    from bot.store.db import get_engine

    with get_engine(database_url).connect() as conn:
        return list(MigrationContext.configure(conn).get_current_heads())
