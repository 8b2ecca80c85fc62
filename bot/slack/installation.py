"""slack_sdk's SQLAlchemy installation and OAuth state stores on passiton's own engine.

Their tables are created by migration 0003, never by `create_tables()`. Saving an installation also
(re)activates the passiton workspace row, so a reinstall after app_uninstalled brings it back.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData

from bot.store.db import Database
from bot.store.models import utcnow
from bot.store.queries.backfill import DISCOVER, enqueue_backfill

STATE_EXPIRATION_SECONDS = 600


def slack_metadata() -> MetaData:
    """The library's own definition of the three tables (for the migration drift check)."""
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(
        metadata, SQLAlchemyInstallationStore.default_installations_table_name
    )
    SQLAlchemyInstallationStore.build_bots_table(
        metadata, SQLAlchemyInstallationStore.default_bots_table_name
    )
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, SQLAlchemyOAuthStateStore.default_table_name)
    return metadata


class PassitonInstallationStore(SQLAlchemyInstallationStore):  # type: ignore[misc, unused-ignore]
    def __init__(self, client_id: str, db: Database, backfill_days: int = 0) -> None:
        super().__init__(client_id=client_id, engine=db.engine)
        self._db = db
        self._backfill_days = backfill_days

    def save(self, installation: Any) -> None:
        super().save(installation)
        from bot.store.queries.workspaces import ensure_workspace, reactivate

        team_id = installation.team_id or installation.enterprise_id
        if not team_id:
            return
        with self._db.session() as session:
            workspace = ensure_workspace(
                session, team_id, name=installation.team_name or None, bot_user_id=installation.bot_user_id
            )
            if installation.enterprise_id and not workspace.enterprise_id:
                workspace.enterprise_id = installation.enterprise_id
            reactivate(workspace)
            if installation.bot_token:  # installed (again): read the recent history of its channels
                enqueue_backfill(session, workspace, DISCOVER, utcnow(), self._backfill_days, "install")


def installation_store(client_id: str, db: Database, backfill_days: int = 0) -> PassitonInstallationStore:
    """`backfill_days`: history to read after an install (0: none; token lookups pass nothing)."""
    return PassitonInstallationStore(client_id, db, backfill_days)


def state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)
