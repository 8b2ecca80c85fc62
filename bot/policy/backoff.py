"""Leaving people alone who do not answer, without losing them for good.

Most people never press a button, so silence is not a "no". The rules:

- After `backoff_after` nudges in a row went unanswered, the member is asked once "keep these coming?"
  and held: nothing for `hold_weeks[0]` weeks.
- A hold wears off by itself. The next nudge after it is a try: left unanswered too, it starts a longer
  hold (2, then 4, then 8 weeks; the last length repeats). No second "keep these coming?" in between.
- Any sign of engagement (a reply in the thread of a question they were nudged about, even after that
  nudge lapsed; any nudge button; any `/passiton` command; opening App Home) ends it all: counters back to
  zero, no hold.
- "Stop" is final: a member who said stop (delivery off) is neither nudged nor asked again, whatever
  happens; only they can turn delivery back on.

These are pure transitions over `Backoff`, a plain value the shell reads from and writes back to the
member's row; the caps (per day, per week) apply on top, unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from bot.policy.model import CapConfig, MemberPrefs

BackoffState = Literal["ok", "ask", "hold"]

__all__ = [
    "Backoff",
    "BackoffState",
    "after_ask",
    "after_engagement",
    "after_lapse",
    "backoff_of",
    "backoff_state",
    "hold_length",
]


@dataclass(frozen=True)
class Backoff:
    """A member's back-off counters: nudges unanswered in a row, when "keep these coming?" was asked, how
    many holds since they last engaged, and when the current hold ends."""

    unanswered: int = 0
    asked_at: dt.datetime | None = None
    holds: int = 0
    held_until: dt.datetime | None = None


def backoff_of(prefs: MemberPrefs) -> Backoff:
    return Backoff(prefs.unanswered, prefs.asked_to_continue_at, prefs.holds, prefs.held_until)


def hold_length(holds: int, caps: CapConfig) -> dt.timedelta:
    """How long the `holds`-th hold (1-based) lasts: the lengths grow, then the last one repeats."""
    weeks = caps.hold_weeks or (2,)
    return dt.timedelta(weeks=weeks[min(max(holds, 1), len(weeks)) - 1])


def _held(b: Backoff, now: dt.datetime) -> bool:
    return b.held_until is not None and now < b.held_until


def backoff_state(prefs: MemberPrefs, caps: CapConfig, now: dt.datetime) -> BackoffState:
    """ "ok": nudge as usual. "ask": send the one "keep these coming?" question now. "hold": not now.

    A member who said stop is on hold for good (and is never asked). A hold that has worn off is "ok": the
    next nudge is the try that `after_lapse` judges."""
    if prefs.delivery == "off":
        return "hold"
    b = backoff_of(prefs)
    if _held(b, now):
        return "hold"
    if b.unanswered >= caps.backoff_after and b.asked_at is None:
        return "ask"
    return "ok"


def after_ask(b: Backoff, caps: CapConfig, now: dt.datetime) -> Backoff:
    """The "keep these coming?" question went out: the first hold starts with it."""
    holds = b.holds + 1
    return replace(b, asked_at=now, holds=holds, held_until=now + hold_length(holds, caps))


def after_lapse(b: Backoff, count: int, caps: CapConfig, now: dt.datetime) -> Backoff:
    """`count` more sent nudges went unanswered. Once the member was asked and is not held right now, that
    ends the try after a hold: the next, longer hold starts. Lapses that come in during a hold (nudges sent
    before it) only count."""
    if count <= 0:
        return b
    b = replace(b, unanswered=b.unanswered + count)
    if b.asked_at is not None and not _held(b, now) and b.unanswered >= caps.backoff_after:
        holds = b.holds + 1
        b = replace(b, holds=holds, held_until=now + hold_length(holds, caps))
    return b


def after_engagement() -> Backoff:
    """The member did something: whatever was held is released and the count starts again (whatever it
    was: engagement says more than any count of silences)."""
    return Backoff()
