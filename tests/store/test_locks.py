"""The per-workspace planning lock on SQLite: one write takes the database's lock, which lasts until the
transaction ends, so asking again in the same transaction sends nothing and another writer still waits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.store.db import Database
from bot.store.locks import lock_workspace
from bot.store.queries.workspaces import ensure_workspace


def test_sqlite_lock_is_taken_once_per_transaction_and_held_until_it_ends(sqlite_db: Database) -> None:
    with sqlite_db.session() as session:
        workspace_id = ensure_workspace(session, "T0LOCKS", name="locks").id
    updates: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE WORKSPACES"):
            updates.append(statement)

    event.listen(sqlite_db.engine, "before_cursor_execute", before)
    # Another writer that gives up at once instead of waiting on the busy timeout.
    other = create_engine(sqlite_db.engine.url, connect_args={"timeout": 0.05})
    try:
        session = Session(sqlite_db.engine)
        lock_workspace(session, workspace_id, "plan-help")
        with session.begin_nested() as savepoint:
            lock_workspace(session, workspace_id, "plan-help")
            savepoint.rollback()
        lock_workspace(session, workspace_id, "plan-share")
        assert len(updates) == 1
        with pytest.raises(OperationalError, match="locked"), other.begin() as conn:
            conn.exec_driver_sql("UPDATE workspaces SET name = 'elsewhere'")
        session.commit()
        lock_workspace(session, workspace_id, "plan-help")  # a new transaction takes the lock again
        assert len(updates) == 2
        session.rollback()
        with other.begin() as conn:
            conn.exec_driver_sql("UPDATE workspaces SET name = 'elsewhere'")
        session.close()
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", before)
        other.dispose()
