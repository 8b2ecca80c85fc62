"""Digest job -> outbox -> the delivery lane's drain -> SmtpSender -> a real relay on loopback.

A failing relay (refused connection, 4xx, 5xx) must leave the digest in the outbox to retry, never
lose it and never send it twice.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.delivery.drain import Drainer
from bot.delivery.senders import SenderRegistry
from bot.email.digests import send_digests
from bot.email.smtp import SmtpSender
from bot.store.db import Database
from bot.store.models import OutboxMessage

from .conftest import Relay, add_member, add_nudge, add_workspace, free_port, make_settings

NOW = dt.datetime(2024, 6, 3, 9, 30, tzinfo=dt.UTC)


def queue_one_digest(db: Database, port: int) -> None:
    with db.session() as s:
        ws = add_workspace(s)
        ann = add_member(s, ws, "ann@example.org")
        add_nudge(s, ws, ann)
    assert send_digests(db, make_settings(smtp_url=f"smtp://127.0.0.1:{port}"), NOW) == 1


def drainer(db: Database, port: int) -> Drainer:
    registry = SenderRegistry()
    registry.register("email", SmtpSender(make_settings(smtp_url=f"smtp://127.0.0.1:{port}?timeout=5")))
    return Drainer(db, registry, rng=random.Random(7), max_attempts=5)


def row(db: Database) -> OutboxMessage:
    with db.session() as s:
        return s.scalars(select(OutboxMessage)).one()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def late_relay(port: int) -> Iterator[Relay]:
    """A relay bound to `port` only when the test starts it (before that: connection refused)."""
    relay = Relay(port)
    controllers: list[Controller] = []

    def start() -> None:
        c = Controller(relay, hostname="127.0.0.1", port=port)
        c.start()
        controllers.append(c)

    relay.start = start  # type: ignore[attr-defined]
    yield relay
    for c in controllers:
        c.stop()


def test_digest_is_delivered_once(db: Database, relay: Relay) -> None:
    queue_one_digest(db, relay.port)
    d = drainer(db, relay.port)
    assert d.drain_once(NOW).sent == 1
    sent = row(db)
    assert sent.status == "sent" and sent.sent_at == NOW
    assert sent.result is not None and sent.result["message_id"] == sent.payload["headers"]["Message-ID"]
    assert [r.rcpt_tos for r in relay.received] == [["ann@example.org"]]
    assert relay.received[0].message["Message-ID"] == sent.payload["headers"]["Message-ID"]
    # Later drains, and the digest job running again, send nothing more.
    assert send_digests(db, make_settings(), NOW + dt.timedelta(hours=1)) == 0
    assert d.drain(NOW + dt.timedelta(days=1)).sent == 0
    assert len(relay.received) == 1


def test_refused_connection_keeps_the_digest_until_the_relay_is_back(
    db: Database, port: int, late_relay: Relay
) -> None:
    queue_one_digest(db, port)
    d = drainer(db, port)
    stats = d.drain_once(NOW)
    assert stats.retried == 1 and stats.sent == 0
    waiting = row(db)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at > NOW
    assert waiting.last_error is not None and "connect" in waiting.last_error

    late_relay.start()  # type: ignore[attr-defined]
    assert d.drain_once(NOW).sent == 0  # not due yet: the back-off is respected
    later = NOW + dt.timedelta(hours=1)
    assert d.drain_once(later).sent == 1
    assert row(db).status == "sent"
    assert d.drain_once(later + dt.timedelta(hours=1)).claimed == 0
    assert len(late_relay.received) == 1


def test_temporary_refusal_is_retried_and_then_delivered_once(db: Database, relay: Relay) -> None:
    queue_one_digest(db, relay.port)
    d = drainer(db, relay.port)
    relay.rcpt_reply = "451 4.7.1 Greylisted, come back later"
    assert d.drain_once(NOW).retried == 1
    waiting = row(db)
    assert waiting.status == "pending" and "451" in (waiting.last_error or "")
    relay.rcpt_reply = None
    assert d.drain_once(NOW + dt.timedelta(hours=1)).sent == 1
    assert len(relay.received) == 1


def test_permanent_refusal_ends_the_message_with_the_reason(db: Database, relay: Relay) -> None:
    queue_one_digest(db, relay.port)
    relay.rcpt_reply = "550 5.1.1 <ann@example.org>: no such user"
    d = drainer(db, relay.port)
    assert d.drain_once(NOW).failed == 1
    failed = row(db)
    assert failed.status == "failed" and "550 5.1.1" in (failed.last_error or "")
    relay.rcpt_reply = None
    assert d.drain(NOW + dt.timedelta(days=1)).claimed == 0
    assert relay.received == []


def test_wrong_relay_password_waits_for_the_fix_instead_of_failing(db: Database, relay: Relay) -> None:
    """A relay that rejects our sender (5xx before RCPT) is a configuration problem: retry, later."""
    queue_one_digest(db, relay.port)
    relay.mail_reply = "553 5.7.1 Sender address rejected: not owned by user"
    d = drainer(db, relay.port)
    assert d.drain_once(NOW).retried == 1
    waiting = row(db)
    assert waiting.status == "pending"
    assert waiting.next_attempt_at >= NOW + dt.timedelta(minutes=15)
    relay.mail_reply = None
    assert d.drain_once(NOW + dt.timedelta(hours=1)).sent == 1


def test_a_crash_after_the_relay_took_it_resends_with_the_same_message_id(db: Database, relay: Relay) -> None:
    """The residual risk, measured: SMTP has no idempotency, so a sender that dies between the relay's
    250 and recording `sent` causes a second copy; it carries the same Message-ID so mail stores that
    collapse duplicates by Message-ID show it once."""
    queue_one_digest(db, relay.port)
    d = drainer(db, relay.port)
    [claimed] = d.claim(NOW)
    SmtpSender(make_settings(smtp_url=f"smtp://127.0.0.1:{relay.port}")).send(claimed)  # then "crash"
    assert d.reclaim_stale(NOW + dt.timedelta(minutes=10)) == 1
    assert d.drain_once(NOW + dt.timedelta(minutes=10)).sent == 1
    first, second = relay.received
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert row(db).status == "sent"
