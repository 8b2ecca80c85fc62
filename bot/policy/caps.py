"""Budgets: how often one member may be asked, and when to leave someone alone.

Each member has one overall weekly budget, and inside it shares and help have their own, so neither kind can
use up the other's. Days and weeks are the member's own: a share "per day" is per local calendar day of the send time, and
the weekly cap is per local ISO week (Monday to Sunday), so the caps mean what the member would expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.policy.backoff import BackoffState, backoff_state
from bot.policy.model import CapConfig, MemberPrefs, PastNudge
from bot.policy.time import local_date

__all__ = [
    "BackoffState",
    "Budget",
    "CapConfig",
    "backoff_state",
    "pair_cooled_down",
    "recently_nudged",
    "within_caps",
]


def _per_week(caps: CapConfig, kind: str) -> int:
    """A kind's own weekly budget (inside the overall one); kinds without one only have the overall."""
    if kind == "share":
        return caps.share_per_week
    if kind == "help":
        return caps.help_per_week
    return caps.nudges_per_week


def _week(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


class Budget:
    """Running counts for one member while a plan is being built (history plus what this run adds)."""

    def __init__(self, prefs: MemberPrefs, history: Iterable[PastNudge], caps: CapConfig) -> None:
        self.prefs = prefs
        self.caps = caps
        self._shares_by_day: dict[dt.date, int] = {}
        self._all_by_week: dict[tuple[int, int], int] = {}
        self._kind_by_week: dict[tuple[str, int, int], int] = {}
        for past in history:
            if past.counts:
                self.add(past.kind, past.at)

    def add(self, kind: str, at: dt.datetime) -> None:
        day = local_date(self.prefs.tz, at)
        if kind == "share":
            self._shares_by_day[day] = self._shares_by_day.get(day, 0) + 1
        week = _week(day)
        self._all_by_week[week] = self._all_by_week.get(week, 0) + 1
        key = (kind, *week)
        self._kind_by_week[key] = self._kind_by_week.get(key, 0) + 1

    def allows(self, kind: str, at: dt.datetime) -> bool:
        day = local_date(self.prefs.tz, at)
        week = _week(day)
        if self._all_by_week.get(week, 0) >= self.caps.nudges_per_week:
            return False
        if self._kind_by_week.get((kind, *week), 0) >= _per_week(self.caps, kind):
            return False
        return not (kind == "share" and self._shares_by_day.get(day, 0) >= self.caps.share_per_day)


def within_caps(
    prefs: MemberPrefs, history: Iterable[PastNudge], kind: str, at: dt.datetime, caps: CapConfig
) -> bool:
    """Would one more nudge of `kind` sent at `at` stay within the daily and weekly caps?"""
    return Budget(prefs, history, caps).allows(kind, at)


def pair_cooled_down(
    history: Iterable[PastNudge], target_id: int, at: dt.datetime, cooldown: dt.timedelta
) -> bool:
    """No share nudge about `target_id` reached this member within `cooldown` before or after `at`."""
    return not any(
        p.counts and p.kind == "share" and p.target_id == target_id and abs(p.at - at) < cooldown
        for p in history
    )


def recently_nudged(history: Iterable[PastNudge], at: dt.datetime, recency: dt.timedelta) -> bool:
    """Whether any nudge was (or will be) sent to this member within `recency` of `at`."""
    return any(p.counts and abs(p.at - at) < recency for p in history)
