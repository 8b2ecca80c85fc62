"""Slack tokens stored by OAuth are encrypted at rest, on SQLite and PostgreSQL.

Through slack_sdk's own store API (what Bolt calls), the raw tables, the real migration from a database
written by the old code, and the `passiton` CLI as an operator runs it for rotation.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import create_engine, text

from bot.config import Settings, SettingsError, load_settings
from bot.slack.installation import check_token_keys, installation_store
from bot.store.db import Database, dispose_engines
from bot.store.migrate import current_heads, downgrade, upgrade
from bot.store.token_crypto import TokenKeyError
from tests.conftest import PG_ADMIN_URL, _require_pg

ROOT = Path(__file__).resolve().parents[2]
KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))
BOT_TOKEN = "xoxb-1234-5678-" + "b" * 40
# Slack's rotating tokens are longer than the library's VARCHAR(200) holds once encrypted.
LONG_TOKEN = "xoxe.xoxb-1-" + "L" * 180
USER_TOKEN = "xoxp-1234-" + "u" * 40
WEBHOOK = "https://hooks.slack.com/services/T0/B0/" + "w" * 24


def _settings(url: str, keys: str | None) -> Settings:
    return load_settings(
        database_url=url, slack_client_id="111.222", slack_client_secret="s3cret", passiton_token_keys=keys
    )


def _installation(team_id: str = "T0ENC0001", bot_token: str = BOT_TOKEN) -> Installation:
    return Installation(
        app_id="A0ENC", team_id=team_id, team_name="Enc", bot_token=bot_token, bot_id="B0ENC",
        bot_user_id="U0BOT", bot_scopes=["chat:write"], bot_refresh_token="xoxe-1-" + "r" * 60,
        user_id="U0ADMIN", user_token=USER_TOKEN, user_scopes=["identify"], incoming_webhook_url=WEBHOOK,
        installed_at=dt.datetime.now(dt.UTC).timestamp(),
    )  # fmt: skip


def _raw(url: str, table: str, column: str) -> list[str]:
    with Database(url).engine.connect() as conn:
        return [r[0] for r in conn.execute(text(f"select {column} from {table} order by id"))]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated) per test, on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tokens.db'}"
        return
    _require_pg()
    name = f"passiton_tok_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The migration falls back to the environment / .env; the tests say which keys exist.
    monkeypatch.delenv("PASSITON_TOKEN_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)


def test_tokens_are_encrypted_at_rest_and_read_back_through_the_store(db_url: str) -> None:
    store = installation_store(_settings(db_url, KEY_A), Database(db_url))
    store.save(_installation())
    store.save(_installation("T0ENC0002", bot_token=LONG_TOKEN))  # fits the widened column on PostgreSQL

    for table, column in [("slack_bots", "bot_token"), ("slack_bots", "bot_refresh_token"),
                          ("slack_installations", "bot_token"), ("slack_installations", "user_token"),
                          ("slack_installations", "incoming_webhook_url")]:  # fmt: skip
        for stored in _raw(db_url, table, column):
            assert stored.startswith("fernet:"), (table, column, stored)
            assert "xox" not in stored and "hooks.slack.com" not in stored

    bot = store.find_bot(enterprise_id=None, team_id="T0ENC0001")
    assert bot is not None and bot.bot_token == BOT_TOKEN
    assert bot.bot_refresh_token == "xoxe-1-" + "r" * 60
    long_bot = store.find_bot(enterprise_id=None, team_id="T0ENC0002")
    assert long_bot is not None and long_bot.bot_token == LONG_TOKEN
    found = store.find_installation(enterprise_id=None, team_id="T0ENC0001", user_id="U0ADMIN")
    assert found is not None
    assert (found.bot_token, found.user_token, found.incoming_webhook_url) == (BOT_TOKEN, USER_TOKEN, WEBHOOK)


def test_a_key_that_did_not_encrypt_the_tokens_is_a_clear_error(db_url: str) -> None:
    db = Database(db_url)
    installation_store(_settings(db_url, KEY_A), db).save(_installation())
    wrong = _settings(db_url, KEY_C)
    with pytest.raises(TokenKeyError, match="does not decrypt with any key in PASSITON_TOKEN_KEYS"):
        installation_store(wrong, db).find_bot(enterprise_id=None, team_id="T0ENC0001")
    with pytest.raises(SettingsError) as info:  # what create_app runs at startup in OAuth mode
        check_token_keys(wrong, db)
    assert str(info.value).startswith("setting PASSITON_TOKEN_KEYS:") and "\n" not in str(info.value)
    check_token_keys(_settings(db_url, KEY_A), db)  # the right key passes


def test_oauth_without_keys_or_with_a_bad_key_is_a_one_line_settings_error() -> None:
    for keys, words in [(None, "required with SLACK_CLIENT_ID"), ("not-a-key", "key 1 is not a Fernet key"),
                        (f"{KEY_A},short", "key 2 is not a Fernet key")]:  # fmt: skip
        with pytest.raises(SettingsError) as info:
            _settings("sqlite://", keys)
        assert "PASSITON_TOKEN_KEYS" in str(info.value) and words in str(info.value)
        assert "\n" not in str(info.value)
    # Single-workspace mode (no OAuth) stores no tokens and needs no key.
    assert load_settings(database_url="sqlite://", slack_client_id=None).passiton_token_keys is None


def test_rows_from_before_the_migration_are_encrypted_by_it_and_restored_by_downgrade(fresh_url: str) -> None:
    upgrade(fresh_url, "0004_per_item_indexes")
    # Written the way the previous release did: slack_sdk's store, tokens in plain text.
    SQLAlchemyInstallationStore(client_id="111.222", engine=Database(fresh_url).engine).save(_installation())
    assert _raw(fresh_url, "slack_bots", "bot_token") == [BOT_TOKEN]

    with pytest.raises(TokenKeyError, match="required to encrypt the 2 Slack token"):
        upgrade(fresh_url)  # no key: refused before anything changes
    assert current_heads(fresh_url) == ["0004_per_item_indexes"]
    assert _raw(fresh_url, "slack_bots", "bot_token") == [BOT_TOKEN]

    # To the encryption's own revision: later migrations (0006, 0007...) are not this test's subject.
    upgrade(fresh_url, "0005_encrypt_slack_tokens", token_keys=KEY_A)
    assert current_heads(fresh_url) == ["0005_encrypt_slack_tokens"]
    assert all(v.startswith("fernet:") for v in _raw(fresh_url, "slack_installations", "user_token"))
    store = installation_store(_settings(fresh_url, KEY_A), Database(fresh_url))
    found = store.find_installation(enterprise_id=None, team_id="T0ENC0001")
    assert found is not None and (found.bot_token, found.user_token) == (BOT_TOKEN, USER_TOKEN)

    downgrade(fresh_url, "0004_per_item_indexes", token_keys=KEY_A)
    assert _raw(fresh_url, "slack_bots", "bot_token") == [BOT_TOKEN]
    assert _raw(fresh_url, "slack_installations", "incoming_webhook_url") == [WEBHOOK]


def test_a_plain_row_written_during_a_rolling_upgrade_is_read_and_then_encrypted(db_url: str) -> None:
    """A replica still on the old code may write a plain token after the migration ran."""
    SQLAlchemyInstallationStore(client_id="111.222", engine=Database(db_url).engine).save(_installation())
    store = installation_store(_settings(db_url, KEY_A), Database(db_url))
    bot = store.find_bot(enterprise_id=None, team_id="T0ENC0001")
    assert bot is not None and bot.bot_token == BOT_TOKEN
    out = _cli(["tokens", "reencrypt"], db_url, KEY_A)
    assert out.returncode == 0, out.stderr
    assert all(v.startswith("fernet:") for v in _raw(db_url, "slack_bots", "bot_token"))


def _cli(args: list[str], url: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PASSITON_TOKEN_KEYS": keys,
           "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "s3cret", "PYTHONPATH": str(ROOT)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_rotation_new_key_first_reencrypt_then_drop_the_old_one(db_url: str) -> None:
    db = Database(db_url)
    installation_store(_settings(db_url, KEY_A), db).save(_installation())
    before = _raw(db_url, "slack_bots", "bot_token")

    # Step 1: the new key first, the old one still listed: everything still reads.
    rotated = f"{KEY_B},{KEY_A}"
    bot = installation_store(_settings(db_url, rotated), db).find_bot(enterprise_id=None, team_id="T0ENC0001")
    assert bot is not None and bot.bot_token == BOT_TOKEN

    # A key dropped too early: the CLI refuses with one line and leaves the rows as they were.
    early = _cli(["tokens", "reencrypt"], db_url, KEY_B)
    assert early.returncode == 2 and early.stderr.count("\n") == 1, early.stderr
    assert "does not decrypt" in early.stderr
    assert _raw(db_url, "slack_bots", "bot_token") == before

    # Step 2: re-encrypt with the new key; step 3: drop the old one.
    done = _cli(["tokens", "reencrypt"], db_url, rotated)
    assert done.returncode == 0 and "encrypted with the first key" in done.stdout, done.stderr
    assert _raw(db_url, "slack_bots", "bot_token") != before
    only_new = installation_store(_settings(db_url, KEY_B), db)
    found = only_new.find_installation(enterprise_id=None, team_id="T0ENC0001")
    assert found is not None and (found.bot_token, found.user_token) == (BOT_TOKEN, USER_TOKEN)
    with pytest.raises(TokenKeyError):  # the old key alone no longer opens them
        installation_store(_settings(db_url, KEY_A), db).find_bot(enterprise_id=None, team_id="T0ENC0001")


def test_new_key_prints_a_usable_key(tmp_path: Path) -> None:
    out = _cli(["tokens", "new-key"], f"sqlite:///{tmp_path / 'x.db'}", KEY_A)
    assert out.returncode == 0, out.stderr
    Fernet(out.stdout.strip())  # raises unless it is a Fernet key
