"""Help nudges: a few people who can help with a question, soon, without asking the same expert every time.

Candidates come from the ranker (stated expertise plus observed help). The policy keeps those who may be
reached (awake in their own time zone, not paused, not in quiet hours or a weekend off, available this week,
not nudged recently) and orders them by fit minus a load penalty: every help nudge a member received in the
last weeks lowers them a little, so the load rotates among everyone who knows the topic. Ties break on the
member id, so the same inputs always give the same helpers.

A help nudge waits a grace period (`grace`, 45 minutes by default) before it may go: the channel gets the
first chance to answer, and an answer in that time cancels the nudge. The ranker's threshold is the only
one: every candidate it returns is a match, feedback only orders them (and a recent "not my area" on the
topic takes a member out).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.policy.caps import Budget, recently_nudged
from bot.policy.eligibility import may_receive, ready_to_help
from bot.policy.feedback import EMPTY, summarise
from bot.policy.model import Candidate, PastNudge, PolicyState
from bot.policy.reasons import help_reason
from bot.policy.time import WAKING, Window, next_send_time

LOAD_WEIGHT = 0.25
LOAD_HALF_LIFE_DAYS = 7.0
LOAD_WINDOW = dt.timedelta(days=28)
# A helper who can only be reached later is worth a little less than one who is awake now.
DELAY_WEIGHT_PER_HOUR = 0.1
# How long a help nudge may wait for its helper's waking hours: long enough to cover a weekend off (a
# question from Friday evening still unanswered on Monday morning still needs help; an answer meanwhile
# cancels the nudge). With 12 hours every question from Friday night to Sunday was lost.
DEFAULT_HORIZON = dt.timedelta(days=3)
DEFAULT_GRACE = dt.timedelta(minutes=45)


@dataclass(frozen=True)
class HelpItem:
    id: int
    asker_id: int | None
    channel_name: str | None = None
    is_private: bool = False
    # For a private channel: its members, the only people who may see the question. Also given when a
    # candidate is a guest, who is asked only about questions in channels they are in.
    channel_members: frozenset[int] = frozenset()
    replied: frozenset[int] = frozenset()  # already answered in the thread
    topics_named: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HelpProposal:
    item_id: int
    helper_id: int
    topic: str | None
    topic_label: str | None
    reason: str
    send_at: dt.datetime
    score: float


def help_window(until_hour: int) -> tuple[Window, dt.timedelta]:
    """Help DMs from waking (08:00) until `until_hour` local (18:00 by default: a request for help is not
    an evening's work), and the horizon that still reaches a helper the next morning when a question
    comes after that hour."""
    end = max(WAKING.start_hour + 1, min(until_hour, 24))
    night = dt.timedelta(hours=24 - (end - WAKING.start_hour))
    return Window(WAKING.start_hour, end), max(DEFAULT_HORIZON, night + dt.timedelta(hours=1))


def load(history: Sequence[PastNudge], now: dt.datetime) -> float:
    """Recent help nudges, each counting less as it ages (internal; never shown)."""
    total = 0.0
    for past in history:
        if past.kind == "help" and past.counts and now - LOAD_WINDOW <= past.at <= now + DEFAULT_HORIZON:
            days = max((now - past.at).total_seconds(), 0.0) / 86400.0
            total += math.pow(0.5, days / LOAD_HALF_LIFE_DAYS)
    return total


@dataclass(frozen=True)
class Screened:
    """A candidate the policy may ask: when, their fit after feedback, and the load-adjusted score."""

    candidate: Candidate
    at: dt.datetime
    fit: float
    adjusted: float


def screen_helper(
    item: HelpItem,
    cand: Candidate,
    state: PolicyState,
    now: dt.datetime,
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
    window: Window = WAKING,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> Screened | str:
    """Whether one candidate may be asked about `item` now: a `Screened` when they may, else a short reason
    why not (for logs and bench/help_diagnosis.py; never shown to anyone)."""
    helper = cand.member_id
    if helper == item.asker_id:
        return "asker"
    if helper in item.replied:
        return "replied_or_asked"
    if item.is_private and helper not in item.channel_members:
        return "private_channel"
    prefs = state.prefs.get(helper)
    if prefs is None:
        return "unknown"
    if not ready_to_help(prefs, state.caps, now):
        return "held_back" if may_receive(prefs, now) and prefs.available else "not_reachable"
    if prefs.guest and helper not in item.channel_members:
        return "guest_not_in_channel"
    if item.asker_id is not None and state.mutes_between(helper, item.asker_id):
        return "muted_person"
    muted = state.muted_topics.get(helper, frozenset())
    if muted and (cand.topic in muted or item.topics_named & muted):
        return "muted_topic"
    history = state.past(helper)
    if recently_nudged(history, now, state.caps.help_recency):
        return "recently_nudged"
    earliest = now + max(grace, dt.timedelta(0))
    at = next_send_time(prefs, earliest, window=window, horizon=horizon)
    if at is None:
        return "no_send_time"
    if not Budget(prefs, history, state.caps).allows("help", at):
        return "weekly_cap"
    events = state.feedback.get(helper)
    view = summarise(events, now) if events else EMPTY
    if view.is_snoozed("help", at) or view.declined(cand.topic):
        return "feedback"
    fit = cand.score - view.penalty("help", cand.topic)
    # The grace period is everyone's: only waiting beyond it makes a helper worth less.
    delay_hours = (at - earliest).total_seconds() / 3600.0
    adjusted = fit - LOAD_WEIGHT * load(history, now) - DELAY_WEIGHT_PER_HOUR * delay_hours
    return Screened(cand, at, fit, adjusted)


def plan_help(
    item: HelpItem,
    candidates: Sequence[Candidate],
    state: PolicyState,
    now: dt.datetime,
    *,
    k: int = 3,
    asker_name: str = "Someone",
    horizon: dt.timedelta = DEFAULT_HORIZON,
    min_score: float = 0.0,
    window: Window = WAKING,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> list[HelpProposal]:
    """At most `k` helpers for one question or ask, each reached within `window` on their own clock and
    nudged no sooner than `grace` after `now`."""
    scored: list[Screened] = []
    seen: set[int] = set()
    for cand in candidates:
        if cand.member_id in seen:
            continue
        seen.add(cand.member_id)
        got = screen_helper(item, cand, state, now, horizon=horizon, window=window, grace=grace)
        if isinstance(got, Screened):
            scored.append(got)
    scored.sort(key=lambda s: (-s.adjusted, s.candidate.member_id))
    out: list[HelpProposal] = []
    for s in scored[: max(k, 0)]:
        cand = s.candidate
        label = cand.topic_label or cand.topic
        reason = help_reason(asker_name, label, cand.driver, channel=item.channel_name)
        out.append(
            HelpProposal(
                item.id, cand.member_id, cand.topic, cand.topic_label, reason, s.at, round(s.adjusted, 4)
            )
        )
    return out
