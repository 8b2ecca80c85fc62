"""An email-only community end to end: import members, one mails a link, the planner suggests whom to
pass it to, the digest carries the suggestion, and it arrives at a real relay."""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.delivery.drain import Drainer
from bot.delivery.senders import SenderRegistry
from bot.email.digests import send_digests
from bot.email.inbound import InboundHandler
from bot.email.members_import import import_members, read_members_csv
from bot.email.smtp import SmtpSender
from bot.matching.embedders import CachedEmbedder, HashingEmbedder
from bot.nudges.planner import plan_share_nudges
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, Workspace
from bot.store.queries.workspaces import ensure_workspace

from .conftest import Relay, authenticated_by_mx, free_port, make_settings

WEDNESDAY = dt.datetime(2025, 6, 4, 7, 0, tzinfo=dt.UTC)
CSV = """name,email,interests,expertise,timezone
Ann,ann@example.org,cooking,,UTC
Bob,bob@example.org,postgres;databases,,UTC
"""


def test_a_mailed_link_reaches_the_right_person_through_a_members_digest(db: Database, relay: Relay) -> None:
    settings = make_settings(smtp_url=f"smtp://127.0.0.1:{relay.port}")
    rows, errors = read_members_csv(CSV)
    assert errors == []
    with db.session() as s:
        import_members(s, ensure_workspace(s, "local"), rows)

    port = free_port()
    controller = Controller(
        InboundHandler(db, settings, clock=lambda: WEDNESDAY), hostname="127.0.0.1", port=port
    )
    controller.start()
    try:
        msg = EmailMessage()
        msg["Authentication-Results"] = authenticated_by_mx("example.org")
        msg["From"] = "Ann <ann@example.org>"
        msg["To"] = "share@passiton.test"
        msg["Subject"] = "Postgres autovacuum tuning for busy databases"
        msg["Message-ID"] = "<e2e@example.org>"
        msg.set_content("A clear write-up on Postgres autovacuum: https://example.org/autovacuum")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(msg)
    finally:
        controller.stop()

    morning = WEDNESDAY.replace(hour=9, minute=5)
    with db.session() as s:
        ws = s.scalars(select(Workspace)).one()
        [nudge] = plan_share_nudges(s, ws, morning, settings, CachedEmbedder(HashingEmbedder()))
        ann = s.scalars(select(Member).where(Member.email == "ann@example.org")).one()
        bob = s.scalars(select(Member).where(Member.email == "bob@example.org")).one()
        item = s.scalars(select(Item)).one()
        assert (nudge.recipient_id, nudge.target_id, nudge.item_id) == (ann.id, bob.id, item.id)
        assert (nudge.channel, nudge.status) == ("email", "queued")
        send_after = nudge.send_after

    assert send_digests(db, settings, max(morning, send_after)) == 1
    registry = SenderRegistry()
    registry.register("email", SmtpSender(settings))
    assert Drainer(db, registry).drain_once(max(morning, send_after)).sent == 1
    [got] = relay.received
    assert got.rcpt_tos == ["ann@example.org"]
    body = got.message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Postgres autovacuum tuning for busy databases" in text
    assert "https://example.org/autovacuum" in text
    assert "Pass it on to Bob" in text
    with db.session() as s:
        assert s.scalars(select(Nudge.status)).one() == "sent"
