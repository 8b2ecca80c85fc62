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
from bot.policy.eligibility import ready_to_help
from bot.policy.feedback import EMPTY, summarise
from bot.policy.model import Candidate, PastNudge, PolicyState
from bot.policy.reasons import help_reason
from bot.policy.time import WAKING, Window, next_send_time

LOAD_WEIGHT = 1.0
LOAD_HALF_LIFE_DAYS = 7.0
LOAD_WINDOW = dt.timedelta(days=28)
# A helper who can only be reached later is worth a little less than one who is awake now.
DELAY_WEIGHT_PER_HOUR = 0.1
DEFAULT_HORIZON = dt.timedelta(hours=12)
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
    earliest = now + max(grace, dt.timedelta(0))
    scored: list[tuple[float, int, dt.datetime, Candidate, float]] = []
    seen: set[int] = set()
    for cand in candidates:
        helper = cand.member_id
        if helper in seen or helper == item.asker_id or helper in item.replied:
            continue
        seen.add(helper)
        if item.is_private and helper not in item.channel_members:
            continue
        prefs = state.prefs.get(helper)
        if prefs is None or not ready_to_help(prefs, state.caps, now):
            continue
        if prefs.guest and helper not in item.channel_members:
            continue
        if item.asker_id is not None and state.mutes_between(helper, item.asker_id):
            continue
        muted = state.muted_topics.get(helper, frozenset())
        if muted and (cand.topic in muted or item.topics_named & muted):
            continue
        history = state.past(helper)
        if recently_nudged(history, now, state.caps.help_recency):
            continue
        at = next_send_time(prefs, earliest, window=window, horizon=horizon)
        if at is None or not Budget(prefs, history, state.caps).allows("help", at):
            continue
        events = state.feedback.get(helper)
        view = summarise(events, now) if events else EMPTY
        if view.is_snoozed("help", at) or view.declined(cand.topic):
            continue
        fit = cand.score - view.penalty("help", cand.topic)
        # The grace period is everyone's: only waiting beyond it makes a helper worth less.
        delay_hours = (at - earliest).total_seconds() / 3600.0
        adjusted = fit - LOAD_WEIGHT * load(history, now) - DELAY_WEIGHT_PER_HOUR * delay_hours
        scored.append((adjusted, helper, at, cand, fit))
    scored.sort(key=lambda s: (-s[0], s[1]))
    out: list[HelpProposal] = []
    for adjusted, helper, at, cand, _fit in scored[: max(k, 0)]:
        label = cand.topic_label or cand.topic
        reason = help_reason(asker_name, label, cand.driver, channel=item.channel_name)
        out.append(
            HelpProposal(item.id, helper, cand.topic, cand.topic_label, reason, at, round(adjusted, 4))
        )
    return out
