"""The member index kept up to date between plannings equals the one built from scratch, whatever happened.

`member_index` reads only the thread replies stored since it last looked and reassembles the helped part
from remembered vectors; these tests compare it, array by array, with `build_member_index(profiles(...))`
after inserts, deletions, replies that are not help, the window sliding, and writes from another session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.matching.rank import MemberIndex, MemberProfile, TextMemo, build_member_index, rank_items
from bot.nudges import member_index
from bot.nudges.member_index import ACTIVITY_WINDOW, MemberIndexes, profiles
from bot.store.db import Database
from bot.store.models import Item, ThreadReply, Workspace
from tests.nudges.world import DAY, World, channel, embedder, item, member, small_team

NOON = DAY + dt.timedelta(hours=12)
QUESTIONS = [
    ("ann", "How do I tune postgres autovacuum on a busy table?"),
    ("bob", "Our kubernetes pods keep getting evicted, any idea why?"),
    ("cy", "Which terraform provider version pins do you use?"),
    ("dana", "Best way to rehearse a conference talk?"),
    ("eve", "Postgres replica lag spikes every night"),
    ("bob", "How do you structure a helm chart for many services?"),
]


def _same_flat(a: object, b: object) -> None:
    assert a.texts == b.texts  # type: ignore[attr-defined]
    for name in ("vectors", "mean", "scale", "flat", "owners", "starts", "bucket_owners"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    assert len(a.buckets) == len(b.buckets)  # type: ignore[attr-defined]
    for (owners_a, table_a), (owners_b, table_b) in zip(a.buckets, b.buckets, strict=True):  # type: ignore[attr-defined]
        assert np.array_equal(owners_a, owners_b) and np.array_equal(table_a, table_b)


def assert_same_index(a: MemberIndex, b: MemberIndex) -> None:
    """Equal arrays, bit for bit: the ranker then gives the same answer for any item."""
    assert a.member_ids == b.member_ids
    for part in ("topics", "helped", "muted"):
        _same_flat(getattr(a, part), getattr(b, part))
    for name in ("log_activity", "log_helped_count", "no_evidence", "topic_member_ptr", "topic_members"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("terms", "ptr", "rows", "weights", "owners", "slot", "dense"):
        x, y = getattr(a.lexical, name), getattr(b.lexical, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f"lexical {name}"
    assert a.topic_lookup == b.topic_lookup and a.muted_lookup == b.muted_lookup
    assert a.max_topic_words == b.max_topic_words


def _check(indexes: MemberIndexes, s: object, ws: Workspace, now: dt.datetime) -> MemberIndex:
    emb = embedder()
    kept = indexes.member_index(s, ws.id, "expertise", emb, now)  # type: ignore[arg-type]
    cold = build_member_index(
        profiles(s, ws.id, "expertise", now),  # type: ignore[arg-type]
        emb,
        now=member_index.reference_time(now),
    )
    assert_same_index(kept, cold)
    texts = [t for _, t in QUESTIONS] + ["postgres vacuum", "kubernetes eviction"]
    vectors = emb.embed(texts)
    ids = [str(i) for i in range(len(texts))]
    assert rank_items(kept, ids, texts, vectors, k=5) == rank_items(cold, ids, texts, vectors, k=5)
    return kept


def _world(s: object) -> tuple[World, list[Item]]:
    w = small_team(s)  # type: ignore[arg-type]
    member(s, w, "gus", "Europe/Lisbon")  # type: ignore[arg-type]  # no topics at all
    channel(s, w, "help", ["ann", "bob", "cy", "dana", "eve", "fred", "gus"])  # type: ignore[arg-type]
    for m in w.m.values():
        if m.display_name != "fred":
            m.opted_in = True
    questions = [
        item(s, w, "question", "help", who, "", text, NOON - dt.timedelta(days=30 - i))  # type: ignore[arg-type]
        for i, (who, text) in enumerate(QUESTIONS)
    ]
    s.flush()  # type: ignore[attr-defined]
    return w, questions


def _reply(s: object, w: World, q: Item, who: str, at: dt.datetime) -> ThreadReply:
    r = ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=w.m[who].id, replied_at=at)
    s.add(r)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    return r


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `after_id` of every read of replies by the kept index (0: the whole window)."""
    reads: list[int] = []
    real = member_index.help_replies

    def counting(s: Session, workspace_id: int, since: dt.datetime, after_id: int = 0) -> Any:
        reads.append(after_id)
        return real(s, workspace_id, since, after_id)

    monkeypatch.setattr(member_index, "help_replies", counting)
    return reads


def test_kept_index_equals_a_cold_build_after_every_change(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = MemberIndexes()
    reads = _count_reads(monkeypatch)
    with db.session() as s:
        w, qs = _world(s)
        now = NOON
        _check(indexes, s, w.ws, now)
        # Someone without stated expertise helps: a new member enters the index, others move along.
        _reply(s, w, qs[0], "gus", now - dt.timedelta(days=20))
        _check(indexes, s, w.ws, now)
        for q, who in ((qs[1], "dana"), (qs[0], "cy"), (qs[4], "cy"), (qs[5], "dana"), (qs[2], "ann")):
            _reply(s, w, q, who, now - dt.timedelta(days=10))
            _check(indexes, s, w.ws, now)
        # Each new reply was read on its own, after the first reading of the window.
        # (The window was empty at first: the second read starts after id 0 too.)
        assert len(reads) == 7 and all(after > 0 for after in reads[2:]) and reads == sorted(reads)
        # Replies that are not help: to one's own question, and by someone who is not opted in.
        _reply(s, w, qs[3], "dana", now - dt.timedelta(days=5))
        _reply(s, w, qs[3], "fred", now - dt.timedelta(days=5))
        _check(indexes, s, w.ws, now)
        # A reply deleted, then a question deleted (its replies go with it).
        s.execute(delete(ThreadReply).where(ThreadReply.item_id == qs[2].id))
        _check(indexes, s, w.ws, now)
        assert reads[-1] == 0  # read again from scratch
        s.execute(delete(Item).where(Item.id == qs[4].id))
        _check(indexes, s, w.ws, now)
        # A deletion and a new reply between two plannings: the counts tell.
        s.execute(delete(ThreadReply).where(ThreadReply.item_id == qs[5].id))
        _reply(s, w, qs[1], "ann", now - dt.timedelta(days=3))
        _check(indexes, s, w.ws, now)


def test_the_window_slides_within_a_day_and_across_days(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = MemberIndexes()
    reads = _count_reads(monkeypatch)
    with db.session() as s:
        w, qs = _world(s)
        old = NOON - dt.timedelta(days=60)
        _reply(s, w, qs[0], "gus", old)
        _reply(s, w, qs[1], "cy", old + dt.timedelta(hours=2))
        _reply(s, w, qs[4], "gus", NOON - dt.timedelta(days=1))
        # The first reply is just inside the window, then just outside (same day), then a day later.
        first = old + ACTIVITY_WINDOW - dt.timedelta(hours=1)
        before = _check(indexes, s, w.ws, first)
        after = _check(indexes, s, w.ws, first + dt.timedelta(hours=2))
        assert before.member_ids != after.member_ids or not np.array_equal(
            before.log_activity, after.log_activity
        )
        _check(indexes, s, w.ws, first + dt.timedelta(hours=2, minutes=30))
        assert reads == [0]  # within the day the window slid without reading anything again
        _check(indexes, s, w.ws, first + dt.timedelta(days=1))
        assert reads == [0, 0]  # a new day reads the window afresh


def test_replies_written_by_another_session_are_seen(db: Database) -> None:
    indexes = MemberIndexes()
    with db.session() as s:
        w, qs = _world(s)
        ws_id, q_ids, member_ids = w.ws.id, [q.id for q in qs], {k: m.id for k, m in w.m.items()}
        _reply(s, w, qs[0], "cy", NOON - dt.timedelta(days=2))
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        assert ws is not None
        _check(indexes, s, ws, NOON)
    with db.session() as other:  # another process, say
        other.add(ThreadReply(workspace_id=ws_id, item_id=q_ids[1], member_id=member_ids["gus"],
                              replied_at=NOON - dt.timedelta(days=1)))  # fmt: skip
        other.execute(delete(ThreadReply).where(ThreadReply.item_id == q_ids[0]))
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        assert ws is not None
        index = _check(indexes, s, ws, NOON)
        assert str(member_ids["gus"]) in index.member_ids


def test_a_shared_memo_builds_the_same_index_as_a_fresh_one() -> None:
    emb = embedder()
    members = [
        MemberProfile("1", ("postgres",), helped=("How do I vacuum?", "Replica lag at night")),
        MemberProfile("2", ("kubernetes",), helped=("Pods evicted", "How do I vacuum?")),
        MemberProfile("3", (), helped=("Helm chart layout",), muted=("css",)),
    ]
    memo = TextMemo(emb.name)
    build_member_index(list(reversed(members)), emb, memo=memo)  # fills the memo in another order
    assert len(memo) == 4  # the helped texts, each once
    build_member_index(members[1:], emb, memo=memo)
    previous = build_member_index(members[:2], emb, memo=memo)
    cold = build_member_index(members, emb)
    assert_same_index(build_member_index(members, emb, memo=memo, previous=previous), cold)
    assert_same_index(build_member_index(members, emb, memo=memo.compacted(["Pods evicted"])), cold)


def test_a_rolled_back_reply_whose_id_comes_back_is_not_kept(db: Database) -> None:
    """The planner may read a reply its own transaction then rolls back; SQLite can hand the same id to
    the next reply. Count and highest id agree then, the id sums do not."""
    indexes = MemberIndexes()
    with db.session() as s:
        w, qs = _world(s)
        _reply(s, w, qs[0], "cy", NOON - dt.timedelta(days=3))
        _check(indexes, s, w.ws, NOON)
        savepoint = s.begin_nested()
        gone = _reply(s, w, qs[1], "gus", NOON - dt.timedelta(days=2))
        reused = gone.id
        _check(indexes, s, w.ws, NOON)
        savepoint.rollback()
        s.add(
            ThreadReply(
                id=reused, workspace_id=w.ws.id, item_id=qs[5].id, member_id=w.m["ann"].id,
                replied_at=NOON - dt.timedelta(days=2),
            )
        )  # fmt: skip
        s.flush()
        index = _check(indexes, s, w.ws, NOON)
        assert str(w.m["gus"].id) not in index.member_ids
