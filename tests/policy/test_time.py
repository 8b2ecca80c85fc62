from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy.model import MemberPrefs
from bot.policy.time import (
    WAKING,
    at_local,
    is_quiet,
    is_weekend,
    local_time,
    may_reach_at,
    next_send_time,
)
from tests.policy.strategies import ZONES, instants, prefs


@settings(max_examples=400, deadline=None)
@given(prefs(), instants(), st.integers(0, 22))
def test_next_send_time_is_allowed_and_not_early(p: MemberPrefs, after: dt.datetime, morning: int) -> None:
    at = next_send_time(p, after, morning)
    if at is None:
        # Only an impossible schedule (quiet hours covering the whole window every day) yields nothing.
        return
    assert at >= after
    assert not is_quiet(p, at)
    assert not (p.weekends_off and is_weekend(p.tz, at))
    assert p.paused_until is None or at >= p.paused_until
    assert local_time(p.tz, at).hour >= morning


@settings(max_examples=200, deadline=None)
@given(prefs(), instants())
def test_next_send_time_is_the_earliest_minute(p: MemberPrefs, after: dt.datetime) -> None:
    """No allowed minute is skipped: a minute earlier than the answer is not allowed (or before `after`)."""
    at = next_send_time(p, after, window=WAKING)
    if at is None or at == after:
        return
    earlier = at - dt.timedelta(minutes=1)
    assert earlier < after or not may_reach_at(p, earlier, WAKING)


@given(st.sampled_from(ZONES), instants())
def test_no_quiet_hours_when_start_equals_end(tz: str, at: dt.datetime) -> None:
    assert not is_quiet(MemberPrefs(id=1, tz=tz, quiet_start=600, quiet_end=600), at)


def test_dst_gap_morning_resolves_after_the_gap() -> None:
    # New York, 9 March 2025: 02:00 -> 03:00. Asking for 02:30 local gives a real instant at 03:30 EDT.
    at = at_local("America/New_York", dt.date(2025, 3, 9), 150)
    assert local_time("America/New_York", at).hour == 3


def test_quiet_hours_wrap_past_midnight_in_berlin_summer() -> None:
    p = MemberPrefs(id=1, tz="Europe/Berlin", quiet_start=22 * 60, quiet_end=7 * 60, weekends_off=False)
    assert is_quiet(p, dt.datetime(2025, 7, 1, 21, 30, tzinfo=dt.UTC))  # 23:30 local
    assert not is_quiet(p, dt.datetime(2025, 7, 1, 5, 30, tzinfo=dt.UTC))  # 07:30 local
    nxt = next_send_time(p, dt.datetime(2025, 7, 1, 21, 30, tzinfo=dt.UTC), 9)
    assert nxt == dt.datetime(2025, 7, 2, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST


def test_friday_evening_in_sydney_waits_for_monday_morning() -> None:
    p = MemberPrefs(id=1, tz="Australia/Sydney")
    friday_evening = dt.datetime(2025, 10, 3, 10, 30, tzinfo=dt.UTC)  # Fri 20:30 AEST
    nxt = next_send_time(p, friday_evening, 9)
    # Sydney springs forward on Sunday 5 October; Monday 09:00 is AEDT (UTC+11).
    assert nxt == dt.datetime(2025, 10, 5, 22, 0, tzinfo=dt.UTC)


def test_pause_ends_by_itself() -> None:
    until = dt.datetime(2025, 6, 11, 12, tzinfo=dt.UTC)
    p = MemberPrefs(id=1, tz="UTC", paused_until=until, weekends_off=False)
    assert next_send_time(p, dt.datetime(2025, 6, 10, 9, tzinfo=dt.UTC), 9) == until


def test_unknown_zone_falls_back_to_utc() -> None:
    assert local_time("Mars/Olympus", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)).utcoffset() == dt.timedelta(0)
