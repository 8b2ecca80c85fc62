"""Recording what a member answered to a nudge, so the next plan listens.

The policy reads Feedback rows back (bot/policy/feedback.py): "not my area" lowers that topic for them,
"not now" snoozes for a few days, mutes are hard rules. Any answer at all ends the back-off (engagement).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Feedback, Item, Member, Nudge, NudgeStatus, Topic, Workspace
from bot.store.queries.engagement import record_engagement
from bot.store.queries.members import add_member_topics
from bot.store.queries.reaches import record_reach

KINDS = ("shared", "helped", "not_now", "not_my_area", "mute_topic", "mute_person", "continue", "stop")
NUDGE_KINDS = ("shared", "helped", "not_now", "not_my_area", "mute_topic", "mute_person")
ACTED = ("shared", "helped")
ANSWERABLE: tuple[NudgeStatus, ...] = ("planned", "queued", "sent", "lapsed", "acted", "dismissed")


class FeedbackError(ValueError):
    """The feedback cannot apply: unknown kind, or the nudge is not this member's."""


def apply_feedback(
    session: Session,
    workspace: Workspace,
    member: Member,
    nudge_id: int | None,
    kind: str,
    now: dt.datetime,
) -> Feedback:
    """Record one answer. Idempotent: pressing the same button twice records it once."""
    if kind not in KINDS:
        raise FeedbackError(f"unknown feedback {kind!r}")
    if member.workspace_id != workspace.id:
        raise FeedbackError("member belongs to another workspace")
    nudge: Nudge | None = None
    if kind in NUDGE_KINDS:
        if nudge_id is None:
            raise FeedbackError(f"{kind} needs a nudge")
        nudge = session.get(Nudge, nudge_id)
        if nudge is None or nudge.workspace_id != workspace.id or nudge.recipient_id != member.id:
            raise FeedbackError("not your nudge")
        existing = session.scalars(
            select(Feedback).where(
                Feedback.member_id == member.id, Feedback.nudge_id == nudge.id, Feedback.kind == kind
            )
        ).first()
        if existing is not None:
            return existing
    other: int | None = None
    if nudge is not None and kind == "mute_person":
        if nudge.target_id is not None:
            other = nudge.target_id
        else:  # a help nudge: "don't suggest this person" means the asker
            item = session.get(Item, nudge.item_id)
            other = item.author_id if item is not None else None
    feedback = Feedback(
        workspace_id=workspace.id,
        member_id=member.id,
        nudge_id=nudge.id if nudge is not None else None,
        kind=kind,
        topic_id=nudge.topic_id if nudge is not None else None,
        other_member_id=other,
        created_at=now,
    )
    session.add(feedback)
    if nudge is not None:
        if nudge.status in ANSWERABLE:
            nudge.status = "acted" if kind in ACTED else "dismissed"
        nudge.acted_at = nudge.acted_at or now
        if kind in ACTED:
            # "I'll take a look" opens the question, "passed it on" follows reading the article: either
            # way the item has reached them (bot/policy/share.py: "seen" is an act).
            record_reach(session, workspace.id, nudge.item_id, member.id, "clicked", now)
        if kind == "mute_topic" and nudge.topic_id is not None:
            topic = session.get(Topic, nudge.topic_id)
            if topic is not None:
                add_member_topics(session, workspace, member, "muted", [topic.name])
    # Any button is engagement: whatever back-off there was ends. "Stop" is final all the same: delivery
    # off keeps the member out of every plan and question until they turn it back on themselves.
    record_engagement(session, member, now)
    if kind == "stop":
        member.delivery = "off"
    session.flush()
    return feedback
