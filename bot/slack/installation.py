"""slack_sdk's SQLAlchemy installation and OAuth state stores on passiton's own engine.

Their tables are created by migration 0003, never by `create_tables()`. Saving an installation also
(re)activates the passiton workspace row, so a reinstall after app_uninstalled brings it back.

The tokens in them are encrypted at rest (migration 0005, bot.store.token_crypto): the store's own
table objects get an encrypting column type, so every read and write the library makes goes through
it without overriding any of its queries.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData

from bot.config import Settings
from bot.store.db import Database
from bot.store.models import utcnow
from bot.store.queries.backfill import DISCOVER, enqueue_backfill
from bot.store.token_crypto import TokenCipher, encrypt_columns, widen_columns

STATE_EXPIRATION_SECONDS = 600


def slack_metadata() -> MetaData:
    """The library's own definition of the three tables, with the token columns as migration 0005 left
    them (for the migration drift check)."""
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(
        metadata, SQLAlchemyInstallationStore.default_installations_table_name
    )
    SQLAlchemyInstallationStore.build_bots_table(
        metadata, SQLAlchemyInstallationStore.default_bots_table_name
    )
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, SQLAlchemyOAuthStateStore.default_table_name)
    for table in metadata.tables.values():
        widen_columns(table)  # migration 0005: the encrypted token columns are wider than the library's
    return metadata


class PassitonInstallationStore(SQLAlchemyInstallationStore):  # type: ignore[misc, unused-ignore]
    def __init__(self, client_id: str, db: Database, cipher: TokenCipher, backfill_days: int = 0) -> None:
        """`backfill_days`: the history an install asks to read (PASSITON_BACKFILL_DAYS; 0: none)."""
        super().__init__(client_id=client_id, engine=db.engine)
        self._db = db
        self._backfill_days = backfill_days
        encrypt_columns(self.bots, cipher)
        encrypt_columns(self.installations, cipher)

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


def installation_store(settings: Settings, db: Database) -> PassitonInstallationStore:
    """The store for OAuth mode (SLACK_CLIENT_ID set); settings validation guarantees the keys."""
    assert settings.slack_client_id is not None
    return PassitonInstallationStore(
        settings.slack_client_id, db, token_cipher(settings), settings.passiton_backfill_days
    )


def token_cipher(settings: Settings) -> TokenCipher:
    return _cipher(settings.secret("passiton_token_keys") or "")


@lru_cache(maxsize=4)
def _cipher(keys: str) -> TokenCipher:
    # One cipher per key list: the column type (and so SQLAlchemy's statement cache key) stays the same
    # from one token lookup to the next.
    return TokenCipher.from_setting(keys)


def check_token_keys(settings: Settings, db: Database) -> None:
    """SettingsError (one line) when PASSITON_TOKEN_KEYS cannot open the stored tokens: said at startup
    rather than as a failed authorization on every event. A database that is down or not migrated yet
    is left to the usual checks."""
    from sqlalchemy.exc import NoSuchTableError, OperationalError

    from bot.config import SettingsError
    from bot.store.token_crypto import TokenKeyError, check_keys_open_stored_tokens

    try:
        with db.engine.connect() as conn:
            check_keys_open_stored_tokens(conn, token_cipher(settings))
    except TokenKeyError as exc:
        raise SettingsError(f"setting PASSITON_TOKEN_KEYS: {exc}") from None
    except (NoSuchTableError, OperationalError):
        return


def state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)
