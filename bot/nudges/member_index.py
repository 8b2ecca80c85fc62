"""The per-workspace member index the matching ranker (bot/matching/rank.py) ranks: member profiles read
from the store, and `MemberIndexes`, the cache that keeps the index between plannings.

Building the index embeds every member's topics (from the vector cache after the first time) and sets up
the flat arrays the vectorised ranker uses; a planner tick reuses it while the inputs are unchanged, keyed
by a cheap fingerprint of the rows it was built from. The cache is one object owned by whoever runs the
planner (the runtime's `AppContext`, a replay), not module state: two of them never share an index.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.orm import Session

from bot.matching.embedders import CachedEmbedder, Embedder
from bot.matching.rank import MemberIndex, MemberProfile, TextMemo, build_member_index
from bot.nudges.loading import (
    help_replies,
    help_times,
    helped_texts,
    most_recent_help,
    topics_by_member,
)
from bot.store.fastpath import plain_rows
from bot.store.models import Member, MemberTopic, ThreadReply, Workspace
from bot.store.queries.embeddings import StoreEmbeddingCache

ACTIVITY_WINDOW = dt.timedelta(days=90)
_CACHE_SIZE = 8


def with_store_cache(embedder: Embedder, session: Session, workspace_id: int) -> CachedEmbedder:
    """The embedder with the workspace's stored vectors behind its in-memory cache (memory, then the
    database, then the model), so re-planning, even in a new process, never re-embeds a text."""
    store = StoreEmbeddingCache(session, workspace_id)
    if isinstance(embedder, CachedEmbedder):
        return CachedEmbedder(CachedEmbedder(embedder.inner, store), embedder.cache)
    return CachedEmbedder(embedder, store)


def _fingerprint_statement(with_replies: bool) -> Select[Any]:
    ws: Any = bindparam("workspace_id", type_=Member.workspace_id.type)
    since: Any = bindparam("since", type_=ThreadReply.replied_at.type)
    topics = select(
        func.count(MemberTopic.id), func.max(MemberTopic.id), func.max(MemberTopic.created_at)
    ).where(MemberTopic.workspace_id == ws)
    # Not updated_at: every tick writes last_planned_on, which must not invalidate the index.
    members = select(func.count(Member.id), func.sum(Member.id)).where(
        Member.workspace_id == ws,
        Member.opted_in.is_(True),
        Member.is_bot.is_(False),
        Member.is_deleted.is_(False),
    )
    # The sums tell apart two windows with the same count and highest id (an id reused after a rollback).
    replies = select(
        func.count(ThreadReply.id),
        func.max(ThreadReply.id),
        func.sum(ThreadReply.member_id),
        func.sum(ThreadReply.item_id),
    ).where(ThreadReply.workspace_id == ws, ThreadReply.replied_at >= since)
    # The workspace's creation time tells apart two databases that reuse the same ids.
    created = select(Workspace.created_at).where(Workspace.id == ws)
    # Each aggregate is one row: joining them on TRUE is the intended cross product of single rows.
    t, m = topics.subquery(), members.subquery()
    parts, joined = [*t.c, *m.c], t.join(m, true())
    if with_replies:
        r = replies.subquery()
        parts, joined = [*parts, *r.c], joined.join(r, true())
    return select(created.scalar_subquery(), *parts).select_from(joined)


# Built once: constructing the subqueries costs more than running them, and planning asks every time.
_FINGERPRINT = {True: _fingerprint_statement(True), False: _fingerprint_statement(False)}


@dataclass(frozen=True)
class Fingerprint:
    """What a workspace's index for `field` is built from, cheaply read: it changes when the index would."""

    workspace_id: int
    created: Any  # the workspace's creation time: tells apart two databases that reuse the same ids
    field: str
    topics: tuple[Any, ...]  # count, highest id, latest creation of the member topics
    members: tuple[Any, ...]  # count and id sum of the eligible members
    replies: tuple[Any, ...]  # count, highest id, member and item id sums of the window's replies (help only)
    day: dt.date  # the activity window slides daily; within a day the index stays valid


@dataclass(frozen=True)
class IndexKey:
    """One cached index: its fingerprint and the embedder that built it."""

    fingerprint: Fingerprint
    embedder: str

    @property
    def without_replies(self) -> IndexKey:
        """The key of what only changes with the members and their topics (not with replies)."""
        return replace(self, fingerprint=replace(self.fingerprint, replies=()))


def _fingerprint(session: Session, workspace_id: int, field: str, since: dt.datetime) -> Fingerprint:
    """What the index is built from, read in one round trip (planning a question asks for it every time)."""
    expertise = field == "expertise"
    params: dict[str, Any] = {"workspace_id": workspace_id}
    if expertise:
        params["since"] = since
    [values] = [tuple(row) for row in plain_rows(session, _FINGERPRINT[expertise], params)]
    reply_part = values[6:10] if expertise else ()
    # The activity window slides daily; within a day the index stays valid.
    return Fingerprint(workspace_id, values[0], field, values[1:4], values[4:6], reply_part, since.date())


@dataclass(frozen=True)
class _Parts:
    """The part of the profiles that only changes with the members and their topics (not with replies)."""

    eligible: tuple[int, ...]  # sorted
    stated: dict[int, list[str]]
    muted: dict[int, list[str]]


@dataclass(frozen=True)
class _Built:
    index: MemberIndex
    helped: int  # version of the helped texts it was built from (0: none, shares)
    profiles: Assembled = field(default_factory=dict)  # what it was built from, for the next assembly


@dataclass
class _HelpLog:
    """The thread replies of one workspace's activity window read so far, so that the next planning reads
    only the replies stored since (by id) instead of every reply in the window.

    It is checked against the fingerprint's count, highest id and id sums of the replies in the window: anything
    else (a reply or question deleted, an id committed out of order by another process) makes the numbers
    disagree and the window is read again from scratch. A new day reads it afresh too, which also picks up
    edited questions.
    """

    day: dt.date
    since: dt.datetime
    max_id: int = 0
    oldest: dt.datetime | None = None  # the earliest replied_at in `replies`
    member_sum: int = 0  # of the replies' member ids, and item ids below, as the fingerprint sums them
    item_sum: int = 0
    # Every reply in the window: id -> (member, replied at), counted or not, as the fingerprint counts them.
    replies: dict[int, tuple[int, int, dt.datetime]] = field(default_factory=dict)  # id -> member, item, at
    # Per member, their observed help as (replied at, reply id, question text).
    by_member: dict[int, list[tuple[dt.datetime, int, str]]] = field(default_factory=dict)
    helped: dict[int, list[str]] = field(default_factory=dict)  # most_recent_help of by_member
    times: dict[int, tuple[float, ...]] = field(default_factory=dict)  # help_times of by_member
    version: int = 0  # changes whenever `helped` does

    def add(self, rows: list[tuple[int, int, int, dt.datetime, str]]) -> set[int]:
        changed: set[int] = set()
        for rid, member_id, item_id, at, body in rows:
            self.replies[rid] = (member_id, item_id, at)
            self.member_sum += member_id
            self.item_sum += item_id
            self.max_id = max(self.max_id, rid)
            self.oldest = at if self.oldest is None else min(self.oldest, at)
            if body:
                self.by_member.setdefault(member_id, []).append((at, rid, body))
                changed.add(member_id)
        return changed

    def slide(self, since: dt.datetime) -> set[int]:
        """Forget the replies that left the window."""
        self.since = since
        if self.oldest is None or self.oldest >= since:
            return set()
        gone = {rid for rid, (_m, _i, at) in self.replies.items() if at < since}
        self.oldest = min((at for _m, _i, at in self.replies.values() if at >= since), default=None)
        changed: set[int] = set()
        for rid in gone:
            member_id, item_id, _at = self.replies.pop(rid)
            self.member_sum -= member_id
            self.item_sum -= item_id
            entries = self.by_member.get(member_id)
            if entries is not None:
                kept = [e for e in entries if e[1] != rid]
                if len(kept) != len(entries):
                    changed.add(member_id)
                    self.by_member[member_id] = kept
        return changed

    def refresh(self, changed: set[int], versions: Iterator[int]) -> None:
        if not changed:
            return
        for member_id in changed:
            replies = self.by_member.get(member_id, ())
            texts = most_recent_help(replies)
            if texts:
                self.helped[member_id] = texts
                self.times[member_id] = help_times(replies)
            else:
                self.helped.pop(member_id, None)
                self.times.pop(member_id, None)
        self.version = next(versions)


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _load_parts(session: Session, workspace_id: int, field: str) -> _Parts:
    eligible = session.scalars(
        select(Member.id).where(
            Member.workspace_id == workspace_id,
            Member.opted_in.is_(True),
            Member.is_bot.is_(False),
            Member.is_deleted.is_(False),
        )
    )
    return _Parts(
        eligible=tuple(sorted(set(eligible))),
        stated=topics_by_member(session, workspace_id, field),
        muted=topics_by_member(session, workspace_id, "muted"),
    )


Assembled = dict[int, tuple[list[str] | None, MemberProfile]]


def _assemble(
    parts: _Parts,
    helped: dict[int, list[str]],
    times: dict[int, tuple[float, ...]],
    before: Assembled | None = None,
    into: Assembled | None = None,
) -> list[MemberProfile]:
    """The profiles of the eligible members. `before` holds profiles assembled from the same parts, each
    with the helped list it was made from: a member whose list is the very same object keeps their
    profile (and its tuples, which the index build then recognises; their reply times are recomputed with
    the list, so they are the same too). `into` collects the same for next time.
    """
    out = []
    for member_id in parts.eligible:
        topics, did = parts.stated.get(member_id, []), helped.get(member_id)
        if not (topics or did):
            continue
        old = before.get(member_id) if before is not None else None
        if old is not None and old[0] is did:
            profile = old[1]
        else:
            profile = MemberProfile(
                id=str(member_id),
                topics=tuple(topics),
                helped=tuple(did or ()),
                activity=float(len(times.get(member_id, ()))),
                muted=tuple(parts.muted.get(member_id, ())),
                replied_at=times.get(member_id, ()),
            )
        if into is not None:
            into[member_id] = (did, profile)
        out.append(profile)
    return out


Help = tuple[dict[int, list[str]], dict[int, tuple[float, ...]]]


def _helped(
    session: Session, workspace_id: int, field: str, now: dt.datetime, ids: Collection[int] | None = None
) -> Help:
    if field != "expertise":
        return {}, {}
    return helped_texts(session, workspace_id, now - ACTIVITY_WINDOW, ids=ids, with_times=True)


def reference_time(now: dt.datetime) -> float:
    """When the activity prior measures reply ages from: the start of `now`'s day (UTC), the same for every
    planning of the day, as the index is kept for the day."""
    day = now.astimezone(dt.UTC) if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(day.date(), dt.time(), tzinfo=dt.UTC).timestamp()


def profiles(session: Session, workspace_id: int, field: str, now: dt.datetime) -> list[MemberProfile]:
    """Opted-in people with something to match on, for `field` interest (shares) or expertise (help).

    Read from scratch: what `member_index` keeps up to date must always equal this (built with
    `now=reference_time(now)`)."""
    return _assemble(_load_parts(session, workspace_id, field), *_helped(session, workspace_id, field, now))


def profiles_of(
    session: Session, workspace_id: int, field: str, ids: Collection[int], now: dt.datetime
) -> list[MemberProfile]:
    """The profiles `member_index` holds for `ids` (opted-in people, not bots), read for them alone: a
    planner with few possible recipients can tell whether any of them could match at all without the
    workspace's index."""
    if not ids:
        return []
    parts = _Parts(
        eligible=tuple(sorted(ids)),
        stated=topics_by_member(session, workspace_id, field, ids),
        muted=topics_by_member(session, workspace_id, "muted", ids),
    )
    return _assemble(parts, *_helped(session, workspace_id, field, now, ids))


class MemberIndexes:
    """The member indexes of the workspaces one process plans for, and what rebuilds them cheaply: kept in
    small LRU maps (`_CACHE_SIZE` each), safe to share between threads.

    Everything kept is a pure function of store rows named by a key (an `IndexKey`, or a workspace and
    database), so a hit always equals a rebuild from scratch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._versions = itertools.count(1)
        self._cache: OrderedDict[IndexKey, _Built] = OrderedDict()
        # Per key without the replies: the members and topics, and the index last built, lent to the next
        # build (topics, muted arrays).
        self._parts: OrderedDict[IndexKey, _Parts] = OrderedDict()
        self._last: OrderedDict[IndexKey, _Built] = OrderedDict()
        # Per workspace and database: the help log of the activity window.
        self._logs: OrderedDict[tuple[int, Any], _HelpLog] = OrderedDict()
        # Per workspace, database and embedder: helped questions' vectors and calibration (a pure function
        # of the text).
        self._memos: OrderedDict[tuple[Any, ...], TextMemo] = OrderedDict()
        self._small: OrderedDict[tuple[Any, ...], MemberIndex] = OrderedDict()

    def small_index(self, members: list[MemberProfile], embedder: Embedder) -> MemberIndex:
        """The index of a few profiles, remembered by their contents (the same few people stay ready for a
        while, and their profiles change only when they help again)."""
        key = (embedder.name, *members)
        with self._lock:
            index = self._small.get(key)
        if index is None:
            index = build_member_index(members, embedder)
            with self._lock:
                _remember(self._small, key, index)
        return index

    def _help_log(
        self, session: Session, workspace_id: int, fingerprint: Fingerprint, since: dt.datetime
    ) -> tuple[dict[int, list[str]], dict[int, tuple[float, ...]], int]:
        """The helped texts and reply times per member and their version, reading only the replies not read
        before."""
        count, max_id, member_sum, item_sum = (int(v or 0) for v in fingerprint.replies)
        key = (workspace_id, fingerprint.created)  # the creation time tells databases apart
        with self._log_lock:
            log = self._logs.get(key)
            fresh = log is None or log.day != since.date() or since < log.since
            if log is not None and not fresh:
                changed = log.slide(since) if since > log.since else set()
                if max_id > log.max_id:
                    changed |= log.add(help_replies(session, workspace_id, since, log.max_id))
                agree = (len(log.replies), log.max_id, log.member_sum, log.item_sum)
                if agree == (count, max_id, member_sum, item_sum):
                    log.refresh(changed, self._versions)
                else:
                    fresh = True
            if fresh:
                log = _HelpLog(day=since.date(), since=since)
                log.refresh(log.add(help_replies(session, workspace_id, since)), self._versions)
                log.version = log.version or next(self._versions)
            assert log is not None
            _remember(self._logs, key, log)
            return dict(log.helped), dict(log.times), log.version

    def member_index(
        self, session: Session, workspace_id: int, field: str, embedder: Embedder, now: dt.datetime
    ) -> MemberIndex:
        """The ranker's member index for `field`, reused while the members' topics and replies are unchanged.

        A thread reply changes the fingerprint (the helped questions are evidence of expertise) but not the
        members or their topics: those are kept under the fingerprint without the replies, only the replies
        stored since the last planning are read, and only the helped part of the index is assembled again
        (from remembered vectors). The result always equals `build_member_index(profiles(...))`.
        """
        since = now - ACTIVITY_WINDOW
        fingerprint = _fingerprint(session, workspace_id, field, since)
        key = IndexKey(fingerprint, embedder.name)
        base = key.without_replies
        with self._lock:
            built = self._cache.get(key)
            if built is not None:
                self._cache.move_to_end(key)
                return built.index
            parts = self._parts.get(base)
            last = self._last.get(base)
        if parts is None:
            parts = _load_parts(session, workspace_id, field)
        helped: dict[int, list[str]] = {}
        times: dict[int, tuple[float, ...]] = {}
        version = 0
        if field == "expertise":
            helped, times, version = self._help_log(session, workspace_id, fingerprint, since)
        if last is not None and last.helped == version:
            index = last.index  # the same inputs: e.g. the new reply was not observed help
        else:
            # One memo per workspace (and database): every vector it holds came through this workspace's
            # store-backed embedder, so the store keeps them for the next process as before.
            memo_key = (workspace_id, fingerprint.created, embedder.name)
            with self._lock:
                memo = self._memos.get(memo_key)
                if memo is None:
                    memo = TextMemo(embedder.name)
                _remember(self._memos, memo_key, memo)
            assembled: Assembled = {}
            members = _assemble(parts, helped, times, last.profiles if last is not None else None, assembled)
            index = build_member_index(
                members,
                embedder,
                memo=memo,
                previous=last.index if last is not None else None,
                now=reference_time(now),
            )
            self._trim(memo_key, memo, index)
            last = _Built(index, version, assembled)
        with self._lock:
            _remember(self._parts, base, parts)
            _remember(self._last, base, last)
            _remember(self._cache, key, last)
        return index

    def _trim(self, key: tuple[Any, ...], memo: TextMemo, index: MemberIndex) -> None:
        """Keep the memo from growing without bound: when most of it is no longer used, keep what is."""
        if len(memo) > 4 * max(len(index.helped.texts), 1024):
            with self._lock:
                self._memos[key] = memo.compacted(index.helped.texts)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._small.clear()
            self._parts.clear()
            self._last.clear()
            self._memos.clear()
        with self._log_lock:
            self._logs.clear()
