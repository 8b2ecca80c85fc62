"""Recording a sign of engagement: the one thing that ends a back-off at once (bot/policy/backoff.py).

Engagement is a reply in the thread of a question the member was nudged about (also after that nudge
lapsed), any nudge button, any `/passiton` command, opening App Home. Silence is not a "no"; these are a
"yes, I'm here".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.policy.backoff import after_engagement
from bot.store.models import Member
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.workspaces import get_workspace


def record_engagement(session: Session, member: Member, now: dt.datetime) -> None:
    """Release the member's back-off and remember when they last engaged (never moving it backwards: a
    late-processed event must not hide a newer one)."""
    reset = after_engagement()
    if member.unanswered != reset.unanswered:
        member.unanswered = reset.unanswered
    if member.asked_to_continue_at != reset.asked_at:
        member.asked_to_continue_at = reset.asked_at
    if member.holds != reset.holds:
        member.holds = reset.holds
    if member.held_until != reset.held_until:
        member.held_until = reset.held_until
    if member.last_engaged_at is None or member.last_engaged_at < now:
        member.last_engaged_at = now


def record_engagement_of(session: Session, team_id: str, slack_user_id: str, now: dt.datetime) -> bool:
    """`record_engagement` for a Slack user, when passiton knows them (nobody is created for it). False
    when it does not."""
    workspace = get_workspace(session, team_id)
    member = member_by_slack_id(session, workspace, slack_user_id) if workspace is not None else None
    if member is None:
        return False
    record_engagement(session, member, now)
    return True
