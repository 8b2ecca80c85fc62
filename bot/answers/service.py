"""Expertise answers and asks: load from the store, call the pure composition, write what follows.

- `answer_in_channel`: a who-knows question in a channel -> the thread reply (or None: the bot stays quiet).
  Experts who did not consent to be named are reached privately by the planner's help nudges instead.
- `who_knows`: the same answer privately, for `/passiton who knows <topic>`.
- Asks: `open_ask`, `ask_status` (private, counts; names only of those who agreed to be named),
  `close_ask` (stops further nudges), `send_thanks` (a private DM to the helpers who engaged).

No function here calls Slack; a `PermalinkFn` may be passed in to fill missing permalinks. The LLM (when
given) only writes summary text; it never picks people, items or channels.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from bot.answers.compose import (
    Audience,
    Block,
    ChannelAccess,
    Expert,
    RelatedCandidate,
    Reply,
    compose_answer,
    pick_related,
    plain,
)
from bot.answers.detect import Detected, detect, find_topics, padded_words, resolve_topics
from bot.config import Settings
from bot.delivery.outbox import enqueue_dm
from bot.ingest.pipeline import help_nudges, in_savepoints
from bot.llm.tasks import ItemBrief, LLMTasks
from bot.matching.items import clean_slack_text
from bot.matching.topics import normalise_topic, topic_label
from bot.nudges.member_index import MemberIndexes
from bot.store.fastpath import plain_rows
from bot.store.models import (
    OPEN_NUDGE_STATUSES,
    Channel,
    ChannelMember,
    Item,
    Member,
    MemberTopic,
    Nudge,
    ThreadReply,
    Topic,
    Workspace,
)
from bot.store.queries.experts import public_experts
from bot.store.queries.members import member_by_slack_id

log = logging.getLogger(__name__)

# (Slack channel id, message ts) -> the message's permalink, or None. The listener passes chat.getPermalink.
PermalinkFn = Callable[[str, str], str | None]

RELATED_KINDS = ("article", "question")
CANDIDATE_SCAN = 500  # most recent items looked at for related ones
EMBED_AT_MOST = 50
ASKED_NUDGE = ("sent", "acted", "dismissed", "lapsed")
MAX_THANKS_CHARS = 1000
ASK_CLOSE = "ask_close"
ASK_THANKS = "ask_thanks"


@dataclass(frozen=True)
class ChannelQuestion:
    """A channel message that may be a who-knows question."""

    channel: str  # Slack channel id
    ts: str
    user: str | None
    text: str
    thread_ts: str | None = None

    @property
    def reply_thread(self) -> str:
        """Replies go in the message's thread, never in the channel root."""
        return self.thread_ts or self.ts


# -- loading ----------------------------------------------------------------------------------------


# Built once, run as plain rows: every in-channel answer asks these, and building a statement cost about as
# much as running it.
_EXPERTISE_TOPICS = (
    select(Topic.name)
    .join(MemberTopic, MemberTopic.topic_id == Topic.id)
    .where(
        Topic.workspace_id == bindparam("ws", type_=Topic.workspace_id.type), MemberTopic.kind == "expertise"
    )
    .distinct()
)
_GUEST_FACTS = select(Member.id, Member.is_guest, Member.real_name, Member.display_name).where(
    Member.id.in_(bindparam("ids", expanding=True))
)
_CHANNEL_FACTS = select(
    Channel.id,
    Channel.slack_channel_id,
    Channel.name,
    Channel.is_private,
    Channel.members_synced_at,
    Channel.is_ext_shared,
).where(Channel.id.in_(bindparam("ids", expanding=True)))


def expertise_topics(session: Session, workspace: Workspace) -> list[str]:
    """Every topic someone in the workspace listed as expertise (named or not)."""
    return [row[0] for row in plain_rows(session, _EXPERTISE_TOPICS, {"ws": workspace.id})]


def consenting_experts(
    session: Session,
    workspace: Workspace,
    topics: Sequence[str],
    now: dt.datetime,
    exclude: Iterable[int] = (),
) -> list[Expert]:
    """Members who agreed to be named for any of the topics; opted in, not paused, not the asker."""
    found = public_experts(session, workspace, topics, exclude=exclude)
    seen: set[int] = set()
    out: list[Expert] = []
    for topic in topics:
        for member in found.get(topic, []):
            if member.id in seen or not member.opted_in:
                continue
            if member.paused_until is not None and member.paused_until > now:
                continue
            seen.add(member.id)
            out.append(Expert(member.id, member.name, member.slack_user_id))
    return out


_MEMBERS_OF = select(ChannelMember.channel_id, ChannelMember.member_id).where(
    ChannelMember.channel_id.in_(bindparam("ids", expanding=True))
)


def _members_of(session: Session, channel_ids: Iterable[int]) -> dict[int, set[int]]:
    ids = sorted(set(channel_ids))
    out: dict[int, set[int]] = {c: set() for c in ids}
    if ids:
        # Plain rows: every answer reads a few channels' members, and the ORM's execute path cost more.
        for channel_id, member_id in plain_rows(session, _MEMBERS_OF, {"ids": ids}):
            out[channel_id].add(member_id)
    return out


def channel_access(session: Session, channels: Iterable[Channel]) -> dict[int, ChannelAccess]:
    rows = list(channels)
    members = _members_of(session, [c.id for c in rows])
    return {c.id: _access(c, members[c.id]) for c in rows}


class _ChannelFacts(Protocol):
    """What `_access` reads of a channel: a `Channel` or a row of those columns."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def is_private(self) -> bool: ...
    @property
    def members_synced_at(self) -> dt.datetime | None: ...
    @property
    def is_ext_shared(self) -> bool: ...


def _access(channel: _ChannelFacts, members: set[int]) -> ChannelAccess:
    """A channel's readers; None (unknown) when its membership was never synced and none is recorded."""
    return ChannelAccess(
        channel_id=channel.id,
        name=channel.name,
        is_private=channel.is_private,
        member_ids=frozenset(members) if channel.members_synced_at is not None or members else None,
        is_ext_shared=bool(channel.is_ext_shared),
    )


def channel_audience(session: Session, channel: Channel | None) -> Audience:
    """Everyone who will read a reply in `channel`; unknown membership gives an audience that sees only
    items from its own channel."""
    if channel is None:
        return Audience(channel_id=None, member_ids=None)
    members = _members_of(session, [channel.id])[channel.id]
    if channel.members_synced_at is None and not members:
        return Audience(channel_id=channel.id, member_ids=None)
    # A member known only by id (no profile fetched yet) might be a guest: counted as one, so an item
    # from another channel is shown only where it is safe whatever they turn out to be.
    guests = {
        member_id
        for member_id, is_guest, real_name, display_name in plain_rows(
            session, _GUEST_FACTS, {"ids": sorted(members)}
        )
        if is_guest or not (real_name or display_name)
    } if members else set()  # fmt: skip
    return Audience(channel_id=channel.id, member_ids=frozenset(members), guest_ids=frozenset(guests))


def member_audience(member: Member) -> Audience:
    return Audience(
        channel_id=None,
        member_ids=frozenset({member.id}),
        guest_ids=frozenset({member.id}) if member.is_guest else frozenset(),
    )


def _words_of(title: str | None, description: str | None, text: str | None, url: str | None) -> str:
    return " ".join(p for p in (title, description, text, url or "") if p)


_RECENT_ITEMS = (
    select(Item.id, Item.title, Item.description, Item.text, Item.url, Item.permalink, Item.channel_id,
           Item.is_private, Item.kind)
    .where(
        Item.workspace_id == bindparam("ws", type_=Item.workspace_id.type),
        Item.kind.in_(RELATED_KINDS),
        # A question nobody answered points nowhere useful: only answered ones, linked to the answer.
        or_(Item.kind != "question", Item.answered_at.is_not(None)),
        Item.deleted_at.is_(None),
        Item.text_purged_at.is_(None),
        Item.channel_id.is_not(None),
        Item.posted_at <= bindparam("now", type_=Item.posted_at.type),
    )
    .order_by(Item.posted_at.desc(), Item.id.desc())
    .limit(CANDIDATE_SCAN)
)  # fmt: skip


def related_candidates(
    session: Session,
    workspace: Workspace,
    topics: Sequence[str],
    question_text: str,
    now: dt.datetime,
    embedder: Any | None,
    exclude_item: int | None = None,
) -> list[RelatedCandidate]:
    """Items shared before that name one of the topics, best first (topic hits, then embedding similarity)."""
    if not topics:
        return []
    # The columns a candidate needs, not the items as objects: loading the few hundred recent items as
    # objects to look for the topics in their words cost more than the rest of the answer.
    rows = plain_rows(session, _RECENT_ITEMS, {"ws": workspace.id, "now": now})
    hits: list[tuple[Any, str, int]] = []  # (row, its words, topics found in them)
    # Most items name none of the topics: tell that with a plain search for each, as find_topics would.
    needles = [f" {topic} " for topic in set(topics) if topic]
    for row in rows:
        if row.id == exclude_item:
            continue
        words = _words_of(row.title, row.description, row.text, row.url)
        padded = padded_words(words)
        if not any(needle in padded for needle in needles):
            continue
        n = len(find_topics(words, topics))
        if n:
            hits.append((row, words, n))
            if len(hits) == EMBED_AT_MOST:
                break
    if not hits:
        return []
    similarity = [0.0] * len(hits)
    if embedder is not None:
        try:
            vectors = np.asarray(embedder.embed([question_text] + [words for _, words, _ in hits]))
            similarity = [float(x) for x in vectors[1:] @ vectors[0]]
        except Exception:
            log.exception("embedding related items failed; ordering by topic hits only")
    out = [
        RelatedCandidate(
            item_id=row.id,
            title=row.title,
            text=row.text or row.description,
            permalink=row.permalink,
            channel_id=row.channel_id,
            is_private=row.is_private,
            score=n + sim,
            answered=row.kind == "question",
        )
        for (row, _, n), sim in zip(hits, similarity, strict=True)
    ]
    out.sort(key=lambda cand: (-cand.score, -cand.item_id))
    return out


class _ChannelAccessOnDemand(Mapping[int, ChannelAccess]):
    """Who can read each of the candidates' channels, a channel's membership read when `pick_related` first
    asks about it: it stops at the third item it can show, usually long before it has seen every channel,
    and reading the members of all of them was most of picking."""

    def __init__(self, session: Session, channels: Iterable[_ChannelFacts]) -> None:
        self._session = session
        self._rows = {row.id: row for row in channels}
        self._read: dict[int, ChannelAccess] = {}

    def __getitem__(self, channel_id: int) -> ChannelAccess:
        access = self._read.get(channel_id)
        if access is None:
            row = self._rows[channel_id]
            access = self._read[channel_id] = _access(
                row, _members_of(self._session, [channel_id])[channel_id]
            )
        return access

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _pick(
    session: Session,
    candidates: Sequence[RelatedCandidate],
    audience: Audience,
    permalink_for: PermalinkFn | None,
) -> tuple[list[RelatedCandidate], dict[int, str]]:
    rows = plain_rows(session, _CHANNEL_FACTS, {"ids": sorted({c.channel_id for c in candidates})})
    channels = _ChannelAccessOnDemand(session, rows)
    slack_ids = {row.id: row.slack_channel_id for row in rows}

    def resolve(cand: RelatedCandidate) -> str | None:
        # Only for a visible candidate without a permalink: its item is loaded to look one up and keep it.
        item = session.get(Item, cand.item_id)
        if item is None:
            return None
        if item.permalink:
            return item.permalink
        if permalink_for is None or not item.slack_ts or item.channel_id not in slack_ids:
            return None
        try:
            found = permalink_for(slack_ids[item.channel_id], item.slack_ts)
        except Exception:
            log.warning("permalink lookup failed", extra={"item_id": item.id})
            return None
        if found:
            item.permalink = found  # stored, so the next answer needs no call
        return found

    # Without a way to look permalinks up, resolve could only return the permalink a candidate already has.
    picked = pick_related(
        candidates, channels, audience, resolve=resolve if permalink_for is not None else None
    )
    return picked, {row.id: row.name for row in rows}


def _summary(
    session: Session, llm: LLMTasks | None, question: str, related: Sequence[RelatedCandidate]
) -> str | None:
    if llm is None or not related:
        return None
    briefs = []
    for c in related:
        item = session.get(Item, c.item_id)
        briefs.append(
            ItemBrief(
                title=c.title,
                text=" ".join(p for p in (item.description, item.text) if p)[:1500] if item else c.text,
                url=item.url if item else None,
                permalink=c.permalink,
            )
        )
    return llm.summarise_related(question, briefs)


# -- in-channel answers --------------------------------------------------------------------------------


def answer_in_channel(
    session: Session,
    workspace: Workspace,
    question: ChannelQuestion,
    now: dt.datetime,
    settings: Settings,
    embedder: Any | None,
    llm: LLMTasks | None,
    *,
    permalink_for: PermalinkFn | None = None,
    indexes: MemberIndexes | None = None,
) -> Reply | None:
    """The thread reply to a who-knows question, or None (not a question, or nobody and nothing fits).

    Members with the expertise who did not agree to be named are left to the help nudges, which the
    planner sends privately under the usual caps; those named here get none for this question.
    """
    detected = detect(question.text, workspace.bot_user_id)
    if detected is None:
        return None
    topics = resolve_topics(detected, expertise_topics(session, workspace))
    if not topics:
        return None
    asker = _member_by_slack_id(session, workspace, question.user)
    channel = session.scalars(
        select(Channel).where(
            Channel.workspace_id == workspace.id, Channel.slack_channel_id == question.channel
        )
    ).first()
    if channel is not None and not channel.answers_enabled:
        return None  # its members turned answers off there (`/passiton answers off`)
    item = session.scalars(
        select(Item).where(
            Item.workspace_id == workspace.id, Item.source_key == f"{question.channel}:{question.ts}"
        )
    ).first()
    reply = _answer(
        session, workspace, detected, topics, now, embedder, llm,
        audience=channel_audience(session, channel), asker=asker, exclude_item=item.id if item else None,
        permalink_for=permalink_for, private=False,
    )  # fmt: skip
    if item is not None:
        named = reply.expert_ids if reply else ()
        _route_privately(session, workspace, item, now, settings, embedder, named, indexes)
    return reply


def _answer(
    session: Session,
    workspace: Workspace,
    detected: Detected,
    topics: Sequence[str],
    now: dt.datetime,
    embedder: Any | None,
    llm: LLMTasks | None,
    *,
    audience: Audience,
    asker: Member | None,
    exclude_item: int | None,
    permalink_for: PermalinkFn | None,
    private: bool,
) -> Reply | None:
    experts = consenting_experts(session, workspace, topics, now, exclude=[asker.id] if asker else [])
    candidates = related_candidates(session, workspace, topics, detected.text, now, embedder, exclude_item)
    related, names = _pick(session, candidates, audience, permalink_for) if candidates else ([], {})
    summary = _summary(session, llm, detected.text, related)
    return compose_answer(
        topics, experts, related, names, summary=summary, private=private, team_id=workspace.team_id
    )


def _route_privately(
    session: Session,
    workspace: Workspace,
    item: Item,
    now: dt.datetime,
    settings: Settings,
    embedder: Any | None,
    named: Sequence[int],
    indexes: MemberIndexes | None = None,
) -> None:
    """Help nudges for the question (idempotent: ingest may have planned them already), minus the experts
    this reply already named in public."""
    if item.kind not in ("question", "ask") or embedder is None:
        return
    # Experts named in public were perhaps nudged already by ingest: cancel those first so their slots go
    # to people who were not named, then plan without them.
    if named:
        cancel_help_nudges(session, item, recipients=named)
    try:
        in_savepoints(session)(
            help_nudges(item.id, now, settings, lambda: embedder, exclude=named, indexes=indexes)
        )
    except Exception:
        log.exception("planning help nudges for an answered question failed", extra={"item_id": item.id})


def cancel_help_nudges(session: Session, item: Item, recipients: Iterable[int] | None = None) -> int:
    """Cancel the help nudges about `item` that are not sent yet (the outbox drops their messages)."""
    query = select(Nudge).where(
        Nudge.workspace_id == item.workspace_id,
        Nudge.item_id == item.id,
        Nudge.kind == "help",
        Nudge.status.in_(OPEN_NUDGE_STATUSES),
    )
    if recipients is not None:
        query = query.where(Nudge.recipient_id.in_(list(recipients)))
    nudges = session.scalars(query).all()
    for nudge in nudges:
        nudge.status = "cancelled"
    session.flush()
    return len(nudges)


def _member_by_slack_id(session: Session, workspace: Workspace, slack_user_id: str | None) -> Member | None:
    return member_by_slack_id(session, workspace, slack_user_id) if slack_user_id else None


# -- /passiton who knows ----------------------------------------------------------------------------


def who_knows(
    session: Session,
    workspace: Workspace,
    member: Member,
    topic: str,
    now: dt.datetime,
    *,
    embedder: Any | None = None,
    llm: LLMTasks | None = None,
    permalink_for: PermalinkFn | None = None,
) -> list[Block]:
    """The private answer: who agreed to be named for the topic, and items this member can already read."""
    topic = normalise_topic(topic)
    detected = Detected(text=f"who knows about {topic}?", phrase=topic, phrase_label=topic, via_mention=False)
    topics = resolve_topics(detected, expertise_topics(session, workspace)) or [topic]
    reply = _answer(
        session, workspace, detected, topics, now, embedder, llm, audience=member_audience(member), asker=member,
        exclude_item=None, permalink_for=permalink_for, private=True,
    )  # fmt: skip
    if reply is not None:
        return reply.blocks
    label = plain(topic_label(topic) or topic)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"Nobody has agreed to be named for *{label}* yet, and I know of nothing shared about it. "
                "`/passiton ask …` reaches people who listed it privately.",
            },
        }
    ]


# -- asks ---------------------------------------------------------------------------------------------


class AskError(ValueError):
    """The ask cannot be changed by this member (not theirs, or gone); the text is fit to show them."""


@dataclass(frozen=True)
class AskStatus:
    item_id: int
    asked: int  # helpers a nudge already reached
    waiting: int  # helpers whose nudge waits for their waking hours
    named: tuple[str, ...]  # of those, the ones who agreed to be named for the topic they were asked about
    engaged: int  # helpers who said they helped, or replied
    closed: bool


def open_ask(
    session: Session,
    workspace: Workspace,
    member: Member,
    text: str,
    now: dt.datetime,
    settings: Settings,
    embedder: Any | None,
    *,
    indexes: MemberIndexes | None = None,
) -> Item:
    """Store the member's need as an ask and route it to helpers like a question."""
    item = Item(
        workspace_id=workspace.id,
        source_key=f"ask:{uuid.uuid4().hex}",
        source="command",
        kind="ask",
        author_id=member.id,
        text=clean_slack_text(text)[:2000],
        is_private=False,
        posted_at=now,
    )
    session.add(item)
    session.flush()
    _route_privately(session, workspace, item, now, settings, embedder, (), indexes)
    return item


def own_ask(session: Session, workspace: Workspace, member: Member, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None or item.workspace_id != workspace.id or item.kind != "ask" or item.deleted_at is not None:
        raise AskError("I can't find that ask any more.")
    if item.author_id != member.id:
        raise AskError("Only the person who asked can change this ask.")
    return item


def _help_nudges(session: Session, item: Item) -> list[Nudge]:
    return list(
        session.scalars(
            select(Nudge)
            .where(Nudge.workspace_id == item.workspace_id, Nudge.item_id == item.id, Nudge.kind == "help")
            .order_by(Nudge.id)
        )
    )


def engaged_helpers(session: Session, item: Item) -> list[Member]:
    """Helpers who said they helped (acted on their nudge) or replied in the thread."""
    ids = {n.recipient_id for n in _help_nudges(session, item) if n.status == "acted"}
    ids |= set(session.scalars(select(ThreadReply.member_id).where(ThreadReply.item_id == item.id)))
    ids.discard(item.author_id or -1)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Member).where(Member.id.in_(ids), Member.is_deleted.is_(False)).order_by(Member.id)
        )
    )


def ask_status(session: Session, workspace: Workspace, item: Item, asker: Member) -> AskStatus:
    """What the asker may know: how many were asked, and names only of those who agreed to be named."""
    own_ask(session, workspace, asker, item.id)
    nudges = _help_nudges(session, item)
    asked = [n for n in nudges if n.status in ASKED_NUDGE]
    waiting = [n for n in nudges if n.status in OPEN_NUDGE_STATUSES]
    public_pairs = {
        (member_id, topic_id)
        for member_id, topic_id in session.execute(
            select(MemberTopic.member_id, MemberTopic.topic_id).where(
                MemberTopic.member_id.in_([n.recipient_id for n in asked] or [-1]),
                MemberTopic.kind == "expertise",
                MemberTopic.public.is_(True),
            )
        )
    }
    named: list[str] = []
    for nudge in asked:
        if nudge.topic_id is not None and (nudge.recipient_id, nudge.topic_id) in public_pairs:
            member = session.get(Member, nudge.recipient_id)
            if member is not None and not member.is_deleted:
                named.append(member.name)
    return AskStatus(
        item_id=item.id,
        asked=len(asked),
        waiting=len(waiting),
        named=tuple(named),
        engaged=len(engaged_helpers(session, item)),
        closed=item.closed_at is not None,
    )


def close_ask(session: Session, workspace: Workspace, item: Item, asker: Member, now: dt.datetime) -> int:
    """ "Got it, thanks": no further nudges for this ask. Returns how many waiting nudges were cancelled."""
    own_ask(session, workspace, asker, item.id)
    if item.closed_at is None:
        item.closed_at = now
    return cancel_help_nudges(session, item)


def send_thanks(
    session: Session, workspace: Workspace, item: Item, asker: Member, note: str, now: dt.datetime
) -> int:
    """A private thank-you from the asker to every helper who engaged; nothing is counted or shown to others.
    Idempotent per helper. Returns how many helpers it will reach."""
    own_ask(session, workspace, asker, item.id)
    note = " ".join(note.split())[:MAX_THANKS_CHARS]
    what = " ".join(item.text.split())
    what = what if len(what) <= 200 else what[:199] + "…"
    sent = 0
    for helper in engaged_helpers(session, item):
        if not helper.slack_user_id or helper.delivery == "off" or helper.is_bot:
            continue
        key = f"{workspace.team_id}:thanks:{item.id}:{helper.id}"
        line = f"*{plain(asker.name)}* says thank you for helping with their ask: “{plain(what)}”"
        blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
        if note:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "> " + plain(note)}})
        enqueue_dm(
            session,
            workspace_id=workspace.id,
            key=key,
            user=helper.slack_user_id,
            text=line,
            blocks=blocks,
            recipient_id=helper.id,
            not_before=now,
        )
        sent += 1
    return sent


def ask_status_blocks(status: AskStatus) -> list[Block]:
    """The asker's private view of their ask, with "got it, thanks" and a thank-you button."""
    if status.asked == 0 and status.waiting == 0:
        reached = "Nobody fits this ask yet; I'll keep it in mind but can't promise anyone."
    else:
        people = "person" if status.asked == 1 else "people"
        reached = f"I asked {status.asked} {people}"
        if status.waiting:
            reached += f" so far; {status.waiting} more will hear about it in their own working hours"
        reached += "."
    lines = [reached]
    if status.named:
        lines.append("Among them, happy to be named: " + ", ".join(plain(n) for n in status.named) + ".")
    if status.closed:
        lines.append("You closed this ask; nobody else will be asked.")
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    buttons: list[Block] = []
    if not status.closed:
        buttons.append(_button("Got it, thanks", ASK_CLOSE, status.item_id, primary=True))
    if status.engaged:
        buttons.append(_button("Send a thank-you", ASK_THANKS, status.item_id))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"ask_{status.item_id}", "elements": buttons})
    return blocks


def _button(text: str, action_id: str, item_id: int, *, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": str(item_id),
    }
    if primary:
        button["style"] = "primary"
    return button
