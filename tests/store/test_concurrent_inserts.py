"""Two transactions inserting the same member, tie or item at once: on PostgreSQL the second INSERT ... ON
CONFLICT waits for the first to commit and then takes its row; one row each, whoever wins. (SQLite has a
single writer, so the race cannot happen there.)"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.ingest.messages import action_for, ingest_new
from bot.policy.relationships import bumped
from bot.store.db import Database
from bot.store.models import Channel, Item, Member, Relationship
from bot.store.queries.members import ensure_member
from bot.store.queries.relationships import record_interaction
from bot.store.queries.workspaces import ensure_workspace

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _race(db: Database, first: Callable[[Session], Any], second: Callable[[Session], Any]) -> tuple[Any, Any]:
    """Run `first` in a transaction left open, then `second` in another thread's transaction until it
    waits on the first's lock; commit the first, let the second finish. Returns both results."""
    if not db.is_postgres:
        pytest.skip("a concurrent insert needs two writers: PostgreSQL only")
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    holder = Session(db.engine, expire_on_commit=False)
    try:
        results["first"] = first(holder)
        holder.flush()

        started = threading.Event()

        def run() -> None:
            try:
                with db.session() as s:
                    results["pid"] = s.execute(text("SELECT pg_backend_pid()")).scalar()
                    started.set()
                    results["second"] = second(s)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                started.set()

        thread = threading.Thread(target=run)
        thread.start()
        started.wait(120)
        # Until the second transaction waits on the first's row lock (it cannot finish before that).
        waiting = None
        with db.engine.connect() as probe:
            for _ in range(24_000):
                if errors or not thread.is_alive():
                    break
                waiting = probe.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": results.get("pid")},
                ).scalar()
                if waiting == "Lock":
                    break
                threading.Event().wait(0.005)
        assert errors or waiting == "Lock", "the second transaction did not wait for the first"
        holder.commit()
        thread.join(60)
        assert not thread.is_alive()
    finally:
        holder.close()
    if errors:
        raise errors[0]
    return results["first"], results["second"]


def test_one_member_when_two_transactions_insert_it(db: Database) -> None:
    with db.session() as s:
        ensure_workspace(s, "T1")

    def make(s: Session) -> int:
        return ensure_member(s, ensure_workspace(s, "T1"), "UA", tz="Europe/Paris").id

    first, second = _race(db, make, make)
    assert first == second
    with db.session() as s:
        assert s.scalar(select(func.count(Member.id))) == 1


def test_one_tie_with_both_bumps_when_two_transactions_record_it(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        a, b = ensure_member(s, ws, "UA").id, ensure_member(s, ws, "UB").id
        channel = Channel(workspace_id=ws.id, slack_channel_id="C1")
        s.add(channel)
        s.flush()
        ws_id, ch = ws.id, channel.id
    later = T0 + dt.timedelta(days=1)
    _race(
        db,
        lambda s: record_interaction(s, ws_id, a, b, ch, "mention", T0),
        lambda s: record_interaction(s, ws_id, b, a, ch, "reply", later),
    )
    with db.session() as s:
        rows = s.scalars(select(Relationship)).all()
        assert [(r.weight, r.updated_at) for r in rows] == [
            (bumped(bumped(0.0, T0, T0, "mention"), T0, later, "reply"), later)
        ]


def test_one_item_when_two_transactions_ingest_the_same_message(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        s.add(Channel(workspace_id=ws.id, slack_channel_id="C1"))
    raw = {"type": "message", "channel": "C1", "user": "UA", "ts": "1767261600.000100",
           "text": "How do I tune autovacuum on a busy Postgres table?"}  # fmt: skip

    def ingest(s: Session) -> tuple[int | None, bool]:
        ws = ensure_workspace(s, "T1")
        channel = s.scalars(select(Channel)).one()
        _action, message = action_for(raw, None)
        assert message is not None
        result = ingest_new(s, ws, channel, message, is_private=False)
        return (result.item.id if result.item else None), result.created

    first, second = _race(db, ingest, ingest)
    assert first[0] is not None and first == (second[0], True) and second == (first[0], False)
    with db.session() as s:
        assert s.scalar(select(func.count(Item.id))) == 1
        assert s.scalar(select(func.count(Member.id))) == 1
