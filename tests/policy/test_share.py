from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy.model import Candidate, FeedbackEvent, MemberPrefs, PastNudge, PolicyState
from bot.policy.share import ShareItem, ShareProposal, Tie, plan_shares
from bot.policy.time import is_paused, is_quiet, is_weekend, local_date
from tests.policy.worlds import World, worlds


def _plan(world: World, givers: frozenset[int] | None = None, small: int = 12) -> list[ShareProposal]:
    return plan_shares(
        world.items,
        world.matches,
        world.ties,
        world.state,
        world.now,
        givers=givers,
        already=world.already,
        small_channel=small,
    )


def _week(day: dt.date) -> tuple[int, int]:
    return day.isocalendar()[0], day.isocalendar()[1]


@settings(max_examples=300, deadline=None)
@given(worlds(), st.integers(0, 8))
def test_share_invariants(world: World, small: int) -> None:
    proposals = _plan(world, small=small)
    state, items = world.state, {i.id: i for i in world.items}
    pairs = Counter((p.item_id, p.target_id) for p in proposals)
    assert all(count == 1 for count in pairs.values()), "at most one nudge per (item, target)"
    for p in proposals:
        item = items[p.item_id]
        giver, target = state.prefs[p.giver_id], state.prefs[p.target_id]
        assert (p.item_id, p.target_id) not in world.already
        assert not item.is_private, "private content never leaves its channel"
        assert p.target_id != item.author_id and p.target_id not in item.seen_by
        assert len(item.channel_members) > small or p.target_id not in item.channel_members, "small: seen"
        assert not item.has_seen(p.target_id, small) and p.giver_id != p.target_id
        assert p.giver_id in item.channel_members or p.giver_id == item.author_id, "the giver saw it"
        for m in (giver, target):
            assert m.opted_in and m.reachable and not is_paused(m, world.now)
        assert giver.delivery != "off"
        assert not state.mutes_between(p.giver_id, p.target_id)
        for member_id in (p.giver_id, p.target_id):
            muted = state.muted_topics.get(member_id, frozenset())
            assert p.topic not in muted and not (item.topics_named & muted)
        assert p.send_at >= world.now and not is_quiet(giver, p.send_at)
        assert not (giver.weekends_off and is_weekend(giver.tz, p.send_at))
        for past in state.past(p.giver_id):
            if past.counts and past.kind == "share" and past.target_id == p.target_id:
                assert abs(past.at - p.send_at) >= state.caps.pair_cooldown
    _assert_caps(world, proposals)


def _assert_caps(world: World, proposals: list[ShareProposal]) -> None:
    state = world.state
    for giver_id in {p.giver_id for p in proposals}:
        prefs: MemberPrefs = state.prefs[giver_id]
        old = [p for p in state.past(giver_id) if p.counts]
        new = [p for p in proposals if p.giver_id == giver_id]
        for day in {local_date(prefs.tz, p.send_at) for p in new}:
            before = sum(1 for p in old if p.kind == "share" and local_date(prefs.tz, p.at) == day)
            added = sum(1 for p in new if local_date(prefs.tz, p.send_at) == day)
            assert before + added <= state.caps.share_per_day
        for week in {_week(local_date(prefs.tz, p.send_at)) for p in new}:
            before = sum(1 for p in old if _week(local_date(prefs.tz, p.at)) == week)
            added = sum(1 for p in new if _week(local_date(prefs.tz, p.send_at)) == week)
            assert before + added <= state.caps.nudges_per_week
            shares = sum(1 for p in old if p.kind == "share" and _week(local_date(prefs.tz, p.at)) == week)
            assert shares + added <= state.caps.share_per_week


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_only_due_givers_are_nudged(world: World) -> None:
    due = frozenset(list(world.state.prefs)[::2])
    assert all(p.giver_id in due for p in _plan(world, due))


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_planning_is_deterministic(world: World) -> None:
    assert _plan(world) == _plan(world)


def _one(now: dt.datetime, **item: object) -> tuple[list[ShareProposal], PolicyState]:
    people = {
        1: MemberPrefs(id=1, opted_in=True, name="Ann", weekends_off=False),
        2: MemberPrefs(id=2, opted_in=True, name="Bob", weekends_off=False),
        3: MemberPrefs(id=3, opted_in=True, name="Cy", weekends_off=False),
    }
    state = PolicyState(prefs=people)
    it = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1, 3}), **item)  # type: ignore[arg-type]
    matches = {9: [Candidate(2, 5.0, "databases", "Databases")]}
    ties = {2: [Tie(3, 2.0, "infra", talks=True), Tie(1, 0.5, None, talks=True)]}
    return plan_shares([it], matches, ties, state, now), state


def test_best_tie_is_the_giver_and_the_reason_quotes_the_interest() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    [p], _ = _one(now)
    assert (p.giver_id, p.target_id) == (3, 2)
    assert p.reason == "Bob listed Databases; you two often talk in #infra."


def test_a_tie_that_is_only_a_shared_channel_says_so_not_that_they_talk() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    people = {
        i: MemberPrefs(id=i, opted_in=True, name=n, weekends_off=False)
        for i, n in [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    }
    it = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1, 3}))
    matches = {9: [Candidate(2, 5.0, "databases", "Databases")]}
    [p] = plan_shares([it], matches, {2: [Tie(3, 0.3, "infra", talks=False)]}, PolicyState(people), now)
    assert p.giver_id == 3 and p.reason == "Bob listed Databases; you're both in #infra."
    [p] = plan_shares([it], matches, {2: [Tie(3, 0.3, None, talks=False)]}, PolicyState(dict(people)), now)
    assert p.reason == "Bob listed Databases; you share a channel."


def test_a_giver_who_engaged_with_the_article_comes_before_a_stronger_tie() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    people = {i: MemberPrefs(id=i, opted_in=True, name=n, weekends_off=False)
              for i, n in [(1, "Ann"), (2, "Bob"), (3, "Cy"), (4, "Di")]}  # fmt: skip
    ties = {2: [Tie(3, 3.0, "infra", talks=True), Tie(4, 0.5, "ops", talks=True)]}
    matches = {9: [Candidate(2, 5.0, "databases", "Databases")]}
    seen = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1, 3, 4}))
    [p] = plan_shares([seen], matches, ties, PolicyState(dict(people)), now)
    assert p.giver_id == 3  # nobody engaged: the strongest tie among those in the channel
    reacted = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1, 3, 4}),
                        engaged=frozenset({4}))  # fmt: skip
    [p] = plan_shares([reacted], matches, ties, PolicyState(dict(people)), now)
    assert p.giver_id == 4 and p.reason == "Bob listed Databases; you two often talk in #ops."


def test_falls_back_to_the_sharer_when_nobody_who_saw_it_knows_the_target() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    people = {i: MemberPrefs(id=i, opted_in=True, name=n) for i, n in [(1, "Ann"), (2, "Bob")]}
    it = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1}))
    [p] = plan_shares([it], {9: [Candidate(2, 5.0, "databases", "databases")]}, {}, PolicyState(people), now)
    assert p.giver_id == 1
    assert p.reason == "Bob listed databases and isn't in #eng; you shared it."
    assert not any(ch.isdigit() for ch in p.reason)


def test_private_items_are_never_shared() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    proposals, _ = _one(now, is_private=True)
    assert proposals == []


def test_a_sent_share_blocks_the_same_pair_for_the_cooldown() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    _, state = _one(now)
    state.history[3] = [
        PastNudge(3, "share", now - dt.timedelta(days=3), item_id=8, target_id=2, status="sent")
    ]
    it = ShareItem(id=9, author_id=1, channel_name="eng", channel_members=frozenset({1, 3}))
    matches = {9: [Candidate(2, 5.0, "databases", "databases")]}
    [p] = plan_shares([it], matches, {2: [Tie(3, 2.0, "infra", True), Tie(1, 0.5, None, True)]}, state, now)
    assert p.giver_id == 1  # the next-best tie, not Cy again


def _big_channel(now: dt.datetime, **item: object) -> list[ShareProposal]:
    """Twenty people in #general: Bob (2) is one of them and has not reacted, replied or clicked."""
    people = {i: MemberPrefs(id=i, opted_in=True, name=f"m{i}", weekends_off=False) for i in range(1, 21)}
    people[2] = MemberPrefs(id=2, opted_in=True, name="Bob", weekends_off=False)
    state = PolicyState(prefs=people, feedback=item.pop("feedback", {}))  # type: ignore[arg-type]
    it = ShareItem(id=9, author_id=1, channel_name="general", channel_members=frozenset(people), **item)  # type: ignore[arg-type]
    matches = {9: [Candidate(2, 0.4, "databases", "Databases")]}
    return plan_shares([it], matches, {2: [Tie(3, 2.0, "infra")]}, state, now)


def test_membership_of_a_large_channel_is_not_having_seen_it() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    [p] = _big_channel(now)
    assert (p.giver_id, p.target_id) == (3, 2)


def test_seen_is_an_act_reacting_replying_or_clicking() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    assert _big_channel(now, seen_by=frozenset({2})) == []


def test_in_a_small_channel_everyone_has_seen_it() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    it = ShareItem(id=9, author_id=1, channel_members=frozenset(range(1, 13)))
    assert it.has_seen(5) and not it.has_seen(5, small_channel=11) and not it.has_seen(13)
    people = {i: MemberPrefs(id=i, opted_in=True, weekends_off=False) for i in range(1, 13)}
    matches = {9: [Candidate(2, 5.0, "databases")]}
    assert plan_shares([it], matches, {2: [Tie(3, 2.0)]}, PolicyState(prefs=people), now) == []


def test_one_threshold_the_rankers_a_low_scoring_match_still_goes_out() -> None:
    """The ranker returned it, so it is a match: the score (0.4 here) only orders."""
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    assert len(_big_channel(now)) == 1


def test_not_my_area_on_the_topic_takes_that_giver_out() -> None:
    now = dt.datetime(2025, 6, 10, 10, tzinfo=dt.UTC)
    said = FeedbackEvent(3, "not_my_area", now - dt.timedelta(days=5), "databases", nudge_kind="share")
    [p] = _big_channel(now, feedback={3: [said]})
    assert p.giver_id == 1  # Cy said "not my area" about databases: the sharer passes it on instead
