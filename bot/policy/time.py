"""When a member may be reached, in their own time zone (IANA names, DST-safe through zoneinfo).

All instants in and out are aware UTC datetimes; local wall-clock times exist only inside this module.
A wall time that does not exist (the spring-forward gap) resolves to the instant just after the gap; a
wall time that happens twice (the autumn overlap) resolves to its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.policy.model import MemberPrefs

MINUTES_PER_DAY = 24 * 60
# Far enough to get past any pause worth honouring without looping forever on impossible windows.
HORIZON = dt.timedelta(days=400)


@dataclass(frozen=True)
class Window:
    """Local hours a kind of nudge may arrive in: from `start_hour` up to (not including) `end_hour`."""

    start_hour: int = 9
    end_hour: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("window needs 0 <= start_hour < end_hour <= 24")


# Help is time-sensitive: any waking hour will do. Shares wait for the member's morning.
WAKING = Window(8, 21)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name; an unknown or empty name falls back to UTC rather than failing."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: the policy only takes aware UTC datetimes")
    return at.astimezone(dt.UTC)


def local_time(tz: str, at: dt.datetime) -> dt.datetime:
    """`at` on the wall clock of `tz`."""
    return _utc(at).astimezone(zone(tz))


def local_date(tz: str, at: dt.datetime) -> dt.date:
    return local_time(tz, at).date()


def at_local(tz: str, day: dt.date, minute: int) -> dt.datetime:
    """The UTC instant of `minute` minutes after local midnight on `day` (gap: just after; overlap: first)."""
    extra_days, minute = divmod(minute, MINUTES_PER_DAY)
    day = day + dt.timedelta(days=extra_days)
    wall = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone(tz))
    instant = wall.astimezone(dt.UTC)
    # In a gap, fold=0 uses the offset from before the transition, which lands after the gap; fine.
    return instant


def _minute_of_day(local: dt.datetime) -> int:
    return local.hour * 60 + local.minute


def _has_quiet(prefs: MemberPrefs) -> bool:
    return (
        prefs.quiet_start is not None
        and prefs.quiet_end is not None
        and prefs.quiet_start % MINUTES_PER_DAY != prefs.quiet_end % MINUTES_PER_DAY
    )


def is_quiet(prefs: MemberPrefs, at: dt.datetime) -> bool:
    """Inside the member's quiet hours, on their wall clock (the window may wrap past midnight)."""
    if not _has_quiet(prefs):
        return False
    assert prefs.quiet_start is not None and prefs.quiet_end is not None
    start, end = prefs.quiet_start % MINUTES_PER_DAY, prefs.quiet_end % MINUTES_PER_DAY
    minute = _minute_of_day(local_time(prefs.tz, at))
    return start <= minute < end if start < end else minute >= start or minute < end


def is_weekend(tz: str, at: dt.datetime) -> bool:
    return local_time(tz, at).weekday() >= 5


def is_paused(prefs: MemberPrefs, at: dt.datetime) -> bool:
    return prefs.paused_until is not None and _utc(at) < _utc(prefs.paused_until)


def may_reach_at(prefs: MemberPrefs, at: dt.datetime, window: Window | None = None) -> bool:
    """Not paused, not in quiet hours, not a weekend when weekends are off, and inside `window` if given."""
    if is_paused(prefs, at) or is_quiet(prefs, at):
        return False
    if prefs.weekends_off and is_weekend(prefs.tz, at):
        return False
    if window is not None:
        hour = local_time(prefs.tz, at).hour
        if not window.start_hour <= hour < window.end_hour:
            return False
    return True


def _next_boundary(prefs: MemberPrefs, at: dt.datetime, window: Window) -> dt.datetime:
    """The next instant after `at` at which the answer of `may_reach_at` could change for the better."""
    if is_paused(prefs, at):
        assert prefs.paused_until is not None
        return _utc(prefs.paused_until)
    local = local_time(prefs.tz, at)
    day, minute = local.date(), _minute_of_day(local)
    if prefs.weekends_off and local.weekday() >= 5:
        return at_local(prefs.tz, day, (7 - local.weekday()) * MINUTES_PER_DAY)
    if local.hour < window.start_hour:
        return at_local(prefs.tz, day, window.start_hour * 60)
    if local.hour >= window.end_hour:
        return at_local(prefs.tz, day, MINUTES_PER_DAY + window.start_hour * 60)
    if is_quiet(prefs, at):
        assert prefs.quiet_start is not None and prefs.quiet_end is not None
        end = prefs.quiet_end % MINUTES_PER_DAY
        return at_local(prefs.tz, day, end if end > minute else MINUTES_PER_DAY + end)
    return at  # pragma: no cover - only reached when `at` is already allowed


def next_send_time(
    prefs: MemberPrefs,
    after: dt.datetime,
    morning_hour: int = 9,
    *,
    window: Window | None = None,
    horizon: dt.timedelta = HORIZON,
) -> dt.datetime | None:
    """The earliest instant at or after `after` when this member may get a nudge, or None within `horizon`.

    By default that is within the local day window from `morning_hour` to 20:00: a nudge planned before the
    morning waits for it, one planned in the evening waits for the next morning, weekends (when off), quiet
    hours and a pause are skipped. Pass `window` for other kinds (help uses waking hours).
    """
    window = window or Window(morning_hour, max(morning_hour + 1, 20))
    at = _utc(after)
    limit = at + horizon
    while at <= limit:
        if may_reach_at(prefs, at, window):
            return at
        nxt = _next_boundary(prefs, at, window)
        # A boundary that does not move forward (a wall time swallowed by a DST change) must not loop.
        at = nxt if nxt > at else at + dt.timedelta(minutes=1)
    return None


def morning_has_come(prefs: MemberPrefs, now: dt.datetime, morning_hour: int) -> bool:
    return local_time(prefs.tz, now).hour >= morning_hour
