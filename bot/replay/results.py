"""What a replay produced, read back out of its database as plain records for the report and JSON lines.

The outbox rows are the output: each nudge with the DM the live renderer wrote for it, when it would have
been sent (in the recipient's own time zone), or why it was dropped before sending.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.policy.time import local_time
from bot.replay.infer import Inferred
from bot.replay.model import Problem
from bot.replay.runner import AnswerRecord, ReplayRun, ReplayStats
from bot.replay.score import NudgeFact, Score, score_replay
from bot.store.models import Channel, Item, Member, MemberTopic, Nudge, OutboxMessage, Topic

# Nudge statuses once its DM went out; the rest never reached anyone.
DELIVERED = ("sent", "acted", "dismissed", "lapsed")
OUTCOMES = {
    "sent": "would have been sent",
    "acted": "would have been sent; the recipient replied in the thread",
    "dismissed": "would have been sent",
    "lapsed": "would have been sent; left unanswered (nobody presses buttons in a replay)",
    "cancelled": "dropped before sending: the question got an answer first",
    "expired": "dropped at send time",
    "queued": "still waiting when the export ends",
    "planned": "still waiting when the export ends",
    "failed": "failed",
}


@dataclass(frozen=True)
class Person:
    slack_id: str | None
    name: str
    tz: str


@dataclass(frozen=True)
class NudgeRecord:
    id: int
    kind: str  # help | share
    status: str
    outcome: str
    dropped_because: str | None
    reason: str
    topic: str | None
    topic_source: str | None  # stated | inferred: where the topic behind the match came from
    recipient: Person
    target: Person | None
    item_kind: str
    channel: str | None
    channel_private: bool
    item_title: str
    item_text: str
    item_url: str | None
    item_author: Person | None
    posted_at: dt.datetime
    planned_at: dt.datetime
    send_at: dt.datetime
    sent_at: dt.datetime | None
    dm_text: str
    dm_blocks: list[dict[str, Any]]
    # The item's message in Slack: its channel id and ts (for a help nudge, the question's), so a nudge can be
    # matched to its thread in the export; None for items from elsewhere (email, asks by command).
    channel_id: str | None = None
    item_ts: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in DELIVERED

    @property
    def send_at_local(self) -> dt.datetime:
        return local_time(self.recipient.tz, self.sent_at or self.send_at)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "nudge",
            "kind": self.kind,
            "status": self.status,
            "delivered": self.delivered,
            "outcome": self.outcome,
            "dropped_because": self.dropped_because,
            "reason": self.reason,
            "topic": self.topic,
            "topic_source": self.topic_source,
            "recipient": _person(self.recipient),
            "target": _person(self.target) if self.target else None,
            "item": {
                "kind": self.item_kind,
                "channel": self.channel,
                "private": self.channel_private,
                "title": self.item_title,
                "text": self.item_text,
                "url": self.item_url,
                "author": _person(self.item_author) if self.item_author else None,
                "posted_at": self.posted_at.isoformat(),
                "channel_id": self.channel_id,
                "ts": self.item_ts,
            },
            "planned_at": self.planned_at.isoformat(),
            "send_at": self.send_at.isoformat(),
            "send_at_local": self.send_at_local.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "dm": {"text": self.dm_text, "blocks": self.dm_blocks},
        }


@dataclass(frozen=True)
class AnswerView:
    record: AnswerRecord
    asker: Person | None
    experts: tuple[Person, ...]

    def as_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "type": "answer",
            "at": r.at.isoformat(),
            "channel": r.channel_name,
            "question_ts": r.question_ts,
            "asker": _person(self.asker) if self.asker else None,
            "question": r.question,
            "text": r.text,
            "blocks": r.blocks,
            "experts_named": [_person(p) for p in self.experts],
        }


@dataclass
class ReplayResult:
    export_name: str
    stats: ReplayStats
    nudges: list[NudgeRecord]
    answers: list[AnswerView]
    problems: list[Problem]
    members: int  # people (not bots, not deactivated)
    stated: int  # members with stated topics
    inferred: dict[str, Inferred]  # by Slack id: topics inferred (--infer-interests)
    inferred_names: dict[str, str] = field(default_factory=dict)
    continue_questions: int = 0
    items: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    score: Score | None = None

    @property
    def delivered(self) -> list[NudgeRecord]:
        return [n for n in self.nudges if n.delivered]

    def by_kind(self) -> Counter[str]:
        return Counter(n.kind for n in self.delivered)

    def dropped(self) -> Counter[str]:
        return Counter(n.dropped_because or n.status for n in self.nudges if not n.delivered)


def _person(p: Person) -> dict[str, Any]:
    return {"id": p.slack_id, "name": p.name, "tz": p.tz}


def _person_of(m: Member | None) -> Person | None:
    if m is None:
        return None
    return Person(m.slack_user_id, m.name, m.tz or "UTC")


def collect(run: ReplayRun, export_name: str, options: dict[str, Any] | None = None) -> ReplayResult:
    with run.db.session() as s:
        return _collect(s, run, export_name, options or {})


def _collect(s: Session, run: ReplayRun, export_name: str, options: dict[str, Any]) -> ReplayResult:
    ws = run.workspace_id
    members = {m.id: m for m in s.scalars(select(Member).where(Member.workspace_id == ws))}
    channels = {c.id: c for c in s.scalars(select(Channel).where(Channel.workspace_id == ws))}
    topics = {t.id: t for t in s.scalars(select(Topic).where(Topic.workspace_id == ws))}
    sources = {
        (mt.member_id, mt.topic_id, mt.kind): mt.source
        for mt in s.scalars(select(MemberTopic).where(MemberTopic.workspace_id == ws))
    }
    outbox = {
        o.nudge_id: o for o in s.scalars(select(OutboxMessage).where(OutboxMessage.nudge_id.is_not(None)))
    }
    sent_at = {m.nudge_id: m.at for m in run.sent if m.nudge_id is not None}
    nudges: list[NudgeRecord] = []
    rows = s.execute(select(Nudge, Item).join(Item, Item.id == Nudge.item_id).where(Nudge.workspace_id == ws))
    for nudge, item in rows:
        recipient = _person_of(members.get(nudge.recipient_id))
        assert recipient is not None
        target = _person_of(members.get(nudge.target_id)) if nudge.target_id is not None else None
        topic = topics.get(nudge.topic_id) if nudge.topic_id is not None else None
        source = None
        if topic is not None:
            # Help: the recipient's expertise; share: the target's interest.
            key = (
                (nudge.recipient_id, topic.id, "expertise")
                if nudge.kind == "help"
                else (nudge.target_id or -1, topic.id, "interest")
            )
            source = sources.get(key)
        box = outbox.get(nudge.id)
        payload = dict(box.payload or {}) if box is not None else {}
        dropped = None
        if nudge.status == "expired" and box is not None:
            dropped = box.last_error
        elif nudge.status == "cancelled":
            dropped = "answered"
        channel = channels.get(item.channel_id) if item.channel_id is not None else None
        nudges.append(
            NudgeRecord(
                id=nudge.id, kind=nudge.kind, status=nudge.status, outcome=OUTCOMES.get(nudge.status, nudge.status),
                dropped_because=dropped, reason=nudge.reason, topic=(topic.label or topic.name) if topic else None,
                topic_source=source, recipient=recipient, target=target, item_kind=item.kind,
                channel=channel.name if channel else None,
                channel_private=bool(item.is_private or (channel is not None and channel.is_private)),
                item_title=item.title or "", item_text=item.text or "", item_url=item.url,
                item_author=_person_of(members.get(item.author_id)) if item.author_id is not None else None,
                posted_at=item.posted_at, planned_at=nudge.created_at, send_at=nudge.send_after,
                sent_at=sent_at.get(nudge.id) or nudge.sent_at, dm_text=str(payload.get("text") or ""),
                dm_blocks=list(payload.get("blocks") or []),
                channel_id=channel.slack_channel_id if channel else None, item_ts=item.slack_ts,
            )
        )  # fmt: skip
    nudges.sort(key=lambda n: (n.sent_at or n.send_at, n.id))
    by_slack = {m.slack_user_id: m for m in members.values() if m.slack_user_id}
    answers = [
        AnswerView(
            record=a,
            asker=_person_of(by_slack.get(a.asker_id)) if a.asker_id else None,
            experts=tuple(p for p in (_person_of(members.get(i)) for i in a.expert_ids) if p is not None),
        )
        for a in run.answers
    ]
    people = [m for m in members.values() if not m.is_bot and not m.is_deleted and m.slack_user_id]
    return ReplayResult(
        export_name=export_name, stats=run.stats, nudges=nudges, answers=answers, problems=run.problems,
        members=len(people), stated=len([u for u in run.stated if u in by_slack]), inferred=run.inferred,
        inferred_names={u: by_slack[u].name for u in run.inferred if u in by_slack},
        continue_questions=sum(1 for m in run.sent if m.nudge_id is None and ":continue:" in _key(m.payload)),
        items=dict(run.stats.items), options=options,
        score=score_replay(run.export, facts(nudges), run.stats.first, run.stats.last),
    )  # fmt: skip


def facts(nudges: list[NudgeRecord]) -> list[NudgeFact]:
    """The delivered nudges as the score reads them."""
    return [
        NudgeFact(
            n.kind,
            n.recipient.slack_id or "",
            n.channel_id,
            n.item_ts,
            n.sent_at or n.send_at,
            n.send_at_local,
        )
        for n in nudges
        if n.delivered
    ]


def _key(payload: dict[str, Any]) -> str:
    meta = payload.get("metadata") or {}
    inner = meta.get("event_payload") if isinstance(meta, dict) else None
    return str((inner or {}).get("idempotency_key") or "") if isinstance(inner, dict) else ""
