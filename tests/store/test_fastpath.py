"""fastpath.update_row: the row is written, the object holds the value, and a rollback forgets it as for a flush."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.store import fastpath
from bot.store.db import Database
from bot.store.models import Item
from bot.store.queries.workspaces import ensure_workspace

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _question(db: Database) -> int:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        item = Item(workspace_id=ws.id, source_key="C1:1.0", kind="question", text="Vacuum?", posted_at=AT)
        s.add(item)
        s.flush()
        return item.id


def test_the_row_and_the_object_hold_the_value_without_a_flush(db: Database) -> None:
    item_id = _question(db)
    with db.session() as s:
        item = s.get_one(Item, item_id)
        fastpath.update_row(s, item, answered_at=AT)
        assert item.answered_at == AT and not s.dirty
        stored = s.connection().execute(select(Item.answered_at).where(Item.id == item_id)).scalar()
        assert stored is not None
    with db.session() as fresh:
        assert fresh.get_one(Item, item_id).answered_at == AT


def test_a_savepoint_rolled_back_expires_the_object(db: Database) -> None:
    item_id = _question(db)
    with db.session() as s:
        item = s.get_one(Item, item_id)
        nested = s.begin_nested()
        fastpath.update_row(s, item, answered_at=AT, closed_at=AT)
        nested.rollback()
        assert item.answered_at is None and item.closed_at is None  # reloaded: the row never changed


def test_a_rolled_back_transaction_expires_the_object(db: Database) -> None:
    item_id = _question(db)
    with db.session() as s:
        item = s.get_one(Item, item_id)
        fastpath.update_row(s, item, answered_at=AT)
        s.rollback()
        assert item.answered_at is None
