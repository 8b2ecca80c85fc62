"""Serialising work that reads caps and then writes nudges, across threads, replicas and engines."""

from __future__ import annotations

import zlib

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.store.models import Workspace

_SQLITE_LOCKED = "passiton.sqlite_write_locked_in"


def _key(purpose: str) -> int:
    # A stable 32-bit namespace per purpose (Python's hash() is salted per process).
    return zlib.crc32(purpose.encode()) & 0x7FFFFFFF


def lock_workspace(session: Session, workspace_id: int, purpose: str) -> None:
    """Hold a lock on (workspace, purpose) until the session's transaction ends.

    Two planners that each read a helper's recent nudges before the other commits would both decide
    the helper is free. On PostgreSQL a transaction-scoped advisory lock makes the second wait; on
    SQLite a first write takes the database's single write lock for the rest of the transaction, which
    does the same for every thread and process sharing the file. Call it before reading anything the
    decision depends on.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_key(purpose), workspace_id)))
        return
    # SQLite's write lock covers the whole database until the transaction ends (a savepoint rolled back
    # keeps it), so once taken in this transaction there is nothing more to wait for.
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_SQLITE_LOCKED) is transaction:
        return
    # SET active = active changes nothing the session holds, so there is nothing to synchronise: the
    # default ("evaluate") walked every object in the identity map on every help planning.
    session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(active=Workspace.active)
        .execution_options(synchronize_session=False)
    )
    session.info[_SQLITE_LOCKED] = session.get_transaction()
