"""Leader election with real `passiton jobs` processes: one leads, the other takes over after kill -9."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import Database
from jobs.leader import LOCK_KEY, FileLeader, sqlite_lock_path
from tests.jobs.leader_probe import PROBE_TABLE
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


LEASE = 6.0  # PASSITON_LEADER_LEASE_SECONDS for the frozen-leader test (default 30)
HEARTBEAT = 1.0


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(90)
def test_frozen_leader_is_replaced_and_never_leads_alongside(pg_url: str, tmp_path: Path) -> None:
    """SIGSTOP the leader in the middle of a job's transaction: PostgreSQL ends its idle lock session
    after the lease, a standby takes over; after SIGCONT the old leader finds out, steps down, and its
    frozen transaction never commits, so no two processes' job runs overlap."""
    import signal

    db = Database(pg_url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS leader_probe"))
        conn.execute(text(PROBE_TABLE))
    env = {
        "DATABASE_URL": pg_url,
        "PASSITON_LOG_LEVEL": "INFO",
        "PASSITON_LEADER_LEASE_SECONDS": str(LEASE),
        "PASSITON_LEADER_HEARTBEAT_SECONDS": str(HEARTBEAT),
    }
    first = Proc([str(tmp_path)], env, tmp_path, "first", module="tests.jobs.leader_probe")
    second: Proc | None = None
    try:
        wait_until(lambda: _pg_leader_pid(db) == first.pid, 20, "the first process to lead", first)
        second = Proc([str(tmp_path)], env, tmp_path, "second", module="tests.jobs.leader_probe")
        wait_until(lambda: second.logged("jobs standing by"), 20, "the second to stand by", first, second)
        wait_until(lambda: _probe_rows(db, first.pid) >= 2, 20, "the leader's job to run", first, second)

        # Freeze it while its job sits inside a transaction (the fence's hard case).
        inside = tmp_path / f"{first.pid}.inside"
        wait_until(inside.exists, 10, "the leader's job inside a transaction", first)
        first.signal(signal.SIGSTOP)
        # Leading means holding the lock and having passed the fence (the frozen job's transaction ended).
        took = wait_until(
            lambda: second.logged("jobs leader acquired"), LEASE + 10 * HEARTBEAT, "takeover", first, second
        )
        print(f"takeover from a frozen leader: {took:.1f} s (lease {LEASE} s, heartbeat {HEARTBEAT} s)")
        assert _pg_leader_pid(db) == second.pid
        wait_until(lambda: _probe_rows(db, second.pid) >= 2, 20, "the new leader's job to run", second)

        first.signal(signal.SIGCONT)
        wait_until(lambda: first.logged("jobs leader lost"), 10, "the old leader to step down", first)
        wait_until(lambda: _probe_rows(db, second.pid) >= 4, 20, "the new leader to go on", first, second)
        assert _pg_leader_pid(db) == second.pid
        assert first.popen.poll() is None  # it stands by again, it did not crash
    finally:
        first.signal(signal.SIGCONT)
        first.stop()
        if second is not None:
            second.stop()

    with db.engine.connect() as conn:
        runs = conn.execute(text("SELECT pid, started, ended FROM leader_probe ORDER BY started")).all()
        conn.execute(text("DROP TABLE leader_probe"))
        conn.commit()
    overlaps = [(a, b) for a, b in itertools.pairwise(runs) if a.pid != b.pid and b.started < a.ended]
    assert not overlaps, f"two leaders ran jobs at once: {overlaps}"
    takeover = min(r.started for r in runs if r.pid == second.pid)
    assert all(r.ended < takeover for r in runs if r.pid == first.pid)  # the frozen run did not commit
    assert {r.pid for r in runs} == {first.pid, second.pid}


def _probe_rows(db: Database, pid: int) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM leader_probe WHERE pid = :p"), {"p": pid}).scalar_one()
        )
