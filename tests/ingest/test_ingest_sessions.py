"""The ingest gives the same rows whether a session handles one event (live) or many (replay), and a
duplicate event is still one item, one member, one reply, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.ingest import messages as messages_mod
from bot.ingest.messages import Message, action_for, ingest_changed, ingest_deleted, ingest_new
from bot.store.db import Database
from bot.store.models import Channel, Item, Member, Relationship, ThreadReply
from bot.store.queries.workspaces import ensure_workspace

C = "C1"
Q_TS = "1767261600.000100"  # 2026-01-01 10:00 UTC
QUESTION = "How do I tune autovacuum on a busy Postgres table?"


def _event(user: str, ts: str, text: str, thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "message", "channel": C, "user": user, "ts": ts, "text": text}
    if thread_ts:
        body["thread_ts"] = thread_ts
    return {**body, **extra}


def _ts(minutes: int) -> str:
    return f"{float(Q_TS) + minutes * 60:.6f}"


EVENTS: list[dict[str, Any]] = [
    _event("UA", Q_TS, QUESTION),
    _event("UB", _ts(1), "try lowering the scale factor <@UC>", thread_ts=Q_TS),
    _event("UC", _ts(2), "and raise the cost limit", thread_ts=Q_TS),
    _event("UB", _ts(3), "also check long transactions", thread_ts=Q_TS),  # second reply by UB
    _event("UA", Q_TS, QUESTION),  # a retried delivery
    _event("UD", _ts(4), "What is the best way to shard a Postgres database?"),
    _event("UA", _ts(5), "Read this <https://example.com/postgres-sharding|Sharding Postgres>"),
    {"type": "message", "subtype": "message_deleted", "channel": C, "ts": _ts(6), "deleted_ts": _ts(5)},
    _event("UB", _ts(7), "lunch? <@UA> <@UD>"),
    _event("UC", _ts(8), "<@UD> look at citus", thread_ts=_ts(4)),
    {
        "type": "message",
        "subtype": "message_changed",
        "channel": C,
        "ts": _ts(9),
        "message": {
            "type": "message",
            "user": "UD",
            "ts": _ts(4),
            "text": "What is the best way to shard a big Postgres database?",
        },
    },
]


def _apply(session: Session, raw: dict[str, Any]) -> messages_mod.IngestResult | None:
    workspace = ensure_workspace(session, "T1")
    channel = session.scalars(select(Channel).where(Channel.slack_channel_id == C)).one()
    action, message = action_for(raw, None)
    assert message is not None
    if action == "deleted":
        ingest_deleted(session, workspace, message)
        return None
    ingest = ingest_new if action == "new" else ingest_changed
    return ingest(session, workspace, channel, message, is_private=False)


def _prepare(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        s.add(Channel(workspace_id=ws.id, slack_channel_id=C, name="help"))


def _snapshot(db: Database) -> dict[str, Any]:
    with db.session() as s:
        members = {m.id: m.slack_user_id for m in s.scalars(select(Member))}
        return {
            "members": sorted(members.values(), key=str),
            "items": sorted(
                (i.source_key, i.kind, i.text, members.get(i.author_id or 0), i.answered_at)
                for i in s.scalars(select(Item))
            ),
            "replies": sorted(
                (r.item_id and s.get_one(Item, r.item_id).source_key, members[r.member_id], r.replied_at)
                for r in s.scalars(select(ThreadReply))
            ),
            "ties": sorted(
                (members[r.member_a_id], members[r.member_b_id], r.channel_id is None, r.weight, r.updated_at)
                for r in s.scalars(select(Relationship))
            ),
        }


def test_one_session_for_all_events_equals_one_session_per_event(db: Database) -> None:
    _prepare(db)
    with db.session() as s:
        for raw in EVENTS:
            _apply(s, raw)
    warm = _snapshot(db)
    with db.session() as s:
        for model in (ThreadReply, Relationship, Item, Member):
            s.execute(model.__table__.delete())
    for raw in EVENTS:
        with db.session() as s:
            _apply(s, raw)
    cold = _snapshot(db)
    assert warm == cold
    assert [(key.split(":")[1], kind) for key, kind, *_ in warm["items"]] == [
        (Q_TS, "question"), (_ts(4), "question")]  # fmt: skip
    # UB replied twice in one thread: one reply row, the first; the question was answered by the first.
    assert [(who, at) for _key, who, at in warm["replies"] if who == "UB"] == [
        ("UB", dt.datetime.fromtimestamp(float(_ts(1)), dt.UTC))
    ]


def test_a_duplicate_event_in_another_session_returns_the_first_item(db: Database) -> None:
    _prepare(db)
    with db.session() as s:
        first = _apply(s, EVENTS[0])
        assert first is not None and first.created and first.item is not None
        winner = first.item.id
    # Another event (app_mention beside message) or replica: its INSERT conflicts and it reads the winner's.
    with db.session() as s:
        second = _apply(s, EVENTS[0])
        assert second is not None and not second.created and not second.became_routable
        assert second.item is not None and second.item.id == winner and second.item.kind == "question"
        third = _apply(s, EVENTS[0])  # and once more in that session: remembered
        assert third is not None and not third.created and third.item is second.item
    with db.session() as s:
        assert s.scalar(select(func.count(Item.id))) == 1


def test_a_new_item_holds_what_was_stored(db: Database) -> None:
    _prepare(db)
    with db.session() as s:
        made = _apply(s, EVENTS[0])
        assert made is not None and made.item is not None
        written = {c.key: getattr(made.item, c.key) for c in Item.__table__.c}
        assert not s.dirty and not s.new
    with db.session() as s:
        stored = s.scalars(select(Item)).one()
        assert {c.key: getattr(stored, c.key) for c in Item.__table__.c} == written
        assert written["posted_at"] == dt.datetime.fromtimestamp(float(Q_TS), dt.UTC)
        assert written["text"] == QUESTION and written["source"] == "slack" and written["answered_at"] is None


def test_a_question_deleted_in_the_same_session_takes_no_more_replies(db: Database) -> None:
    _prepare(db)
    with db.session() as s:
        question = _apply(s, EVENTS[0])
        assert question is not None and question.item is not None
        reply = _apply(s, EVENTS[1])
        assert reply is not None and reply.answered is question.item
        _apply(s, {"type": "message", "subtype": "message_deleted", "channel": C, "ts": _ts(10),
                   "deleted_ts": Q_TS})  # fmt: skip
        later = _apply(s, EVENTS[2])
        assert later is not None and later.item is None and later.answered is None
        # Edited after the delete, it qualifies again: a new item.
        again = _apply(s, {"type": "message", "subtype": "message_changed", "channel": C, "ts": _ts(11),
                           "message": {"type": "message", "user": "UA", "ts": Q_TS, "text": QUESTION}})  # fmt: skip
        assert again is not None and again.item is not None and again.item.answered_at is None
    with db.session() as s:
        assert s.scalar(select(func.count(Item.id))) == 1
        assert s.scalar(select(func.count(ThreadReply.id))) == 0


def test_a_question_from_a_rolled_back_transaction_is_not_found_by_its_replies(db: Database) -> None:
    _prepare(db)
    session = Session(db.engine, expire_on_commit=False)
    try:
        made = _apply(session, EVENTS[0])
        assert made is not None and made.created
        session.rollback()
        reply = _apply(session, EVENTS[1])
        assert reply is not None and reply.item is None
        session.commit()
    finally:
        session.close()
    with db.session() as s:
        assert s.scalar(select(func.count(Item.id))) == 0


def test_a_message_is_parsed_as_the_ingest_expects() -> None:
    action, message = action_for(EVENTS[1], None)
    assert action == "new" and isinstance(message, Message)
    assert message.is_reply and message.mentions == ("UC",)
