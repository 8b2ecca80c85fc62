"""Replay an export through the code that runs live, in frozen time, against a throwaway database.

Per message, in time order, the pipeline the live listener runs after its Slack lookups
(`bot.ingest.pipeline.process_message`: understand, store, plan help nudges, settle answered help; here its
follow-ups run at once on the replay's session, each write in a savepoint), with joins and leaves to channel
membership and the export's reactions to ties, then the in-channel expertise answer
(`bot.answers.service.answer_in_channel`). The jobs tick
(`plan_share_nudges`) runs on a simulated clock at each member time zone's morning, and the outbox is drained by
the live `Drainer` at each message's due time with a sender that records instead of sending. Every call
gets `now` = the simulated instant; members keep their own time zones from users.json. The clock is
event-driven: a morning whose tick would only mark members planned for the day (nothing to lapse, nobody to
ask, no article in the window for anyone due and ready; `bot.nudges.share_tick`) is skipped and its marks
are written later, so a replay costs what happens in the export, not how many days it spans.

What differs from live, and why:
- DMs and group DMs are not read: a bot is never in people's private conversations.
- Channel membership starts as channels.json lists it, minus people who join during the export and plus
  people who leave, and then follows the join/leave messages.
- Nobody presses a button, so unanswered nudges count towards the back-off as live; a help nudge whose
  recipient replied in the thread counts as acted on, as live.
- Plumbing is batched for speed: item texts of a day are embedded in one call before the day is replayed
  (the planners then find them in the embedder's cache), and the database commits once per day and
  whenever the outbox is drained.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.delivery.drain import Drainer
from bot.delivery.senders import ClaimedMessage, SenderRegistry, SendResult
from bot.ingest.messages import understand
from bot.ingest.pipeline import (
    FollowUp,
    IncomingMessage,
    Outcome,
    incoming_message,
    process_message,
    record_reactions,
)
from bot.ingest.profiles import apply_profile
from bot.ingest.slack_sync import ChannelFacts, add_channel_member, remove_channel_member, store_channel
from bot.matching.embedders import CachedEmbedder
from bot.nudges.expiry import cancel_reason
from bot.nudges.links import domain_of
from bot.nudges.loading import item_text
from bot.nudges.member_index import MemberIndexes
from bot.nudges.planner import plan_share_nudges
from bot.nudges.share_tick import ShareOutlook, has_work, mark_planned, read_outlook
from bot.policy.time import at_local
from bot.replay.infer import Inferred, infer_topics, vocabulary
from bot.replay.model import Export, ExportChannel, ExportMessage, ExportUser, Problem
from bot.replay.profiles import LoadedProfiles
from bot.store.db import Database, make_engine
from bot.store.models import Channel, Item, Member, Nudge, OutboxMessage, ThreadReply, Workspace
from bot.store.queries.members import add_member_topics, set_public_expertise
from bot.store.queries.relationships import assume_new_ties
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)

REPLAY_TEAM = "TREPLAY"
READ_KINDS = ("channel", "group")  # public and private channels; never DMs
# After the last message the clock runs on this long, so the last day's articles get their mornings.
RUN_ON = dt.timedelta(days=1)
JOIN_SUBTYPES = frozenset({"channel_join", "group_join"})
LEAVE_SUBTYPES = frozenset({"channel_leave", "group_leave"})
# The pipeline's follow-ups as the replay's problems name them.
FOLLOW_UPS = {"plan_help": "planning help nudges", "cancel_help": "cancelling answered help"}


@dataclass(frozen=True)
class ReplayOptions:
    start: dt.date | None = None  # first UTC day replayed (inclusive)
    end: dt.date | None = None  # last UTC day replayed (inclusive)
    infer_interests: bool = False
    # Run the jobs tick at every time zone's morning, including those that would only mark members planned
    # (the clock skips them otherwise): slower over long exports, the same decisions; for checking that.
    every_tick: bool = False
    # The workspace's address, for links to earlier messages in answers (an export does not carry it).
    slack_url: str = "https://your-workspace.slack.com"


@dataclass(frozen=True)
class SentMessage:
    """An outbox message the live drain would have handed to Slack at `at`."""

    outbox_id: int
    kind: str
    nudge_id: int | None
    recipient_id: int | None
    at: dt.datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class AnswerRecord:
    """An in-channel expertise answer the bot would have posted in the question's thread."""

    at: dt.datetime
    channel_id: str
    channel_name: str
    question_ts: str
    asker_id: str | None
    question: str
    text: str
    blocks: list[dict[str, Any]]
    expert_ids: tuple[int, ...]
    item_ids: tuple[int, ...]


@dataclass
class ReplayStats:
    messages: int = 0  # messages in the export
    replayed: int = 0  # messages passed to the ingest
    outside_range: int = 0
    private_conversations: int = 0  # DM / group DM messages not read
    ignored: int = 0  # bot messages, system messages, tombstones (the ingest ignores them)
    edits: int = 0
    deletions: int = 0
    joins: int = 0
    leaves: int = 0
    ticks: int = 0  # jobs ticks run
    ticks_skipped: int = 0  # jobs ticks that would only have marked members planned for the day
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    items: dict[str, int] = field(default_factory=dict)


@dataclass
class ReplayRun:
    """What the replay left behind: the database with its nudges and outbox, and what happened on the way."""

    db: Database
    workspace_id: int
    export: Export
    stats: ReplayStats
    answers: list[AnswerRecord]
    sent: list[SentMessage]
    problems: list[Problem]
    inferred: dict[str, Inferred]
    stated: frozenset[str]  # Slack ids of members with stated topics


class RecordingSender:
    """The outbox sender for a replay: keeps what would have been sent, sends nothing anywhere."""

    def __init__(self) -> None:
        self.now = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.sent: list[SentMessage] = []

    def send(self, message: ClaimedMessage) -> SendResult:
        self.sent.append(
            SentMessage(
                message.id, message.kind, message.nudge_id, message.recipient_id, self.now, message.payload
            )
        )
        user = str(message.payload.get("user") or message.payload.get("channel") or "")
        return SendResult(channel=f"replay:{user}", ts=f"{self.now.timestamp():.6f}")


@contextmanager
def temporary_database() -> Iterator[Database]:
    """A migrated SQLite database in a temporary folder, removed afterwards."""
    from bot.store.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="passiton-replay-") as folder:
        url = f"sqlite:///{Path(folder) / 'replay.db'}"
        upgrade(url)
        engine = make_engine(url)
        # A throwaway database: durability buys nothing here, and syncing to disk costs most of the time.
        event.listen(engine, "connect", _no_sync)
        try:
            yield Database(engine)
        finally:
            engine.dispose()


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def slack_user(user: ExportUser) -> dict[str, Any]:
    """An export user as the Slack user object the live profile sync reads."""
    return {
        "id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "tz": user.tz,
        "is_bot": user.is_bot,
        "is_app_user": user.is_app_user,
        "deleted": user.deleted,
        "is_restricted": user.is_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "profile": {"display_name": user.display_name, "real_name": user.real_name, "email": user.email},
    }


def slack_event(m: ExportMessage) -> dict[str, Any]:
    """An export message as the `message` event Slack would have sent for it."""
    attachments = [
        {
            "title": a.title,
            "text": a.text,
            "fallback": a.fallback,
            "service_name": a.service_name,
            **({"from_url": a.url} if a.is_unfurl and a.url else {"title_link": a.url} if a.url else {}),
        }
        for a in m.attachments
    ]
    body: dict[str, Any] = {
        "type": "message",
        "ts": m.target_ts if m.subtype == "message_changed" and m.target_ts else m.ts,
        "user": m.user,
        "text": m.text or m.plain,
        "attachments": attachments,
    }
    for key, value in (
        ("thread_ts", m.thread_ts),
        ("parent_user_id", m.parent_user_id),
        ("bot_id", m.bot_id),
    ):
        if value is not None:
            body[key] = value
    if m.subtype == "message_changed":
        return {"type": "message", "subtype": "message_changed", "channel": m.channel_id, "ts": m.ts,
                "message": body}  # fmt: skip
    if m.subtype == "message_deleted":
        return {"type": "message", "subtype": "message_deleted", "channel": m.channel_id, "ts": m.ts,
                "deleted_ts": m.target_ts}  # fmt: skip
    event = {**body, "channel": m.channel_id}
    if m.subtype is not None:
        event["subtype"] = m.subtype
    if m.is_bot and "bot_id" not in event:
        event["bot_id"] = m.bot_id or "B0REPLAY"
    return event


def membership_events(export: Export) -> dict[str, dict[str, str]]:
    """By channel id: each member's first membership event in the export ("join" or "leave")."""
    first: dict[str, dict[str, str]] = {}
    for m in export.messages:
        if m.user and (m.subtype in JOIN_SUBTYPES or m.subtype in LEAVE_SUBTYPES):
            first.setdefault(m.channel_id, {}).setdefault(
                m.user, "join" if m.subtype in JOIN_SUBTYPES else "leave"
            )
    return first


def initial_members(conv: ExportChannel, first: dict[str, str]) -> tuple[str, ...]:
    """Who was in the channel when the export begins: its final members, minus those whose first
    membership event in the export is a join, plus those whose first is a leave."""
    members = [u for u in conv.members if first.get(u) != "join"]
    members += [u for u, what in first.items() if what == "leave" and u not in conv.members]
    return tuple(dict.fromkeys(members))


class Replayer:
    def __init__(
        self,
        export: Export,
        db: Database,
        settings: Settings,
        embedder: CachedEmbedder,
        *,
        profiles: LoadedProfiles | None = None,
        options: ReplayOptions | None = None,
        llm: Any | None = None,
    ) -> None:
        self.export = export
        self.db = db
        self.settings = settings
        self.embedder = embedder
        # The replay's own member index cache, as a live process has the runtime's.
        self.member_indexes = MemberIndexes()
        self.profiles = profiles
        self.options = options or ReplayOptions()
        self.llm = llm
        self.stats = ReplayStats(messages=len(export.messages))
        self.problems: list[Problem] = list(export.problems) + list(profiles.problems if profiles else ())
        self.answers: list[AnswerRecord] = []
        self.sender = RecordingSender()
        registry = SenderRegistry()
        for kind in ("slack_dm", "slack_post", "slack_update", "email"):
            registry.register(kind, self.sender)
        # The live relevance check with this run's settings (what counts as a small channel).
        self.drainer = Drainer(
            db,
            registry,
            batch_size=200,
            nudge_check=partial(cancel_reason, small_channel=settings.passiton_small_channel_members),
        )
        self.session: Session = sessionmaker(db.engine, expire_on_commit=False)()
        # Nudge and outbox objects the session holds (weakly, as its identity map does): the drain changes
        # their rows behind the session's back, so they are expired after each drain.
        self._drained_kinds: weakref.WeakSet[Nudge | OutboxMessage] = weakref.WeakSet()
        event.listen(self.session, "loaded_as_persistent", self._track)
        event.listen(self.session, "pending_to_persistent", self._track)
        self.channels: dict[str, Channel] = {}
        self.inferred: dict[str, Inferred] = {}
        self.next_due: dt.datetime | None = None
        self.ticks: deque[dt.datetime] = deque()
        # Ticks skipped since their marks were last written, and what the store said about the ticks to come
        # (None once anything was written since).
        self._skipped: list[dt.datetime] = []
        self._outlook: ShareOutlook | None = None
        self.known: set[str] = set()
        self.members: dict[str, Member] = {}
        self._floor: dt.datetime | None = None
        self._problem_counts: dict[tuple[str, str], int] = {}
        # Per export message (by id: they live as long as the run), what `_prime` read of it for `_handle`.
        self._read_ahead: dict[int, IncomingMessage] = {}

    def _track(self, _session: Session, obj: object) -> None:
        if isinstance(obj, Nudge | OutboxMessage):
            self._drained_kinds.add(obj)

    # -- setup ------------------------------------------------------------------------------------

    def _setup(self, start: dt.datetime) -> Workspace:
        s = self.session
        # One session writes every tie of this fresh database, and those it has not seen are new ones.
        assume_new_ties(s)
        workspace = ensure_workspace(s, REPLAY_TEAM, name="replay")
        # As auth.test tells the live app: help DMs link to their question under the workspace's domain.
        workspace.domain = domain_of(self.options.slack_url)
        workspace.welcome_dm = False  # the replay previews nudges and answers, not onboarding
        for user in self.export.users.values():
            apply_profile(s, workspace, slack_user(user))
            self.known.add(user.id)
        s.flush()
        events = membership_events(self.export)
        for conv in self.export.channels.values():
            if conv.kind not in READ_KINDS:
                continue
            facts = ChannelFacts(conv.id, conv.name, conv.is_private, conv.is_archived,
                                 initial_members(conv, events.get(conv.id, {})))  # fmt: skip
            self.channels[conv.id] = store_channel(s, workspace, facts, start)
        stated = self.profiles.by_user if self.profiles else {}
        members = {
            m.slack_user_id: m for m in s.scalars(select(Member).where(Member.workspace_id == workspace.id))
        }
        for user_id, profile in stated.items():
            member = members.get(user_id)
            if member is None:
                continue
            if profile.opted_in:
                member.opted_in = True  # "count me in" with nothing stated
            if profile.interests:
                add_member_topics(s, workspace, member, "interest", profile.interests)
            if profile.expertise:
                add_member_topics(s, workspace, member, "expertise", profile.expertise)
                if profile.public:
                    set_public_expertise(s, member, profile.expertise, True)
            self._helped_before(workspace, user_id, member, profile.helped, start)
        self.members = {uid: m for uid, m in members.items() if uid}
        if self.options.infer_interests:
            self._infer(workspace, members, set(stated))
        s.commit()
        return workspace

    def _helped_before(
        self, workspace: Workspace, user_id: str, member: Member, questions: Sequence[str], start: dt.datetime
    ) -> None:
        """Questions a profile says the member answered before the export: stored as the live bot stores
        observed help (an answered question and the member's thread reply), the day before the replay
        starts, outside any channel, so they inform matching and are never planned or cited."""
        at = start - dt.timedelta(days=1)
        for n, text in enumerate(questions):
            item = Item(
                workspace_id=workspace.id, source_key=f"profile:{user_id}:{n}", source="profile",
                kind="question", text=text, posted_at=at, answered_at=at, created_at=at,
            )  # fmt: skip
            self.session.add(item)
            self.session.flush()
            self.session.add(
                ThreadReply(workspace_id=workspace.id, item_id=item.id, member_id=member.id, replied_at=at)
            )

    def _permalink(self, channel: str, ts: str) -> str:
        """Slack's message link, as chat.getPermalink gives it for a message outside a thread."""
        return f"{self.options.slack_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"

    def _infer(self, workspace: Workspace, members: dict[str | None, Member], stated: set[str]) -> None:
        """Inferred topics for members who stated none; they count as opted in for the replay only."""
        known: list[str] = []
        for profile in self.profiles.by_user.values() if self.profiles else ():
            known += [*profile.interests, *profile.expertise]
        skip = stated | {u.id for u in self.export.users.values() if u.is_bot or u.deleted}
        self.inferred = infer_topics(self.export.messages, vocabulary(known), skip_users=skip)
        for user_id, topics in self.inferred.items():
            member = members.get(user_id)
            if member is None:
                continue
            if topics.interests:
                add_member_topics(
                    self.session, workspace, member, "interest", topics.interests, source="inferred"
                )
            if topics.expertise:
                add_member_topics(
                    self.session, workspace, member, "expertise", topics.expertise, source="inferred"
                )
            member.opted_in = True  # as if they had confirmed what was proposed to them

    # -- the clock ----------------------------------------------------------------------------------

    def _refresh_due(self) -> None:
        query = select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
        if self._floor is not None:
            query = query.where(OutboxMessage.next_attempt_at > self._floor)
        self.next_due = self.session.scalar(query)

    def _deliver(self, now: dt.datetime) -> None:
        """The live drain at `now`; our session commits first (SQLite has one writer) and forgets the nudge
        and outbox rows it held, since the drain changes them behind its back."""
        self.session.commit()
        self.sender.now = now
        self.drainer.drain(now)
        self._outlook = None  # sent nudges start their wait for an answer
        # The drain writes nudge and outbox rows only; what else the session holds is still current. Only
        # those are expired, found through the set the session events fill (the identity map holds far more).
        for obj in list(self._drained_kinds):
            if obj in self.session:
                self.session.expire(obj)
        self._refresh_due()

    def _ticks(self, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
        """When the jobs tick has something to do: the local morning of every time zone among the members,
        each day (the share planner takes members whose morning has come, once a day). Ticking at every
        hour finds the same members, only later for zones with a half-hour offset, and costs far more."""
        zones = set(self.session.scalars(select(Member.tz).where(Member.is_bot.is_(False)).distinct()))
        minute = self.settings.passiton_morning_hour * 60
        out: set[dt.datetime] = set()
        day = first.date() - dt.timedelta(days=1)
        while day <= last.date() + dt.timedelta(days=1):
            for tz in zones:
                at = at_local(tz or "UTC", day, minute)
                if first <= at <= last:
                    out.add(at)
            day += dt.timedelta(days=1)
        return sorted(out)

    def _share_work(self, workspace: Workspace, tick: dt.datetime) -> bool:
        """Whether the jobs tick at `tick` would write anything but members' marks (see share_tick)."""
        if self.options.every_tick:
            return True
        outlook = self._outlook
        if outlook is None or (outlook.valid_until is not None and tick >= outlook.valid_until):
            outlook = self._outlook = read_outlook(self.session, workspace.id, self.settings, tick)
        return has_work(outlook, tick, self.settings, self._skipped)

    def _mark_skipped(self, workspace: Workspace) -> None:
        """Write the marks of the ticks skipped so far, before anything that could read them or change who
        they apply to (a message, a tick that runs)."""
        if self._skipped:
            mark_planned(self.session, workspace.id, self._skipped, self.settings.passiton_morning_hour)
            self._skipped = []
            self._outlook = None

    def _advance(self, workspace: Workspace, until: dt.datetime) -> None:
        """Run the deliveries and jobs ticks due up to `until`, in time order. Event-driven: a tick that would
        only mark members planned for the day is skipped (its marks are written later, together), so the
        cost follows what happens rather than how many days the export spans."""
        try:
            self._advance_to(workspace, until)
        finally:
            self._mark_skipped(workspace)

    def _advance_to(self, workspace: Workspace, until: dt.datetime) -> None:
        while True:
            tick = self.ticks[0] if self.ticks else None
            if tick is not None and tick > until:
                tick = None
            due = self.next_due if self.next_due is not None and self.next_due <= until else None
            if tick is None and due is None:
                return
            if due is not None and (tick is None or due < tick):
                self._deliver(due)
                if self.next_due is not None and self.next_due <= due:
                    # Nothing the drain could take (it never happens with every kind registered): move on
                    # rather than loop, and say so.
                    self._problem("outbox", "messages the drain did not take; left queued")
                    self._floor = due
                    self._refresh_due()
                continue
            assert tick is not None
            self.ticks.popleft()
            # The tick drains first; with nothing due, that drain has nothing to do (and a skipped tick skips it).
            delivered = self.next_due is not None and self.next_due <= tick
            if delivered:
                self._deliver(tick)
            if not self._share_work(workspace, tick):
                self._skipped.append(tick)
                self.stats.ticks_skipped += 1
                continue
            self._mark_skipped(workspace)
            if not delivered:
                self._deliver(tick)
            self._guarded(
                "share planning",
                "",
                partial(
                    plan_share_nudges,
                    self.session,
                    workspace,
                    tick,
                    self.settings,
                    self.embedder,
                    indexes=self.member_indexes,
                ),
            )
            self.stats.ticks += 1
            self._outlook = None
            self._refresh_due()

    # -- messages -----------------------------------------------------------------------------------

    def _problem(self, file: str, what: str) -> None:
        key = (file, what)
        self._problem_counts[key] = self._problem_counts.get(key, 0) + 1

    def _guarded(self, what: str, file: str, call: Callable[[], Any], *, writes: bool = True) -> Any:
        """A planner or answer failure is logged and counted, never the end of the replay (as live). A call
        that `writes` runs in a savepoint, so its failure leaves nothing half-written; a read needs none."""
        try:
            if not writes:
                return call()
            with self.session.begin_nested():
                return call()
        except Exception as exc:
            log.debug("replay step failed", exc_info=True)
            self._problem(file or "replay", f"{what} failed ({type(exc).__name__}: {str(exc)[:120]})")
            return None

    def _prime(self, batch: Sequence[ExportMessage]) -> None:
        """Embed the day's would-be items in one call, so the planners find them in the cache."""
        texts: list[str] = []
        for m in batch:
            if m.channel_id not in self.channels or m.is_bot or not m.user or m.is_reply:
                continue
            incoming = incoming_message(
                slack_event(m), None, is_private=self.channels[m.channel_id].is_private
            )
            if incoming is None or incoming.action == "deleted":
                continue
            understood = understand(incoming.message)
            self._read_ahead[id(m)] = replace(incoming, understood=understood)
            if understood.kind != "chatter":
                texts.append(item_text(SimpleNamespace(
                    title=understood.title, description=understood.description, text=understood.text)))  # fmt: skip
        if texts:
            self.embedder.embed(list(dict.fromkeys(texts)))

    def _handle(self, workspace: Workspace, m: ExportMessage, now: dt.datetime) -> None:
        s = self.session
        ahead = self._read_ahead.pop(id(m), None)  # what _prime made of it, if it read it
        channel = self.channels.get(m.channel_id)
        if channel is None:
            self.stats.private_conversations += 1
            return
        if m.subtype in JOIN_SUBTYPES or m.subtype in LEAVE_SUBTYPES:
            member = self._member(workspace, m.user)
            if member is not None:
                if m.subtype in JOIN_SUBTYPES:
                    add_channel_member(s, workspace, channel, member)
                    self.stats.joins += 1
                else:
                    remove_channel_member(s, channel, member)
                    self.stats.leaves += 1
            return
        incoming = ahead or incoming_message(slack_event(m), None, is_private=channel.is_private)
        if incoming is None:
            self.stats.ignored += 1
            return
        self.stats.replayed += 1
        if incoming.action == "deleted":
            self.stats.deletions += 1
        elif incoming.action == "changed":
            self.stats.edits += 1

        def after_store(outcome: Outcome) -> None:
            if outcome.stored.created and outcome.stored.item is not None:
                kind = outcome.stored.item.kind
                self.stats.items[kind] = self.stats.items.get(kind, 0) + 1
            if incoming.action == "new":
                self._reactions(workspace, m, channel, now)

        def run(step: FollowUp) -> Any:
            """As live, a failure is counted, never the end of the replay; the check needs no savepoint."""
            what = FOLLOW_UPS[step.name]
            if not self._guarded(what, m.file, lambda: step.check(s), writes=False):
                return None
            done = self._guarded(what, m.file, lambda: step.write(s))
            if step.name == "plan_help" and done:  # no nudge planned, no outbox row: the next due time stands
                self._refresh_due()
            return done

        process_message(
            s, workspace, channel, incoming, now=now, settings=self.settings, embedder=lambda: self.embedder,
            run=run, after_store=after_store, author_known=incoming.message.user in self.known,
            indexes=self.member_indexes,
        )  # fmt: skip
        if incoming.action == "new" and incoming.message.user:
            self._answer(workspace, m, incoming.message.text, now)

    def _member(self, workspace: Workspace, user_id: str | None) -> Member | None:
        if not user_id:
            return None
        member = self.members.get(user_id)
        if member is None:
            member = self.session.scalars(
                select(Member).where(Member.workspace_id == workspace.id, Member.slack_user_id == user_id)
            ).first()
            if member is not None:
                self.members[user_id] = member
        return member

    def _reactions(self, workspace: Workspace, m: ExportMessage, channel: Channel, now: dt.datetime) -> None:
        """Reactions as the live reaction listener records them (a tie between reactor and author); the
        export does not say when they were added, so at the message's time."""
        if not m.reactions or not m.user:
            return
        author = self._member(workspace, m.user)
        if author is None:
            return
        reactors = (self._member(workspace, u) for r in m.reactions for u in r.users if u != m.user)
        record_reactions(self.session, workspace, channel, author, reactors, now, message_ts=m.ts)

    def _answer(self, workspace: Workspace, m: ExportMessage, text: str, now: dt.datetime) -> None:
        from bot.answers.detect import detect
        from bot.answers.service import ChannelQuestion, answer_in_channel

        if detect(text, workspace.bot_user_id) is None:  # cheap, as live: most messages stop here
            return
        question = ChannelQuestion(
            channel=m.channel_id, ts=m.ts, user=m.user, text=text, thread_ts=m.thread_ts
        )
        reply = self._guarded("expertise answer", m.file, lambda: answer_in_channel(
            self.session, workspace, question, now, self.settings, self.embedder, self.llm,
            permalink_for=self._permalink, indexes=self.member_indexes))  # fmt: skip
        self._refresh_due()
        if reply is None:
            return
        conv = self.export.channels.get(m.channel_id)
        self.answers.append(
            AnswerRecord(
                at=now, channel_id=m.channel_id, channel_name=conv.name if conv else m.channel_id,
                question_ts=m.ts, asker_id=m.user, question=m.plain or m.text, text=reply.text,
                blocks=reply.blocks, expert_ids=tuple(reply.expert_ids), item_ids=tuple(reply.item_ids),
            )
        )  # fmt: skip

    # -- the run ------------------------------------------------------------------------------------

    def selected(self) -> list[ExportMessage]:
        lo = self.options.start
        hi = self.options.end
        out = []
        for m in self.export.messages:
            day = m.posted_at.date()
            if (lo is not None and day < lo) or (hi is not None and day > hi):
                self.stats.outside_range += 1
                continue
            out.append(m)
        return out

    def run(
        self, on_message: Callable[[int], None] | None = None, on_day: Callable[[int], None] | None = None
    ) -> ReplayRun:
        """Replay the selected messages. `on_message(n)`: n more messages replayed; `on_day(d)`: the first d
        days of the span (see `span_days`) are done, quiet ones included (for a progress display)."""
        messages = self.selected()
        first = messages[0].posted_at if messages else dt.datetime.now(dt.UTC)
        self.stats.first = first
        self.stats.last = messages[-1].posted_at if messages else first
        # Ticks fall on whole hours of export time, starting before the first message.
        start = first.replace(minute=0, second=0, microsecond=0)
        workspace = self._setup(start)
        self.ticks = deque(self._ticks(start, self.stats.last + RUN_ON))
        done = 0
        for day, batch in _by_day(messages):
            self._prime(batch)
            for m in batch:
                now = m.posted_at
                self._advance(workspace, now)
                self._handle(workspace, m, now)
                self._outlook = None  # the message may have changed what the next tick has to do
                done += 1
                if on_message is not None and done % 64 == 0:
                    on_message(64)
            self.session.commit()
            if on_day is not None:
                on_day((day - first.date()).days + 1)
        if on_message is not None and done % 64:
            on_message(done % 64)
        assert self.stats.last is not None
        self._advance(workspace, self.stats.last + RUN_ON)
        workspace_id = workspace.id
        self.session.commit()
        self.session.close()
        for (file, what), count in sorted(self._problem_counts.items()):
            self.problems.append(Problem(file, what, count))
        return ReplayRun(
            db=self.db, workspace_id=workspace_id, export=self.export, stats=self.stats, answers=self.answers,
            sent=self.sender.sent, problems=self.problems, inferred=self.inferred,
            stated=frozenset(self.profiles.by_user) if self.profiles else frozenset(),
        )  # fmt: skip


def span_days(messages: Sequence[ExportMessage]) -> int:
    """How many UTC calendar days the messages span, from the first one's day to the last one's."""
    if not messages:
        return 0
    return (messages[-1].posted_at.date() - messages[0].posted_at.date()).days + 1


def _by_day(messages: Sequence[ExportMessage]) -> Iterator[tuple[dt.date, list[ExportMessage]]]:
    day: dt.date | None = None
    batch: list[ExportMessage] = []
    for m in messages:
        d = m.posted_at.date()
        if d != day and batch:
            assert day is not None
            yield day, batch
            batch = []
        day = d
        batch.append(m)
    if batch and day is not None:
        yield day, batch


def item_kinds(session: Session, workspace_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Item.kind, func.count(Item.id)).where(Item.workspace_id == workspace_id).group_by(Item.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}
