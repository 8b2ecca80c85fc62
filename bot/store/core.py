"""Core statements run on a session's connection rather than through `session.execute`.

For a statement on a table (not on mapped classes) the ORM's execution path adds nothing but cost: it
resolves the bind, runs its execution events and wraps the result, about two thirds of the time of a small
INSERT or SELECT on SQLite. The ingest and the planners run such statements several times per message. The
one thing that path does that matters is the autoflush, so pending objects reach the database before a
statement that may read or reference them: `execute` does that too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session


def execute(session: Session, statement: Executable, params: Any = None) -> CursorResult[*tuple[Any, ...]]:
    """`statement` (a Core statement on tables) on the session's connection, in its transaction, after
    flushing pending changes as the session's autoflush would (not inside `no_autoflush`)."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)
