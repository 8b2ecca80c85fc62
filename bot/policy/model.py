"""Plain data the policy reads. The shell (bot/nudges) builds these from the store; nothing here knows SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CapConfig:
    """How much one person may be asked. Each member gets at most this, whatever the channel (one budget
    across Slack and email)."""

    share_per_day: int = 1
    nudges_per_week: int = 5
    # A target is the subject of at most this many share nudges on one day (not the same person by all).
    target_per_day: int = 1
    pair_cooldown: dt.timedelta = dt.timedelta(days=7)
    help_recency: dt.timedelta = dt.timedelta(hours=20)
    # Shares and help each have a weekly budget of their own inside `nudges_per_week`, so a busy week of
    # questions cannot crowd out every article (nor the reverse).
    share_per_week: int = 3
    help_per_week: int = 3
    backoff_after: int = 3
    # A member left several nudges unanswered: the successive holds last this many weeks (the last one
    # repeats). A hold wears off by itself; any sign of engagement ends it at once.
    hold_weeks: tuple[int, ...] = (2, 4, 8)


@dataclass(frozen=True)
class MemberPrefs:
    """What a member told us about when and whether to be reached. Times are aware UTC datetimes.

    `quiet_start`/`quiet_end` are minutes after local midnight; start > end wraps past midnight and
    start == end means no quiet hours. `unanswered` is the count of nudges left without any answer in a
    row; `asked_to_continue_at` is when we asked whether to keep going (None: not asked since they last
    engaged); `holds` counts the holds since they last engaged and `held_until` ends the current one.
    """

    id: int
    tz: str = "UTC"
    quiet_start: int | None = None
    quiet_end: int | None = None
    weekends_off: bool = True
    paused_until: dt.datetime | None = None
    available: bool = True
    opted_in: bool = False
    delivery: str = "slack"  # slack | email | both | off
    unanswered: int = 0
    asked_to_continue_at: dt.datetime | None = None
    holds: int = 0
    held_until: dt.datetime | None = None
    reachable: bool = True  # False for bots, deactivated users, the app itself
    # A guest, or a member of another organisation in a Slack Connect channel: reads only the channels they
    # are in, so is never handed an item from another one.
    guest: bool = False
    name: str = ""


# Nudges in these states never reached anyone, so they use no budget and start no cooldown.
NOT_COUNTED = frozenset({"cancelled", "expired", "failed"})


@dataclass(frozen=True)
class PastNudge:
    """A nudge already planned or sent to a member; the caps and cooldowns count these."""

    recipient_id: int
    kind: str  # share | help
    at: dt.datetime  # when it was (or will be) sent: Nudge.send_after or sent_at
    item_id: int | None = None
    target_id: int | None = None
    status: str = "planned"

    @property
    def counts(self) -> bool:
        """Cancelled or expired nudges never reached anyone, so they use no budget."""
        return self.status not in NOT_COUNTED


@dataclass(frozen=True)
class FeedbackEvent:
    member_id: int
    kind: str  # shared | helped | not_now | not_my_area | mute_topic | mute_person | continue | stop
    at: dt.datetime
    topic: str | None = None  # normalised topic name of the nudge the feedback was about
    other_member_id: int | None = None
    nudge_kind: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One ranker suggestion: member, relevance score, the stated topic that drove it and its label."""

    member_id: int
    score: float
    topic: str | None = None
    topic_label: str | None = None
    driver: str = "similar"  # named | similar | helped


@dataclass
class PolicyState:
    """Everything about the members the share and help policies need, keyed by member id."""

    prefs: dict[int, MemberPrefs]
    history: dict[int, list[PastNudge]] = field(default_factory=dict)
    feedback: dict[int, list[FeedbackEvent]] = field(default_factory=dict)
    # Person mutes in either direction: (a, b) in the set means a said "don't suggest b".
    muted_people: set[tuple[int, int]] = field(default_factory=set)
    muted_topics: dict[int, frozenset[str]] = field(default_factory=dict)
    caps: CapConfig = field(default_factory=CapConfig)

    def past(self, member_id: int) -> list[PastNudge]:
        return self.history.get(member_id, [])

    def mutes_between(self, a: int, b: int) -> bool:
        return (a, b) in self.muted_people or (b, a) in self.muted_people
