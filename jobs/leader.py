"""Who runs the scheduled jobs: exactly one process per database.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated connection. Postgres drops the
lock the moment that session ends. A leader killed outright closes its socket, so a standby's next try
wins. A leader that is frozen (SIGSTOP, a VM paused, a long GC or swap storm) or whose node dropped off
the network does not close anything, and TCP keepalives do not help with the frozen one: its kernel
still answers them. So the lock's session is given a lease that PostgreSQL itself enforces:

- `idle_session_timeout` (and `idle_in_transaction_session_timeout`) = PASSITON_LEADER_LEASE_SECONDS.
  A healthy leader queries every heartbeat (a few seconds), so its session is never idle that long; a
  frozen or unreachable one is, and the server ends the session, releasing the lock. A standby wins
  within the lease plus one heartbeat (30 s + 5 s by default).
- Server-side TCP keepalives cover a node lost while a statement is in flight (the session is then not
  idle); libpq's client keepalives let the leader notice a lost server.

Why the server's clock and not a lease row with heartbeats: a lease row needs every standby to judge
expiry against a time written by another machine, and a takeover to race on it; here the only judge
is the server, and the advisory lock keeps mutual exclusion exact (one session holds it, full stop).

A leader that resumes after being frozen must not act on its stale belief. Two guards:
- A local lease: `is_leader` is true only until `lease * 0.8` after the start of the last heartbeat
  that confirmed the lock (monotonic clock, which keeps counting while the process is stopped), so a
  resumed leader starts no job before its next heartbeat, which finds the session gone and steps down.
- A fence on the jobs' own transactions (`fence`), for a job that was mid-run when the leader froze:
  each transaction first takes `pg_advisory_xact_lock_shared(FENCE_KEY)`, then checks that this
  process's lock session still holds the lock, else aborts. A new leader, after winning the lock,
  takes FENCE_KEY exclusively once before it leads, which waits out every transaction that passed its
  check under the old leader (a frozen one is ended by its own `idle_in_transaction_session_timeout`).
  So no transaction of an old leader commits after a new leader has started a job.

SQLite: an exclusive `fcntl.flock` on a file next to the database. The kernel releases it when the
process dies (a frozen process keeps it: SQLite means one machine, normally one process). An
in-memory database has one process by definition, which always leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.delivery.metrics import IS_LEADER
from bot.store.db import Database, LostLeadership

log = logging.getLogger(__name__)

# pg_advisory_lock key for "the passiton scheduler" (ASCII "pass"); below 2**31 so it shows up in
# pg_locks as classid 0, objid LOCK_KEY.
LOCK_KEY = 0x70617373
# The fence between an old leader's job transactions and a new leader's first job (ASCII "fenc").
FENCE_KEY = 0x66656E63
# Fraction of the lease a leader trusts its last confirmation for: the server's idle clock starts when
# the heartbeat's answer is sent, later than our start of it, so this leaves a margin for clock rates.
LOCAL_LEASE_FRACTION = 0.8


class Leader(Protocol):
    @property
    def is_leader(self) -> bool: ...

    def heartbeat(self) -> bool:
        """Try to become leader, or check that we still are; returns whether we lead now."""
        ...

    def fence(self, session: Session) -> None:
        """Run first in each transaction of a leader job: raise LostLeadership if we no longer lead."""
        ...

    def release(self) -> None: ...


class _Base:
    def __init__(self) -> None:
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    def fence(self, session: Session) -> None:
        if not self.is_leader:
            raise LostLeadership("this process does not lead")

    def _set(self, leading: bool, how: str) -> None:
        if leading != self._leading:
            log.info(
                "jobs leader acquired" if leading else "jobs leader lost",
                extra={"how": how, "pid": os.getpid()},
            )
        elif not leading and how == "standby" and not getattr(self, "_said_standby", False):
            log.info("jobs standing by", extra={"pid": os.getpid()})
            self._said_standby = True
        self._leading = leading
        IS_LEADER.set(1 if leading else 0)


def lock_session_options(lease_seconds: float) -> str:
    """Server settings for the lock's session (libpq `options`): the lease PostgreSQL enforces."""
    lease_ms = int(lease_seconds * 1000)
    keepalive_idle = max(1, int(lease_seconds / 3))
    keepalive_interval = max(1, int(lease_seconds / 9))
    settings = {
        "statement_timeout": min(5000, lease_ms // 2),
        "idle_session_timeout": lease_ms,
        "idle_in_transaction_session_timeout": lease_ms,
        # A node lost mid-statement: the server probes after a third of the lease and gives up after 3
        # misses. (Not tcp_user_timeout: servers on systems without it refuse any non-zero value.)
        "tcp_keepalives_idle": keepalive_idle,
        "tcp_keepalives_interval": keepalive_interval,
        "tcp_keepalives_count": 3,
    }
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


class PostgresLeader(_Base):
    def __init__(
        self,
        url: str,
        *,
        key: int = LOCK_KEY,
        application_name: str | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        super().__init__()
        self.key = key
        self.lease_seconds = lease_seconds
        self.application_name = application_name or f"passiton-jobs:{socket.gethostname()[:30]}:{os.getpid()}"
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",  # no transaction left open on the lock's session
            connect_args={
                "application_name": self.application_name,
                "connect_timeout": 5,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "options": lock_session_options(lease_seconds),
            },
        )
        self._conn: Connection | None = None
        self._holds_lock = False  # the advisory lock is ours, though the fence may not be passed yet
        self._backend: tuple[int, object] | None = None  # (pid, backend_start) of the lock's session
        self._valid_until = 0.0
        self._mutex = threading.Lock()

    @property
    def is_leader(self) -> bool:
        return self._leading and time.monotonic() < self._valid_until

    def heartbeat(self) -> bool:
        with self._mutex:
            return self._heartbeat()

    def _heartbeat(self) -> bool:
        started = time.monotonic()
        try:
            if self._holds_lock and self._conn is not None:
                held = self._conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                        "AND classid = 0 AND objid = :key AND objsubid = 1 AND granted"
                    ),
                    {"key": self.key},
                ).scalar_one()
                if not held:
                    raise RuntimeError("advisory lock no longer held by this session")
            else:
                if self._conn is None:
                    self._conn = self._engine.connect()
                got = bool(
                    self._conn.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                    ).scalar_one()
                )
                if not got:
                    self._set(False, "standby")
                    return False
                self._holds_lock = True
                row = self._conn.execute(
                    text("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                ).one()
                self._backend = (int(row[0]), row[1])
            if not self._leading and not self._pass_fence():
                return False  # lock held, an old leader's transaction still running: lead at a later beat
            self._valid_until = started + self.lease_seconds * LOCAL_LEASE_FRACTION
            self._set(True, "advisory_lock")
            return True
        except Exception as exc:
            log.warning("jobs leader connection failed; stepping down", extra={"error": str(exc)[:200]})
            self._drop()
            self._set(False, "connection_lost")
            return False

    def _pass_fence(self) -> bool:
        """Wait out the transactions an old leader's jobs began while it led (see the module docstring)."""
        assert self._conn is not None
        free = bool(
            self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": FENCE_KEY}).scalar_one()
        )
        if free:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": FENCE_KEY})
        else:
            log.info(
                "jobs leader lock won; waiting for the old leader's transactions", extra={"pid": os.getpid()}
            )
        return free

    def fence(self, session: Session) -> None:
        backend = self._backend
        if not self.is_leader or backend is None:
            raise LostLeadership("this process does not lead")
        lease_ms = int(self.lease_seconds * 1000)
        # A frozen job must not hold the fence, and so the next leader, for longer than the lease.
        session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {lease_ms}"))
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": FENCE_KEY})
        held = session.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1 "
                "AND l.granted AND l.pid = :pid AND a.backend_start = :start "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": self.key, "pid": backend[0], "start": backend[1]},
        ).scalar_one()
        if not held:
            raise LostLeadership("the leader lock's session is gone")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._holds_lock = False
        self._backend = None
        self._valid_until = 0.0
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already broken; closing the socket is all that matters
                pass

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None and self._holds_lock:
                with contextlib.suppress(Exception):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop()
            self._set(False, "released")
            self._engine.dispose()


class FileLeader(_Base):
    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self._fh: IO[bytes] | None = None

    def heartbeat(self) -> bool:
        if self._leading:
            return True
        if self.path is None:
            self._set(True, "in_memory")
            return True
        fh = self._fh or open(self.path, "a+b")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh = fh
            self._set(False, "standby")
            return False
        self._fh = fh
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n".encode())
        fh.flush()
        self._set(True, "file_lock")
        return True

    def release(self) -> None:
        if self._fh is not None:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None
        self._set(False, "released")


def sqlite_lock_path(url: str) -> Path | None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path).with_name(Path(path).name + ".jobs.lock")


def make_leader(db: Database, lease_seconds: float = 30.0) -> Leader:
    url = db.engine.url
    if db.is_postgres:
        return PostgresLeader(url.render_as_string(hide_password=False), lease_seconds=lease_seconds)
    return FileLeader(sqlite_lock_path(url.render_as_string(hide_password=False)))


class FencedDatabase(Database):
    """The database as a leader job sees it: every transaction starts with the leader's fence, so a job
    still running in a process that lost the lead fails its next transaction instead of committing."""

    def __init__(self, db: Database, leader: Leader) -> None:
        super().__init__(db.engine)
        self.leader = leader

    @contextmanager
    def session(self) -> Iterator[Session]:
        with super().session() as session:
            if self.is_postgres:
                self.leader.fence(session)
            elif not self.leader.is_leader:
                raise LostLeadership("this process does not lead")
            yield session
