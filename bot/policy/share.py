"""Share nudges: for a recent article, who hasn't seen it but would care, and who among those who saw it
knows them best, so that a person (never the bot) passes it on.

Greedy over the ranker's (item, target) matches, best first: each match goes to the eligible giver with the
strongest decayed tie to the target, falling back to the sharer, until budgets run out. Quality over
quantity: a giver gets at most one suggestion per item and per run, within their caps.

"Seen" is an act, not a membership: a target has seen an article when they posted, reacted to or replied to
it, clicked through a nudge about it, had it passed on, or sit in a channel small enough
(`small_channel` members or fewer) that everything in it is read. Being one of forty people in #general is
not having seen what was posted there. Who may pass it on is anyone who can see it (its channel's members
and its author): the nudge brings the article to them.

The ranker's threshold is the only one: every candidate it returns is a match. Feedback orders the matches
(a small penalty or bonus) and a recent "not my area" on the topic takes the giver out; nothing re-tests
the score against a second bar.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.policy.caps import Budget, pair_cooled_down
from bot.policy.eligibility import may_be_target, ready_for_nudges
from bot.policy.feedback import EMPTY, FeedbackView, summarise
from bot.policy.model import Candidate, MemberPrefs, PolicyState
from bot.policy.reasons import share_reason
from bot.policy.time import local_date, next_send_time

TIE_BONUS = 0.5
# Channels this small are read by everyone in them: their members have seen what was posted there.
SMALL_CHANNEL = 12


@dataclass(frozen=True)
class ShareItem:
    """An article as the policy sees it. `channel_members` can see it; `seen_by` holds everyone it already
    reached by an act (they reacted, replied, clicked through a nudge about it or got it passed on)."""

    id: int
    author_id: int | None
    channel_id: int | None = None
    channel_name: str | None = None
    is_private: bool = False
    channel_members: frozenset[int] = frozenset()
    seen_by: frozenset[int] = frozenset()
    topics_named: frozenset[str] = frozenset()  # normalised topics the item names, for mute checks
    engaged: frozenset[int] = frozenset()  # reacted to it or replied in its thread: preferred givers

    @property
    def saw_it(self) -> frozenset[int]:
        """Who can see it, and so could pass it on."""
        return self.channel_members | ({self.author_id} if self.author_id is not None else frozenset())

    def has_seen(self, member_id: int, small_channel: int = SMALL_CHANNEL) -> bool:
        """Whether the article already reached `member_id` (see the module's note on "seen")."""
        return (
            member_id == self.author_id
            or member_id in self.seen_by
            or (len(self.channel_members) <= small_channel and member_id in self.channel_members)
        )


def seen_in(item: ShareItem, small_channel: int = SMALL_CHANNEL) -> frozenset[int]:
    """Everyone who has seen `item` (`ShareItem.has_seen` as a set), e.g. to leave out of the ranking."""
    small = item.channel_members if len(item.channel_members) <= small_channel else frozenset()
    return item.seen_by | small | ({item.author_id} if item.author_id is not None else frozenset())


@dataclass(frozen=True)
class Tie:
    """The decayed strength of how two members interact, and where they interact most."""

    other_id: int
    weight: float
    channel_name: str | None = None  # where they talk when `talks`, else a channel they share
    talks: bool = False  # a reply, mention or reaction between them; False: only a shared channel


@dataclass(frozen=True)
class ShareProposal:
    item_id: int
    giver_id: int
    target_id: int
    topic: str | None
    topic_label: str | None
    reason: str
    send_at: dt.datetime
    score: float


def _topic_muted(state: PolicyState, member_id: int, item: ShareItem, topic: str | None) -> bool:
    muted = state.muted_topics.get(member_id, frozenset())
    return bool(muted) and (topic in muted or bool(item.topics_named & muted))


class _Planner:
    def __init__(
        self, state: PolicyState, now: dt.datetime, morning_hour: int, givers: frozenset[int] | None
    ) -> None:
        self.state, self.now, self.morning_hour, self.givers = state, now, morning_hour, givers
        self._budgets: dict[int, Budget] = {}
        self._views: dict[int, FeedbackView] = {}
        self._send_at: dict[int, dt.datetime | None] = {}
        self._targeted: dict[tuple[int, dt.date], int] = {}
        for history in state.history.values():
            for past in history:
                if past.kind == "share" and past.target_id is not None and past.counts:
                    self._count_target(past.target_id, past.at)
        self.used_items: set[tuple[int, int]] = set()  # (giver, item) picked in this run

    def _count_target(self, target_id: int, at: dt.datetime) -> None:
        prefs = self.state.prefs.get(target_id)
        key = (target_id, local_date(prefs.tz if prefs else "UTC", at))
        self._targeted[key] = self._targeted.get(key, 0) + 1

    def target_free(self, target_id: int, at: dt.datetime) -> bool:
        prefs = self.state.prefs.get(target_id)
        key = (target_id, local_date(prefs.tz if prefs else "UTC", at))
        return self._targeted.get(key, 0) < self.state.caps.target_per_day

    def budget(self, member_id: int) -> Budget:
        budget = self._budgets.get(member_id)
        if budget is None:
            prefs = self.state.prefs[member_id]
            budget = self._budgets[member_id] = Budget(prefs, self.state.past(member_id), self.state.caps)
        return budget

    def view(self, member_id: int) -> FeedbackView:
        view = self._views.get(member_id)
        if view is None:
            events = self.state.feedback.get(member_id)
            view = self._views[member_id] = summarise(events, self.now) if events else EMPTY
        return view

    def send_at(self, prefs: MemberPrefs) -> dt.datetime | None:
        if prefs.id not in self._send_at:
            self._send_at[prefs.id] = next_send_time(prefs, self.now, self.morning_hour)
        return self._send_at[prefs.id]

    def giver_ok(
        self, giver_id: int, target_id: int, item: ShareItem, topic: str | None
    ) -> dt.datetime | None:
        """When this giver could get this suggestion, or None if they should not."""
        if giver_id == target_id or (self.givers is not None and giver_id not in self.givers):
            return None
        if (giver_id, item.id) in self.used_items:
            return None
        prefs = self.state.prefs.get(giver_id)
        if prefs is None or not ready_for_nudges(prefs, self.state.caps, self.now):
            return None
        if self.state.mutes_between(giver_id, target_id) or _topic_muted(self.state, giver_id, item, topic):
            return None
        at = self.send_at(prefs)
        view = self.view(giver_id)
        if at is None or view.is_snoozed("share", at) or view.declined(topic):
            return None
        if not self.budget(giver_id).allows("share", at):
            return None
        if not pair_cooled_down(self.state.past(giver_id), target_id, at, self.state.caps.pair_cooldown):
            return None
        return at


def plan_shares(
    items: Sequence[ShareItem],
    matches: Mapping[int, Sequence[Candidate]],
    ties: Mapping[int, Sequence[Tie]],
    state: PolicyState,
    now: dt.datetime,
    *,
    morning_hour: int = 9,
    givers: frozenset[int] | None = None,
    already: frozenset[tuple[int, int]] = frozenset(),
    small_channel: int = SMALL_CHANNEL,
) -> list[ShareProposal]:
    """Pick share nudges. `matches[item id]` are ranker candidates (targets) for that item; `ties[target]`
    are the target's ties, strongest first; `givers` (if given) are the only members who may be nudged in
    this run (those whose local morning has come); `already` holds (item, target) pairs nudged before;
    channels of at most `small_channel` members count as seen by all their members."""
    planner = _Planner(state, now, morning_hour, givers)
    by_id = {item.id: item for item in items}
    ranked: list[tuple[float, int, int, Candidate]] = []
    for item in items:
        if item.is_private:
            # Private content never leaves its channel, and everyone in it has seen it already.
            continue
        for cand in matches.get(item.id, ()):
            target = cand.member_id
            if item.has_seen(target, small_channel):
                continue
            if (item.id, target) in already or not may_be_target(state.prefs.get(target), now):
                continue
            if _topic_muted(state, target, item, cand.topic):
                continue
            ranked.append((-cand.score, item.id, target, cand))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]))

    proposals: list[ShareProposal] = []
    done: set[tuple[int, int]] = set()
    saw_by_item: dict[int, frozenset[int]] = {}
    for _neg, item_id, target, cand in ranked:
        if (item_id, target) in done:
            continue
        item = by_id[item_id]
        saw = saw_by_item.get(item.id)
        if saw is None:
            saw = saw_by_item[item.id] = item.saw_it
        choice: tuple[int, dt.datetime, Tie | None] | None = None
        # Those who engaged with the article (reacted, replied) first, strongest tie first within each.
        known = [t for t in ties.get(target, ()) if t.weight > 0 and t.other_id in saw]
        for tie in sorted(known, key=lambda t: t.other_id not in item.engaged):
            if tie.weight <= 0 or tie.other_id not in saw:
                continue
            at = planner.giver_ok(tie.other_id, target, item, cand.topic)
            if at is not None:
                choice = (tie.other_id, at, tie)
                break
        if choice is None and item.author_id is not None:
            at = planner.giver_ok(item.author_id, target, item, cand.topic)
            if at is not None:
                choice = (item.author_id, at, None)
        if choice is None:
            continue
        giver, at, chosen_tie = choice
        if not planner.target_free(target, at):
            continue
        score = cand.score - planner.view(giver).penalty("share", cand.topic)
        if chosen_tie is not None:
            score += TIE_BONUS * math.log1p(chosen_tie.weight)
        target_prefs = state.prefs[target]
        reason = share_reason(
            target_prefs.name or "Someone",
            cand.topic_label or cand.topic,
            tie_channel=chosen_tie.channel_name if chosen_tie is not None else None,
            tie_talks=chosen_tie.talks if chosen_tie is not None else False,
            giver_is_author=chosen_tie is None,
            item_channel=item.channel_name,
        )
        proposals.append(
            ShareProposal(item.id, giver, target, cand.topic, cand.topic_label, reason, at, round(score, 4))
        )
        planner.budget(giver).add("share", at)
        planner._count_target(target, at)
        planner.used_items.add((giver, item.id))
        done.add((item.id, target))
    return proposals
