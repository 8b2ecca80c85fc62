"""The message pipeline: a posted message is understood, stored, matched and planned here, once.

The live listener (`bot.ingest.events.handle_message`, after its Slack lookups), the replay
(`bot.replay.runner`) and a history backfill all call `process_message`; what differs between them is
said in its arguments, not in copies of the steps:

- `run` (a `Runner`) decides where each follow-up (planning help nudges for a new question, settling the
  help nudges of a question that just got its first answer) runs. Live, each runs after the message's own
  transaction has committed, in a transaction of its own that rides out a database restart, so a planner
  failure never loses the message. The replay runs them at once on its one session, the writes in a
  savepoint, a failure counted as a problem.
- `plan=False` stores and settles without planning nudges: for old messages (a backfill), whose moment
  has passed.
- `after_store` runs between storing and planning (the live page fetch; the replay's export reactions).

Every follow-up is a read-only check and a write: a runner may skip the write, and the savepoint around
it, when the check says there is nothing to do (most questions in a quiet workspace).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.ingest.messages import (
    IngestResult,
    Message,
    Understood,
    action_for,
    ingest_changed,
    ingest_deleted,
    ingest_new,
    item_by_key,
    understand,
)
from bot.nudges.member_index import MemberIndexes
from bot.nudges.planner import anyone_to_ask, cancel_answered_help, help_to_settle, plan_help_nudges
from bot.store.models import Channel, Item, Member, Nudge, Workspace
from bot.store.queries.reaches import record_reach
from bot.store.queries.relationships import record_interaction

T = TypeVar("T")
StepName = Literal["plan_help", "cancel_help"]


@dataclass(frozen=True)
class IncomingMessage:
    """A message to process: what happened to it (posted, edited, deleted) and where.

    `understood` is what `understand(message)` gave, when the caller has it already (the replay reads a
    day's messages ahead to embed them in one call). `source` is stored on a new item: "history" for what a
    backfill read, which no share nudge is planned about."""

    action: Literal["new", "changed", "deleted"]
    message: Message
    is_private: bool = False
    understood: Understood | None = None
    source: str = "slack"


def incoming_message(
    event: dict[str, Any], bot_user_id: str | None, *, is_private: bool = False
) -> IncomingMessage | None:
    """The message a `message` (or `app_mention`) event is about, or None when there is nothing to process
    (bots, joins and other noise)."""
    action, message = action_for(event, bot_user_id)
    if action == "ignore" or message is None:
        return None
    return IncomingMessage(action, message, is_private)


@dataclass(frozen=True)
class FollowUp:
    """One step after storing: `check` only reads and says whether `write` could change anything."""

    name: StepName
    check: Callable[[Session], bool]
    write: Callable[[Session], Any]


class Runner(Protocol):
    def __call__(self, step: FollowUp, /) -> Any:
        """Run `step` (its write only if its check says yes); the write's result, or None."""
        ...


@dataclass
class Outcome:
    """What processing a message did, for the caller's metrics and bookkeeping."""

    stored: IngestResult = field(default_factory=IngestResult)
    deleted: bool = False
    planned: list[Nudge] | None = None  # what the help planning wrote (None: not planned)
    item_id: int | None = None
    answered_id: int | None = None


def store_message(
    session: Session,
    workspace: Workspace,
    channel: Channel | None,
    incoming: IncomingMessage,
    *,
    author_known: bool = False,
) -> Outcome:
    """Understand and store the message (item, thread reply, interactions), in the caller's transaction.

    `author_known`: the caller knows the author is stored already (the replay keeps them); then a new
    top-level message that mentions nobody and is chatter writes nothing, and no query finds that out."""
    message = incoming.message
    if incoming.action == "deleted":
        return Outcome(deleted=ingest_deleted(session, workspace, message))
    if incoming.action == "changed":
        stored = ingest_changed(session, workspace, channel, message, is_private=incoming.is_private)
    else:
        understood = incoming.understood
        if author_known and not message.is_reply and not message.mentions:
            understood = understood if understood is not None else understand(message)
            if understood.kind == "chatter":
                return Outcome()
        stored = ingest_new(
            session, workspace, channel, message, is_private=incoming.is_private, understood=understood,
            source=incoming.source,
        )  # fmt: skip
    return Outcome(
        stored=stored,
        item_id=stored.item.id if stored.item is not None else None,
        # Every reply to a question, not only its first answer: a later one may come from someone who was
        # nudged about it (even a lapsed nudge), which is engagement.
        answered_id=stored.replied.id if stored.replied is not None else None,
    )


def help_nudges(
    item_id: int,
    now: dt.datetime,
    settings: Settings,
    embedder: Callable[[], Any],
    *,
    exclude: Collection[int] = (),
    indexes: MemberIndexes | None = None,
) -> FollowUp:
    """Plan help nudges for a stored question or ask (`exclude`: members who must not be asked).

    `embedder` is called only when there is a question to plan for: a process that never sees one (or has
    no model) does not load it."""

    def load(session: Session) -> tuple[Workspace, Item] | None:
        item = session.get(Item, item_id)
        if item is None or item.deleted_at is not None:
            return None
        workspace = session.get(Workspace, item.workspace_id)
        assert workspace is not None
        return workspace, item

    def check(session: Session) -> bool:
        found = load(session)
        return found is not None and anyone_to_ask(
            session, *found, now, settings, embedder(), exclude=exclude, indexes=indexes
        )

    def write(session: Session) -> list[Nudge]:
        found = load(session)
        assert found is not None
        return plan_help_nudges(
            session, *found, now, settings, embedder(), exclude=exclude, checked=True, indexes=indexes
        )

    return FollowUp("plan_help", check, write)


def settle_answered(item_id: int, now: dt.datetime) -> FollowUp:
    """A question just got a reply: on its first answer its unsent help nudges lose their moment, and a
    helper who replied has acted on theirs (also after it lapsed: engagement that ends their back-off)."""

    def check(session: Session) -> bool:
        item = session.get(Item, item_id)
        return item is not None and help_to_settle(session, item)

    def write(session: Session) -> int:
        item = session.get(Item, item_id)
        assert item is not None
        return cancel_answered_help(session, item, now)

    return FollowUp("cancel_help", check, write)


def follow_ups(
    outcome: Outcome,
    *,
    now: dt.datetime,
    settings: Settings,
    embedder: Callable[[], Any],
    plan: bool = True,
    indexes: MemberIndexes | None = None,
) -> list[FollowUp]:
    """What a stored message asks for next, in order."""
    steps: list[FollowUp] = []
    if plan and outcome.stored.became_routable and outcome.item_id is not None:
        steps.append(help_nudges(outcome.item_id, now, settings, embedder, indexes=indexes))
    if outcome.answered_id is not None:
        steps.append(settle_answered(outcome.answered_id, now))
    return steps


def in_savepoints(session: Session) -> Runner:
    """Follow-ups on the caller's session: the check as is, the write in a savepoint (a failure leaves
    nothing half-written). Errors propagate; the caller decides what a failure means."""

    def run(step: FollowUp) -> Any:
        if not step.check(session):
            return None
        with session.begin_nested():
            return step.write(session)

    return run


def process_message(
    session: Session,
    workspace: Workspace,
    channel: Channel | None,
    incoming: IncomingMessage,
    *,
    now: dt.datetime,
    settings: Settings,
    embedder: Callable[[], Any],
    plan: bool = True,
    run: Runner | None = None,
    after_store: Callable[[Outcome], None] | None = None,
    author_known: bool = False,
    indexes: MemberIndexes | None = None,
) -> Outcome:
    """Understand, store, match and plan one message (see the module docstring for the arguments).

    Storing happens on `session`; the follow-ups go through `run` (default: on `session`, each write in a
    savepoint). `embedder` gives the matching model, called only when something is matched."""
    outcome = store_message(session, workspace, channel, incoming, author_known=author_known)
    if after_store is not None:
        after_store(outcome)
    runner = run if run is not None else in_savepoints(session)
    for step in follow_ups(
        outcome, now=now, settings=settings, embedder=embedder, plan=plan, indexes=indexes
    ):
        result = runner(step)
        if step.name == "plan_help":
            outcome.planned = result
    return outcome


def record_reactions(
    session: Session,
    workspace: Workspace,
    channel: Channel | None,
    author: Member,
    reactors: Iterable[Member | None],
    at: dt.datetime,
    *,
    message_ts: str | None = None,
) -> None:
    """Reactions to a member's message: a tie between each reactor and the author, one per reaction (the
    live reaction listener's one event, the replay's export, a backfill's history all come here). Nobody
    ties with themselves, and bots tie with nobody. When the message (`message_ts` in `channel`) is a
    stored item, it has reached each reactor: "seen" is an act (bot/policy/share.py)."""
    if author.is_bot:
        return
    item = None
    if channel is not None and message_ts:
        item = item_by_key(session, workspace, f"{channel.slack_channel_id}:{message_ts}")
    for other in reactors:
        if other is not None and other.id != author.id and not other.is_bot:
            record_interaction(session, workspace.id, other.id, author.id, channel.id if channel else None,
                               "reaction", at)  # fmt: skip
            if item is not None and item.author_id != other.id:
                record_reach(session, workspace.id, item.id, other.id, "reaction", at)
