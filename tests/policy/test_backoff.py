"""The back-off that recovers: rules as examples, then as properties over any sequence of events."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy.backoff import (
    Backoff,
    after_ask,
    after_engagement,
    after_lapse,
    backoff_state,
    hold_length,
)
from bot.policy.eligibility import ready_for_nudges
from bot.policy.model import CapConfig, MemberPrefs

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CAPS = CapConfig(backoff_after=3, hold_weeks=(2, 4, 8))
WEEK = dt.timedelta(weeks=1)


def member(b: Backoff, **kw: object) -> MemberPrefs:
    return MemberPrefs(
        id=1,
        opted_in=True,
        unanswered=b.unanswered,
        asked_to_continue_at=b.asked_at,
        holds=b.holds,
        held_until=b.held_until,
        **kw,  # type: ignore[arg-type]
    )


def state(b: Backoff, at: dt.datetime, **kw: object) -> str:
    return backoff_state(member(b, **kw), CAPS, at)


def test_three_silences_ask_once_and_hold_for_two_weeks() -> None:
    b = after_lapse(Backoff(), 2, CAPS, NOW)
    assert state(b, NOW) == "ok"
    b = after_lapse(b, 1, CAPS, NOW)
    assert state(b, NOW) == "ask"
    b = after_ask(b, CAPS, NOW)
    assert state(b, NOW) == "hold"
    assert state(b, NOW + 2 * WEEK - dt.timedelta(minutes=1)) == "hold"
    # The hold wears off by itself: the next nudge is a try, not another question.
    assert state(b, NOW + 2 * WEEK) == "ok"


def test_holds_grow_two_four_eight_weeks_then_stay_at_eight() -> None:
    b = after_ask(after_lapse(Backoff(), 3, CAPS, NOW), CAPS, NOW)
    at = NOW
    lengths = []
    for _ in range(5):
        assert b.held_until is not None
        lengths.append((b.held_until - at) // WEEK)
        at = b.held_until + dt.timedelta(days=3)  # the try after the hold lapses three days later
        assert state(b, at) == "ok"
        b = after_lapse(b, 1, CAPS, at)
        assert state(b, at) == "hold"
    assert lengths == [2, 4, 8, 8, 8]


def test_lapses_during_a_hold_count_but_do_not_extend_it() -> None:
    b = after_ask(after_lapse(Backoff(), 3, CAPS, NOW), CAPS, NOW)
    later = after_lapse(b, 2, CAPS, NOW + dt.timedelta(days=1))
    assert later.held_until == b.held_until and later.holds == b.holds == 1
    assert later.unanswered == 5


def test_engagement_releases_a_hold_at_once_and_starts_the_count_again() -> None:
    b = after_ask(after_lapse(Backoff(), 3, CAPS, NOW), CAPS, NOW)
    assert state(b, NOW + WEEK) == "hold"
    b = after_engagement()
    assert state(b, NOW + WEEK) == "ok"
    # Three new silences: asked again (a new episode), not held without a word.
    assert state(after_lapse(b, 3, CAPS, NOW + WEEK), NOW + WEEK) == "ask"


def test_a_member_who_said_stop_is_never_asked_nor_nudged() -> None:
    b = after_lapse(Backoff(), 3, CAPS, NOW)
    assert state(b, NOW, delivery="off") == "hold"
    assert not ready_for_nudges(member(b, delivery="off"), CAPS, NOW)
    assert not ready_for_nudges(member(after_engagement(), delivery="off"), CAPS, NOW)


def test_hold_length_is_defined_for_any_count() -> None:
    assert hold_length(0, CAPS) == 2 * WEEK
    assert hold_length(3, CAPS) == 8 * WEEK
    assert hold_length(99, CAPS) == 8 * WEEK
    assert hold_length(1, replace(CAPS, hold_weeks=())) == 2 * WEEK


# -- properties ------------------------------------------------------------------------------------

Event = tuple[str, int, int]  # (what, hours after the previous event, count of lapses)
events = st.lists(
    st.tuples(
        st.sampled_from(["lapse", "ask_if_due", "engage", "tick"]),
        st.integers(0, 24 * 7 * 10),
        st.integers(1, 4),
    ),
    max_size=40,
)


def _run(seq: list[Event], stopped: bool = False) -> list[tuple[dt.datetime, Backoff, str]]:
    """Drive the transitions as the shell does: lapses, the morning's question when due, engagement."""
    b, at = Backoff(), NOW
    trace = []
    for what, hours, count in seq:
        at += dt.timedelta(hours=hours)
        if what == "lapse":
            b = after_lapse(b, count, CAPS, at)
        elif what == "engage":
            b = after_engagement()
        elif what == "ask_if_due" and state(b, at, delivery="off" if stopped else "slack") == "ask":
            b = after_ask(b, CAPS, at)
        trace.append((at, b, state(b, at, delivery="off" if stopped else "slack")))
    return trace


@settings(max_examples=300, deadline=None)
@given(events)
def test_never_held_forever(seq: list[Event]) -> None:
    """Whatever happened, with no more lapses the member is nudged again within 8 weeks."""
    for at, b, _state in _run(seq):
        later = at + 8 * WEEK
        assert state(b, later) in ("ok", "ask")


@settings(max_examples=300, deadline=None)
@given(events)
def test_asked_at_most_once_between_engagements(seq: list[Event]) -> None:
    asks, previous = 0, Backoff()
    for (what, _h, _c), (_at, b, _s) in zip(seq, _run(seq), strict=True):
        if what == "engage":
            asks = 0
        elif b.asked_at != previous.asked_at:
            asks += 1
        assert asks <= 1
        previous = b


@settings(max_examples=300, deadline=None)
@given(events)
def test_engagement_always_resets(seq: list[Event]) -> None:
    for (what, _h, _c), (_at, b, s) in zip(seq, _run(seq), strict=True):
        if what == "engage":
            assert b == Backoff() and s == "ok"


@settings(max_examples=200, deadline=None)
@given(events)
def test_stop_is_final(seq: list[Event]) -> None:
    for _at, _b, s in _run(seq, stopped=True):
        assert s == "hold"


@settings(max_examples=300, deadline=None)
@given(events)
def test_holds_only_grow_and_each_lasts_its_length(seq: list[Event]) -> None:
    previous = Backoff()
    for (what, _h, _c), (at, b, _s) in zip(seq, _run(seq), strict=True):
        if what != "engage" and b.holds != previous.holds:
            assert b.holds == previous.holds + 1
            assert b.held_until == at + hold_length(b.holds, CAPS)
        previous = b
