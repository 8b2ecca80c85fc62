"""Hypothesis strategies shared by the policy property tests."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from bot.policy.model import MemberPrefs

# Three continents, both hemispheres (DST in opposite seasons), a half-hour and a 45-minute offset.
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham", "UTC"]

# Instants around the 2025 DST transitions of those zones, plus anywhere in the year.
_TRANSITIONS = [
    dt.datetime(2025, 3, 9, 7, tzinfo=dt.UTC),  # US spring forward
    dt.datetime(2025, 11, 2, 6, tzinfo=dt.UTC),  # US fall back
    dt.datetime(2025, 3, 30, 1, tzinfo=dt.UTC),  # EU spring forward
    dt.datetime(2025, 10, 26, 1, tzinfo=dt.UTC),  # EU fall back
    dt.datetime(2025, 4, 5, 16, tzinfo=dt.UTC),  # Sydney fall back
    dt.datetime(2025, 10, 4, 16, tzinfo=dt.UTC),  # Sydney spring forward
]


@st.composite
def instants(draw: st.DrawFn) -> dt.datetime:
    if draw(st.booleans()):
        base = draw(st.sampled_from(_TRANSITIONS))
        return base + dt.timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return start + dt.timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))


@st.composite
def prefs(draw: st.DrawFn, member_id: int | None = None, opted_in: bool | None = None) -> MemberPrefs:
    quiet = draw(st.one_of(st.none(), st.tuples(st.integers(0, 1439), st.integers(0, 1439))))
    paused = draw(st.one_of(st.none(), instants()))
    return MemberPrefs(
        id=member_id if member_id is not None else draw(st.integers(1, 10_000)),
        tz=draw(st.sampled_from(ZONES)),
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
        weekends_off=draw(st.booleans()),
        paused_until=paused if draw(st.integers(0, 3)) == 0 else None,
        available=draw(st.integers(0, 4)) > 0,
        opted_in=draw(st.integers(0, 4)) > 0 if opted_in is None else opted_in,
        delivery=draw(st.sampled_from(["slack", "slack", "email", "both", "off"])),
        name=f"m{member_id}",
    )
