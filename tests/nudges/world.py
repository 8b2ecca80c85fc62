"""A small workspace on the real database, built the way ingest would leave it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy.orm import Session

from bot.config import Settings, load_settings
from bot.matching.embedders import CachedEmbedder, LocalEmbedder
from bot.store.models import Channel, ChannelMember, Item, Member, Workspace
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.relationships import record_interaction
from bot.store.queries.workspaces import ensure_workspace

# Wednesday 4 June 2025, 00:00 UTC: a weekday for everyone from Sydney to New York.
DAY = dt.datetime(2025, 6, 4, 0, 0, tzinfo=dt.UTC)


def settings(**overrides: object) -> Settings:
    return load_settings(database_url="sqlite://", **overrides)


@lru_cache(maxsize=1)
def _local() -> LocalEmbedder:
    return LocalEmbedder()


def embedder() -> CachedEmbedder:
    """The shipped local model (loads in about a second), with a fresh in-memory cache per call."""
    return CachedEmbedder(_local())


@dataclass
class World:
    ws: Workspace
    m: dict[str, Member] = field(default_factory=dict)
    ch: dict[str, Channel] = field(default_factory=dict)


def member(
    s: Session,
    w: World,
    name: str,
    tz: str,
    *,
    interests: tuple[str, ...] = (),
    expertise: tuple[str, ...] = (),
    **fields: object,
) -> Member:
    m = ensure_member(s, w.ws, f"U{name.upper()}", display_name=name, tz=tz)
    for key, value in fields.items():
        setattr(m, key, value)
    s.flush()
    if interests:
        add_member_topics(s, w.ws, m, "interest", interests)
    if expertise:
        add_member_topics(s, w.ws, m, "expertise", expertise)
    w.m[name] = m
    return m


def channel(s: Session, w: World, name: str, members: list[str], *, private: bool = False) -> Channel:
    c = Channel(workspace_id=w.ws.id, slack_channel_id=f"C{name.upper()}", name=name, is_private=private)
    s.add(c)
    s.flush()
    for who in members:
        s.add(ChannelMember(workspace_id=w.ws.id, channel_id=c.id, member_id=w.m[who].id))
    s.flush()
    w.ch[name] = c
    return c


def item(
    s: Session, w: World, kind: str, channel_name: str, author: str, title: str, text: str, at: dt.datetime
) -> Item:
    c = w.ch[channel_name]
    ts = f"{at.timestamp():.6f}"
    it = Item(
        workspace_id=w.ws.id,
        source_key=f"{c.slack_channel_id}:{ts}",
        kind=kind,
        channel_id=c.id,
        slack_ts=ts,
        author_id=w.m[author].id,
        url="https://example.com/" + title.lower().replace(" ", "-") if kind == "article" else None,
        title=title,
        text=text,
        permalink=f"https://passiton-test.slack.com/archives/{c.slack_channel_id}/p{ts.replace('.', '')}",
        is_private=c.is_private,
        posted_at=at,
        created_at=at,
    )
    s.add(it)
    s.flush()
    return it


def small_team(s: Session) -> World:
    """Six people in four time zones, three channels (one private), a few ties."""
    w = World(ensure_workspace(s, "T0NUDGE1", name="Nudge test"))
    member(s, w, "ann", "America/New_York", interests=("writing",), expertise=("postgres",))
    member(s, w, "bob", "Europe/Berlin", interests=("postgres", "databases"))
    member(s, w, "cy", "Asia/Tokyo", interests=("design",), expertise=("postgres", "kubernetes"))
    member(s, w, "dana", "Australia/Sydney", interests=("kubernetes",), expertise=("kubernetes",))
    member(s, w, "eve", "Europe/Berlin", interests=("postgres",), expertise=("postgres",), delivery="email",
           email="eve@example.com")  # fmt: skip
    member(s, w, "fred", "America/New_York")  # never opted in
    channel(s, w, "eng", ["ann", "cy", "fred"])
    channel(s, w, "infra", ["bob", "cy", "dana"])
    channel(s, w, "secret", ["ann", "dana"], private=True)
    for _ in range(3):
        record_interaction(
            s, w.ws.id, w.m["cy"].id, w.m["bob"].id, w.ch["infra"].id, "reply", DAY - dt.timedelta(days=2)
        )
    record_interaction(s, w.ws.id, w.m["ann"].id, w.m["eve"].id, None, "mention", DAY - dt.timedelta(days=20))
    s.flush()
    return w
