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


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_heads(database_url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    from bot.store.db import get_engine

    with get_engine(database_url).connect() as conn:
        return list(MigrationContext.configure(conn).get_current_heads())
