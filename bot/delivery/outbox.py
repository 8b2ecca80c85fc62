"""The outbox: every outgoing message is a row first, so a crash between planning and sending
loses nothing, and a unique idempotency key means planning twice queues once.

Payload shapes by kind (senders rely on these):

- ``slack_dm``: ``{"user": "U…", "text": str, "blocks": [...], "metadata": {"event_type": str,
  "event_payload": {...}}}`` — opened with conversations.open, posted with chat.postMessage; the
  metadata carries the idempotency key so a resend after a crash can be detected in the DM history.
- ``slack_post``: ``{"channel": "C…", "text": str, "blocks": [...], "thread_ts": str | None}``.
- ``slack_update``: ``{"channel": "C…", "ts": str, "text": str, "blocks": [...]}``.
- ``email``: ``{"to": str, "subject": str, "text": str, "html": str, "headers": {...}}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import OutboxMessage, utcnow

KINDS = ("slack_dm", "slack_post", "slack_update", "email")
METADATA_EVENT_TYPE = "passiton_message"
# A slack_dm payload may carry {"channel", "ts", "url"} under this key: the sender looks the message's
# permalink up at send time and puts it in place of `url` in the text and blocks.
PERMALINK_KEY = "permalink_of"


def enqueue(
    session: Session,
    *,
    workspace_id: int,
    key: str,
    kind: str,
    payload: dict[str, Any],
    recipient_id: int | None = None,
    nudge_id: int | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue a message once per key; a second call with the same key returns the first row."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    existing = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing
    message = OutboxMessage(
        workspace_id=workspace_id,
        idempotency_key=key,
        kind=kind,
        payload=payload,
        recipient_id=recipient_id,
        nudge_id=nudge_id,
        next_attempt_at=not_before or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # queued concurrently by another process
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()
    return message


def dm_payload(
    user: str, key: str, text: str, blocks: list[dict[str, Any]], *, nudge_id: int | None = None
) -> dict[str, Any]:
    """A `slack_dm` payload. Its metadata names the idempotency key (always as `idempotency_key`, the name
    the sender looks for in the DM history) and, for a nudge, the nudge id its buttons act on."""
    event_payload: dict[str, Any] = {"idempotency_key": key}
    if nudge_id is not None:
        event_payload["nudge_id"] = nudge_id
    return {
        "user": user,
        "text": text,
        "blocks": blocks,
        "metadata": {"event_type": METADATA_EVENT_TYPE, "event_payload": event_payload},
    }


def enqueue_dm(
    session: Session,
    *,
    workspace_id: int,
    key: str,
    user: str,
    text: str,
    blocks: list[dict[str, Any]],
    recipient_id: int | None = None,
    nudge_id: int | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue a direct message to a Slack member once per key: every DM the app sends goes through here."""
    return enqueue(
        session,
        workspace_id=workspace_id,
        key=key,
        kind="slack_dm",
        payload=dm_payload(user, key, text, blocks, nudge_id=nudge_id),
        recipient_id=recipient_id,
        nudge_id=nudge_id,
        not_before=not_before,
    )
