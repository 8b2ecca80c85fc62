"""forget-me deletes every row about a member (their items too) and nobody else's; export gathers them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from bot.store.db import Database
from bot.store.models import (
    MEMBER_TABLES,
    Channel,
    ChannelMember,
    Feedback,
    Item,
    Member,
    Nudge,
    OutboxMessage,
    ThreadReply,
    utcnow,
)
from bot.store.queries.forget import _member_columns, export_member, forget_member
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.relationships import record_interaction
from bot.store.queries.workspaces import ensure_workspace


def _seed(db: Database) -> tuple[int, int]:
    now = utcnow()
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        alice = ensure_member(s, ws, "UA", display_name="alice")
        bob = ensure_member(s, ws, "UB", display_name="bob")
        add_member_topics(s, ws, alice, "interest", ["postgres"])
        add_member_topics(s, ws, bob, "expertise", ["postgres"], public=True)
        ch = Channel(workspace_id=ws.id, slack_channel_id="C1", name="eng")
        s.add(ch)
        s.flush()
        s.add_all([ChannelMember(workspace_id=ws.id, channel_id=ch.id, member_id=m.id) for m in (alice, bob)])
        mine = Item(
            workspace_id=ws.id,
            source_key="C1:1",
            kind="question",
            author_id=alice.id,
            text="q?",
            channel_id=ch.id,
        )
        theirs = Item(
            workspace_id=ws.id,
            source_key="C1:2",
            kind="article",
            author_id=bob.id,
            text="a",
            channel_id=ch.id,
        )
        s.add_all([mine, theirs])
        s.flush()
        s.add(ThreadReply(workspace_id=ws.id, item_id=mine.id, member_id=bob.id))
        about_mine = Nudge(
            workspace_id=ws.id, dedupe_key="h1", kind="help", recipient_id=bob.id, item_id=mine.id
        )
        to_alice = Nudge(
            workspace_id=ws.id,
            dedupe_key="s1",
            kind="share",
            recipient_id=bob.id,
            item_id=theirs.id,
            target_id=alice.id,
        )
        bobs = Nudge(
            workspace_id=ws.id, dedupe_key="s2", kind="share", recipient_id=bob.id, item_id=theirs.id
        )
        s.add_all([about_mine, to_alice, bobs])
        s.flush()
        s.add(
            OutboxMessage(
                workspace_id=ws.id, idempotency_key="o1", kind="slack_dm", nudge_id=about_mine.id, payload={}
            )
        )
        s.add(
            OutboxMessage(
                workspace_id=ws.id, idempotency_key="o2", kind="slack_dm", nudge_id=bobs.id, payload={}
            )
        )
        s.add(Feedback(workspace_id=ws.id, member_id=bob.id, nudge_id=about_mine.id, kind="helped"))
        s.add(Feedback(workspace_id=ws.id, member_id=alice.id, kind="mute_person", other_member_id=bob.id))
        record_interaction(s, ws.id, alice.id, bob.id, ch.id, "reply", now - dt.timedelta(days=1))
        return alice.id, bob.id


def _rows_about(db: Database, member_id: int) -> int:
    total = 0
    with db.session() as s:
        for model in MEMBER_TABLES:
            cols = _member_columns(model)
            total += int(
                s.scalar(select(func.count()).select_from(model).where(or_(*(c == member_id for c in cols))))
                or 0
            )
    return total


def test_forget_removes_everything_about_the_member_and_keeps_others(db: Database) -> None:
    alice_id, bob_id = _seed(db)
    assert _rows_about(db, alice_id) > 0
    with db.session() as s:
        forget_member(s, s.get(Member, alice_id))
    assert _rows_about(db, alice_id) == 0
    with db.session() as s:
        assert s.get(Member, bob_id) is not None
        assert [i.source_key for i in s.scalars(select(Item))] == ["C1:2"]  # her item went, his stayed
        assert [n.dedupe_key for n in s.scalars(select(Nudge))] == ["s2"]
        assert [o.idempotency_key for o in s.scalars(select(OutboxMessage))] == ["o2"]
        assert s.scalars(select(Feedback)).one().nudge_id is None  # bob's feedback stays, unlinked
        assert s.scalars(select(ThreadReply)).first() is None


def test_export_holds_the_members_own_data(db: Database) -> None:
    alice_id, _ = _seed(db)
    with db.session() as s:
        data = export_member(s, s.get(Member, alice_id))
    assert data["profile"]["slack_user_id"] == "UA"
    assert [t["topic"] for t in data["topics"]["interest"]] == ["postgres"]
    assert data["channels"] == ["eng"] and data["items"][0]["text"] == "q?"
    assert data["relationships"][0]["with"] == "bob"
    assert data["feedback"][0]["kind"] == "mute_person"
