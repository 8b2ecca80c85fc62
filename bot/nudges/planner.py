"""The planning service: store -> matching -> policy -> Nudge rows -> outbox.

Every function takes `now` and never reads the clock, so replay can run it over an export in frozen time.
Entry points (the contract other lanes call):

- `plan_help_nudges(session, workspace, item, now, settings, embedder)`: ingest, right after storing a
  question or ask.
- `cancel_answered_help(session, item, now)`: ingest, when a thread reply to an item was stored.
- `plan_share_nudges(session, workspace, now, settings, embedder)`: the frequent jobs tick.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.matching.embedders import Embedder
from bot.matching.rank import RankConfig, named_topics, rank_items
from bot.matching.topics import topic_label
from bot.messages.nudges import NudgeView
from bot.nudges import loading
from bot.nudges.links import archives_url
from bot.nudges.member_index import MemberIndexes, profiles_of, with_store_cache
from bot.nudges.writing import NudgeSpec, enqueue_continue_question, write_nudges
from bot.policy.backoff import Backoff, after_ask, after_lapse, backoff_of, backoff_state
from bot.policy.eligibility import ready_for_nudges, ready_to_help
from bot.policy.help import HelpItem, help_window, plan_help
from bot.policy.model import Candidate, CapConfig, MemberPrefs, PolicyState
from bot.policy.reasons import continue_question
from bot.policy.share import ShareItem, ShareProposal, plan_shares
from bot.policy.time import local_date, morning_has_come, next_send_time
from bot.store.fastpath import plain_rows
from bot.store.locks import lock_workspace
from bot.store.models import OPEN_NUDGE_STATUSES, Channel, Item, Member, Nudge, ThreadReply, Workspace
from bot.store.queries.engagement import record_engagement

log = logging.getLogger(__name__)

ARTICLE_WINDOW = dt.timedelta(days=3)
HELP_CANDIDATES = 30
SHARE_TARGETS_PER_ITEM = 30
# A sent nudge with no answer after this long counts towards the back-off.
UNANSWERED_AFTER = dt.timedelta(days=3)
# The planners' bulk updates name their rows by id: the session learns which of its objects changed from
# the returned ids ("fetch") instead of testing the criteria on every object it holds ("evaluate", the
# default), which in a long session (replay) cost more than the update.
_BY_ID = {"synchronize_session": "fetch"}


def _label(labels: dict[str, tuple[int, str]], topic: str | None) -> tuple[int | None, str | None]:
    if topic is None:
        return None, None
    found = labels.get(topic)
    return (found[0], found[1]) if found else (None, topic_label(topic))


def _namer(topics: set[str]) -> Callable[[str], frozenset[str]]:
    """Which of `topics` a text names; the lookup is built once for all the texts of a run."""
    if not topics:
        return lambda _text: frozenset()
    ordered = sorted(topics)
    lookup = {t: i for i, t in enumerate(ordered)}
    width = max(len(t.split()) for t in ordered)
    return lambda text: frozenset(ordered[i] for i in named_topics(text, lookup, width))


def _named(text: str, topics: set[str]) -> frozenset[str]:
    return _namer(topics)(text)


def _item_url(item: Item) -> str | None:
    return item.url or item.permalink


# -- help -------------------------------------------------------------------------------------------

# Built once: building these statements cost as much as running them, and every question and reply asks.
_WS: Any = bindparam("ws", type_=Nudge.workspace_id.type)
_ITEM: Any = bindparam("item", type_=Nudge.item_id.type)
_REPLIERS_OF = select(ThreadReply.member_id).where(
    ThreadReply.item_id == _ITEM, ThreadReply.workspace_id == _WS
)
_HELP_NUDGE_OF = (Nudge.workspace_id == _WS, Nudge.item_id == _ITEM, Nudge.kind == "help")
_HELP_NUDGES_OF = select(Nudge).where(*_HELP_NUDGE_OF)
_HELP_NUDGES_ASKED = select(Nudge.recipient_id, Nudge.status).where(*_HELP_NUDGE_OF)


# Help also takes the few members with observed help whom the fused order ranks first as candidates
# (RankConfig.helped_top): the people who answer are mostly recently active helpers, whose past questions
# are often not similar enough to clear the threshold. As many as the policy could need after its filters.
HELP_RANKING = replace(RankConfig(), helped_top=5)
# With this few people who could be asked, checking them alone is cheaper than the workspace's matching.
FEW_READY = 16
# Whether someone clears the threshold (or is vetoed by a muted topic) is decided a little in their favour:
# scores from an index of a few people may differ from the workspace index's in the last bits, and the check
# must never rule out a match.
_LENIENT = replace(HELP_RANKING, threshold=HELP_RANKING.threshold - 1e-3, mute_z=HELP_RANKING.mute_z + 1e-3)


def _any_could_match(
    session: Session, workspace_id: int, ready: set[int], text: str, author: str | None, emb: Embedder,
    now: dt.datetime, indexes: MemberIndexes,
) -> bool:  # fmt: skip
    """Could any of `ready` be a candidate for the question? Matching is per person (their own topics and
    past help against the question), so ranking them alone tells it."""
    few = profiles_of(session, workspace_id, "expertise", ready, now)
    if not few:
        return False
    index = indexes.small_index(few, emb)
    [ranked] = rank_items(
        index, ["q"], [text], emb.embed([text]), authors=[author], k=len(few), config=_LENIENT
    )
    return bool(ranked.matches)


def anyone_to_ask(
    session: Session,
    workspace: Workspace,
    item: Item,
    now: dt.datetime,
    settings: Settings,
    embedder: Embedder,
    exclude: Collection[int] = (),
    *,
    indexes: MemberIndexes | None = None,
) -> bool:
    """Whether `plan_help_nudges` could plan anything for the question. It only reads (no lock, no writes),
    so a caller can skip the planner, and the savepoint it would put around it, when the answer is no: after
    a few weeks of a quiet workspace that is nearly every question.

    Matching costs most of the planning. Nobody can be asked who is held back, not ready, excluded or the
    asker, and nobody is ranked without expertise to match on. With few people left, ranking just them tells
    whether anyone could match; with more, this answers yes and the planning decides. (Those already asked
    about the question are not left out here: they could only shrink the set further.)"""
    if item.workspace_id != workspace.id:
        raise ValueError("item belongs to another workspace")
    if item.kind not in ("question", "ask") or item.deleted_at or item.closed_at or item.answered_at:
        return False
    caps = loading.caps_from_settings(settings)
    few = loading.not_held_back(session, workspace.id, caps, now, limit=FEW_READY + 1)
    if len(few) > FEW_READY:
        return True
    ready = (
        {r.id for r in few if ready_to_help(loading.prefs_of(r), caps, now)} - set(exclude) - {item.author_id}
    )
    emb = with_store_cache(embedder, session, workspace.id)
    author = str(item.author_id) if item.author_id is not None else None
    indexes = indexes if indexes is not None else MemberIndexes()
    return _any_could_match(session, workspace.id, ready, loading.item_text(item), author, emb, now, indexes)


def plan_help_nudges(
    session: Session,
    workspace: Workspace,
    item: Item,
    now: dt.datetime,
    settings: Settings,
    embedder: Embedder,
    exclude: Collection[int] = (),
    *,
    checked: bool = False,
    indexes: MemberIndexes | None = None,
) -> list[Nudge]:
    """Pick at most K helpers for a question or ask and queue their nudges (idempotent per helper).

    `exclude` names members who must not be asked (e.g. experts the in-channel answer already named in
    public); a nudge cancelled for that reason frees its slot for someone else. `checked`: the caller has
    just had `anyone_to_ask` say yes, in this transaction. `indexes`: the caller's member index cache (the
    runtime's, a replay's); without one the index is built afresh.
    """
    indexes = indexes if indexes is not None else MemberIndexes()
    if not checked and not anyone_to_ask(
        session, workspace, item, now, settings, embedder, exclude, indexes=indexes
    ):
        return []
    caps = loading.caps_from_settings(settings)
    emb = with_store_cache(embedder, session, workspace.id)
    text = loading.item_text(item)
    author = str(item.author_id) if item.author_id is not None else None
    # Helpers' recent nudges are read below and decide who is free: one help planner per workspace at a time.
    lock_workspace(session, workspace.id, "plan-help")
    # Planning again (a retried event, an edit) tops up to K at most; it never asks anyone twice.
    previous = plain_rows(session, _HELP_NUDGES_ASKED, {"ws": workspace.id, "item": item.id})
    asked = {r.recipient_id for r in previous} | set(exclude)
    k = settings.passiton_helpers_per_question - sum(1 for r in previous if r.status != "cancelled")
    if k <= 0:
        return []
    index = indexes.member_index(session, workspace.id, "expertise", emb, now)
    [ranked] = rank_items(
        index,
        [str(item.id)],
        [text],
        emb.embed([text]),
        authors=[author],
        k=HELP_CANDIDATES,
        config=HELP_RANKING,
    )
    ids = [int(m.member_id) for m in ranked.matches]
    if not ids:
        return []
    everyone = {*ids, *([item.author_id] if item.author_id is not None else [])}
    rows = {r.id: r for r in loading.member_rows(session, workspace.id, everyone)}
    # The policy turns down every candidate who may not be asked now (most of them, once people are in
    # back-off): when that is all of them, the rest of the planning would be thrown away.
    if not any(ready_to_help(loading.prefs_of(rows[i]), caps, now) for i in ids if i in rows):
        return []
    state = loading.load_state(session, workspace.id, list(rows.values()), now, caps, everyone)
    labels = loading.topic_labels(session, workspace.id)
    channel = session.get(Channel, item.channel_id) if item.channel_id is not None else None
    private = bool(item.is_private or (channel is not None and channel.is_private))
    members: frozenset[int] = frozenset()
    guests = any(rows[i].is_guest for i in ids if i in rows)
    if (private or guests) and item.channel_id is not None:
        members = frozenset(
            loading.channel_members(session, workspace.id, [item.channel_id]).get(item.channel_id, ())
        )
    replied = frozenset(
        r[0] for r in plain_rows(session, _REPLIERS_OF, {"ws": workspace.id, "item": item.id})
    )
    muted = set().union(*state.muted_topics.values()) if state.muted_topics else set()
    help_item = HelpItem(
        id=item.id,
        asker_id=item.author_id,
        channel_name=channel.name if channel is not None else None,
        is_private=private,
        channel_members=members,
        replied=replied | asked,
        topics_named=_named(text, muted),
    )
    candidates = [
        Candidate(int(m.member_id), m.score, m.topic, _label(labels, m.topic)[1], m.driver)
        for m in ranked.matches
    ]
    asker = rows.get(item.author_id) if item.author_id is not None else None
    asker_name = loading.display_name(asker) if asker is not None else "Someone"
    window, horizon = help_window(settings.passiton_help_until_hour)
    proposals = plan_help(
        help_item, candidates, state, now, k=k, asker_name=asker_name,
        min_score=RankConfig().threshold, window=window, horizon=horizon,
        grace=dt.timedelta(minutes=settings.passiton_help_grace_minutes),
    )  # fmt: skip
    # One click to the question: its permalink when known, else the archive link built from channel and ts
    # (the sender swaps in chat.getPermalink's answer when it sends).
    slack_channel = channel.slack_channel_id if channel is not None and item.slack_ts else None
    question_url = item.permalink or (
        archives_url(workspace.domain, slack_channel, item.slack_ts)
        if slack_channel and item.slack_ts
        else None
    )
    specs: list[NudgeSpec] = []
    for p in proposals:
        topic_id, label = _label(labels, p.topic)
        view = NudgeView(
            nudge_id=0,
            kind="help",
            reason=p.reason,
            title=item.title,
            url=question_url,
            channel_name=help_item.channel_name,
            text=item.text,
            topic_label=label,
            asker_name=asker_name,
            slack_channel=slack_channel,
            slack_ts=item.slack_ts if slack_channel else None,
        )
        specs.append(
            NudgeSpec("help", rows[p.helper_id], item, None, topic_id, p.reason, p.score, p.send_at, view)
        )
    # One savepoint for all of them; on a conflict (a concurrent planner) it falls back to one at a time.
    return write_nudges(session, workspace, specs, now)


# The help nudges an answer settles: unsent ones are cancelled, sent ones may have been acted on, and so may
# lapsed ones: answering the question one was nudged about is engagement however late it comes.
_ANSWERABLE = frozenset({"sent", "lapsed"})
_SETTLED_BY_ANSWER = frozenset({*OPEN_NUDGE_STATUSES, *_ANSWERABLE})


def _help_statuses(session: Session, item: Item) -> set[str]:
    return {
        r.status for r in plain_rows(session, _HELP_NUDGES_ASKED, {"ws": item.workspace_id, "item": item.id})
    }


def help_to_settle(session: Session, item: Item) -> bool:
    """Whether `cancel_answered_help` could change anything for an item: it only reads, so a caller can skip
    it, and the savepoint around it, when the question is marked answered and none of its help nudges is
    still unsent or awaiting an answer (most questions: nobody was nudged about them)."""
    return item.answered_at is None or bool(_help_statuses(session, item) & _SETTLED_BY_ANSWER)


def cancel_answered_help(session: Session, item: Item, now: dt.datetime) -> int:
    """Once someone other than the asker replied in the thread, unsent help nudges lose their moment.

    Call after storing the ThreadReply. A recipient who replied has acted on their nudge, also when it had
    lapsed, and that ends their back-off (engagement). Returns the number of nudges cancelled.
    """
    params = {"ws": item.workspace_id, "item": item.id}

    def repliers_of() -> set[int]:
        found = {r[0] for r in plain_rows(session, _REPLIERS_OF, params)}
        return found - {item.author_id} if item.author_id is not None else found

    repliers: set[int] | None = None
    if item.answered_at is None:
        repliers = repliers_of()
        if not repliers:
            return 0
        item.answered_at = now
    # Most questions have no help nudge still open or awaiting an answer: tell from plain rows before
    # loading any as objects (and before reading the repliers, which only a sent nudge needs).
    statuses = _help_statuses(session, item)
    if not statuses & _SETTLED_BY_ANSWER:
        return 0
    if repliers is None and statuses & _ANSWERABLE:
        repliers = repliers_of()
    cancelled = 0
    nudges = session.scalars(_HELP_NUDGES_OF, params).all()
    for nudge in nudges:
        if nudge.status in OPEN_NUDGE_STATUSES:
            nudge.status = "cancelled"
            cancelled += 1
        elif nudge.status in _ANSWERABLE and repliers is not None and nudge.recipient_id in repliers:
            nudge.status, nudge.acted_at = "acted", now
            member = session.get(Member, nudge.recipient_id)
            if member is not None:
                record_engagement(session, member, now)
    return cancelled


# -- shares -----------------------------------------------------------------------------------------


def _lapse_unanswered(session: Session, workspace_id: int, caps: CapConfig, now: dt.datetime) -> None:
    """Sent Slack nudges nobody answered for a few days count towards that member's back-off, and may start
    their next hold (`after_lapse`)."""
    stale = session.execute(
        select(Nudge.id, Nudge.recipient_id).where(
            Nudge.workspace_id == workspace_id,
            Nudge.status == "sent",
            Nudge.channel == "slack",
            Nudge.acted_at.is_(None),
            Nudge.sent_at < now - UNANSWERED_AFTER,
        )
    ).all()
    if not stale:
        return
    per_member: dict[int, int] = defaultdict(int)
    for _nid, member_id in stale:
        per_member[member_id] += 1
    for part in loading.chunks([nid for nid, _ in stale]):
        session.execute(
            update(Nudge).where(Nudge.id.in_(part)).values(status="lapsed"), execution_options=_BY_ID
        )
    # One statement per distinct outcome, not per member: each ORM update also walks the session's objects,
    # and with one `now` the outcomes are few.
    by_outcome: dict[Backoff, list[int]] = defaultdict(list)
    for row in loading.member_rows(session, workspace_id, sorted(per_member)):
        was = backoff_of(loading.prefs_of(row))
        by_outcome[after_lapse(was, per_member[row.id], caps, now)].append(row.id)
    for b, members in sorted(by_outcome.items(), key=lambda kv: kv[1][0]):
        for part in loading.chunks(sorted(members)):
            session.execute(
                update(Member)
                .where(Member.id.in_(part))
                .values(unanswered=b.unanswered, holds=b.holds, held_until=b.held_until),
                execution_options=_BY_ID,
            )


def _due(rows: list[Any], now: dt.datetime, morning: int) -> tuple[list[Any], dict[dt.date, list[int]]]:
    """Members whose local morning has come and who were not planned today; and everyone to mark planned
    (including those who cannot be reached today: a weekend off, a pause, quiet hours all day)."""
    due: list[Any] = []
    mark: dict[dt.date, list[int]] = defaultdict(list)
    # Every tick reads every member: the clock is read once per zone (the day and whether the morning has come
    # depend on the zone alone), and who never opted in (prefs.opted_in is the row's flag) costs no prefs.
    clock: dict[str, tuple[dt.date, bool]] = {}
    for row in rows:
        if not row.opted_in:
            continue
        prefs = loading.prefs_of(row)
        if not (prefs.opted_in and prefs.reachable and prefs.delivery != "off"):
            continue
        seen = clock.get(prefs.tz)
        if seen is None:
            seen = clock[prefs.tz] = (local_date(prefs.tz, now), morning_has_come(prefs, now, morning))
        today, has_come = seen
        if row.last_planned_on is not None and row.last_planned_on >= today:
            continue
        if not has_come:
            continue
        mark[today].append(row.id)
        at = next_send_time(prefs, now, morning)
        if at is not None and local_date(prefs.tz, at) == today:
            due.append(row)
    return due, mark


def _ask_to_continue(
    session: Session, workspace: Workspace, due: list[Any], state_prefs: dict[int, MemberPrefs], caps: CapConfig,
    settings: Settings, now: dt.datetime,
) -> None:  # fmt: skip
    for row in due:
        prefs = state_prefs[row.id]
        if backoff_state(prefs, caps, now) == "ask":
            at = next_send_time(prefs, now, settings.passiton_morning_hour) or now
            if enqueue_continue_question(session, workspace, row, continue_question(), now, at):
                b = after_ask(backoff_of(prefs), caps, now)
                session.execute(
                    update(Member)
                    .where(Member.id == row.id)
                    .values(asked_to_continue_at=b.asked_at, holds=b.holds, held_until=b.held_until),
                    execution_options=_BY_ID,
                )


def plan_share_nudges(
    session: Session,
    workspace: Workspace,
    now: dt.datetime,
    settings: Settings,
    embedder: Embedder,
    *,
    indexes: MemberIndexes | None = None,
) -> list[Nudge]:
    """One tick: plan today's share nudges for every member whose local morning has come (`indexes`: as for
    `plan_help_nudges`)."""
    ws = workspace.id
    _lapse_unanswered(session, ws, loading.caps_from_settings(settings), now)
    rows = loading.member_rows(session, ws)
    due, mark = _due(rows, now, settings.passiton_morning_hour)
    out: list[Nudge] = []
    if due:
        indexes = indexes if indexes is not None else MemberIndexes()
        out = _plan_for(session, workspace, rows, due, now, settings, embedder, indexes)
    for day, ids in mark.items():
        for part in loading.chunks(ids):
            session.execute(
                update(Member).where(Member.id.in_(part)).values(last_planned_on=day),
                execution_options=_BY_ID,
            )
    return out


def _plan_for(
    session: Session, workspace: Workspace, rows: list[Any], due: list[Any], now: dt.datetime, settings: Settings,
    embedder: Embedder, indexes: MemberIndexes,
) -> list[Nudge]:  # fmt: skip
    """Today's share nudges for the members in `due`: load -> rank -> decide -> write."""
    ws = workspace.id
    caps = loading.caps_from_settings(settings)
    due_prefs = {r.id: loading.prefs_of(r) for r in due}
    _ask_to_continue(session, workspace, due, due_prefs, caps, settings, now)
    # Only this run's givers can be nudged: when none of them may be (most are in back-off after a few
    # unanswered weeks), the matching below would be thrown away.
    if not any(ready_for_nudges(p, caps, now) for p in due_prefs.values()):
        return []
    due_ids = frozenset(r.id for r in due)
    articles = _load_articles(session, ws, due_ids, now)
    if articles is None:
        return []
    state = loading.load_state(session, ws, rows, now, caps)
    small = settings.passiton_small_channel_members
    labels, matches = _rank_targets(session, ws, articles, embedder, now, small, indexes)
    proposals = _decide_shares(session, ws, articles, matches, state, due_ids, settings, now)
    out = write_nudges(session, workspace, _share_specs(articles, proposals, rows, labels), now)
    log.info(
        "share planning",
        extra={
            "workspace": workspace.team_id,
            "due": len(due),
            "items": len(articles.items),
            "nudges": len(out),
        },
    )
    return out


@dataclass
class _Articles:
    """Recent public articles that some of this run's givers saw, and who already has them."""

    items: list[Item]
    texts: list[str]
    channels: dict[int, Any]  # channel rows by id
    in_channel: dict[int, set[int]]  # channel id -> member ids
    saw: dict[int, set[int]]  # item id -> its channel's members and its author: who could pass it on
    reached: dict[int, set[int]]  # item id -> members it already reached
    already: set[tuple[int, int]]  # (item, target) pairs with a share nudge already
    engaged: dict[int, set[int]]  # item id -> members who reacted to it or replied in its thread


def _load_articles(session: Session, ws: int, due_ids: frozenset[int], now: dt.datetime) -> _Articles | None:
    """The articles of the last ARTICLE_WINDOW a giver due now saw; None when there are none."""
    items = list(
        session.scalars(
            select(Item)
            .where(
                Item.workspace_id == ws,
                Item.kind == "article",
                Item.source != "history",  # read by the backfill: nothing is sent about old messages
                Item.posted_at >= now - ARTICLE_WINDOW,
                Item.posted_at <= now,
                Item.deleted_at.is_(None),
                Item.closed_at.is_(None),
                Item.is_private.is_(False),
            )
            .order_by(Item.id)
        )
    )
    channel_rows = loading.channels(session, ws, {i.channel_id for i in items if i.channel_id is not None})
    # A channel that is private now keeps its items private, whatever the item row says.
    items = [
        i for i in items if i.channel_id not in channel_rows or not channel_rows[i.channel_id].is_private
    ]
    in_channel = loading.channel_members(
        session, ws, {i.channel_id for i in items if i.channel_id is not None}
    )

    def members_of(item: Item) -> set[int]:
        return set(in_channel.get(item.channel_id, ())) if item.channel_id is not None else set()

    saw = {i.id: members_of(i) | ({i.author_id} if i.author_id is not None else set()) for i in items}
    items = [i for i in items if saw[i.id] & due_ids]
    if not items:
        return None
    reached = loading.reached(session, ws, [i.id for i in items])
    engaged = loading.engaged(session, ws, [i.id for i in items])
    already = loading.nudged_pairs(session, ws, [i.id for i in items])
    texts = [loading.item_text(i) for i in items]
    return _Articles(items, texts, channel_rows, in_channel, saw, reached, already, engaged)


def _rank_targets(
    session: Session,
    ws: int,
    articles: _Articles,
    embedder: Embedder,
    now: dt.datetime,
    small: int,
    indexes: MemberIndexes,
) -> tuple[dict[str, tuple[int, str]], dict[int, list[Candidate]]]:
    """The topic labels, and per article the members whose interests match it (targets), best first;
    nobody who has seen it (an act, or membership of a channel of at most `small` members) or was already
    nudged about it."""
    items = articles.items
    emb = with_store_cache(embedder, session, ws)
    index = indexes.member_index(session, ws, "interest", emb, now)
    nudged: dict[int, set[int]] = defaultdict(set)
    for item_id, target_id in articles.already:
        nudged[item_id].add(target_id)

    def seen(item: Item) -> set[int]:
        """Who has seen it ("seen" is an act, or a small channel's membership; bot/policy/share.py)."""
        in_it = articles.in_channel.get(item.channel_id, set()) if item.channel_id is not None else set()
        out = articles.reached.get(item.id, set()) | (set(in_it) if len(in_it) <= small else set())
        return out | ({item.author_id} if item.author_id is not None else set())

    exclude = [[str(m) for m in seen(i) | nudged[i.id]] for i in items]
    ranked = rank_items(
        index, [str(i.id) for i in items], articles.texts, emb.embed(articles.texts),
        authors=[str(i.author_id) if i.author_id else None for i in items], k=SHARE_TARGETS_PER_ITEM, exclude=exclude,
    )  # fmt: skip
    labels = loading.topic_labels(session, ws)
    # A few topics label thousands of matches: look each one up once.
    label_of = {t: _label(labels, t)[1] for t in {m.topic for r in ranked for m in r.matches}}
    matches = {
        int(r.item_id): [
            Candidate(int(m.member_id), m.score, m.topic, label_of[m.topic], m.driver) for m in r.matches
        ]
        for r in ranked
    }
    return labels, matches


def _decide_shares(
    session: Session, ws: int, articles: _Articles, matches: dict[int, list[Candidate]], state: PolicyState,
    due_ids: frozenset[int], settings: Settings, now: dt.datetime,
) -> list[ShareProposal]:  # fmt: skip
    """The policy's picks: which giver passes which article to which target, and when."""
    targets = {c.member_id for cands in matches.values() for c in cands}
    # Only this run's givers can pass an item on: their ties are the only ones plan_shares can use.
    ties = loading.ties_for(
        session, ws, targets, now, loading.public_channel_names(session, ws), others=due_ids
    )
    muted = set().union(*state.muted_topics.values()) if state.muted_topics else set()
    named = _namer(muted)
    channel_rows, in_channel = articles.channels, articles.in_channel
    share_items = [
        ShareItem(
            id=i.id,
            author_id=i.author_id,
            channel_id=i.channel_id,
            channel_name=channel_rows[i.channel_id].name if i.channel_id in channel_rows else None,
            is_private=bool(i.is_private),
            channel_members=frozenset(in_channel.get(i.channel_id, set()))
            if i.channel_id is not None
            else frozenset(),
            seen_by=frozenset(articles.reached.get(i.id, set())),
            topics_named=named(text),
            engaged=frozenset(articles.engaged.get(i.id, set())),
        )
        for i, text in zip(articles.items, articles.texts, strict=True)
    ]
    return plan_shares(
        share_items, matches, ties, state, now, morning_hour=settings.passiton_morning_hour, givers=due_ids,
        already=frozenset(articles.already), small_channel=settings.passiton_small_channel_members,
    )  # fmt: skip


def _share_specs(
    articles: _Articles, proposals: list[ShareProposal], rows: list[Any], labels: dict[str, tuple[int, str]]
) -> list[NudgeSpec]:
    """The nudges to write for the policy's picks, each with the message its giver will see."""
    by_id = {i.id: i for i in articles.items}
    row_of = {r.id: r for r in rows}
    channel_rows = articles.channels
    specs: list[NudgeSpec] = []
    for p in proposals:
        item = by_id[p.item_id]
        topic_id, label = _label(labels, p.topic)
        view = NudgeView(
            nudge_id=0,
            kind="share",
            reason=p.reason,
            title=item.title,
            url=_item_url(item),
            channel_name=channel_rows[item.channel_id].name if item.channel_id in channel_rows else None,
            text=item.text,
            topic_label=label,
            target_name=loading.display_name(row_of[p.target_id]),
        )
        specs.append(
            NudgeSpec(
                "share", row_of[p.giver_id], item, p.target_id, topic_id, p.reason, p.score, p.send_at, view
            )
        )
    return specs
