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

import datetime as dt
from typing import Any, TypeVar, cast

from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key

from bot.store import fastpath
from bot.store.models import Base, UTCDateTime

M = TypeVar("M", bound=Base)
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


def insert_row_ignoring_conflict(
    session: Session, model: type[M], index_elements: tuple[str, ...], values: dict[str, Any]
) -> M | None:
    """Insert one row of `model` (see `insert_ignoring_conflict`) and return it as a persistent object of
    the session without reading it back, or None on a conflict.

    An ORM INSERT ... RETURNING of the whole row costs several times the INSERT itself. Here the row's
    Python-side defaults are filled in first, so the object holds exactly what was written (datetimes as
    the store hands them back: in UTC); a column with a server default is left unloaded and read on first
    use. For tables of plain scalar columns (no JSON), as the ingest's are.
    """
    table = cast(Table, model.__table__)
    row = dict(values)
    for column in table.c:
        if column.key in row or column.primary_key or column.server_default is not None:
            continue
        default = column.default
        if default is None:
            row[column.key] = None
        elif default.is_scalar:
            row[column.key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            row[column.key] = default.arg(None)  # type: ignore[attr-defined]
    for key, value in row.items():
        if isinstance(value, dt.datetime) and isinstance(table.c[key].type, UTCDateTime):
            row[key] = value.astimezone(dt.UTC)
    row_id = fastpath.execute(session, insert_ignoring_conflict(session, table, index_elements), row).scalar()
    if row_id is None:
        return None
    if session.identity_map.get(identity_key(model, row_id)) is not None:
        # An object of a rolled-back row whose primary key SQLite has just reused, still in the map:
        # load the new row into it (rare, so a read).
        return session.get_one(model, row_id, populate_existing=True)
    # As if just loaded: the values go straight into the instance's dict (the mapped __init__ would record
    # each as a change, only for make_transient_to_detached to commit them all again).
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(row, id=row_id)
    make_transient_to_detached(obj)
    session.add(obj)
    # What a flush does for a row it inserted (Session._register_altered): the transaction, or savepoint,
    # notes it as new, so that its rollback expunges the object rather than leave one whose row is gone.
    transaction = session._transaction
    if transaction is not None:
        transaction._new[inspect(obj)] = True
    return obj
