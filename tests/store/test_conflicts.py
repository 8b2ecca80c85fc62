"""insert_row_ignoring_conflict: the object it hands back is the row as a fresh read would load it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect

from bot.store.db import Database
from bot.store.models import Item
from bot.store.queries.conflicts import insert_row_ignoring_conflict
from bot.store.queries.workspaces import ensure_workspace

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
UNIQUE = ("workspace_id", "source_key")


def _values(ws_id: int, key: str) -> dict[str, object]:
    return {"workspace_id": ws_id, "source_key": key, "kind": "question", "title": "Vacuum?",
            "text": "How do I tune autovacuum?", "posted_at": AT}  # fmt: skip


def test_the_inserted_object_equals_a_fresh_load(db: Database) -> None:
    with db.session() as s:
        ws_id = ensure_workspace(s, "T1").id
        item = insert_row_ignoring_conflict(s, Item, UNIQUE, _values(ws_id, "C1:1.0"))
        assert item is not None
        state = inspect(item)
        assert state.persistent and not s.dirty and not state.modified
        mine = {c.key: getattr(item, c.key) for c in Item.__table__.c}
        item_id = item.id
    with db.session() as fresh:
        loaded = fresh.get_one(Item, item_id)
        assert {c.key: getattr(loaded, c.key) for c in Item.__table__.c} == mine
        assert loaded.source == "slack" and loaded.is_private is False and loaded.posted_at == AT


def test_a_change_to_the_inserted_object_is_written(db: Database) -> None:
    with db.session() as s:
        ws_id = ensure_workspace(s, "T1").id
        item = insert_row_ignoring_conflict(s, Item, UNIQUE, _values(ws_id, "C1:2.0"))
        assert item is not None
        item.answered_at = AT
        item_id = item.id
    with db.session() as fresh:
        assert fresh.get_one(Item, item_id).answered_at == AT


def test_a_conflict_returns_none_and_a_rollback_forgets_the_object(db: Database) -> None:
    with db.session() as s:
        ws_id = ensure_workspace(s, "T1").id
    with db.session() as s:
        nested = s.begin_nested()
        item = insert_row_ignoring_conflict(s, Item, UNIQUE, _values(ws_id, "C1:3.0"))
        assert item is not None
        assert insert_row_ignoring_conflict(s, Item, UNIQUE, _values(ws_id, "C1:3.0")) is None
        nested.rollback()
        assert item not in s
        again = insert_row_ignoring_conflict(s, Item, UNIQUE, _values(ws_id, "C1:3.0"))
        assert again is not None and again is not item
