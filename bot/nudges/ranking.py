"""Glue between the store and the matching core's ranker: member profiles, a reusable member index.

Building the index embeds every member's topics (from the vector cache after the first time) and sets up
the flat arrays the vectorised ranker uses; a planner tick reuses it while the inputs are unchanged, keyed
by a cheap fingerprint of the rows it was built from.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select, true
from sqlalchemy.orm import Session

from bot.matching.embedders import CachedEmbedder, Embedder
from bot.matching.rank import MemberIndex, MemberProfile, build_member_index
from bot.nudges.loading import helped_texts, topics_by_member
from bot.store.models import Member, MemberTopic, ThreadReply, Workspace
from bot.store.queries.embeddings import StoreEmbeddingCache

ACTIVITY_WINDOW = dt.timedelta(days=90)
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[Any, ...], _Built] = OrderedDict()
_lock = threading.Lock()


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
    replies = select(func.count(ThreadReply.id), func.max(ThreadReply.id)).where(
        ThreadReply.workspace_id == ws, ThreadReply.replied_at >= since
    )
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


def _fingerprint(session: Session, workspace_id: int, field: str, since: dt.datetime) -> tuple[Any, ...]:
    """What the index is built from, read in one round trip (planning a question asks for it every time)."""
    expertise = field == "expertise"
    params: dict[str, Any] = {"workspace_id": workspace_id}
    if expertise:
        params["since"] = since
    values = tuple(session.execute(_FINGERPRINT[expertise], params).one())
    reply_part = values[6:8] if expertise else ()
    # The activity window slides daily; within a day the index stays valid.
    return (workspace_id, values[0], field, values[1:4], values[4:6], reply_part, since.date())


@dataclass(frozen=True)
class _Parts:
    """The part of the profiles that only changes with the members and their topics (not with replies)."""

    eligible: tuple[int, ...]  # sorted
    stated: dict[int, list[str]]
    muted: dict[int, list[str]]


@dataclass(frozen=True)
class _Built:
    base: tuple[Any, ...]  # the fingerprint without the replies: same workspace, field and topics
    embedder: str
    profiles: list[MemberProfile]
    index: MemberIndex


_parts: OrderedDict[tuple[Any, ...], _Parts] = OrderedDict()


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


def _assemble(parts: _Parts, helped: dict[int, list[str]]) -> list[MemberProfile]:
    out = []
    for member_id in parts.eligible:
        topics, did = parts.stated.get(member_id, []), helped.get(member_id, [])
        if topics or did:
            out.append(
                MemberProfile(
                    id=str(member_id),
                    topics=tuple(topics),
                    helped=tuple(did),
                    activity=float(len(did)),
                    muted=tuple(parts.muted.get(member_id, ())),
                )
            )
    return out


def _helped(session: Session, workspace_id: int, field: str, now: dt.datetime) -> dict[int, list[str]]:
    return helped_texts(session, workspace_id, now - ACTIVITY_WINDOW) if field == "expertise" else {}


def profiles(session: Session, workspace_id: int, field: str, now: dt.datetime) -> list[MemberProfile]:
    """Opted-in people with something to match on, for `field` interest (shares) or expertise (help)."""
    return _assemble(_load_parts(session, workspace_id, field), _helped(session, workspace_id, field, now))


def member_index(
    session: Session, workspace_id: int, field: str, embedder: Embedder, now: dt.datetime
) -> MemberIndex:
    """The ranker's member index for `field`, reused while the members' topics and replies are unchanged.

    A thread reply changes the fingerprint (the helped questions are evidence of expertise) but not the
    members or their topics: those are kept under the fingerprint without the replies, and only the helped
    texts are read again. When the profiles come out the same as an index already built (the replier is
    not opted in, or the question is private), that index is reused: the same input builds the same index.
    """
    fingerprint = _fingerprint(session, workspace_id, field, now - ACTIVITY_WINDOW)
    key = (*fingerprint, embedder.name)
    base = (*fingerprint[:5], fingerprint[6])
    with _lock:
        built = _cache.get(key)
        if built is not None:
            _cache.move_to_end(key)
            return built.index
        parts = _parts.get(base)
    if parts is None:
        parts = _load_parts(session, workspace_id, field)
    members = _assemble(parts, _helped(session, workspace_id, field, now))
    with _lock:
        _parts[base] = parts
        _parts.move_to_end(base)
        while len(_parts) > _CACHE_SIZE:
            _parts.popitem(last=False)
        same = next(
            (
                b
                for b in _cache.values()
                if b.base == base and b.embedder == embedder.name and b.profiles == members
            ),
            None,
        )
    index = same.index if same is not None else build_member_index(members, embedder)
    with _lock:
        _cache[key] = _Built(base, embedder.name, members, index)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def clear_index_cache() -> None:
    with _lock:
        _cache.clear()
        _parts.clear()
