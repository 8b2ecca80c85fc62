"""A claimed batch is sent in windows (one transaction records the last window's outcomes and renews and
checks the next): what that must not change. A sender that records instead of calling Slack, so the tests
can look at the database at the moment of each send."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from bot.delivery.drain import Drainer
from bot.delivery.outbox import enqueue
from bot.delivery.senders import ClaimedMessage, SenderRegistry, SendResult
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)


class Recorder:
    """Records each send; `before` runs first with the message (to look at or change the database)."""

    def __init__(self, before: Callable[[ClaimedMessage], None] | None = None) -> None:
        self.sent: list[int] = []
        self.before = before

    def send(self, message: ClaimedMessage) -> SendResult:
        if self.before is not None:
            self.before(message)
        self.sent.append(message.id)
        return SendResult(channel="D1", ts=f"{len(self.sent)}.000100")


def drainer(db: Database, sender: Recorder, **kwargs: object) -> Drainer:
    registry = SenderRegistry()
    for kind in ("slack_dm", "slack_post", "email"):
        registry.register(kind, sender)
    return Drainer(db, registry, batch_size=50, **kwargs)  # type: ignore[arg-type]


def _setup(db: Database, people: int) -> tuple[int, list[int], int]:
    """A workspace, opted-in members, and an open question they could be nudged about."""
    with db.session() as session:
        workspace = ensure_workspace(session, "TWIN", name="Windows")
        members = [ensure_member(session, workspace, f"U{i:03d}", opted_in=True) for i in range(people)]
        session.flush()
        item = Item(
            workspace_id=workspace.id, source_key="C1:1.0", kind="question", text="how?", posted_at=T0
        )
        session.add(item)
        session.flush()
        return workspace.id, [m.id for m in members], item.id


def _nudge(session: Session, workspace_id: int, member_id: int, item_id: int) -> int:
    nudge = Nudge(
        workspace_id=workspace_id, dedupe_key=f"help:{member_id}", kind="help", recipient_id=member_id,
        item_id=item_id, status="queued", send_after=T0,
    )  # fmt: skip
    session.add(nudge)
    session.flush()
    return nudge.id


def _dm(session: Session, workspace_id: int, member_id: int, key: str, nudge_id: int | None = None) -> int:
    return enqueue(
        session, workspace_id=workspace_id, key=key, kind="slack_dm", payload={"user": key, "text": key},
        recipient_id=member_id, nudge_id=nudge_id, not_before=T0,
    ).id  # fmt: skip


def _status(db: Database, row_id: int) -> str:
    with db.session() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return row.status


def test_two_messages_of_one_nudge_are_checked_one_after_the_others_send(db: Database) -> None:
    workspace_id, members, item_id = _setup(db, 2)
    with db.session() as session:
        nudge_id = _nudge(session, workspace_id, members[0], item_id)
        first = _dm(session, workspace_id, members[0], "k1", nudge_id)
        other = _dm(session, workspace_id, members[1], "k2")
        second = _dm(session, workspace_id, members[0], "k3", nudge_id)
    sender = Recorder()
    d = drainer(db, sender)
    if d.nudge_check is None:
        pytest.skip("the nudges lane's relevance check is not installed")
    stats = d.drain(T0)
    # As one message at a time: once the nudge went out, its second message has lost its moment.
    assert sender.sent == [first, other] and stats.sent == 2 and stats.cancelled == 1
    assert _status(db, second) == "cancelled"


def test_no_send_starts_on_checks_older_than_recheck_seconds(db: Database) -> None:
    workspace_id, members, _ = _setup(db, 3)
    with db.session() as session:
        ids = [_dm(session, workspace_id, m, f"k{i}") for i, m in enumerate(members)]

    def pause_the_last(message: ClaimedMessage) -> None:
        if message.id == ids[0]:  # while the first is being sent, the last recipient pauses
            with db.session() as session:
                member = session.get(Member, members[2])
                assert member is not None
                member.paused_until = T0 + dt.timedelta(days=1)

    sender = Recorder(pause_the_last)
    stats = drainer(db, sender, recheck_seconds=0.0).drain(T0)
    # Checked again before each send: the pause is seen, and the message waits for its end.
    assert sender.sent == ids[:2] and stats.sent == 2 and stats.deferred == 1
    assert _status(db, ids[2]) == "pending"


def test_within_recheck_seconds_a_window_is_checked_once(db: Database) -> None:
    workspace_id, members, _ = _setup(db, 3)
    with db.session() as session:
        ids = [_dm(session, workspace_id, m, f"k{i}") for i, m in enumerate(members)]
    statuses: list[list[str]] = []
    sender = Recorder(lambda _m: statuses.append([_status(db, i) for i in ids]))
    stats = drainer(db, sender, recheck_seconds=3600.0).drain(T0)
    assert sender.sent == ids and stats.sent == 3
    # One window: its outcomes are recorded together after the last send.
    assert statuses == [["sending"] * 3] * 3
    assert [_status(db, i) for i in ids] == ["sent"] * 3


def test_an_email_is_recorded_before_the_next_send(db: Database) -> None:
    workspace_id, members, _ = _setup(db, 2)
    with db.session() as session:
        mail = enqueue(
            session, workspace_id=workspace_id, key="mail", kind="email", recipient_id=members[0],
            payload={"to": "a@example.org", "subject": "s", "text": "t", "html": "", "headers": {}},
            not_before=T0 - dt.timedelta(seconds=1),
        ).id  # fmt: skip
        dm = _dm(session, workspace_id, members[1], "k1")
    seen: list[str] = []
    sender = Recorder(lambda m: seen.append(_status(db, mail)) if m.id == dm else None)
    assert drainer(db, sender, recheck_seconds=3600.0).drain(T0).sent == 2
    assert sender.sent == [mail, dm] and seen == ["sent"]


def test_a_failing_check_holds_back_only_its_own_message(db: Database) -> None:
    workspace_id, members, item_id = _setup(db, 3)
    with db.session() as session:
        nudges = [_nudge(session, workspace_id, m, item_id) for m in members]
        ids = [
            _dm(session, workspace_id, m, f"k{i}", n)
            for i, (m, n) in enumerate(zip(members, nudges, strict=True))
        ]

    def check(_session: Session, nudge_id: int, _now: dt.datetime) -> str | None:
        if nudge_id == nudges[1]:
            raise RuntimeError("a bug in a check")
        return None

    sender = Recorder()
    stats = drainer(db, sender, nudge_check=check).drain(T0)
    assert sender.sent == [ids[0], ids[2]] and stats.sent == 2 and stats.retried == 1
    with db.session() as session:
        row = session.get(OutboxMessage, ids[1])
        assert row is not None and row.status == "pending" and row.attempts == 1
        assert row.last_error == "error:RuntimeError" and row.result == {"state": {"maybe_delivered": True}}
        assert [session.get(Nudge, n).status for n in nudges] == ["sent", "queued", "sent"]  # type: ignore[union-attr]


def test_sends_before_an_interruption_are_recorded(db: Database) -> None:
    workspace_id, members, _ = _setup(db, 3)
    with db.session() as session:
        ids = [_dm(session, workspace_id, m, f"k{i}") for i, m in enumerate(members)]

    def stop_at_the_second(message: ClaimedMessage) -> None:
        if message.id == ids[1]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drainer(db, Recorder(stop_at_the_second), recheck_seconds=3600.0).drain(T0)
    # The first went out and is recorded; the one in hand stays locked until the lease ends, as before.
    assert [_status(db, i) for i in ids] == ["sent", "sending", "sending"]


def test_an_inactive_workspace_fails_only_its_own_messages_in_a_window(db: Database) -> None:
    workspace_id, members, _ = _setup(db, 2)
    with db.session() as session:
        other = ensure_workspace(session, "TOFF", name="Off")
        other.active = False
        off_member = ensure_member(session, other, "U900", opted_in=True)
        session.flush()
        off = enqueue(session, workspace_id=other.id, key="off", kind="slack_dm", payload={"user": "U900"},
                      recipient_id=off_member.id, not_before=T0).id  # fmt: skip
        ok = _dm(session, workspace_id, members[0], "k1")
    sender = Recorder()
    stats = drainer(db, sender).drain(T0)
    assert sender.sent == [ok] and stats.sent == 1 and stats.failed == 1
    with db.session() as session:
        row = session.get(OutboxMessage, off)
        assert row is not None and row.status == "failed" and row.last_error == "workspace_inactive"


def test_after_slow_sends_windows_shrink_so_checks_are_not_made_twice(db: Database) -> None:
    workspace_id, members, item_id = _setup(db, 6)
    with db.session() as session:
        nudges = [_nudge(session, workspace_id, m, item_id) for m in members]
        pairs = list(zip(members, nudges, strict=True))
        first = [_dm(session, workspace_id, m, f"a{i}", n) for i, (m, n) in enumerate(pairs[:3])]
    checked: list[int] = []

    def check(_session: Session, nudge_id: int, _now: dt.datetime) -> str | None:
        checked.append(nudge_id)
        return None

    # recheck_seconds=0: every send is "slow", so each further send needs fresh checks.
    d = drainer(db, Recorder(), nudge_check=check, recheck_seconds=0.0)
    assert d.drain(T0).sent == 3
    # The first window checked all three, then the two left were checked again, one window each.
    assert checked == [nudges[0], nudges[1], nudges[2], nudges[1], nudges[2]]
    with db.session() as session:
        second = [_dm(session, workspace_id, m, f"b{i}", n) for i, (m, n) in enumerate(pairs[3:])]
    checked.clear()
    assert d.drain(T0).sent == 3 and _status(db, second[2]) == "sent" and _status(db, first[0]) == "sent"
    assert checked == nudges[3:]  # one window per message from the start: each checked once
