"""`INSERT ... ON CONFLICT DO NOTHING` on the engines we run on (SQLite and PostgreSQL).

The ingest inserts a row per member, tie and item on first sight, and several listener threads, serve
processes and replicas may insert the same one at once. A savepoint around the INSERT makes the loser's
unique violation harmless, but costs three statements and a unit-of-work flush per row; ON CONFLICT DO
NOTHING gives the same outcome in one statement: the winner's row stands, and the loser's INSERT returns
no row, so it reads the winner's. Only a conflict on the named unique columns is ignored; any other
violation (a foreign key) still raises, as the savepoint's caller would have by reading a row that is
not there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_of(session: Session) -> str:
    """The session's engine dialect name ("sqlite" or "postgresql")."""
    return session.get_bind().dialect.name


def insert_ignoring_conflict(dialect: str, target: Any, index_elements: list[str]) -> Any:
    """An INSERT into `target` (a mapped class or a table) that skips a row conflicting on
    `index_elements`, which must be the columns of a unique constraint."""
    if dialect == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    raise NotImplementedError(f"no ON CONFLICT support for the {dialect!r} dialect")
