"""A page of history into the ingest the live events and the replay use, without planning any nudge.

Each message goes through the live path's `action_for` (so bots, joins and other noise are dropped the
same way) and the message pipeline (`bot.ingest.pipeline.process_message` with `plan=False`, and its
`record_reactions`): items for articles, questions and asks; observed help (who replied in the thread of
a question); ties from replies, mentions and reactions. Nothing is planned or sent about old
messages, and items read from history are marked `source="history"`, which the share planner skips.

Idempotent per message: each is claimed as `h:<channel>:<ts>` in processed_events (received_at = the
message's time, so retention drops the claim once the message is older than any backfill window), and a
message already claimed adds nothing, whichever job or run meets it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from bot.backfill.fetch import Thread
from bot.config import Settings
from bot.ingest.messages import action_for, slack_time
from bot.ingest.pipeline import IncomingMessage, process_message, record_reactions
from bot.ingest.profiles import SLACKBOT_ID
from bot.store import fastpath
from bot.store.models import Base, Channel, Workspace, utcnow
from bot.store.queries.conflicts import insert_ignoring_conflict
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.members import ensure_member

HISTORY_SOURCE = "history"
CLAIM_PREFIX = "h:"
_EVENTS: Table = Base.metadata.tables["processed_events"]


def claim_key(channel: str, ts: str) -> str:
    return f"{CLAIM_PREFIX}{channel}:{ts}"[:64]


@dataclass
class PageResult:
    seen: int = 0  # messages read from Slack
    stored: int = 0  # messages that went through the ingest (new, from a person)
    items: int = 0  # of which became items (articles, questions, asks)
    replies: int = 0  # thread replies among the stored


def _claim(session: Session, workspace: Workspace, channel: str, ts: str) -> bool:
    row = {"workspace_id": workspace.id, "event_id": claim_key(channel, ts), "received_at": slack_time(ts)}
    return (
        fastpath.execute(session, insert_ignoring_conflict(session, _EVENTS, ("event_id",)), row).scalar()
        is not None
    )


def _reactions(
    session: Session, workspace: Workspace, channel: Channel, raw: dict[str, Any], at: dt.datetime
) -> None:
    """Reactions as live and the replay record them (history does not say when a reaction was added: at
    the message's time)."""
    author_id = raw.get("user")
    if (
        not isinstance(author_id, str)
        or author_id == SLACKBOT_ID
        or is_forgotten(session, workspace, author_id)
    ):
        return
    users = [
        u for r in raw.get("reactions") or [] if isinstance(r, dict) for u in r.get("users") or []
        if isinstance(u, str) and u not in (author_id, SLACKBOT_ID, workspace.bot_user_id)
        and not is_forgotten(session, workspace, u)  # they asked to be forgotten: nothing of theirs is kept
    ]  # fmt: skip
    if users:
        author = ensure_member(session, workspace, author_id)
        ts = raw.get("ts")
        record_reactions(
            session, workspace, channel, author, (ensure_member(session, workspace, u) for u in users), at,
            message_ts=ts if isinstance(ts, str) else None,
        )  # fmt: skip


def store_message(
    session: Session,
    workspace: Workspace,
    channel: Channel,
    raw: dict[str, Any],
    *,
    settings: Settings,
    embedder: Callable[[], Any],
    result: PageResult,
    now: dt.datetime,
) -> None:
    result.seen += 1
    action, message = action_for({**raw, "channel": channel.slack_channel_id}, workspace.bot_user_id)
    if action != "new" or message is None or message.user is None:
        return
    if not _claim(session, workspace, channel.slack_channel_id, message.ts):
        return
    # The live handler's and the replay's pipeline, with planning off: nothing is planned about history.
    incoming = IncomingMessage("new", message, is_private=channel.is_private, source=HISTORY_SOURCE)
    outcome = process_message(
        session, workspace, channel, incoming, now=now, settings=settings, embedder=embedder, plan=False
    )
    stored = outcome.stored
    if stored.created:
        result.items += 1
    result.stored += 1
    result.replies += int(message.is_reply)
    _reactions(session, workspace, channel, raw, slack_time(message.ts))


def store_threads(
    session: Session,
    workspace: Workspace,
    channel: Channel,
    threads: Iterable[Thread],
    *,
    settings: Settings,
    embedder: Callable[[], Any],
) -> PageResult:
    """Store a page's threads in order (each question before its replies), in the caller's transaction."""
    result = PageResult()
    now = utcnow()
    for thread in threads:
        for raw in (thread.parent, *thread.replies):
            store_message(
                session, workspace, channel, raw, settings=settings, embedder=embedder, result=result, now=now
            )
    return result
