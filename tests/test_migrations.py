"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.slack.installation import slack_metadata
from bot.store.db import Database
from bot.store.migrate import current_heads, downgrade, upgrade
from bot.store.models import Base


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    engine = Database(db_url).engine
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # The OAuth tables belong to slack_sdk's stores (migration 0003); compare them against the
        # library's own definition alongside ours, so neither side can drift unnoticed.
        diff = compare_metadata(context, [Base.metadata, slack_metadata()])
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent_and_reaches_head(db_url: str) -> None:
    upgrade(db_url)  # already at head: must be a no-op, not an error
    assert current_heads(db_url) != []
    tables = set(inspect(Database(db_url).engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_downgrade_then_upgrade_round_trips(fresh_engine_url: str) -> None:
    upgrade(fresh_engine_url)
    downgrade(fresh_engine_url, "base")
    assert set(inspect(Database(fresh_engine_url).engine).get_table_names()) <= {"alembic_version"}
    upgrade(fresh_engine_url)
    assert "members" in inspect(Database(fresh_engine_url).engine).get_table_names()
