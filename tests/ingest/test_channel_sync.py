"""A channel's membership sync: members, memberships and shared-channel ties, first sight and resync."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.ingest.slack_sync import (
    ChannelFacts,
    add_channel_member,
    is_channel_member,
    remove_channel_member,
    store_channel,
)
from bot.policy.relationships import bumped
from bot.store.db import Database
from bot.store.models import ChannelMember, Member, Relationship
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _state(db: Database) -> tuple[set[str], dict[tuple[str, str], tuple[float, dt.datetime]]]:
    with db.session() as s:
        uid = {m.id: m.slack_user_id or "" for m in s.scalars(select(Member))}
        members = {uid[cm.member_id] for cm in s.scalars(select(ChannelMember))}
        ties = {}
        for r in s.scalars(select(Relationship)):
            a, b = sorted((uid[r.member_a_id], uid[r.member_b_id]))
            ties[(a, b)] = (r.weight, r.updated_at)
        return members, ties


def test_sync_then_resync_in_one_session_equals_one_session_each(db: Database) -> None:
    first = ChannelFacts("C1", "eng", False, False, ("UA", "UB", "UC"))
    second = ChannelFacts("C1", "eng", False, False, ("UB", "UC", "UD", "UE"))
    later = T0 + dt.timedelta(days=10)
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        store_channel(s, ws, first, T0)
        store_channel(s, ws, second, later)
    warm = _state(db)
    with db.session() as s:
        for model in (Relationship, ChannelMember, Member):
            s.execute(model.__table__.delete())
    with db.session() as s:
        store_channel(s, ensure_workspace(s, "T1"), first, T0)
    with db.session() as s:
        store_channel(s, ensure_workspace(s, "T1"), second, later)
    assert warm == _state(db)
    members, ties = warm
    assert members == {"UB", "UC", "UD", "UE"}
    once = bumped(0.0, T0, T0, "shared_channel")
    assert ties[("UA", "UB")] == ties[("UB", "UC")] == (once, T0)
    assert ties[("UB", "UD")] == ties[("UD", "UE")] == (once, later)
    assert len(ties) == 3 + 5  # A-B A-C B-C, then D and E with B, C and each other


def test_a_member_who_left_and_came_back_bumps_the_old_ties(db: Database) -> None:
    later = T0 + dt.timedelta(days=30)
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        store_channel(s, ws, ChannelFacts("C1", "eng", False, False, ("UA", "UB")), T0)
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        store_channel(s, ws, ChannelFacts("C1", "eng", False, False, ("UB",)), T0 + dt.timedelta(days=1))
        store_channel(s, ws, ChannelFacts("C1", "eng", False, False, ("UA", "UB")), later)
    members, ties = _state(db)
    assert members == {"UA", "UB"}
    once = bumped(0.0, T0, T0, "shared_channel")
    assert ties == {("UA", "UB"): (bumped(once, T0, later, "shared_channel"), later)}


def test_a_join_is_recorded_once(db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, "T1")
        channel = store_channel(s, ws, ChannelFacts("C1", "eng", False, False, ("UA",)), T0)
        alice = ensure_member(s, ws, "UA")
        bob = ensure_member(s, ws, "UB")
        assert not add_channel_member(s, ws, channel, alice)  # synced with the channel already
        assert add_channel_member(s, ws, channel, bob)
        assert not add_channel_member(s, ws, channel, bob)
        remove_channel_member(s, channel, bob)
        assert not is_channel_member(s, channel, bob)
    with db.session() as s:  # another session (a replica) sees the same
        ws = ensure_workspace(s, "T1")
        channel = store_channel(s, ws, ChannelFacts("C1", "eng", False, False, None), T0)
        bob = ensure_member(s, ws, "UB")
        assert add_channel_member(s, ws, channel, bob)
        assert is_channel_member(s, channel, bob)
    assert _state(db)[0] == {"UA", "UB"}
