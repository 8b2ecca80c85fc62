"""The digest job: gather each email member's queued nudges into one email per period.

The planner (bot/nudges) already decided who gets what within the one budget a member has across
Slack and email; nudges meant for email wait as ``status="queued", channel="email"``. This job only
batches them: at the member's local morning (daily, or weekly from Monday morning) it renders one
digest and puts ONE ``email`` row in the outbox, keyed by member and period, so running the job twice,
or on two schedulers at once, still queues one digest. The nudges it carries become ``sent`` in the
same transaction: from then on the outbox owns their delivery (retries, failure).

Delivery "both": the planner DMs the same nudge and the drain marks it ``sent`` when the DM goes, so
the digest also takes ``sent`` email nudges planned since the member's previous digest (whose payload
records ``as_of`` and ``nudge_ids``), and never one twice. One nudge, one budget, two channels.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.outbox import enqueue
from bot.email import tokens
from bot.email.render import Digest, DigestEntry, link, render_digest, unsubscribe_mailto
from bot.email.smtp import message_id_for, sender_domain
from bot.store.db import Database, LostLeadership
from bot.store.models import Item, Member, Nudge, OutboxMessage, Workspace

log = logging.getLogger(__name__)

# A safety net, not the budget: the planner's caps keep digests far shorter than this.
MAX_ENTRIES = 10
EMAIL_DELIVERIES = ("email", "both")
LOOKBACK = dt.timedelta(days=8)


@dataclass(frozen=True)
class Schedule:
    tz: str
    digest: str  # daily | weekly
    weekends_off: bool
    quiet_start: int | None
    quiet_end: int | None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(minute_of_day: int, start: int | None, end: int | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= minute_of_day < end
    return minute_of_day >= start or minute_of_day < end  # wraps past midnight


def digest_period(schedule: Schedule, now: dt.datetime, morning_hour: int) -> str | None:
    """The period a digest sent now would cover ("d2024-06-03", "w2024-W23"), or None if not due.

    Due once the member's local morning has come and they are not in quiet hours. Weekly digests go
    from Monday morning; if the job could not run on Monday the same week's digest goes on the next
    weekday instead of being skipped (the per-period key still allows only one).
    """
    local = now.astimezone(_zone(schedule.tz))
    if local.hour < morning_hour:
        return None
    if in_quiet_hours(local.hour * 60 + local.minute, schedule.quiet_start, schedule.quiet_end):
        return None
    weekend = local.weekday() >= 5
    if schedule.digest == "weekly":
        if weekend:
            return None
        year, week, _ = local.isocalendar()
        return f"w{year}-W{week:02d}"
    if weekend and schedule.weekends_off:
        return None
    return f"d{local.date().isoformat()}"


def digest_key(member_id: int, period: str) -> str:
    return f"email-digest:{member_id}:{period}"


def send_digests(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Queue the digests that are due; returns how many were queued."""
    with db.session() as session:
        candidates = session.execute(
            select(
                Member.id, Member.tz, Member.digest, Member.weekends_off, Member.quiet_start, Member.quiet_end
            )
            .join(Workspace, Workspace.id == Member.workspace_id)
            .where(
                Workspace.active.is_(True),
                Member.delivery.in_(EMAIL_DELIVERIES),
                Member.email.is_not(None),
                Member.opted_in.is_(True),
                Member.is_deleted.is_(False),
                Member.is_bot.is_(False),
            )
            .order_by(Member.id)
        ).all()
    queued = 0
    for row in candidates:
        schedule = Schedule(row.tz, row.digest, row.weekends_off, row.quiet_start, row.quiet_end)
        period = digest_period(schedule, now, settings.passiton_morning_hour)
        if period is None:
            continue
        # One transaction per member: a bad row for one person must not hold back everyone else's.
        try:
            with db.session() as session:
                queued += _queue_digest(session, settings, row.id, period, now)
        except LostLeadership:
            raise
        except Exception:
            log.exception("email digest for member %s failed; will try again next run", row.id)
    return queued


def _live(item: Item, nudge: Nudge) -> bool:
    if item.deleted_at is not None or item.closed_at is not None:
        return False
    return not (nudge.kind == "help" and item.answered_at is not None)


def _queue_digest(session: Session, settings: Settings, member_id: int, period: str, now: dt.datetime) -> int:
    member = session.get(Member, member_id)
    if member is None or member.email is None or member.delivery not in EMAIL_DELIVERIES:
        return 0
    if member.paused_until is not None and member.paused_until > now:
        return 0  # a pause really pauses; the nudges wait (or expire) without a word
    key = digest_key(member.id, period)
    if session.scalars(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first():
        return 0  # this period's digest is already queued or sent; later nudges wait for the next
    since, already = _previous_digest(session, member.id, now)
    found = session.execute(
        select(Nudge, Item)
        .join(Item, Item.id == Nudge.item_id)
        .where(
            Nudge.workspace_id == member.workspace_id,
            Nudge.recipient_id == member.id,
            Nudge.channel == "email",
            Nudge.send_after <= now,
            # "both": the planner also DMs these nudges, and the drain marks them sent when the DM
            # goes; they still belong in the next digest, once.
            or_(Nudge.status == "queued", and_(Nudge.status == "sent", Nudge.send_after > since)),
        )
        .order_by(Nudge.send_after, Nudge.id)
    ).all()
    rows = [(n, i) for n, i in found if n.id not in already]
    entries: list[tuple[Nudge, Item]] = []
    for nudge, item in rows:
        if not _live(item, nudge):
            if nudge.status == "queued":
                nudge.status = "cancelled"  # its moment has passed: answered, closed or deleted
        elif len(entries) < MAX_ENTRIES:
            entries.append((nudge, item))
    if not entries:
        return 0
    secret = settings.secret("passiton_secret_key")
    if not secret:
        raise RuntimeError("PASSITON_SECRET_KEY is required to send email digests (it signs their links)")
    targets = _names(session, {n.target_id for n, _ in entries if n.target_id is not None})
    public = settings.public_url

    def action(action: tokens.Action, nudge_id: int | None) -> str:
        return tokens.sign(
            secret,
            workspace_id=member.workspace_id,
            member_id=member.id,
            action=action,
            nudge_id=nudge_id,
            now=now,
        )

    unsubscribe_token = action("unsubscribe", None)
    digest = Digest(
        to=member.email,
        member_name=member.name,
        period="weekly" if period.startswith("w") else "daily",
        entries=[
            DigestEntry(
                kind=_kind(nudge.kind),
                title=_title(item),
                url=(item.url or item.permalink) if nudge.kind == "share" else (item.permalink or item.url),
                reason=nudge.reason,
                act_link=link(public, "/email/action", action("share", nudge.id)),
                not_my_area_link=link(public, "/email/action", action("not_my_area", nudge.id)),
                target_name=targets.get(nudge.target_id) if nudge.target_id is not None else None,
            )
            for nudge, item in entries
        ],
        unsubscribe_link=link(public, "/email/unsubscribe", unsubscribe_token),
        export_link=link(public, "/email/export", action("export", None)),
        forget_link=link(public, "/email/forget", action("forget", None)),
        unsubscribe_mailto=(
            unsubscribe_mailto(settings.passiton_inbound_address, unsubscribe_token)
            if settings.passiton_inbound_address
            else None
        ),
    )
    payload = render_digest(digest, message_id=message_id_for(key, sender_domain(settings)))
    payload["nudge_ids"] = [n.id for n, _ in entries]
    payload["as_of"] = now.isoformat()
    enqueue(
        session,
        workspace_id=member.workspace_id,
        key=key,
        kind="email",
        payload=payload,
        recipient_id=member.id,
        not_before=now,
    )
    for nudge, _ in entries:
        if nudge.status == "queued":
            nudge.status = "sent"
            nudge.sent_at = now
    log.info("queued email digest %s with %d nudge(s)", key, len(entries))
    return 1


def _previous_digest(session: Session, member_id: int, now: dt.datetime) -> tuple[dt.datetime, set[int]]:
    """When this member's last digest was made and which nudges it carried.

    Without one (a first digest, or rows aged out of the outbox) only DM-sent nudges from the last
    LOOKBACK count, which is shorter than the outbox keeps digests, so none is mailed twice.
    """
    payload = session.scalars(
        select(OutboxMessage.payload)
        .where(
            OutboxMessage.recipient_id == member_id,
            OutboxMessage.kind == "email",
            OutboxMessage.idempotency_key.like(f"email-digest:{member_id}:%"),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if not payload or "as_of" not in payload:
        return now - LOOKBACK, set()
    return dt.datetime.fromisoformat(payload["as_of"]), {int(i) for i in payload.get("nudge_ids", [])}


def _kind(kind: str) -> Literal["share", "help"]:
    return "help" if kind == "help" else "share"


def _title(item: Item) -> str:
    for text in (item.title, item.description, item.text):
        if text and text.strip():
            return text.strip()
    return item.url or "something shared"


def _names(session: Session, ids: set[int]) -> dict[int | None, str]:
    if not ids:
        return {}
    return {m.id: m.name for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
