"""The store's fast path: Core statements run on a session's connection rather than through
`session.execute`, plain-row reads, and the one write that reaches into the ORM's internals.

Everything that trades the ORM's convenience for speed lives here, so domain code reads as domain code.

For a statement on a table (not on mapped classes) the ORM's execution path adds nothing but cost: it
resolves the bind, runs its execution events and wraps the result, about two thirds of the time of a small
INSERT or SELECT on SQLite. The ingest and the planners run such statements several times per message. The
one thing that path does that matters is the autoflush, so pending objects reach the database before a
statement that may read or reference them: `execute` does that too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable, bindparam, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


def plain_rows(session: Session, statement: Executable, params: dict[str, Any]) -> list[Any]:
    """Plain rows of a Core select, run on the session's connection without the ORM's per-row machinery.

    Pending ORM changes are flushed first, as the session's autoflush would have done (and not inside
    `no_autoflush`). The rows come as one list: fetching them all at once costs less per row than iterating
    the cursor, which fetches one row per step."""
    return list(execute(session, statement, params).all())


def execute(session: Session, statement: Executable, params: Any = None) -> CursorResult[*tuple[Any, ...]]:
    """`statement` (a Core statement on tables) on the session's connection, in its transaction, after
    flushing pending changes as the session's autoflush would (not inside `no_autoflush`)."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


_UPDATES: dict[tuple[Any, tuple[str, ...]], Any] = {}


def update_row(session: Session, obj: Any, **values: Any) -> None:
    """Write `values` to the row of `obj` (a persistent object with a single-column `id` key) with one Core
    UPDATE, and give them to `obj` as loaded state, so no flush is needed for them: a flush of one changed
    attribute runs the whole unit of work, several times the UPDATE itself.

    The object is then registered as altered in the session's transaction, as a flush registers what it
    wrote, so that rolling back the transaction, or a savepoint around this call, expires it again."""
    table = obj.__table__
    names = tuple(sorted(values))
    statement = _UPDATES.get((table, names))
    if statement is None:
        statement = _UPDATES[(table, names)] = (
            update(table).where(table.c.id == bindparam("_id")).values({n: bindparam(n) for n in names})
        )
    execute(session, statement, {"_id": obj.id, **values})
    for name, value in values.items():
        set_committed_value(obj, name, value)
    session._register_altered([inspect(obj)])
