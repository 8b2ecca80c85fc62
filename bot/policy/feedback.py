"""How a member's answers to earlier nudges shape the next ones.

"Not my area" on a nudge about a topic lowers that topic for that member for months; "not now" lowers it a
little for a couple of weeks and snoozes nudges of that kind for a few days; "passed it on" / "I'll take a
look" raise it slightly. Mutes are hard rules, handled where they are stored (muted topics, muted people),
not as penalties here. The numbers are internal weights on the ranker's scale and never shown to anyone.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.policy.model import FeedbackEvent

# kind -> (weight added to the topic's penalty, half-life in days). Negative weights are a small bonus.
TOPIC_EFFECT: dict[str, tuple[float, float]] = {
    "not_my_area": (2.0, 90.0),
    "not_now": (0.5, 14.0),
    "shared": (-0.3, 60.0),
    "helped": (-0.3, 60.0),
}
# When the feedback named no topic, a smaller share of it applies to every suggestion of that kind.
UNTOPICAL_SHARE = 0.25
SNOOZE = dt.timedelta(days=3)
MAX_BONUS = 0.6
# A topic penalty this high is a recent "not my area" (it takes about three months to fade below): that
# member is not asked about that topic. A rule about what they said, not a second score threshold.
DECLINED = 1.0


@dataclass(frozen=True)
class FeedbackView:
    """One member's feedback boiled down as of a moment."""

    topic_penalty: dict[str, float] = field(default_factory=dict)
    kind_penalty: dict[str, float] = field(default_factory=dict)
    snoozed: dict[str, dt.datetime] = field(default_factory=dict)  # nudge kind -> snoozed until

    def penalty(self, kind: str, topic: str | None) -> float:
        value = self.kind_penalty.get(kind, 0.0)
        if topic is not None:
            value += self.topic_penalty.get(topic, 0.0)
        return max(value, -MAX_BONUS)

    def declined(self, topic: str | None) -> bool:
        """Did the member recently say "not my area" to a nudge about this topic?"""
        return topic is not None and self.topic_penalty.get(topic, 0.0) >= DECLINED

    def is_snoozed(self, kind: str, at: dt.datetime) -> bool:
        until = self.snoozed.get(kind)
        return until is not None and at < until


EMPTY = FeedbackView()


def summarise(events: Iterable[FeedbackEvent], now: dt.datetime) -> FeedbackView:
    """Decayed per-topic penalties and snoozes from a member's feedback history (future events ignored)."""
    topic: dict[str, float] = {}
    kind: dict[str, float] = {}
    snoozed: dict[str, dt.datetime] = {}
    for event in events:
        if event.at > now:
            continue
        effect = TOPIC_EFFECT.get(event.kind)
        if effect is not None:
            weight, half_life = effect
            days = (now - event.at).total_seconds() / 86400.0
            value = weight * math.pow(0.5, days / half_life)
            if event.topic:
                topic[event.topic] = topic.get(event.topic, 0.0) + value
            elif event.nudge_kind and weight > 0:
                kind[event.nudge_kind] = kind.get(event.nudge_kind, 0.0) + value * UNTOPICAL_SHARE
        if event.kind == "not_now" and event.nudge_kind:
            until = event.at + SNOOZE
            if until > snoozed.get(event.nudge_kind, until - dt.timedelta(seconds=1)):
                snoozed[event.nudge_kind] = until
    return FeedbackView(topic_penalty=topic, kind_penalty=kind, snoozed=snoozed)
