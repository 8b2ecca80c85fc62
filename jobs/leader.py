"""Who runs the scheduled jobs: exactly one process per database.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated connection (autocommit, TCP
keepalives, a statement timeout). Postgres drops the lock the moment that session ends, so when the
leader process dies (even by SIGKILL) its socket closes and a standby's next try, a few seconds
later, wins. The leader checks on every heartbeat that its session still holds the lock and steps
down on any error (connection lost, server restarted); it then competes again like a standby.

SQLite: an exclusive `fcntl.flock` on a file next to the database. The kernel releases it when the
process dies. An in-memory database has one process by definition, which always leads.

Leadership is advisory: a leader that loses its connection may finish the job it is running while
another takes over. The jobs are idempotent (dedupe keys on nudges, digests and outbox rows), so
that brief overlap can repeat work but not double a message.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bot.delivery.metrics import IS_LEADER
from bot.store.db import Database

log = logging.getLogger(__name__)

# pg_advisory_lock key for "the passiton scheduler" (ASCII "pass"); below 2**31 so it shows up in
# pg_locks as classid 0, objid LOCK_KEY.
LOCK_KEY = 0x70617373


class Leader(Protocol):
    @property
    def is_leader(self) -> bool: ...

    def heartbeat(self) -> bool:
        """Try to become leader, or check that we still are; returns whether we lead now."""
        ...

    def release(self) -> None: ...


class _Base:
    def __init__(self) -> None:
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

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


class PostgresLeader(_Base):
    def __init__(self, url: str, *, key: int = LOCK_KEY, application_name: str | None = None) -> None:
        super().__init__()
        self.key = key
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
                "options": "-c statement_timeout=5000",
            },
        )
        self._conn: Connection | None = None

    def heartbeat(self) -> bool:
        try:
            if self._leading and self._conn is not None:
                held = self._conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                        "AND classid = 0 AND objid = :key AND objsubid = 1 AND granted"
                    ),
                    {"key": self.key},
                ).scalar_one()
                if not held:
                    raise RuntimeError("advisory lock no longer held by this session")
                return True
            if self._conn is None:
                self._conn = self._engine.connect()
            got = bool(
                self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one()
            )
            self._set(got, "advisory_lock" if got else "standby")
            return got
        except Exception as exc:
            log.warning("jobs leader connection failed; stepping down", extra={"error": str(exc)[:200]})
            self._drop()
            self._set(False, "connection_lost")
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already broken; closing the socket is all that matters
                pass

    def release(self) -> None:
        if self._conn is not None and self._leading:
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


def make_leader(db: Database) -> Leader:
    url = db.engine.url
    if db.is_postgres:
        return PostgresLeader(url.render_as_string(hide_password=False))
    return FileLeader(sqlite_lock_path(url.render_as_string(hide_password=False)))
