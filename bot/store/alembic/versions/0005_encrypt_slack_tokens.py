"""encrypt the Slack tokens stored by the OAuth flow

Widens the secret columns of slack_sdk's tables (a Fernet token of a Slack token no longer fits the
library's VARCHAR(200)) and encrypts the values already there with the first key of
PASSITON_TOKEN_KEYS (bot.store.token_crypto). With no stored tokens no key is needed; with tokens and
no key the upgrade stops with one line saying so, before anything is changed. The downgrade writes
them back in plain text (it needs the key too).

Revision ID: 0005_encrypt_slack_tokens
Revises: 0004_per_item_indexes
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

from bot.store.token_crypto import (
    SETTING,
    TOKEN_COLUMN_LENGTH,
    TOKEN_COLUMNS,
    TokenCipher,
    TokenKeyError,
    rewrite_tokens,
)

revision = "0005_encrypt_slack_tokens"
down_revision = "0004_per_item_indexes"
branch_labels = None
depends_on = None

LIBRARY_LENGTH = 200


def _cipher_if_needed(conn: sa.Connection) -> TokenCipher | None:
    stored = 0
    for table, columns in TOKEN_COLUMNS.items():
        present = " or ".join(f"{c} is not null" for c in columns)
        stored += conn.execute(sa.text(f"select count(*) from {table} where {present}")).scalar() or 0
    if not stored:
        return None
    keys = _configured_keys()
    if not keys:
        raise TokenKeyError(
            f"{SETTING} is required to encrypt the {stored} Slack token(s) already stored "
            "(`passiton tokens new-key` makes one)"
        )
    return TokenCipher.from_setting(keys)


def _configured_keys() -> str | None:
    config = op.get_context().config
    keys = config.attributes.get("token_keys") if config is not None else None
    if keys:
        return str(keys)
    # `passiton db upgrade` passes them; a bare alembic run reads the environment (the store does not
    # import the settings: bot.config sits above bot.store).
    return os.environ.get(SETTING) or None


def _resize(length: int) -> None:
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(length), existing_nullable=True)


def upgrade() -> None:
    conn = op.get_bind()
    cipher = _cipher_if_needed(conn)  # before any change: a missing key leaves the tables as they were
    _resize(TOKEN_COLUMN_LENGTH)
    if cipher is not None:
        rewrite_tokens(conn, cipher)


def downgrade() -> None:
    conn = op.get_bind()
    cipher = _cipher_if_needed(conn)
    if cipher is not None:
        rewrite_tokens(conn, cipher, decrypt=True)
    _resize(LIBRARY_LENGTH)
