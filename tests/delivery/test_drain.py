"""The outbox drained against the Slack emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from bot.delivery.drain import Drainer
from bot.delivery.outbox import enqueue
from bot.store.db import Database
from bot.store.models import OutboxMessage
from tests.delivery.conftest import T0, FakeClock, outbox_row
from tests.support.slack_emulator import SlackEmulator


def _keys_posted(emu: SlackEmulator) -> list[str]:
    return [
        c.args["metadata"]["event_payload"]["idempotency_key"]
        for c in emu.calls("chat.postMessage", ok=True)
        if isinstance(c.args.get("metadata"), dict)
    ]


def test_every_queued_message_is_sent_exactly_once(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    users = [emu.add_user(f"user{i}") for i in range(12)]
    ids = [queue_dm(u.id, f"nudge:{i}", text=f"hi {i}") for i, u in enumerate(users)]
    # Planning twice queues once.
    assert queue_dm(users[0].id, "nudge:0", text="again") == ids[0]

    drainer = make_drainer(batch_size=5)
    stats = drainer.drain(T0)
    assert stats.sent == 12 and stats.failed == 0
    assert drainer.drain(T0).claimed == 0  # nothing left, nothing sent twice

    assert sorted(_keys_posted(emu)) == sorted(f"nudge:{i}" for i in range(12))
    for i, user in enumerate(users):
        dms = emu.dms_to(user.id)
        assert [m["text"] for m in dms] == [f"hi {i}"]
        row = outbox_row(db, ids[i])
        assert row.status == "sent" and row.locked_by is None and row.sent_at == T0
        assert row.result == {"channel": dms[0]["channel"], "ts": dms[0]["ts"]}
        # The planner's metadata is kept, with the idempotency key added for crash recovery.
        assert dms[0]["metadata"]["event_type"] == "passiton_nudge"
        assert dms[0]["metadata"]["event_payload"] == {"nudge": f"nudge:{i}", "idempotency_key": f"nudge:{i}"}


def test_retry_after_is_honoured_and_not_counted_as_an_attempt(
    db: Database,
    emu: SlackEmulator,
    make_drainer: Callable[..., Drainer],
    queue_dm: Callable[..., int],
    clock: FakeClock,
) -> None:
    alice = emu.add_user("alice")
    row_id = queue_dm(alice.id, "k1")
    emu.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    drainer = make_drainer()

    stats = drainer.drain(T0)
    assert stats.deferred == 1 and stats.sent == 0
    row = outbox_row(db, row_id)
    assert row.status == "pending" and row.attempts == 0
    assert row.next_attempt_at >= T0 + dt.timedelta(seconds=7)
    assert row.result is not None and row.result["state"]["deferrals"] == 1

    # Before Retry-After has passed nothing is sent, however often the drain runs.
    calls_before = len(emu.calls("chat.postMessage"))
    clock.advance(5)
    assert drainer.drain(T0 + dt.timedelta(seconds=5)).claimed == 0
    assert len(emu.calls("chat.postMessage")) == calls_before

    clock.advance(3)
    assert drainer.drain(T0 + dt.timedelta(seconds=8)).sent == 1
    assert len(emu.dms_to(alice.id)) == 1
    # A 429 is answered before any side effect, so no history check was needed.
    assert emu.calls("conversations.history") == []


def test_server_errors_are_retried_with_backoff_then_succeed(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    bob = emu.add_user("bob")
    row_id = queue_dm(bob.id, "k-5xx")
    emu.fail_next("chat.postMessage", "internal_error", status=500, times=2)
    drainer = make_drainer()

    assert drainer.drain(T0).retried == 1
    first = outbox_row(db, row_id)
    assert (
        first.status == "pending"
        and first.attempts == 1
        and first.last_error == "chat.postMessage:internal_error"
    )
    delay1 = (first.next_attempt_at - T0).total_seconds()
    assert 1.0 <= delay1 <= 3.0  # base 2 s, jitter ±50 %

    t1 = first.next_attempt_at
    assert drainer.drain(t1).retried == 1
    second = outbox_row(db, row_id)
    delay2 = (second.next_attempt_at - t1).total_seconds()
    assert second.attempts == 2 and 2.0 <= delay2 <= 6.0  # doubled

    assert drainer.drain(second.next_attempt_at).sent == 1
    assert len(emu.dms_to(bob.id)) == 1
    # A 5xx may hide an accepted post, so each retry looked in the DM first.
    assert len(emu.calls("conversations.history", ok=True)) == 2
    assert outbox_row(db, row_id).status == "sent"


def test_permanent_errors_end_the_message_with_their_reason(
    db: Database,
    emu: SlackEmulator,
    make_drainer: Callable[..., Drainer],
    queue_dm: Callable[..., int],
    workspace_id: int,
) -> None:
    gone = emu.add_user("gone")
    emu.deactivate_user(gone.id)
    bot = emu.add_user("somebot", is_bot=True)
    dm_gone = queue_dm(gone.id, "k-gone")
    dm_bot = queue_dm(bot.id, "k-bot")
    with db.session() as session:
        post = enqueue(
            session, workspace_id=workspace_id, key="k-post", kind="slack_post",
            payload={"channel": "C0NOPE0000", "text": "answer"},
        ).id  # fmt: skip
    drainer = make_drainer()
    stats = drainer.drain(T0)
    assert stats.failed == 3 and stats.retried == 0
    assert outbox_row(db, dm_gone).last_error == "user_disabled"
    assert outbox_row(db, dm_bot).last_error == "cannot_dm_bot"
    assert outbox_row(db, post).last_error == "channel_not_found"
    calls = len(emu.calls())
    assert drainer.drain(T0 + dt.timedelta(days=1)).claimed == 0
    assert len(emu.calls()) == calls  # never retried


def test_revoked_token_fails_the_message_without_retrying(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    carol = emu.add_user("carol")
    row_id = queue_dm(carol.id, "k-revoked")
    emu.revoke_token(emu.bot_token)
    assert make_drainer().drain(T0).failed == 1
    row = outbox_row(db, row_id)
    assert row.status == "failed" and row.last_error == "token_revoked" and row.attempts == 0


def test_response_lost_after_slack_accepted_is_not_posted_twice(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    dana = emu.add_user("dana")
    row_id = queue_dm(dana.id, "k-drop", text="only once")
    emu.drop_response_after_commit("chat.postMessage")
    drainer = make_drainer()

    assert drainer.drain(T0).retried == 1
    row = outbox_row(db, row_id)
    assert (
        row.status == "pending" and row.result is not None and row.result["state"]["maybe_delivered"] is True
    )
    assert len(emu.dms_to(dana.id)) == 1  # Slack did take it

    stats = drainer.drain(row.next_attempt_at)
    assert stats.deduplicated == 1 and stats.sent == 0
    dms = emu.dms_to(dana.id)
    assert [m["text"] for m in dms] == ["only once"]
    assert len(emu.calls("chat.postMessage")) == 1
    done = outbox_row(db, row_id)
    assert done.status == "sent" and done.result == {
        "channel": dms[0]["channel"],
        "ts": dms[0]["ts"],
        "deduplicated": True,
    }


def test_timeout_then_resend_finds_the_first_post(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    erin = emu.add_user("erin")
    row_id = queue_dm(erin.id, "k-slow")
    emu.fail_next("chat.postMessage", None, delay=3.0)  # succeeds, but after our 2 s timeout
    drainer = make_drainer()
    assert drainer.drain(T0).retried == 1
    assert outbox_row(db, row_id).last_error == "chat.postMessage:timeout"
    emu.wait_for_calls("chat.postMessage", 1, timeout=5)
    assert drainer.drain(T0 + dt.timedelta(minutes=1)).deduplicated == 1
    assert len(emu.dms_to(erin.id)) == 1


def test_attempts_are_bounded_and_the_reason_kept(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    fay = emu.add_user("fay")
    row_id = queue_dm(fay.id, "k-bounded")
    emu.fail_next("chat.postMessage", "service_unavailable", status=503, times=-1)
    drainer = make_drainer()  # settings: PASSITON_OUTBOX_MAX_ATTEMPTS=4
    now = T0
    outcomes = []
    for _ in range(10):
        stats = drainer.drain(now)
        outcomes.append(stats.as_dict())
        now += dt.timedelta(hours=1)
    row = outbox_row(db, row_id)
    assert row.status == "failed" and row.attempts == 4
    assert row.last_error == "chat.postMessage:service_unavailable (after 4 attempts)"
    assert len(emu.calls("chat.postMessage")) == 4
    assert emu.dms_to(fay.id) == []


def test_many_rate_limits_eventually_count_as_attempts(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    gil = emu.add_user("gil")
    row_id = queue_dm(gil.id, "k-429s")
    emu.fail_next("chat.postMessage", "ratelimited", retry_after=1, times=-1)
    drainer = make_drainer(max_deferrals=3)
    now = T0
    for _ in range(12):
        drainer.drain(now)
        now += dt.timedelta(minutes=5)
    row = outbox_row(db, row_id)
    # 3 free deferrals, then every further 429 counts, up to max attempts (4).
    assert row.status == "failed" and row.attempts == 4 and "ratelimited" in (row.last_error or "")
    assert len(emu.calls("chat.postMessage")) == 7


def test_update_and_channel_post(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], workspace_id: int
) -> None:
    eng = emu.add_channel("eng")
    with db.session() as session:
        post = enqueue(session, workspace_id=workspace_id, key="p1", kind="slack_post",
                       payload={"channel": eng.id, "text": "two people know <b>"}).id  # fmt: skip
    drainer = make_drainer()
    assert drainer.drain(T0).sent == 1
    ts = outbox_row(db, post).result["ts"]  # type: ignore[index]
    with db.session() as session:
        upd = enqueue(session, workspace_id=workspace_id, key="u1", kind="slack_update",
                      payload={"channel": eng.id, "ts": ts, "text": "edited"}).id  # fmt: skip
    assert drainer.drain(T0).sent == 1
    assert [m["text"] for m in emu.messages(eng.id)] == ["edited"]
    assert outbox_row(db, upd).result == {"channel": eng.id, "ts": ts}


def test_unregistered_kind_stays_queued(
    db: Database, make_drainer: Callable[..., Drainer], workspace_id: int, settings: object
) -> None:
    with db.session() as session:
        row = enqueue(session, workspace_id=workspace_id, key="e1", kind="email",
                      payload={"to": "a@example.org", "subject": "s", "text": "t", "html": "", "headers": {}})  # fmt: skip
    drainer = make_drainer()
    if "email" in drainer.registry:  # the email lane's sender is installed and SMTP_URL set
        return
    assert drainer.drain(T0).claimed == 0
    assert outbox_row(db, row.id).status == "pending"


def test_only_due_messages_are_claimed(
    db: Database, emu: SlackEmulator, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    hal = emu.add_user("hal")
    row_id = queue_dm(hal.id, "k-later", not_before=T0 + dt.timedelta(hours=2))
    drainer = make_drainer()
    assert drainer.drain(T0).claimed == 0
    assert drainer.drain(T0 + dt.timedelta(hours=2)).sent == 1
    with db.session() as session:
        assert session.scalars(select(OutboxMessage.status).where(OutboxMessage.id == row_id)).one() == "sent"


def test_client_side_pacing_defers_without_ever_failing_a_backlog(
    db: Database, emu: SlackEmulator, settings: object, clock: FakeClock, workspace_id: int
) -> None:
    from bot.delivery.ratelimit import SlackRateLimits
    from bot.runtime import build_registry, slack_sender

    eng = emu.add_channel("eng")
    with db.session() as session:
        for i in range(12):
            enqueue(session, workspace_id=workspace_id, key=f"post{i}", kind="slack_post",
                    payload={"channel": eng.id, "text": f"answer {i}"})  # fmt: skip
    sender = slack_sender(
        db,
        settings,
        limits=SlackRateLimits(clock=clock),
        max_wait=0.0,  # type: ignore[arg-type]
    )
    drainer = Drainer(db, build_registry(db, settings, slack=sender), max_deferrals=1, max_attempts=2)  # type: ignore[arg-type]
    now = T0
    for _ in range(40):
        drainer.drain(now)
        now += dt.timedelta(seconds=1)
        clock.advance(1.0)
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {0}
    # Deferred rows may overtake each other: outbox rows are independent messages, not a stream.
    assert sorted(m["text"] for m in emu.messages(eng.id)) == sorted(f"answer {i}" for i in range(12))
    # One per second per channel (after a burst of two), paced on our side: Slack never said 429.
    assert all(c.status == 200 for c in emu.calls("chat.postMessage"))
    assert len(emu.calls("chat.postMessage")) == 12
