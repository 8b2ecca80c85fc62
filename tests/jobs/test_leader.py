"""Leader election with real `passiton jobs` processes: one leads, the other takes over after kill -9."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import Database
from jobs.leader import LOCK_KEY, FileLeader, sqlite_lock_path
from tests.jobs.procs import Proc, wait_until

TAKEOVER_LIMIT = 30.0


def _pg_leader_pid(db: Database) -> int | None:
    """The pid of the `passiton jobs` process whose session holds the advisory lock in this database."""
    with db.engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1 "
                "AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": LOCK_KEY},
        ).scalar()
    return int(name.rsplit(":", 1)[-1]) if name else None


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(60)
def test_postgres_leader_dies_and_the_standby_takes_over(pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    env = {"DATABASE_URL": pg_url, "PASSITON_LOG_LEVEL": "INFO"}
    first = Proc(["jobs"], env, tmp_path, "first")
    second: Proc | None = None
    try:
        wait_until(lambda: _pg_leader_pid(db) == first.pid, 20, "the first process to lead", first)
        second = Proc(["jobs"], env, tmp_path, "second")
        wait_until(
            lambda: second.logged("jobs standing by"), 20, "the second process to stand by", first, second
        )
        assert _pg_leader_pid(db) == first.pid  # still exactly one leader

        first.kill9()
        took = wait_until(lambda: _pg_leader_pid(db) == second.pid, TAKEOVER_LIMIT, "takeover", first, second)
        assert took < TAKEOVER_LIMIT
        assert second.logged("jobs leader acquired")
        print(f"takeover after kill -9: {took:.1f} s")

        assert second.stop() == 0  # SIGTERM: clean exit, lock released
        assert _pg_leader_pid(db) is None
    finally:
        first.stop()
        if second is not None:
            second.stop()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_sqlite_file_lock_allows_one_leader(sqlite_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": sqlite_url, "PASSITON_LOG_LEVEL": "INFO"}
    first = Proc(["jobs"], env, tmp_path, "first")
    second: Proc | None = None
    try:
        wait_until(lambda: first.logged("jobs leader acquired"), 20, "the first process to lead", first)
        second = Proc(["jobs"], env, tmp_path, "second")
        wait_until(lambda: second.logged("jobs standing by"), 20, "the second to stand by", first, second)
        assert not second.logged("jobs leader acquired")
        first.kill9()
        took = wait_until(
            lambda: second.logged("jobs leader acquired"), TAKEOVER_LIMIT, "takeover", first, second
        )
        assert took < TAKEOVER_LIMIT
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_file_leader_in_process(tmp_path: Path) -> None:
    path = sqlite_lock_path(f"sqlite:///{tmp_path / 'x.db'}")
    assert path == tmp_path / "x.db.jobs.lock"
    a, b = FileLeader(path), FileLeader(path)
    assert a.heartbeat() is True
    assert b.heartbeat() is False  # flock is per open file description, so this holds in one process too
    a.release()
    assert b.heartbeat() is True
    b.release()
    assert FileLeader(sqlite_lock_path("sqlite:///:memory:")).heartbeat() is True


@pytest.mark.postgres
def test_postgres_leader_steps_down_when_its_session_is_killed(pg_url: str) -> None:
    from jobs.leader import PostgresLeader

    db = Database(pg_url)
    a, b = PostgresLeader(pg_url, application_name="t-a:1"), PostgresLeader(pg_url, application_name="t-b:2")
    try:
        assert a.heartbeat() is True
        assert b.heartbeat() is False
        # The server ends the leader's session (a restart or a network cut looks the same to it).
        with db.engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 't-a:1'"
                )
            )
            conn.commit()
        assert a.heartbeat() is False and a.is_leader is False
        assert b.heartbeat() is True
    finally:
        a.release()
        b.release()
