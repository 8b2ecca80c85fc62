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

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_BUILT: dict[tuple[str, Any, tuple[str, ...]], Any] = {}


def dialect_of(session: Session) -> str:
    """The session's engine dialect name ("sqlite" or "postgresql")."""
    return session.get_bind().dialect.name


def insert_ignoring_conflict(session: Session, target: Any, index_elements: tuple[str, ...]) -> Any:
    """An INSERT into `target` that skips a row conflicting on `index_elements` (the columns of a unique
    constraint), RETURNING the new row: as an ORM object for a mapped class (pass the values as a
    one-element list to `session.scalars`), its id for a table. Nothing is returned on a conflict.
    Built once per dialect and target; the values come as parameters."""
    dialect = dialect_of(session)
    key = (dialect, target, index_elements)
    stmt = _BUILT.get(key)
    if stmt is None:
        insert: Any
        if dialect == "postgresql":
            insert = postgresql.insert(target).on_conflict_do_nothing(index_elements=list(index_elements))
        elif dialect == "sqlite":
            insert = sqlite.insert(target).on_conflict_do_nothing(index_elements=list(index_elements))
        else:
            raise NotImplementedError(f"no ON CONFLICT support for the {dialect!r} dialect")
        stmt = _BUILT[key] = insert.returning(target.c.id if isinstance(target, Table) else target)
    return stmt
