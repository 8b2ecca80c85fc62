"""Store rows to the policy's plain data. Every query is scoped to one workspace."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar, overload

from sqlalchemy import Executable, Row, and_, bindparam, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.policy.model import NOT_COUNTED, CapConfig, FeedbackEvent, MemberPrefs, PastNudge, PolicyState
from bot.policy.relationships import decayed
from bot.policy.share import Tie
from bot.store.fastpath import plain_rows
from bot.store.models import (
    Channel,
    ChannelMember,
    Feedback,
    Item,
    ItemReach,
    Member,
    MemberTopic,
    Nudge,
    Relationship,
    ThreadReply,
    Topic,
)

T = TypeVar("T")
CHUNK = 900  # below SQLite's bound-parameter limit
HISTORY = dt.timedelta(days=10)  # covers the weekly cap, the pair cooldown and the help load window
FEEDBACK_HISTORY = dt.timedelta(days=365)
MEMBER_COLUMNS = (
    Member.id,
    Member.tz,
    Member.quiet_start,
    Member.quiet_end,
    Member.weekends_off,
    Member.paused_until,
    Member.available,
    Member.opted_in,
    Member.delivery,
    Member.unanswered,
    Member.asked_to_continue_at,
    Member.holds,
    Member.held_until,
    Member.is_bot,
    Member.is_deleted,
    Member.is_guest,
    Member.display_name,
    Member.real_name,
    Member.slack_user_id,
    Member.email,
    Member.last_planned_on,
)


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def caps_from_settings(settings: Settings) -> CapConfig:
    return CapConfig(
        share_per_day=settings.passiton_share_per_day,
        nudges_per_week=settings.passiton_nudges_per_week,
        share_per_week=settings.passiton_share_per_week,
        help_per_week=settings.passiton_help_per_week,
    )


def display_name(row: Any) -> str:
    return str(row.display_name or row.real_name or row.slack_user_id or "Someone")


# Rows of MEMBER_COLUMNS seen before -> their prefs: every share tick reads every member, and the rows change
# only when a member's settings do (a pure function of the row; bounded by starting afresh).
_PREFS: dict[Row[Any], MemberPrefs] = {}
_PREFS_SIZE = 50_000


def prefs_of(row: Any) -> MemberPrefs:
    """A Member (row or ORM object) as the policy sees it."""
    if not isinstance(row, Row):
        return _prefs(row)
    prefs = _PREFS.get(row)
    if prefs is None:
        if len(_PREFS) >= _PREFS_SIZE:
            _PREFS.clear()
        prefs = _PREFS[row] = _prefs(row)
    return prefs


def _prefs(row: Any) -> MemberPrefs:
    return MemberPrefs(
        id=int(row.id),
        tz=row.tz or "UTC",
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        weekends_off=bool(row.weekends_off),
        paused_until=row.paused_until,
        available=bool(row.available),
        opted_in=bool(row.opted_in),
        delivery=row.delivery or "slack",
        unanswered=int(row.unanswered or 0),
        asked_to_continue_at=row.asked_to_continue_at,
        holds=int(row.holds or 0),
        held_until=row.held_until,
        reachable=not (row.is_bot or row.is_deleted) and bool(row.slack_user_id or row.email),
        guest=bool(row.is_guest),
        name=display_name(row),
    )


def _each(
    session: Session,
    statements: dict[bool, Executable],
    params: dict[str, Any],
    ids: Collection[int] | None,
) -> Iterator[Any]:
    """Rows of `statements[True]` for `ids` in chunks (bound as "ids"), or of `statements[False]` for the
    whole workspace when `ids` is None."""
    if ids is None:
        yield from plain_rows(session, statements[False], params)
        return
    for part in chunks(sorted(ids)):
        yield from plain_rows(session, statements[True], {**params, "ids": list(part)})


def _with_and_without_ids(make: Callable[[Any], Any], column: Any) -> dict[bool, Executable]:
    """A statement built once with and once without `column IN :ids` (constructing a statement costs more
    than running it on the small reads of one planning)."""
    return {True: make(column.in_(bindparam("ids", expanding=True))), False: make(None)}


def _where(statement: Any, clause: Any) -> Any:
    return statement if clause is None else statement.where(clause)


_WS: Any = bindparam("ws", type_=Member.workspace_id.type)
_SINCE: Any = bindparam("since", type_=Nudge.send_after.type)
_MEMBERS = _with_and_without_ids(
    lambda c: _where(select(*MEMBER_COLUMNS).where(Member.workspace_id == _WS), c), Member.id
)
_HISTORY = _with_and_without_ids(
    lambda c: _where(
        select(
            Nudge.recipient_id,
            Nudge.kind,
            # When it was (or will be) sent; one date to convert per row instead of two.
            func.coalesce(Nudge.sent_at, Nudge.send_after),
            Nudge.item_id,
            Nudge.target_id,
            Nudge.status,
        ).where(
            Nudge.workspace_id == _WS,
            Nudge.send_after >= _SINCE,
            # The policy only ever counts the others: most help nudges end cancelled once a question is
            # answered, and reading them was most of the rows of every planning.
            Nudge.status.not_in(sorted(NOT_COUNTED)),
        ),
        c,
    ),
    Nudge.recipient_id,
)
_FEEDBACK = _with_and_without_ids(
    lambda c: _where(
        select(
            Feedback.member_id,
            Feedback.kind,
            Feedback.created_at,
            Topic.name,
            Feedback.other_member_id,
            Nudge.kind.label("nudge_kind"),
        )
        .outerjoin(Topic, Topic.id == Feedback.topic_id)
        .outerjoin(Nudge, Nudge.id == Feedback.nudge_id)
        .where(Feedback.workspace_id == _WS, Feedback.created_at >= _SINCE),
        c,
    ),
    Feedback.member_id,
)
_MUTED_PEOPLE = _with_and_without_ids(
    lambda c: _where(
        select(Feedback.member_id, Feedback.other_member_id).where(
            Feedback.workspace_id == _WS, Feedback.kind == "mute_person"
        ),
        c,
    ),
    Feedback.member_id,
)
_TOPICS = _with_and_without_ids(
    lambda c: _where(
        select(MemberTopic.member_id, Topic.name)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.workspace_id == _WS, MemberTopic.kind == bindparam("kind")),
        c,
    ).order_by(MemberTopic.member_id, Topic.name),
    MemberTopic.member_id,
)


def member_rows(session: Session, workspace_id: int, ids: Collection[int] | None = None) -> list[Any]:
    return list(_each(session, _MEMBERS, {"ws": workspace_id}, ids))


# Opted-in people who are not held back: what the policy's back-off (`backoff_state`) says "ok" to, in SQL.
# Not stopped (delivery off), not inside a hold, and either below the count of unanswered nudges or already
# asked (then a worn-off hold means a try). The policy itself still decides about every row read (tests pin
# the two together).
_NOT_HELD_BACK = select(*MEMBER_COLUMNS).where(
    Member.workspace_id == _WS,
    Member.opted_in.is_(True),
    Member.is_bot.is_(False),
    Member.is_deleted.is_(False),
    Member.delivery != "off",
    or_(Member.held_until.is_(None), Member.held_until <= bindparam("now", type_=Member.held_until.type)),
    or_(
        Member.unanswered < bindparam("backoff", type_=Member.unanswered.type),
        Member.asked_to_continue_at.is_not(None),
    ),
)
_NOT_HELD_BACK_LIMITED = _NOT_HELD_BACK.order_by(Member.id).limit(bindparam("limit"))


def not_held_back(
    session: Session, workspace_id: int, caps: CapConfig, now: dt.datetime, limit: int | None = None
) -> list[Any]:
    """Rows of the opted-in people whose nudges are not on hold at `now`: the only ones any nudge could go
    to. With `limit`, at most that many (by id): enough to tell "more than this many" from the rows."""
    params = {"ws": workspace_id, "backoff": caps.backoff_after, "now": now}
    if limit is None:
        return plain_rows(session, _NOT_HELD_BACK, params)
    return plain_rows(session, _NOT_HELD_BACK_LIMITED, {**params, "limit": limit})


def load_state(
    session: Session,
    workspace_id: int,
    rows: Sequence[Any],
    now: dt.datetime,
    caps: CapConfig,
    ids: Collection[int] | None = None,
) -> PolicyState:
    """Preferences of `rows`, plus history, feedback and mutes of `ids` (None: the whole workspace)."""
    state = PolicyState(prefs={int(r.id): prefs_of(r) for r in rows}, caps=caps)
    history: dict[int, list[PastNudge]] = defaultdict(list)
    for recipient, kind, at, item_id, target_id, status in _each(
        session, _HISTORY, {"ws": workspace_id, "since": now - HISTORY}, ids
    ):
        history[recipient].append(PastNudge(recipient, kind, at, item_id, target_id, status))
    state.history = dict(history)
    feedback: dict[int, list[FeedbackEvent]] = defaultdict(list)
    for f in _each(session, _FEEDBACK, {"ws": workspace_id, "since": now - FEEDBACK_HISTORY}, ids):
        if f.kind == "mute_person" and f.other_member_id is not None:
            state.muted_people.add((f.member_id, f.other_member_id))
        feedback[f.member_id].append(
            FeedbackEvent(f.member_id, f.kind, f.created_at, f.name, f.other_member_id, f.nudge_kind)
        )
    state.feedback = dict(feedback)
    # A person mute lasts: read them all, not only the last year's.
    for who, whom in _each(session, _MUTED_PEOPLE, {"ws": workspace_id}, ids):
        if whom is not None:
            state.muted_people.add((who, whom))
    state.muted_topics = {
        m: frozenset(t) for m, t in topics_by_member(session, workspace_id, "muted", ids).items()
    }
    return state


def topics_by_member(
    session: Session, workspace_id: int, kind: str, ids: Collection[int] | None = None
) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for member_id, name in _each(session, _TOPICS, {"ws": workspace_id, "kind": kind}, ids):
        out[member_id].append(name)
    return dict(out)


_LABELS = select(Topic.id, Topic.name, Topic.label).where(Topic.workspace_id == _WS)
_CHANNEL_MEMBERS = _with_and_without_ids(
    lambda c: _where(
        select(ChannelMember.channel_id, ChannelMember.member_id).where(ChannelMember.workspace_id == _WS), c
    ),
    ChannelMember.channel_id,
)
_CHANNELS = _with_and_without_ids(
    lambda c: _where(
        select(Channel.id, Channel.name, Channel.is_private, Channel.slack_channel_id).where(
            Channel.workspace_id == _WS
        ),
        c,
    ),
    Channel.id,
)
_REACHES = _with_and_without_ids(
    lambda c: _where(select(ItemReach.item_id, ItemReach.member_id).where(ItemReach.workspace_id == _WS), c),
    ItemReach.item_id,
)
_ENGAGED = _with_and_without_ids(
    lambda c: _where(
        select(ItemReach.item_id, ItemReach.member_id).where(
            ItemReach.workspace_id == _WS, ItemReach.how.in_(("reaction", "reply"))
        ),
        c,
    ),
    ItemReach.item_id,
)
_REPLIERS = _with_and_without_ids(
    lambda c: _where(
        select(ThreadReply.item_id, ThreadReply.member_id).where(ThreadReply.workspace_id == _WS), c
    ),
    ThreadReply.item_id,
)
_NUDGED = _with_and_without_ids(
    lambda c: _where(
        select(Nudge.item_id, Nudge.target_id).where(
            Nudge.workspace_id == _WS, Nudge.kind == "share", Nudge.target_id.is_not(None)
        ),
        c,
    ),
    Nudge.item_id,
)
_IDS: Any = bindparam("ids", expanding=True)
_UPDATED = Relationship.updated_at
_TIES = select(
    Relationship.member_a_id,
    Relationship.member_b_id,
    Relationship.channel_id,
    Relationship.weight,
    type_coerce(Relationship.updated_at, _UPDATED.type.impl),
    Relationship.talked_at.is_not(None),
).where(
    Relationship.workspace_id == _WS,
    or_(Relationship.member_a_id.in_(_IDS), Relationship.member_b_id.in_(_IDS)),
)
_PUBLIC_CHANNELS = select(Channel.id, Channel.name).where(
    Channel.workspace_id == _WS, Channel.is_private.is_(False), Channel.name != ""
)


def topic_labels(session: Session, workspace_id: int) -> dict[str, tuple[int, str]]:
    """Normalised topic name -> (topic id, label as first typed)."""
    return {name: (tid, label) for tid, name, label in plain_rows(session, _LABELS, {"ws": workspace_id})}


def channel_members(session: Session, workspace_id: int, channel_ids: Collection[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for channel_id, member_id in _each(session, _CHANNEL_MEMBERS, {"ws": workspace_id}, channel_ids):
        out[channel_id].add(member_id)
    return dict(out)


def channels(session: Session, workspace_id: int, channel_ids: Collection[int]) -> dict[int, Any]:
    return {row.id: row for row in _each(session, _CHANNELS, {"ws": workspace_id}, channel_ids)}


def reached(session: Session, workspace_id: int, item_ids: Collection[int]) -> dict[int, set[int]]:
    """Per item, the members it already reached: reactions, passed on, thread replies, earlier nudges."""
    out: dict[int, set[int]] = defaultdict(set)
    for statements in (_REACHES, _REPLIERS):
        for item_id, member_id in _each(session, statements, {"ws": workspace_id}, item_ids):
            out[item_id].add(member_id)
    return dict(out)


def engaged(session: Session, workspace_id: int, item_ids: Collection[int]) -> dict[int, set[int]]:
    """Per item, the members who engaged with it themselves (reacted, replied in its thread): seeing an
    article is an act, and they are the givers to prefer over everyone who merely is in its channel."""
    out: dict[int, set[int]] = defaultdict(set)
    for statements in (_ENGAGED, _REPLIERS):
        for item_id, member_id in _each(session, statements, {"ws": workspace_id}, item_ids):
            out[item_id].add(member_id)
    return dict(out)


def nudged_pairs(session: Session, workspace_id: int, item_ids: Collection[int]) -> set[tuple[int, int]]:
    """(item, target) pairs that already have a share nudge, whatever became of it."""
    return {
        (item_id, target_id)
        for item_id, target_id in _each(session, _NUDGED, {"ws": workspace_id}, item_ids)
        if target_id is not None
    }


def ties_for(
    session: Session,
    workspace_id: int,
    targets: Collection[int],
    now: dt.datetime,
    channel_names: dict[int, str],
    others: Collection[int] | None = None,
) -> dict[int, list[Tie]]:
    """Per target, their decayed ties (summed over channels), strongest first, naming the main channel.

    `others` (if given) keeps only the ties to those members (the givers of a share run: a tie to anyone
    else is never used), which spares decaying every relationship of every target on each tick.
    A private channel's name is never used in a reason: the giver might not be in it.
    """
    wanted = set(targets)
    keep = None if others is None else set(others)
    weight: dict[tuple[int, int], float] = defaultdict(float)
    best: dict[tuple[int, int], tuple[float, int | None]] = {}
    best_talk: dict[tuple[int, int], tuple[float, int | None]] = {}  # only rows where they talked
    talks: set[tuple[int, int]] = set()
    to_utc = _UPDATED.type.process_result_value  # the column is read raw: only kept rows are converted
    dialect = session.get_bind().dialect
    for part in chunks(sorted(targets)):
        for a, b, channel_id, w, raw, talked in plain_rows(
            session, _TIES, {"ws": workspace_id, "ids": list(part)}
        ):
            forward = a in wanted and (keep is None or b in keep)
            backward = b in wanted and (keep is None or a in keep)
            if not (forward or backward):
                continue  # most rows: neither end is wanted (decided without building anything)
            keys = [(a, b)] if forward else []
            if backward:
                keys.append((b, a))
            updated = to_utc(raw, dialect)
            assert updated is not None
            value = decayed(w, updated, now)
            named = channel_id in channel_names
            for key in keys:
                weight[key] += value
                if talked:
                    talks.add(key)
                if named and value > best.get(key, (0.0, None))[0]:
                    best[key] = (value, channel_id)
                if talked and named and value > best_talk.get(key, (0.0, None))[0]:
                    best_talk[key] = (value, channel_id)
    out: dict[int, list[Tie]] = defaultdict(list)
    for (target, other), w in weight.items():
        talk = (target, other) in talks
        # Where they talk when they do; else a channel they share (what the reason may honestly say).
        channel_id = (best_talk if talk else best).get((target, other), (0.0, None))[1]
        name = channel_names.get(channel_id) if channel_id is not None else None
        out[target].append(Tie(other, w, name, talks=talk))
    for ties in out.values():
        ties.sort(key=lambda t: (-t.weight, t.other_id))
    return dict(out)


def public_channel_names(session: Session, workspace_id: int) -> dict[int, str]:
    return {cid: name for cid, name in plain_rows(session, _PUBLIC_CHANNELS, {"ws": workspace_id})}


HELP_KINDS = ("question", "ask")
HELPED_PER_MEMBER = 50


_HELP_COUNTS = and_(
    Item.kind.in_(HELP_KINDS),
    Item.deleted_at.is_(None),
    Item.is_private.is_(False),
    or_(Item.author_id.is_(None), Item.author_id != ThreadReply.member_id),
)
_HELP_REPLY_ROWS = (
    select(
        ThreadReply.id,
        ThreadReply.member_id,
        ThreadReply.item_id,
        ThreadReply.replied_at,
        _HELP_COUNTS,
        Item.title,
        Item.text,
    )
    .outerjoin(Item, Item.id == ThreadReply.item_id)
    .where(ThreadReply.workspace_id == _WS)
)
_HELP_REPLIES = _HELP_REPLY_ROWS.where(
    ThreadReply.replied_at >= bindparam("since", type_=ThreadReply.replied_at.type)
)
# The replies stored since a known one are read by id alone (their time is checked on the few rows): with
# the window's condition too, SQLite walked the whole window in its index to find them.
_HELP_REPLIES_AFTER = _HELP_REPLY_ROWS.where(ThreadReply.id > bindparam("after", type_=ThreadReply.id.type))
_HELP_REPLIES_OF = _HELP_REPLIES.where(ThreadReply.member_id.in_(bindparam("ids", expanding=True)))


def _help_text(ok: Any, title: str | None, text: str | None) -> str:
    return ". ".join(p for p in (title, text) if p) if ok else ""


def help_replies(
    session: Session, workspace_id: int, since: dt.datetime, after_id: int = 0
) -> list[tuple[int, int, int, dt.datetime, str]]:
    """Every thread reply since `since` (with an id above `after_id`): (reply id, member, item, replied at,
    text of the question it helped with). The text is empty when the reply is not observed help: the item is not
    a public, live question or ask, or the member replied to their own question."""
    if after_id:
        rows = plain_rows(session, _HELP_REPLIES_AFTER, {"ws": workspace_id, "after": after_id})
    else:
        rows = plain_rows(session, _HELP_REPLIES, {"ws": workspace_id, "since": since})
    return [
        (rid, member_id, item_id, at, _help_text(ok, title, text))
        for rid, member_id, item_id, at, ok, title, text in rows
        if at >= since
    ]


def most_recent_help(
    replies: Iterable[tuple[dt.datetime, int, str]], per_member: int = HELPED_PER_MEMBER
) -> list[str]:
    """One member's helped texts, most recent first (the later reply first on equal times), at most
    `per_member`, from their (replied at, reply id, text) triples."""
    out: list[str] = []
    for _at, _rid, body in sorted(replies, reverse=True):
        if body:
            out.append(body)
            if len(out) == per_member:
                break
    return out


def posix(at: dt.datetime) -> float:
    """A stored time as POSIX seconds (a naive time is UTC, as the store writes it)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).timestamp()


def help_times(replies: Iterable[tuple[dt.datetime, int, str]]) -> tuple[float, ...]:
    """When each of one member's observed-help replies was written (POSIX seconds), most recent first: all
    of them, not only the `HELPED_PER_MEMBER` whose texts are kept (the activity prior counts every one)."""
    return tuple(sorted((posix(at) for at, _rid, body in replies if body), reverse=True))


def _help_replies_of(
    session: Session, workspace_id: int, since: dt.datetime, ids: Collection[int]
) -> Iterator[tuple[int, int, int, dt.datetime, str]]:
    """`help_replies` of the members `ids` only."""
    for part in chunks(sorted(ids)):
        params = {"ws": workspace_id, "since": since, "ids": list(part)}
        for rid, member_id, item_id, at, ok, title, text in plain_rows(session, _HELP_REPLIES_OF, params):
            yield rid, member_id, item_id, at, _help_text(ok, title, text)


@overload
def helped_texts(
    session: Session,
    workspace_id: int,
    since: dt.datetime,
    per_member: int = ...,
    ids: Collection[int] | None = ...,
    with_times: Literal[False] = ...,
) -> dict[int, list[str]]: ...


@overload
def helped_texts(
    session: Session,
    workspace_id: int,
    since: dt.datetime,
    per_member: int = ...,
    ids: Collection[int] | None = ...,
    *,
    with_times: Literal[True],
) -> tuple[dict[int, list[str]], dict[int, tuple[float, ...]]]: ...


def helped_texts(
    session: Session,
    workspace_id: int,
    since: dt.datetime,
    per_member: int = HELPED_PER_MEMBER,
    ids: Collection[int] | None = None,
    with_times: bool = False,
) -> dict[int, list[str]] | tuple[dict[int, list[str]], dict[int, tuple[float, ...]]]:
    """Per member (of `ids`, or everyone), the texts of questions and asks they replied to in threads, most
    recent first; `with_times`: also the times of all those replies (`help_times`)."""
    by_member: dict[int, list[tuple[dt.datetime, int, str]]] = defaultdict(list)
    replies = (
        help_replies(session, workspace_id, since)
        if ids is None
        else _help_replies_of(session, workspace_id, since, ids)
    )
    for rid, member_id, _item_id, at, body in replies:
        if body:
            by_member[member_id].append((at, rid, body))
    texts = {m: most_recent_help(replies, per_member) for m, replies in sorted(by_member.items())}
    if not with_times:
        return texts
    return texts, {m: help_times(replies) for m, replies in sorted(by_member.items())}


def item_text(item: Any) -> str:
    return ". ".join(
        p.strip() for p in (item.title or "", item.description or "", item.text or "") if p and p.strip()
    )
