"""Slack tokens at rest: Fernet-encrypted columns in slack_sdk's OAuth tables.

A database dump or backup then holds no usable token. The keys come from PASSITON_TOKEN_KEYS, a
comma-separated list of Fernet keys: the first encrypts, every one decrypts, so a key is rotated by
putting a new one first, running `passiton tokens reencrypt`, then dropping the old one. A dedicated
setting rather than one derived from PASSITON_SECRET_KEY, so rotating the key that signs email links
does not strand every stored token, and the other way round.

Stored values carry a `fernet:` prefix. A value without it is a token written before encryption (or by
a replica still on the old code during a rolling upgrade): it is read as it is and encrypted by the
migration or the next `passiton tokens reencrypt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, String, Table, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"
# Slack's rotating tokens and refresh tokens run past 150 characters; Fernet adds 57 bytes plus
# padding and base64 a third, so library's VARCHAR(200) no longer holds them (PostgreSQL enforces it).
TOKEN_COLUMN_LENGTH = 1000
# The secret columns of slack_sdk's tables. An incoming webhook URL posts to a channel by itself.
TOKEN_COLUMNS: dict[str, tuple[str, ...]] = {
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
SETTING = "PASSITON_TOKEN_KEYS"


class TokenKeyError(Exception):
    """The token keys are missing, malformed, or none of them opens a stored token (one line)."""


def parse_token_keys(value: str | None) -> list[str]:
    """The keys in PASSITON_TOKEN_KEYS, checked; TokenKeyError naming the bad one."""
    keys = [k.strip() for k in (value or "").split(",") if k.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise TokenKeyError(
                f"key {number} is not a Fernet key (32 url-safe base64 bytes; `passiton tokens new-key`)"
            ) from None
    return keys


class TokenCipher:
    """Encrypts with the first key, decrypts with any (cryptography's MultiFernet)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise TokenKeyError(f"{SETTING} is empty")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_setting(cls, value: str | None) -> TokenCipher:
        return cls(parse_token_keys(value))

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            return stored  # written before encryption; see the module docstring
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise TokenKeyError(
                f"a stored Slack token does not decrypt with any key in {SETTING} "
                "(was the key that encrypted it removed before `passiton tokens reencrypt`?)"
            ) from None

    def reencrypt(self, stored: str) -> str:
        """The value encrypted with the first key (plain values are encrypted)."""
        return self.encrypt(self.decrypt(stored))


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


class EncryptedToken(TypeDecorator[str]):
    """A string column whose value is encrypted on the way in and decrypted on the way out."""

    impl = String(TOKEN_COLUMN_LENGTH)
    cache_ok = True  # the cipher is part of the cache key by identity

    def __init__(self, cipher: TokenCipher) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.decrypt(str(value))


def encrypt_columns(table: Table, cipher: TokenCipher) -> None:
    """Give `table`'s secret columns the encrypting type (before any statement uses them)."""
    for name in TOKEN_COLUMNS.get(table.name, ()):
        table.c[name].type = EncryptedToken(cipher)


def widen_columns(table: Table) -> None:
    """The stored shape of the secret columns (what migration 0005 makes them)."""
    for name in TOKEN_COLUMNS.get(table.name, ()):
        table.c[name].type = String(TOKEN_COLUMN_LENGTH)


def rewrite_tokens(conn: Connection, cipher: TokenCipher, *, decrypt: bool = False) -> int:
    """Re-encrypt every stored token with the cipher's first key (or, `decrypt`, write them back in
    plain text, for the migration's downgrade); returns how many values changed.

    Row by row in the caller's transaction: a key that fails on any row raises before the commit, so
    the tables are never left half rewritten.
    """
    from sqlalchemy import MetaData

    metadata = MetaData()
    changed = 0
    for table_name, columns in TOKEN_COLUMNS.items():
        table = Table(table_name, metadata, autoload_with=conn)
        for row in conn.execute(select(table.c.id, *(table.c[c] for c in columns))).mappings():
            values: dict[str, str] = {}
            for column in columns:
                stored = row[column]
                if stored is None:
                    continue
                new = cipher.decrypt(stored) if decrypt else cipher.reencrypt(stored)
                if new != stored:
                    values[column] = new
            if values:
                conn.execute(update(table).where(table.c.id == row["id"]).values(**values))
                changed += len(values)
    return changed


def check_keys_open_stored_tokens(conn: Connection, cipher: TokenCipher) -> None:
    """TokenKeyError unless the keys decrypt the newest stored bot token (a startup check, so a wrong
    key is one clear line at boot rather than a failed authorization on every event)."""
    from sqlalchemy import MetaData, desc

    table = Table("slack_bots", MetaData(), autoload_with=conn)
    stored = conn.execute(
        select(table.c.bot_token)
        .where(table.c.bot_token.like(PREFIX + "%"))
        .order_by(desc(table.c.installed_at))
        .limit(1)
    ).scalar()
    if stored is not None:
        cipher.decrypt(stored)
