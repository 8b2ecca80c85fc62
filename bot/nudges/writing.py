"""Turning a policy decision into a Nudge row and, for Slack, an outbox message.

One Nudge row per suggestion whatever the channel, so the caps count one budget per person across Slack
and email. Delivery "slack": a `slack_dm` outbox row. "email": the row waits as `queued`/`email` for the
digest. "both": the digest row plus the DM. "off": nothing at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.delivery.outbox import PERMALINK_KEY, dm_payload, enqueue_dm
from bot.messages.nudges import NudgeView, continue_blocks, nudge_blocks, nudge_text
from bot.store.models import Item, Nudge, OutboxMessage, Workspace


def route(recipient: Any) -> tuple[str, bool] | None:
    """(Nudge.channel, also send a Slack DM) for a member's delivery choice, or None for no way to reach."""
    delivery = recipient.delivery or "slack"
    has_slack, has_email = bool(recipient.slack_user_id), bool(recipient.email)
    if delivery == "off":
        return None
    if delivery == "both" and has_email:
        return ("email", has_slack)
    if delivery == "email" and has_email:
        return ("email", False)
    if has_slack:
        return ("slack", True)
    if has_email:
        return ("email", False)
    return None


def outbox_key(workspace: Workspace, dedupe_key: str) -> str:
    return f"{workspace.team_id}:nudge:{dedupe_key}"


def nudge_dm(slack_user_id: str, key: str, nudge_id: int, view: NudgeView) -> dict[str, Any]:
    """The DM payload of a nudge (see `bot.delivery.outbox.dm_payload`)."""
    payload = dm_payload(slack_user_id, key, nudge_text(view), nudge_blocks(view), nudge_id=nudge_id)
    if view.url and view.slack_channel and view.slack_ts:
        # The Slack sender asks chat.getPermalink for this message when it sends, and puts the answer in
        # place of `url` (kept when the lookup fails: it links to the same message).
        payload[PERMALINK_KEY] = {"channel": view.slack_channel, "ts": view.slack_ts, "url": view.url}
    return payload


@dataclass(frozen=True)
class NudgeSpec:
    kind: str
    recipient: Any
    item: Item
    target_id: int | None
    topic_id: int | None
    reason: str
    score: float
    send_at: dt.datetime
    view: NudgeView


def _dedupe_key(spec: NudgeSpec) -> str:
    return f"{spec.kind}:{spec.item.id}:{spec.target_id if spec.kind == 'share' else spec.recipient.id}"


def write_nudges(
    session: Session, workspace: Workspace, specs: list[NudgeSpec], now: dt.datetime
) -> list[Nudge]:
    """Insert many nudges and their DMs in one savepoint; on any conflict (a concurrent planner) fall back
    to one at a time, which skips the duplicates."""
    routed = [(spec, route(spec.recipient)) for spec in specs]
    todo = [(spec, r) for spec, r in routed if r is not None]
    if not todo:
        return []
    try:
        with session.begin_nested():
            nudges = []
            for spec, (channel, _dm) in todo:
                nudge = _nudge_row(workspace, spec, channel, now)
                session.add(nudge)
                nudges.append(nudge)
            session.flush()
            for nudge, (spec, (_channel, dm)) in zip(nudges, todo, strict=True):
                if dm:
                    okey = outbox_key(workspace, nudge.dedupe_key)
                    session.add(
                        OutboxMessage(
                            workspace_id=workspace.id,
                            idempotency_key=okey,
                            kind="slack_dm",
                            payload=nudge_dm(
                                spec.recipient.slack_user_id, okey, nudge.id, _with_id(spec.view, nudge.id)
                            ),
                            recipient_id=spec.recipient.id,
                            nudge_id=nudge.id,
                            next_attempt_at=spec.send_at,
                        )
                    )
            session.flush()
        return nudges
    except IntegrityError:
        out = []
        for spec in specs:
            one = write_nudge(
                session, workspace, kind=spec.kind, recipient=spec.recipient, item=spec.item, target_id=spec.target_id,
                topic_id=spec.topic_id, reason=spec.reason, score=spec.score, send_at=spec.send_at, view=spec.view,
                now=now,
            )  # fmt: skip
            if one is not None:
                out.append(one)
        return out


def _with_id(view: NudgeView, nudge_id: int) -> NudgeView:
    return replace(view, nudge_id=nudge_id)


def _nudge_row(workspace: Workspace, spec: NudgeSpec, channel: str, now: dt.datetime) -> Nudge:
    return Nudge(
        workspace_id=workspace.id,
        dedupe_key=_dedupe_key(spec),
        kind=spec.kind,
        recipient_id=spec.recipient.id,
        item_id=spec.item.id,
        target_id=spec.target_id,
        topic_id=spec.topic_id,
        reason=spec.reason,
        score=spec.score,
        status="queued",
        channel=channel,
        send_after=spec.send_at,
        created_at=now,
    )


def write_nudge(
    session: Session,
    workspace: Workspace,
    *,
    kind: str,
    recipient: Any,
    item: Item,
    target_id: int | None,
    topic_id: int | None,
    reason: str,
    score: float,
    send_at: dt.datetime,
    view: NudgeView,
    now: dt.datetime,
) -> Nudge | None:
    """Insert the nudge (None if its dedupe key exists: planned before, or by a concurrent planner)."""
    routed = route(recipient)
    if routed is None:
        return None
    channel, dm = routed
    spec = NudgeSpec(kind, recipient, item, target_id, topic_id, reason, score, send_at, view)
    key = _dedupe_key(spec)
    nudge = _nudge_row(workspace, spec, channel, now)
    try:
        with session.begin_nested():
            session.add(nudge)
    except IntegrityError:
        return None
    if dm:
        okey = outbox_key(workspace, key)
        view = _with_id(view, nudge.id)
        enqueue_dm(
            session,
            workspace_id=workspace.id,
            key=okey,
            user=recipient.slack_user_id,
            text=nudge_text(view),
            blocks=nudge_blocks(view),
            recipient_id=recipient.id,
            nudge_id=nudge.id,
            not_before=send_at,
        )
    return nudge


def enqueue_continue_question(
    session: Session,
    workspace: Workspace,
    recipient: Any,
    question: str,
    now: dt.datetime,
    send_at: dt.datetime,
) -> bool:
    """The one "keep these coming?" DM after several unanswered nudges (Slack members only)."""
    if not recipient.slack_user_id:
        return False
    key = f"{workspace.team_id}:continue:{recipient.id}:{now.date().isoformat()}"
    enqueue_dm(
        session,
        workspace_id=workspace.id,
        key=key,
        user=recipient.slack_user_id,
        text=question,
        blocks=continue_blocks(question),
        recipient_id=recipient.id,
        not_before=send_at,
    )
    return True
