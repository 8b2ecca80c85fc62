"""Budgets: how often one member may be asked, and when to leave someone alone.

Days and weeks are the member's own: a share "per day" is per local calendar day of the send time, and
the weekly cap is per local ISO week (Monday to Sunday), so the caps mean what the member would expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

from bot.policy.model import CapConfig, MemberPrefs, PastNudge
from bot.policy.time import local_date

__all__ = [
    "Budget",
    "CapConfig",
    "backoff_state",
    "pair_cooled_down",
    "recently_nudged",
    "within_caps",
]

BackoffState = Literal["ok", "ask", "hold"]


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
        for past in history:
            if past.counts:
                self.add(past.kind, past.at)

    def add(self, kind: str, at: dt.datetime) -> None:
        day = local_date(self.prefs.tz, at)
        if kind == "share":
            self._shares_by_day[day] = self._shares_by_day.get(day, 0) + 1
        week = _week(day)
        self._all_by_week[week] = self._all_by_week.get(week, 0) + 1

    def allows(self, kind: str, at: dt.datetime) -> bool:
        day = local_date(self.prefs.tz, at)
        if self._all_by_week.get(_week(day), 0) >= self.caps.nudges_per_week:
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


def backoff_state(prefs: MemberPrefs, caps: CapConfig) -> BackoffState:
    """After several nudges in a row went unanswered: ask once whether to continue, then hold.

    "ok": nudge as usual. "ask": send the one "keep these coming?" question now. "hold": we asked and
    heard nothing, so nothing more until the member answers (which resets `unanswered`).
    """
    if prefs.unanswered < caps.backoff_after:
        return "ok"
    return "ask" if prefs.asked_to_continue_at is None else "hold"
