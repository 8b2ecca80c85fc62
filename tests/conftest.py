"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.store.db import Database, make_engine
from bot.store.migrate import upgrade
from bot.store.models import Base

pytest_plugins = ["tests.support.fixtures"]

PG_ADMIN_URL = os.environ.get("PASSITON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


def _require_pg() -> None:
    # In CI PostgreSQL is not optional: a missing server is a failure, not a skip.
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped afterwards."""
    _require_pg()
    name = f"passiton_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # pre-ping: tests/hardening restarts the server mid-session; the DROP at the end must reconnect.
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    from bot.store.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "passiton.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


def _truncate(database: Database) -> None:
    # slack_sdk's installation tables too: a test that installs a workspace must not leak it into the next.
    from bot.slack.installation import slack_metadata

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    tables += [t.name for t in slack_metadata().sorted_tables]
    with database.engine.begin() as conn:
        if database.is_postgres:
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database URL, once per backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    database = Database(url)
    _truncate(database)
    yield url
    _truncate(database)


@pytest.fixture
def db(db_url: str) -> Database:
    """A `Database` on each backend in turn."""
    return Database(db_url)


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """A `Database` on SQLite only, for tests whose subject is not the engine."""
    database = Database(sqlite_url)
    _truncate(database)
    yield database
    _truncate(database)


@pytest.fixture
def fresh_engine_url(tmp_path: Path) -> str:
    """An empty (unmigrated) SQLite URL."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


__all__ = ["make_engine"]
