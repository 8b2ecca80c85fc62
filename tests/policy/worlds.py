"""Random small workspaces for the share and help property tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from bot.policy.model import Candidate, CapConfig, FeedbackEvent, MemberPrefs, PastNudge, PolicyState
from bot.policy.share import ShareItem, Tie
from tests.policy.strategies import instants, prefs

TOPICS = ["databases", "rust", "design", "hiring", "kubernetes"]


@dataclass
class World:
    now: dt.datetime
    state: PolicyState
    items: list[ShareItem]
    matches: dict[int, list[Candidate]]
    ties: dict[int, list[Tie]]
    already: frozenset[tuple[int, int]]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    now = draw(instants())
    n = draw(st.integers(2, 12))
    ids = list(range(1, n + 1))
    members = {i: draw(prefs(member_id=i)) for i in ids}
    caps = CapConfig(
        share_per_day=draw(st.integers(0, 3)),
        nudges_per_week=draw(st.integers(0, 6)),
        target_per_day=draw(st.integers(1, 3)),
    )
    history: dict[int, list[PastNudge]] = {}
    for i in ids:
        history[i] = [
            PastNudge(
                recipient_id=i,
                kind=draw(st.sampled_from(["share", "help"])),
                at=now + dt.timedelta(hours=draw(st.integers(-24 * 10, 24 * 3))),
                target_id=draw(st.sampled_from(ids)),
                status=draw(st.sampled_from(["planned", "sent", "cancelled"])),
            )
            for _ in range(draw(st.integers(0, 4)))
        ]
    muted_people = set(draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=4)))
    muted_topics = {i: frozenset(draw(st.lists(st.sampled_from(TOPICS), max_size=2))) for i in ids}
    feedback = {
        i: [
            FeedbackEvent(
                member_id=i,
                kind=draw(st.sampled_from(["not_now", "not_my_area", "shared"])),
                at=now - dt.timedelta(hours=draw(st.integers(0, 24 * 30))),
                topic=draw(st.one_of(st.none(), st.sampled_from(TOPICS))),
                nudge_kind=draw(st.sampled_from(["share", "help"])),
            )
            for _ in range(draw(st.integers(0, 2)))
        ]
        for i in ids
    }
    items: list[ShareItem] = []
    matches: dict[int, list[Candidate]] = {}
    for item_id in range(100, 100 + draw(st.integers(1, 6))):
        author = draw(st.sampled_from(ids))
        channel = frozenset(draw(st.lists(st.sampled_from(ids), max_size=n)))
        items.append(
            ShareItem(
                id=item_id,
                author_id=author,
                channel_id=1,
                channel_name="general",
                is_private=draw(st.integers(0, 4)) == 0,
                channel_members=channel,
                seen_by=frozenset(draw(st.lists(st.sampled_from(ids), max_size=2))),
                topics_named=frozenset(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
            )
        )
        # The ranker may suggest anyone, even people the policy must refuse: the policy is the last word.
        matches[item_id] = [
            Candidate(member_id=m, score=draw(st.floats(0.0, 10.0)), topic=draw(st.sampled_from(TOPICS)))
            for m in draw(st.lists(st.sampled_from(ids), max_size=n, unique=True))
        ]
    ties: dict[int, list[Tie]] = {}
    for i in ids:
        others = draw(st.lists(st.sampled_from(ids), max_size=4, unique=True))
        ties[i] = sorted(
            (
                Tie(o, draw(st.floats(0.0, 5.0)), draw(st.sampled_from([None, "infra"])), draw(st.booleans()))
                for o in others
                if o != i
            ),
            key=lambda t: -t.weight,
        )
    already = frozenset(
        draw(st.lists(st.tuples(st.sampled_from([it.id for it in items]), st.sampled_from(ids)), max_size=3))
    )
    state = PolicyState(
        prefs=members,
        history=history,
        feedback=feedback,
        muted_people=muted_people,
        muted_topics=muted_topics,
        caps=caps,
    )
    return World(now, state, items, matches, ties, already)


def members_of(world: World) -> dict[int, MemberPrefs]:
    return world.state.prefs
