"""The replay scores itself against what really happened in the export: did its help nudges reach the
people who really answered, and how does that compare with "DM the 3 most active repliers so far"?

Pure functions over the parsed export and the delivered nudges (plain records): no database, no I/O.

Definitions (the same for passiton and the baseline, so the two figures can be set side by side):
- A *thread reply* is a reply in a thread of a public or private channel by a person (not a bot, not a
  system message). DMs are not read, as in the replay.
- A *question* is a top-level message by a person in such a channel, posted within the replayed span, that
  the live classifier (`bot.matching.classify.heuristic_kind`) calls a question or an ask, or that has no
  link and got a thread reply from someone else: a thread someone answered on a plain message is a question
  the community helped with, whatever its wording, and leaving it out would hide the classifier's misses.
- A question is *answered* when someone other than the asker replied in its thread (at any time in the export,
  also after the replayed span ends: that is what really happened).
- A help nudge *reached an answerer* when its recipient replied in the question's thread after the nudge was
  sent. An answered question counts as reached when at least one of its help nudges did.
- The *top-3 baseline* DMs, at the moment a question is posted, the 3 members (other than the asker) with the
  most thread replies to other people's threads so far within the replayed span (ties by user id), and
  reaches an answerer when one of them replied in the thread after the question.
- *Coverage*: among answered questions posted after the first quarter of the replayed span (the bot has
  had time to learn), the share that got at least one help nudge.
- Per calendar month (UTC): questions posted, answered, help and share nudges sent; a month is *silent*
  when questions arrived and no help nudge went out.
- Caps as the members see them: the most nudges any one member got in one of their local ISO weeks, and the
  most share nudges in one of their local days (aggregates: nobody is named).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.matching.classify import heuristic_kind
from bot.replay.model import Export, ExportMessage

READ_KINDS = ("channel", "group")
BASELINE_K = 3
QUESTION_KINDS = ("question", "ask")
# Replies count as thread replies only as people's plain messages (a broadcast reply is one too).
REPLY_SUBTYPES = (None, "thread_broadcast")


@dataclass(frozen=True, slots=True)
class NudgeFact:
    """One nudge that went out: who got it, about which message, when (UTC and the recipient's local time)."""

    kind: str  # help | share
    recipient: str  # Slack user id
    channel_id: str | None
    ts: str | None  # the item's message ts (the question's, for help nudges)
    at: dt.datetime
    local: dt.datetime


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str  # YYYY-MM
    questions: int
    answered: int
    help: int
    share: int

    @property
    def silent(self) -> bool:
        return self.questions > 0 and self.help == 0


@dataclass(frozen=True)
class Score:
    has_threads: bool
    questions: int = 0
    answered: int = 0
    reached: int = 0  # answered questions where a nudged member really answered
    baseline_reached: int = 0
    help_sent: int = 0
    help_reached: int = 0  # help nudges whose recipient answered after it
    share_sent: int = 0
    quarter_at: dt.datetime | None = None
    later_answered: int = 0  # answered questions after the first quarter
    later_covered: int = 0  # ... that got at least one help nudge
    later_reached: int = 0
    later_baseline_reached: int = 0
    months: tuple[MonthRow, ...] = ()
    max_nudges_week: int = 0
    max_shares_day: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def silent_months(self) -> list[str]:
        return [m.month for m in self.months if m.silent]

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "score",
            "has_threads": self.has_threads,
            "questions": self.questions,
            "answered": self.answered,
            "reached_answerer": self.reached,
            "reached_answerer_share": share(self.reached, self.answered),
            "baseline_top3_reached": self.baseline_reached,
            "baseline_top3_share": share(self.baseline_reached, self.answered),
            "help_nudges": self.help_sent,
            "help_nudges_reached_answerer": self.help_reached,
            "help_nudges_reached_share": share(self.help_reached, self.help_sent),
            "share_nudges": self.share_sent,
            "first_quarter_ends": self.quarter_at.isoformat() if self.quarter_at else None,
            "later_answered": self.later_answered,
            "later_covered": self.later_covered,
            "later_coverage": share(self.later_covered, self.later_answered),
            "later_reached_share": share(self.later_reached, self.later_answered),
            "later_baseline_top3_share": share(self.later_baseline_reached, self.later_answered),
            "months": [
                {
                    "month": m.month,
                    "questions": m.questions,
                    "answered": m.answered,
                    "help": m.help,
                    "share": m.share,
                    "silent": m.silent,
                }
                for m in self.months
            ],
            "silent_months": self.silent_months,
            "max_nudges_per_member_week": self.max_nudges_week,
            "max_shares_per_member_day": self.max_shares_day,
        }


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _is_reply(m: ExportMessage) -> bool:
    return m.is_reply and not m.is_bot and bool(m.user) and m.subtype in REPLY_SUBTYPES and not m.is_deleted


def _is_top_level(m: ExportMessage) -> bool:
    return not m.is_reply and not m.is_bot and bool(m.user) and m.subtype is None and not m.is_deleted


def _month(at: dt.datetime) -> str:
    return f"{at:%Y-%m}"


def _months_between(first: dt.datetime, last: dt.datetime) -> list[str]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def score_replay(
    export: Export, nudges: Iterable[NudgeFact], first: dt.datetime | None, last: dt.datetime | None
) -> Score:
    """Score the delivered `nudges` of a replay over [`first`, `last`] (the replayed span) against `export`."""
    read = {c.id for c in export.channels.values() if c.kind in READ_KINDS}
    messages = [m for m in export.messages if m.channel_id in read]
    replies = [m for m in messages if _is_reply(m)]
    if not replies or first is None or last is None:
        return Score(has_threads=bool(replies))
    # Who replied in each thread, and when each first did.
    answer_times: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in replies:
        assert r.thread_ts is not None and r.user is not None
        answer_times[(r.channel_id, r.thread_ts)][r.user].append(r.time)
    authors = {(m.channel_id, m.ts): m.user for m in messages if not m.is_reply}

    lo, hi = first.timestamp(), last.timestamp()
    questions: list[ExportMessage] = []
    for m in messages:
        if not _is_top_level(m) or not lo <= m.time <= hi:
            continue
        helpers = set(answer_times.get((m.channel_id, m.ts), {})) - {m.user}
        kind = heuristic_kind(m.plain or m.text, bool(m.links))
        if kind in QUESTION_KINDS or (helpers and not m.links):
            questions.append(m)

    def answered_after(channel: str | None, ts: str | None, user: str, at: float, asker: str | None) -> bool:
        if channel is None or ts is None or user == asker:
            return False
        return any(t >= at for t in answer_times.get((channel, ts), {}).get(user, ()))

    nudge_list = list(nudges)
    help_by_question: dict[tuple[str, str], list[NudgeFact]] = defaultdict(list)
    help_sent = help_reached = share_sent = 0
    for n in nudge_list:
        if n.kind == "help":
            help_sent += 1
            if n.channel_id and n.ts:
                help_by_question[(n.channel_id, n.ts)].append(n)
                asker = authors.get((n.channel_id, n.ts))
                help_reached += answered_after(n.channel_id, n.ts, n.recipient, n.at.timestamp(), asker)
        elif n.kind == "share":
            share_sent += 1

    baseline = _baseline(questions, replies, authors, lo)
    quarter = lo + (hi - lo) / 4
    answered = reached = base_reached = 0
    later_answered = later_covered = later_reached = later_base = 0
    q_month: Counter[str] = Counter()
    a_month: Counter[str] = Counter()
    for q in questions:
        key = (q.channel_id, q.ts)
        q_month[_month(q.posted_at)] += 1
        if not set(answer_times.get(key, {})) - {q.user}:
            continue
        answered += 1
        a_month[_month(q.posted_at)] += 1
        hit = any(
            answered_after(q.channel_id, q.ts, n.recipient, n.at.timestamp(), q.user)
            for n in help_by_question.get(key, ())
        )
        base_hit = any(answered_after(q.channel_id, q.ts, u, q.time, q.user) for u in baseline.get(key, ()))
        reached += hit
        base_reached += base_hit
        if q.time >= quarter:
            later_answered += 1
            later_covered += bool(help_by_question.get(key))
            later_reached += hit
            later_base += base_hit

    h_month = Counter(_month(n.at) for n in nudge_list if n.kind == "help")
    s_month = Counter(_month(n.at) for n in nudge_list if n.kind == "share")
    months = tuple(
        MonthRow(m, q_month[m], a_month[m], h_month[m], s_month[m])
        for m in _months_between(first, max([last, *(n.at for n in nudge_list)]))
    )
    week: Counter[tuple[str, int, int]] = Counter()
    day: Counter[tuple[str, dt.date]] = Counter()
    for n in nudge_list:
        iso = n.local.isocalendar()
        week[(n.recipient, iso[0], iso[1])] += 1
        if n.kind == "share":
            day[(n.recipient, n.local.date())] += 1
    return Score(
        has_threads=True, questions=len(questions), answered=answered, reached=reached,
        baseline_reached=base_reached, help_sent=help_sent, help_reached=help_reached, share_sent=share_sent,
        quarter_at=dt.datetime.fromtimestamp(quarter, dt.UTC), later_answered=later_answered,
        later_covered=later_covered, later_reached=later_reached, later_baseline_reached=later_base,
        months=months, max_nudges_week=max(week.values(), default=0), max_shares_day=max(day.values(), default=0),
    )  # fmt: skip


def _baseline(
    questions: Sequence[ExportMessage],
    replies: Sequence[ExportMessage],
    authors: dict[tuple[str, str], str | None],
    since: float,
) -> dict[tuple[str, str], tuple[str, ...]]:
    """For each question, the BASELINE_K members other than the asker with the most replies to other people's
    threads from `since` up to (not including) the question's time; ties by user id."""
    counts: Counter[str] = Counter()
    events = sorted(
        [(r.time, 0, i) for i, r in enumerate(replies) if r.time >= since]
        + [(q.time, 1, i) for i, q in enumerate(questions)]
    )  # at the same instant, a reply counts before the question (it was already there)
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for _, what, i in events:
        if what == 0:
            r = replies[i]
            assert r.user is not None and r.thread_ts is not None
            parent = authors.get((r.channel_id, r.thread_ts), r.parent_user_id)
            if r.user != parent:
                counts[r.user] += 1
            continue
        q = questions[i]
        top = heapq.nsmallest(BASELINE_K + 1, counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out[(q.channel_id, q.ts)] = tuple(u for u, _ in top if u != q.user)[:BASELINE_K]
    return out
