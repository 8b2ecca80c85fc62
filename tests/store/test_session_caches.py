"""The ingest's session-scoped lookups (members by Slack id, relationship rows) give what a cold read gives,
on SQLite and PostgreSQL: after deletes, rollbacks, forget-me, and another session's writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from bot.policy.relationships import bumped
from bot.store.db import Database
from bot.store.models import Channel, Member, Relationship, Topic, Workspace
from bot.store.queries import members as members_q
from bot.store.queries import relationships as relationships_q
from bot.store.queries.forget import forget_member
from bot.store.queries.members import (
    add_member_topics,
    ensure_member,
    ensure_topic,
    member_by_slack_id,
    member_topics,
)
from bot.store.queries.relationships import record_interaction, record_interactions
from bot.store.queries.workspaces import ensure_workspace

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session sends while the block runs."""
    seen: list[str] = []
    engine = session.get_bind()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _weights(db: Database) -> dict[tuple[int, int, int | None], tuple[float, dt.datetime]]:
    with db.session() as s:
        return {
            (r.member_a_id, r.member_b_id, r.channel_id): (r.weight, r.updated_at)
            for r in s.scalars(select(Relationship))
        }


def _setup(db: Database) -> tuple[int, int, int, int]:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        a = ensure_member(s, ws, "UA")
        b = ensure_member(s, ws, "UB")
        ch = Channel(workspace_id=ws.id, slack_channel_id="C1", name="general")
        s.add(ch)
        s.flush()
        return ws.id, a.id, b.id, ch.id


# -- members --------------------------------------------------------------------------------------


def test_a_member_seen_once_is_found_again_without_sql(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        alice = ensure_member(s, ws, "UA", display_name="alice")
        with counted(s) as statements:
            again = ensure_member(s, ws, "UA")
            found = member_by_slack_id(s, ws, "UA")
        assert again is alice and found is alice
        assert statements == []
        assert member_by_slack_id(s, ws, "UNOBODY") is None


def test_a_member_forgotten_in_the_same_session_is_not_returned(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        alice = ensure_member(s, ws, "UA", display_name="alice")
        forget_member(s, alice)
        assert member_by_slack_id(s, ws, "UA") is None
        again = ensure_member(s, ws, "UA")  # seen again after forget-me: a new, empty member
        assert again.display_name == ""
    with db.session() as s:
        assert s.scalar(select(func.count(Member.id)).where(Member.slack_user_id == "UA")) == 1


def test_a_member_deleted_but_not_flushed_is_not_returned(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        s.delete(ensure_member(s, ws, "UA"))
        assert member_by_slack_id(s, ws, "UA") is None
        assert ensure_member(s, ws, "UA").slack_user_id == "UA"


def test_a_member_created_in_a_rolled_back_transaction_is_not_returned(db: Database) -> None:
    session = Session(db.engine, expire_on_commit=False)
    try:
        ws = ensure_workspace(session, "T1")
        session.commit()
        ensure_member(session, ws, "UA")
        session.rollback()
        assert member_by_slack_id(session, ws, "UA") is None
        # A different member may now get the rolled-back member's primary key (SQLite reuses it).
        bob = ensure_member(session, ws, "UB")
        assert member_by_slack_id(session, ws, "UA") is None
        assert member_by_slack_id(session, ws, "UB") is bob
        session.commit()
    finally:
        session.close()


def test_a_member_forgotten_by_another_session_is_found_gone_after_expiry(db: Database) -> None:
    session = Session(db.engine, expire_on_commit=True)
    try:
        ws = ensure_workspace(session, "T1")
        ensure_member(session, ws, "UA")
        session.commit()
        with db.session() as other:
            forget_member(other, ensure_member(other, ensure_workspace(other, "T1"), "UA"))
        ws = ensure_workspace(session, "T1")
        assert member_by_slack_id(session, ws, "UA") is None
    finally:
        session.close()


def test_two_sessions_inserting_one_member_make_one_row(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        winner = ensure_member(s, ws, "UA").id
    # The loser looked before the winner committed: its lookup said "nobody" and its INSERT conflicts.
    real = members_q.member_by_slack_id
    calls: list[str] = []

    def first_misses(session: Session, workspace: Workspace, slack_user_id: str) -> Member | None:
        calls.append(slack_user_id)
        return None if len(calls) == 1 else real(session, workspace, slack_user_id)

    monkeypatch.setattr(members_q, "member_by_slack_id", first_misses)
    with db.session() as s:
        loser = ensure_member(s, ensure_workspace(s, "T1"), "UA", tz="Europe/Paris")
        assert loser.id == winner and loser.tz == "Europe/Paris"
    assert len(calls) == 2
    with db.session() as s:
        assert s.scalar(select(func.count(Member.id))) == 1


# -- relationships --------------------------------------------------------------------------------


def test_ties_bumped_in_one_session_equal_ties_bumped_one_session_each(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    steps = [(a, b, ch, "mention", 0), (b, a, ch, "reply", 1), (a, b, None, "reaction", 2),
             (a, b, ch, "reaction", 40), (b, a, None, "mention", 41), (a, b, ch, "reply", 39)]  # fmt: skip
    with db.session() as s:
        for x, y, c, kind, day in steps:
            record_interaction(s, ws_id, x, y, c, kind, T0 + dt.timedelta(days=day))
    warm = _weights(db)
    with db.session() as s:
        s.execute(Relationship.__table__.delete())
    for x, y, c, kind, day in steps:
        with db.session() as s:
            record_interaction(s, ws_id, x, y, c, kind, T0 + dt.timedelta(days=day))
    cold = _weights(db)
    assert warm == cold
    w = bumped(0.0, T0, T0, "mention")
    w = bumped(w, T0, T0 + dt.timedelta(days=1), "reply")
    w = bumped(w, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=40), "reaction")
    w = bumped(w, T0 + dt.timedelta(days=40), T0 + dt.timedelta(days=39), "reply")
    assert warm[(a, b, ch)] == (w, T0 + dt.timedelta(days=40))


def test_a_known_tie_is_bumped_in_one_statement(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    with db.session() as s:
        record_interaction(s, ws_id, a, b, ch, "mention", T0)
        with counted(s) as statements:
            record_interaction(s, ws_id, b, a, ch, "mention", T0 + dt.timedelta(hours=1))
        assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")


def test_ties_bumped_insert_first_equal_ties_read_first(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    steps = [(a, b, ch, "mention", 1), (b, a, None, "reply", 2), (a, b, ch, "reaction", 3)]
    results = []
    for insert_first in (False, True):
        with db.session() as s:
            s.execute(Relationship.__table__.delete())
        with db.session() as other:  # a tie the next session has never seen
            record_interaction(other, ws_id, a, b, ch, "mention", T0)
        with db.session() as s:
            if insert_first:
                relationships_q.assume_new_ties(s)
            for x, y, c, kind, day in steps:
                record_interaction(s, ws_id, x, y, c, kind, T0 + dt.timedelta(days=day))
        results.append(_weights(db))
    assert results[0] == results[1]
    with db.session() as s:
        s.execute(Relationship.__table__.delete())
    with db.session() as s:
        relationships_q.assume_new_ties(s)
        with counted(s) as statements:
            record_interaction(s, ws_id, a, b, ch, "mention", T0)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")


def test_another_sessions_bump_is_not_lost(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    mine = Session(db.engine, expire_on_commit=False)
    try:
        record_interaction(mine, ws_id, a, b, ch, "mention", T0)
        mine.commit()  # `mine` remembers the row as it left it
        with db.session() as theirs:
            record_interaction(theirs, ws_id, a, b, ch, "reply", T0 + dt.timedelta(days=1))
        record_interaction(mine, ws_id, a, b, ch, "reaction", T0 + dt.timedelta(days=2))
        mine.commit()
    finally:
        mine.close()
    w = bumped(0.0, T0, T0, "mention")
    w = bumped(w, T0, T0 + dt.timedelta(days=1), "reply")
    w = bumped(w, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2), "reaction")
    assert _weights(db) == {(a, b, ch): (w, T0 + dt.timedelta(days=2))}


def test_a_tie_from_a_rolled_back_transaction_is_inserted_again(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    session = Session(db.engine, expire_on_commit=False)
    try:
        record_interaction(session, ws_id, a, b, ch, "mention", T0)
        session.rollback()
        record_interaction(session, ws_id, a, b, ch, "reply", T0 + dt.timedelta(days=1))
        session.commit()
    finally:
        session.close()
    assert _weights(db) == {(a, b, ch): (bumped(0.0, T0, T0, "reply"), T0 + dt.timedelta(days=1))}


def test_a_tie_of_a_forgotten_member_is_not_resurrected(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    with db.session() as s:
        record_interaction(s, ws_id, a, b, ch, "mention", T0)
        forget_member(s, s.get_one(Member, b))
        carol = ensure_member(s, s.get_one(Workspace, ws_id), "UC")
        record_interaction(s, ws_id, a, carol.id, ch, "mention", T0 + dt.timedelta(days=1))
        carol_id = carol.id
    pair = (min(a, carol_id), max(a, carol_id), ch)
    assert _weights(db) == {pair: (bumped(0.0, T0, T0, "mention"), T0 + dt.timedelta(days=1))}


def test_two_sessions_inserting_one_tie_make_one_row(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    ws_id, a, b, ch = _setup(db)
    with db.session() as s:
        record_interaction(s, ws_id, a, b, ch, "mention", T0)
    # The loser read "no tie" before the winner committed: its INSERT conflicts, and it bumps the winner's.
    real = relationships_q._read
    reads: list[object] = []

    def first_misses(session: Session, key: Any) -> Any:
        reads.append(key)
        return None if len(reads) == 1 else real(session, key)

    monkeypatch.setattr(relationships_q, "_read", first_misses)
    with db.session() as s:
        record_interaction(s, ws_id, b, a, ch, "reply", T0 + dt.timedelta(days=1))
    assert len(reads) == 2
    w = bumped(bumped(0.0, T0, T0, "mention"), T0, T0 + dt.timedelta(days=1), "reply")
    assert _weights(db) == {(a, b, ch): (w, T0 + dt.timedelta(days=1))}


def _members(db: Database, n: int) -> tuple[int, list[int], int]:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        ids = [ensure_member(s, ws, f"U{i}").id for i in range(n)]
        ch = Channel(workspace_id=ws.id, slack_channel_id="C1", name="general")
        s.add(ch)
        s.flush()
        return ws.id, ids, ch.id


def test_channel_ties_in_bulk_equal_one_bump_each(db: Database) -> None:
    ws_id, m, ch = _members(db, 5)
    before = [(m[0], m[1]), (m[2], m[0])]
    pairs = [(m[3], m[0]), (m[3], m[1]), (m[3], m[2]), (m[4], m[0]), (m[4], m[3]), (m[1], m[0])]
    later = T0 + dt.timedelta(days=3)
    with db.session() as s:
        for x, y in before:
            record_interaction(s, ws_id, x, y, ch, "mention", T0)
    with db.session() as s:
        record_interaction(s, ws_id, m[2], m[0], ch, "reply", T0)  # known to this session's cache
        record_interactions(s, ws_id, pairs, ch, "shared_channel", later)
    bulk = _weights(db)
    with db.session() as s:
        s.execute(Relationship.__table__.delete())
    for x, y in before:
        with db.session() as s:
            record_interaction(s, ws_id, x, y, ch, "mention", T0)
    with db.session() as s:
        record_interaction(s, ws_id, m[2], m[0], ch, "reply", T0)
    for x, y in pairs:
        with db.session() as s:
            record_interaction(s, ws_id, x, y, ch, "shared_channel", later)
    assert bulk == _weights(db)
    assert len(bulk) == 7


def test_channel_ties_inserted_by_another_writer_meanwhile_are_bumped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws_id, m, ch = _members(db, 3)
    with db.session() as s:
        record_interaction(s, ws_id, m[0], m[1], ch, "mention", T0)
    # Read before the other writer committed: "no ties"; its multi-row INSERT then skips the existing one.
    monkeypatch.setattr(relationships_q, "_read_many", lambda *_args: {})
    later = T0 + dt.timedelta(days=1)
    with db.session() as s:
        record_interactions(s, ws_id, [(m[2], m[0]), (m[1], m[0]), (m[2], m[1])], ch, "shared_channel", later)
    weights = _weights(db)
    assert weights[(m[0], m[1], ch)] == (
        bumped(bumped(0.0, T0, T0, "mention"), T0, later, "shared_channel"),
        later,
    )
    assert weights[(m[0], m[2], ch)] == (bumped(0.0, later, later, "shared_channel"), later)
    assert len(weights) == 3


def test_a_topic_dropped_with_a_forgotten_member_is_made_again(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        alice = ensure_member(s, ws, "UA")
        add_member_topics(s, ws, alice, "interest", ["postgres"])
        first = ensure_topic(s, ws, "postgres").id
        forget_member(s, alice)  # the topic only she had named goes too
        bob = ensure_member(s, ws, "UB")
        assert add_member_topics(s, ws, bob, "interest", ["postgres"]) == ["postgres"]
        topic = ensure_topic(s, ws, "postgres")
        assert [t.name for t in member_topics(s, bob, "interest")] == ["postgres"]
    with db.session() as s:
        assert s.scalars(select(Topic.id)).all() == [topic.id]
        assert first == topic.id or s.get(Topic, first) is None


class _Boom(Exception):
    pass


def test_a_member_created_in_a_rolled_back_savepoint_is_gone_and_made_again(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        bob = ensure_member(s, ws, "UB")  # before the savepoint: stays
        with pytest.raises(_Boom), s.begin_nested():
            ensure_member(s, ws, "UA", display_name="alice")
            raise _Boom
        assert member_by_slack_id(s, ws, "UA") is None
        assert member_by_slack_id(s, ws, "UB") is bob
        again = ensure_member(s, ws, "UA")
        assert again.display_name == ""
        # Released into the transaction, then the transaction rolls back: gone as well.
        with s.begin_nested():
            ensure_member(s, ws, "UC")
        s.rollback()
        ws = ensure_workspace(s, "T1")
        assert member_by_slack_id(s, ws, "UC") is None
        assert member_by_slack_id(s, ws, "UA") is None
    with db.session() as s:
        assert s.scalar(select(func.count(Member.id))) == 0  # everything above was rolled back


def test_a_tie_whose_stored_time_reads_back_differently_is_still_bumped(db: Database) -> None:
    ws_id, a, b, ch = _setup(db)
    with db.session() as s:
        record_interaction(s, ws_id, a, b, ch, "mention", T0)
    if not db.is_postgres:  # the same instant in another text form, as another writer might have stored it
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE relationships SET updated_at = '2026-03-02 09:00:00'"))
    later = T0 + dt.timedelta(days=1)
    with db.session() as s:
        record_interaction(s, ws_id, b, a, ch, "reply", later)
    assert _weights(db) == {(a, b, ch): (bumped(bumped(0.0, T0, T0, "mention"), T0, later, "reply"), later)}
