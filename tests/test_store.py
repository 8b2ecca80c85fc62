"""Store behaviour that every feature leans on, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage
from bot.store.queries.members import (
    add_member_topics,
    ensure_member,
    member_by_email,
    member_topics,
    remove_member_topics,
    set_public_expertise,
)
from bot.store.queries.workspaces import claim_event, ensure_workspace


def test_workspace_and_member_are_created_once(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1", name="Acme")
        m1 = ensure_member(s, ws, "U1", display_name="ana", tz="Europe/Berlin")
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        m2 = ensure_member(s, ws, "U1", tz="America/New_York")
        assert m2.id == m1.id
        assert m2.tz == "America/New_York"
        assert m2.display_name == "ana"
        assert s.scalar(select(Member.id).where(Member.workspace_id == ws.id)) == m1.id


def test_topics_are_idempotent_and_opt_in(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        m = ensure_member(s, ws, "U1")
        assert not m.opted_in
        assert add_member_topics(s, ws, m, "interest", ["postgres", "kubernetes"]) == [
            "postgres",
            "kubernetes",
        ]
        assert add_member_topics(s, ws, m, "interest", ["postgres", "rust"]) == ["rust"]
        assert m.opted_in
        add_member_topics(s, ws, m, "expertise", ["postgres"])
        assert set_public_expertise(s, m, ["postgres"], True) == ["postgres"]
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        m = ensure_member(s, ws, "U1")
        assert [t.name for t in member_topics(s, m, "interest")] == ["kubernetes", "postgres", "rust"]
        assert remove_member_topics(s, m, "interest", ["rust", "nope"]) == ["rust"]
        assert [t.name for t in member_topics(s, m, "interest")] == ["kubernetes", "postgres"]
        with pytest.raises(ValueError, match="unknown topic kind"):
            member_topics(s, m, "hobby")


def test_workspaces_do_not_share_members_or_topics(db: Database) -> None:
    with db.session() as s:
        a = ensure_workspace(s, "TA")
        b = ensure_workspace(s, "TB")
        ma = ensure_member(s, a, "U1", email="same@example.com")
        mb = ensure_member(s, b, "U1", email="same@example.com")
        assert ma.id != mb.id
        add_member_topics(s, a, ma, "interest", ["postgres"])
        assert member_topics(s, mb, "interest") == []
        assert member_by_email(s, b, "same@example.com") is mb


def test_event_ids_are_claimed_once(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        assert claim_event(s, "Ev1", ws.id)
        assert not claim_event(s, "Ev1", ws.id)
    with db.session() as s:
        assert not claim_event(s, "Ev1", None)


def test_datetimes_come_back_aware_utc(db: Database) -> None:
    when = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        s.add(Item(workspace_id=ws.id, source_key="C1:1.0", kind="article", posted_at=when))
    with db.session() as s:
        item = s.scalars(select(Item)).one()
        assert item.posted_at == when
        assert item.posted_at.tzinfo is not None and item.posted_at.utcoffset() == dt.timedelta(0)
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        s.scalars(select(Item)).one().posted_at = dt.datetime(2026, 1, 1)
        s.flush()


def test_nudge_and_outbox_dedupe_are_constraints(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        m = ensure_member(s, ws, "U1")
        t = ensure_member(s, ws, "U2")
        s.flush()
        item = Item(workspace_id=ws.id, source_key="C1:1.0", kind="article")
        s.add(item)
        s.flush()
        s.add(
            Nudge(
                workspace_id=ws.id,
                dedupe_key=f"share:{item.id}:{t.id}",
                kind="share",
                recipient_id=m.id,
                item_id=item.id,
                target_id=t.id,
            )
        )
        s.add(OutboxMessage(workspace_id=ws.id, idempotency_key="k1", kind="slack_dm", payload={"a": 1}))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(OutboxMessage(workspace_id=1, idempotency_key="k1", kind="slack_dm", payload={}))
    with pytest.raises(IntegrityError), db.session() as s:
        nudge = s.scalars(select(Nudge)).one()
        s.add(
            Nudge(
                workspace_id=nudge.workspace_id,
                dedupe_key=nudge.dedupe_key,
                kind="share",
                recipient_id=nudge.recipient_id,
                item_id=nudge.item_id,
            )
        )


def test_forgetting_a_member_cascades(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        m = ensure_member(s, ws, "U1")
        add_member_topics(s, ws, m, "interest", ["postgres"])
        s.add(Item(workspace_id=ws.id, source_key="C1:1.0", kind="article", author_id=m.id))
    with db.session() as s:
        s.delete(s.scalars(select(Member)).one())
    with db.session() as s:
        assert s.scalars(select(Item)).all() == []
