"""Glue between the store and the matching core's ranker: member profiles, a reusable member index.

Building the index embeds every member's topics (from the vector cache after the first time) and sets up
the flat arrays the vectorised ranker uses; a planner tick reuses it while the inputs are unchanged, keyed
by a cheap fingerprint of the rows it was built from.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.matching.embedders import CachedEmbedder, Embedder
from bot.matching.rank import MemberIndex, MemberProfile, build_member_index
from bot.nudges.loading import helped_texts, topics_by_member
from bot.store.models import Member, MemberTopic, ThreadReply, Workspace
from bot.store.queries.embeddings import StoreEmbeddingCache

ACTIVITY_WINDOW = dt.timedelta(days=90)
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[Any, ...], MemberIndex] = OrderedDict()
_lock = threading.Lock()


def with_store_cache(embedder: Embedder, session: Session, workspace_id: int) -> CachedEmbedder:
    """The embedder with the workspace's stored vectors behind its in-memory cache (memory, then the
    database, then the model), so re-planning, even in a new process, never re-embeds a text."""
    store = StoreEmbeddingCache(session, workspace_id)
    if isinstance(embedder, CachedEmbedder):
        return CachedEmbedder(CachedEmbedder(embedder.inner, store), embedder.cache)
    return CachedEmbedder(embedder, store)


def _fingerprint(session: Session, workspace_id: int, field: str, since: dt.datetime) -> tuple[Any, ...]:
    """What the index is built from, read in one round trip (planning a question asks for it every time)."""
    topics = select(
        func.count(MemberTopic.id), func.max(MemberTopic.id), func.max(MemberTopic.created_at)
    ).where(MemberTopic.workspace_id == workspace_id)
    # Not updated_at: every tick writes last_planned_on, which must not invalidate the index.
    members = select(func.count(Member.id), func.sum(Member.id)).where(
        Member.workspace_id == workspace_id,
        Member.opted_in.is_(True),
        Member.is_bot.is_(False),
        Member.is_deleted.is_(False),
    )
    replies = select(func.count(ThreadReply.id), func.max(ThreadReply.id)).where(
        ThreadReply.workspace_id == workspace_id, ThreadReply.replied_at >= since
    )
    # The workspace's creation time tells apart two databases that reuse the same ids.
    created = select(Workspace.created_at).where(Workspace.id == workspace_id)
    parts = [*(topics.subquery().c), *(members.subquery().c)]
    if field == "expertise":
        parts += [*(replies.subquery().c)]
    row = session.execute(select(created.scalar_subquery(), *parts)).one()
    n_replies = 2 if field == "expertise" else 0
    values = tuple(row)
    reply_part = values[6 : 6 + n_replies]
    # The activity window slides daily; within a day the index stays valid.
    return (workspace_id, values[0], field, values[1:4], values[4:6], reply_part, since.date())


def profiles(session: Session, workspace_id: int, field: str, now: dt.datetime) -> list[MemberProfile]:
    """Opted-in people with something to match on, for `field` interest (shares) or expertise (help)."""
    eligible = {
        mid
        for (mid,) in session.execute(
            select(Member.id).where(
                Member.workspace_id == workspace_id,
                Member.opted_in.is_(True),
                Member.is_bot.is_(False),
                Member.is_deleted.is_(False),
            )
        )
    }
    stated = topics_by_member(session, workspace_id, field)
    muted = topics_by_member(session, workspace_id, "muted")
    helped: dict[int, list[str]] = {}
    if field == "expertise":
        helped = helped_texts(session, workspace_id, now - ACTIVITY_WINDOW)
    out = []
    for member_id in sorted(eligible):
        topics, did = stated.get(member_id, []), helped.get(member_id, [])
        if topics or did:
            out.append(
                MemberProfile(
                    id=str(member_id),
                    topics=tuple(topics),
                    helped=tuple(did),
                    activity=float(len(did)),
                    muted=tuple(muted.get(member_id, ())),
                )
            )
    return out


def member_index(
    session: Session, workspace_id: int, field: str, embedder: Embedder, now: dt.datetime
) -> MemberIndex:
    """The ranker's member index for `field`, reused while the members' topics and replies are unchanged."""
    key = (*_fingerprint(session, workspace_id, field, now - ACTIVITY_WINDOW), embedder.name)
    with _lock:
        index = _cache.get(key)
        if index is not None:
            _cache.move_to_end(key)
            return index
    index = build_member_index(profiles(session, workspace_id, field, now), embedder)
    with _lock:
        _cache[key] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def clear_index_cache() -> None:
    with _lock:
        _cache.clear()
