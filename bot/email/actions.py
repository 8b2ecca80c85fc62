"""What a verified email link (or a mailto unsubscribe) does to the store.

Shared by the web routes and the inbound SMTP server. Each function is idempotent: a second POST of
the same link, or a mail client retrying, records nothing new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.email.tokens import LinkToken
from bot.nudges.feedback import FeedbackError, apply_feedback
from bot.store.models import Item, Member, Nudge, OutboxMessage, Workspace
from bot.store.queries.forget import export_member, forget_and_stop_collecting


class LinkGone(Exception):
    """The member or nudge a genuine token names no longer exists (forgotten, deleted)."""


class LinkMismatch(Exception):
    """The token's claims do not fit together (a nudge of someone else, another workspace)."""


@dataclass(frozen=True)
class Subject:
    member: Member
    nudge: Nudge | None
    item: Item | None


def load(session: Session, claims: LinkToken) -> Subject:
    member = session.get(Member, claims.member_id)
    if member is None or member.is_deleted:
        raise LinkGone("member")
    if member.workspace_id != claims.workspace_id:
        raise LinkMismatch("workspace")
    if claims.nudge_id is None:
        return Subject(member, None, None)
    nudge = session.get(Nudge, claims.nudge_id)
    if nudge is None:
        raise LinkGone("nudge")
    if nudge.recipient_id != member.id or nudge.workspace_id != member.workspace_id:
        raise LinkMismatch("nudge")
    return Subject(member, nudge, session.get(Item, nudge.item_id))


def unsubscribe(session: Session, claims: LinkToken, now: dt.datetime) -> Member:
    """Stop email to this member: email -> off, both -> slack (their Slack choice stands).

    Queued email nudges are cancelled and a digest still waiting in the outbox is withdrawn, so no
    mail goes out after the unsubscribe (RFC 8058 expects it to take effect at once).
    """
    member = load(session, claims).member
    if member.delivery == "both":
        member.delivery = "slack"
    elif member.delivery == "email":
        member.delivery = "off"
    session.execute(
        update(Nudge)
        .where(Nudge.recipient_id == member.id, Nudge.channel == "email", Nudge.status == "queued")
        .values(status="cancelled")
    )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == member.id,
            OutboxMessage.kind == "email",
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled", last_error="recipient unsubscribed")
    )
    session.flush()
    return member


def export(session: Session, claims: LinkToken) -> dict[str, Any]:
    """Everything held about the member (the same data `/passiton export` sends in Slack)."""
    return export_member(session, load(session, claims).member)


def forget(session: Session, claims: LinkToken) -> dict[str, int]:
    """Forget the member as `/passiton forget` does; a second POST finds them gone (LinkGone)."""
    return forget_and_stop_collecting(session, load(session, claims).member)


def feedback_kind(claims: LinkToken, nudge: Nudge) -> str:
    if claims.action == "not_my_area":
        return "not_my_area"
    return "shared" if nudge.kind == "share" else "helped"


def record_action(session: Session, claims: LinkToken, now: dt.datetime) -> Subject:
    """Record "I'll share it" / "I'll take a look" / "not my area" through the nudges lane's feedback."""
    subject = load(session, claims)
    nudge = subject.nudge
    workspace = session.get(Workspace, claims.workspace_id)
    if nudge is None or workspace is None:
        raise LinkMismatch("action without a nudge")
    try:
        apply_feedback(session, workspace, subject.member, nudge.id, feedback_kind(claims, nudge), now)
    except FeedbackError as exc:
        raise LinkMismatch(str(exc)) from None
    return subject
