"""Message events to items, thread replies and interactions (on a session; no Slack calls here).

A message becomes an Item only when the matching core classifies it as an article, question or
ask; chatter leaves no item, only the interactions it shows (mentions, replies). The natural key
`<channel>:<ts>` is unique, so a message seen twice (retry, app_mention beside message, edits)
is still one item.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from bot.ingest.profiles import SLACKBOT_ID
from bot.matching.classify import classify
from bot.matching.items import understand_message
from bot.store import fastpath
from bot.store.models import Base, Channel, Item, Member, Workspace
from bot.store.queries.conflicts import insert_ignoring_conflict, insert_row_ignoring_conflict
from bot.store.queries.engagement import record_engagement
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.members import ensure_member
from bot.store.queries.reaches import record_reach
from bot.store.queries.relationships import record_interaction
from bot.store.queries.remembered import Remembered

# Subtypes that are a person saying something. Everything else (joins, topic changes, bot posts,
# pins, reminders, huddles...) is noise for our purposes.
USER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
EDIT_SUBTYPES = frozenset({"message_changed"})
DELETE_SUBTYPES = frozenset({"message_deleted"})
ROUTED_KINDS = frozenset({"question", "ask"})
_THREAD_REPLIES: Table = Base.metadata.tables["thread_replies"]
_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

Action = Literal["new", "changed", "deleted", "ignore"]


@dataclass(frozen=True)
class Message:
    """The parts of a Slack message event the ingest reads."""

    channel: str
    ts: str
    user: str | None
    text: str
    attachments: tuple[dict[str, Any], ...] = ()
    thread_ts: str | None = None
    parent_user_id: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    mentions: tuple[str, ...] = field(default=())

    @property
    def is_reply(self) -> bool:
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def source_key(self) -> str:
        return f"{self.channel}:{self.ts}"


def parse_message(raw: dict[str, Any], channel: str) -> Message:
    text = str(raw.get("text") or "")
    attachments = tuple(a for a in raw.get("attachments") or [] if isinstance(a, dict))
    return Message(
        channel=channel,
        ts=str(raw.get("ts") or ""),
        user=raw.get("user"),
        text=text,
        attachments=attachments,
        thread_ts=raw.get("thread_ts"),
        parent_user_id=raw.get("parent_user_id"),
        subtype=raw.get("subtype"),
        bot_id=raw.get("bot_id"),
        mentions=tuple(dict.fromkeys(_MENTION_RE.findall(text))),
    )


def is_from_bot(message: Message, bot_user_id: str | None) -> bool:
    return (
        message.bot_id is not None
        or message.subtype == "bot_message"
        or message.user is None
        or message.user in (bot_user_id, SLACKBOT_ID)
    )


def action_for(event: dict[str, Any], bot_user_id: str | None) -> tuple[Action, Message | None]:
    """What to do with a `message` (or `app_mention`) event, and the message it is about."""
    channel = str(event.get("channel") or "")
    subtype = event.get("subtype")
    if not channel:
        return "ignore", None
    if subtype in DELETE_SUBTYPES:
        deleted_ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        if not deleted_ts:
            return "ignore", None
        return "deleted", Message(channel=channel, ts=str(deleted_ts), user=None, text="")
    if subtype in EDIT_SUBTYPES:
        inner = event.get("message")
        if not isinstance(inner, dict):
            return "ignore", None
        message = parse_message(inner, channel)
        if inner.get("subtype") not in USER_SUBTYPES or is_from_bot(message, bot_user_id):
            return "ignore", None
        return "changed", message
    if subtype not in USER_SUBTYPES:
        return "ignore", None
    message = parse_message(event, channel)
    if is_from_bot(message, bot_user_id) or not message.ts:
        return "ignore", None
    return "new", message


def slack_time(ts: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC)
    except (TypeError, ValueError):
        return dt.datetime.now(dt.UTC)


# Every thread reply looks up its question by key; the session remembers the items it found or made.
# Replies come soon after their question; a thousand recent items is plenty, and every object held stays
# in the identity map, which some callers walk.
_BY_KEY = Remembered("item_by_key", Item, limit=1_000)
_ITEM_BY_KEY = select(Item).where(
    Item.workspace_id == bindparam("workspace_id"), Item.source_key == bindparam("source_key")
)


def item_by_key(session: Session, workspace: Workspace, source_key: str) -> Item | None:
    key = (workspace.id, source_key)
    item = _BY_KEY.get(session, key, lambda i: i.source_key == source_key and i.workspace_id == key[0])
    if item is None:
        item = session.scalars(_ITEM_BY_KEY, {"workspace_id": key[0], "source_key": source_key}).first()
        if item is not None:
            _BY_KEY.remember(session, key, item)
    return item


@dataclass
class Understood:
    kind: str
    url: str | None
    title: str
    description: str
    text: str


def understand(message: Message) -> Understood:
    parsed = understand_message(message.text, message.attachments)
    kind = classify(parsed.text, parsed.has_link)
    return Understood(
        kind=kind,
        url=parsed.links[0].url if parsed.links else None,
        title=parsed.titles[0] if parsed.titles else "",
        description=" ".join(parsed.descriptions)[:2000],
        text=parsed.text,
    )


@dataclass
class IngestResult:
    """What happened, for the caller to follow up on after commit (planning, metrics)."""

    item: Item | None = None
    created: bool = False
    became_routable: bool = False  # a question/ask to plan help for
    answered: Item | None = None  # a question whose first thread reply just arrived
    # A question someone other than its asker just replied to (first reply or not): a help nudge its
    # replier got about it, even a lapsed one, has been acted on (`cancel_answered_help`).
    replied: Item | None = None


def _record_mentions(
    session: Session,
    workspace: Workspace,
    author: Member,
    message: Message,
    channel: Channel | None,
    at: dt.datetime,
) -> None:
    for uid in message.mentions:
        if uid in (author.slack_user_id, SLACKBOT_ID) or is_forgotten(session, workspace, uid):
            continue
        other = ensure_member(session, workspace, uid)
        record_interaction(
            session, workspace.id, author.id, other.id, channel.id if channel else None, "mention", at
        )


def ingest_new(
    session: Session,
    workspace: Workspace,
    channel: Channel | None,
    message: Message,
    *,
    is_private: bool,
    understood: Understood | None = None,
    source: str = "slack",
) -> IngestResult:
    """`understood`: what `understand(message)` gave, when the caller has it already (the replay reads a day's
    messages ahead of ingesting them). `source`: where a new item came from ("history": a backfill)."""
    assert message.user is not None
    if is_forgotten(session, workspace, message.user):
        return IngestResult()  # they asked to be forgotten: nothing of theirs is collected
    at = slack_time(message.ts)
    author = ensure_member(session, workspace, message.user)
    _record_mentions(session, workspace, author, message, channel, at)
    if message.is_reply:
        return _ingest_reply(session, workspace, channel, author, message, at)
    if understood is None:
        understood = understand(message)
    if understood.kind == "chatter":
        return IngestResult()
    key = (workspace.id, message.source_key)
    existing = _BY_KEY.get(session, key, lambda i: i.source_key == key[1] and i.workspace_id == key[0])
    if existing is not None:  # seen in this session; otherwise the INSERT below finds out
        return IngestResult(item=existing)
    values = {
        "workspace_id": workspace.id,
        "source_key": message.source_key,
        "source": source,
        "kind": understood.kind,
        "channel_id": channel.id if channel else None,
        "slack_ts": message.ts,
        "author_id": author.id,
        "url": understood.url,
        "title": understood.title,
        "description": understood.description,
        "text": understood.text,
        "is_private": is_private or bool(channel and channel.is_private),
        "posted_at": at,
    }
    item = insert_row_ignoring_conflict(session, Item, ("workspace_id", "source_key"), values)
    if item is None:  # the same message through another event (app_mention) or replica
        return IngestResult(item=item_by_key(session, workspace, message.source_key))
    _BY_KEY.remember(session, key, item)
    return IngestResult(item=item, created=True, became_routable=item.kind in ROUTED_KINDS)


def _ingest_reply(
    session: Session,
    workspace: Workspace,
    channel: Channel | None,
    replier: Member,
    message: Message,
    at: dt.datetime,
) -> IngestResult:
    assert message.thread_ts is not None
    parent = item_by_key(session, workspace, f"{message.channel}:{message.thread_ts}")
    parent_author_id: int | None = parent.author_id if parent else None
    if (
        parent_author_id is None
        and message.parent_user_id
        and message.parent_user_id != SLACKBOT_ID
        and not is_forgotten(session, workspace, message.parent_user_id)
    ):
        parent_author_id = ensure_member(session, workspace, message.parent_user_id).id
    if parent_author_id is not None:
        record_interaction(
            session, workspace.id, replier.id, parent_author_id, channel.id if channel else None, "reply", at
        )
    if parent is not None and parent.kind == "article" and parent.author_id != replier.id:
        # Replying under an article is having seen it ("seen" is an act: bot/policy/share.py).
        record_reach(session, workspace.id, parent.id, replier.id, "reply", at)
    if parent is None or parent.kind not in ROUTED_KINDS or parent.author_id == replier.id:
        return IngestResult()
    # A member's later replies in the same thread add nothing (the first one stands).
    fastpath.execute(
        session,
        insert_ignoring_conflict(session, _THREAD_REPLIES, ("item_id", "member_id")),
        {"workspace_id": workspace.id, "item_id": parent.id, "member_id": replier.id, "replied_at": at},
    )
    # Answering someone's question is the engagement the nudges ask for, whichever question it was: a member
    # who helps in threads is present, not ignoring us, so whatever back-off they were in ends
    # (bot/policy/backoff.py). Without this the most active helpers, who leave most nudged questions to
    # others and answer different ones, were held for weeks while they answered every day.
    record_engagement(session, replier, at)
    first_answer = parent.answered_at is None
    if first_answer:  # written now rather than by the next flush (see update_row)
        fastpath.update_row(session, parent, answered_at=at)
    return IngestResult(item=parent, answered=parent if first_answer else None, replied=parent)


def ingest_changed(
    session: Session, workspace: Workspace, channel: Channel | None, message: Message, *, is_private: bool
) -> IngestResult:
    """An edit (or Slack adding unfurls): refresh the item, or create it if it now qualifies."""
    if message.is_reply:
        return IngestResult()
    item = item_by_key(session, workspace, message.source_key)
    if item is None:
        return ingest_new(session, workspace, channel, message, is_private=is_private)
    understood = understand(message)
    was_routable = item.kind in ROUTED_KINDS
    item.text = understood.text
    item.url = understood.url or item.url
    item.title = understood.title or item.title
    item.description = understood.description or item.description
    if understood.kind != "chatter":
        item.kind = understood.kind
    return IngestResult(item=item, became_routable=item.kind in ROUTED_KINDS and not was_routable)


def ingest_deleted(session: Session, workspace: Workspace, message: Message) -> bool:
    """A deleted message takes its item (and the nudges about it) with it."""
    # "fetch": the deleted ids come back (RETURNING) and only those objects leave the session; the default
    # evaluated the criteria against every object in the identity map, on every deletion.
    result = session.execute(
        delete(Item)
        .where(Item.workspace_id == workspace.id, Item.source_key == message.source_key)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))
