"""The digest job on both engines: who is due when, one outbox row per member and period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.email import tokens
from bot.email.digests import Schedule, digest_period, send_digests
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage, Workspace

from .conftest import SECRET, add_member, add_nudge, add_workspace, make_settings

MONDAY_0930_PARIS = dt.datetime(2024, 6, 3, 7, 30, tzinfo=dt.UTC)
SETTINGS = make_settings()
PARIS = "Europe/Paris"


def outbox(db: Database) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def statuses(db: Database) -> dict[int, str]:
    with db.session() as s:
        return {n.id: n.status for n in s.scalars(select(Nudge))}


def test_one_digest_per_member_and_day_with_their_queued_email_nudges(db: Database) -> None:
    with db.session() as s:
        ws = add_workspace(s)
        ann = add_member(s, ws, "ann@example.org", tz="Europe/Paris", display_name="Ann")
        bob = add_member(s, ws, "bob@example.org", delivery="slack", display_name="Bob")
        n1 = add_nudge(s, ws, ann, title="Vacuum tuning", target=bob)
        n2 = add_nudge(s, ws, ann, title="Why is my query slow?", kind="help", reason="You listed Postgres.")
        slack = add_nudge(s, ws, ann, title="In Slack", channel="slack")
        later = add_nudge(s, ws, ann, title="Not yet", at=MONDAY_0930_PARIS + dt.timedelta(hours=1))
        ids = (ws.id, ann.id, n1.id, n2.id, slack.id, later.id)
    ws_id, ann_id, n1_id, n2_id, slack_id, later_id = ids

    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS) == 1
    [row] = outbox(db)
    assert row.kind == "email" and row.recipient_id == ann_id and row.status == "pending"
    assert row.idempotency_key == f"email-digest:{ann_id}:d2024-06-03"
    payload = row.payload
    assert payload["to"] == "ann@example.org"
    assert payload["nudge_ids"] == [n1_id, n2_id]
    assert "Vacuum tuning" in payload["text"] and "Why is my query slow?" in payload["text"]
    assert "Pass it on to Bob" in payload["text"]
    assert "In Slack" not in payload["text"] and "Not yet" not in payload["text"]
    assert payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert payload["headers"]["Message-ID"].endswith("@passiton.test>")
    # The links carry tokens bound to this member, nudge and action.
    share_link = next(line for line in payload["text"].splitlines() if "I'll share it:" in line)
    claims = tokens.verify(SECRET, share_link.split("token=")[1], now=MONDAY_0930_PARIS)
    assert (claims.workspace_id, claims.member_id, claims.action, claims.nudge_id) == (
        ws_id,
        ann_id,
        "share",
        n1_id,
    )
    assert statuses(db) == {n1_id: "sent", n2_id: "sent", slack_id: "queued", later_id: "queued"}

    # Running again (or on a second scheduler) the same day queues nothing, even with new nudges.
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS + dt.timedelta(hours=3)) == 0
    assert len(outbox(db)) == 1
    # The next morning the waiting nudge goes out.
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS + dt.timedelta(days=1)) == 1
    assert outbox(db)[1].payload["nudge_ids"] == [later_id]


def test_nobody_without_email_delivery_consent_or_time_gets_a_digest(db: Database) -> None:
    now = MONDAY_0930_PARIS
    with db.session() as s:
        ws = add_workspace(s)
        for email_addr, fields in [
            ("slack@x.test", {"delivery": "slack"}),
            ("off@x.test", {"delivery": "off"}),
            ("notin@x.test", {"opted_in": False}),
            ("paused@x.test", {"paused_until": now + dt.timedelta(days=2)}),
            ("gone@x.test", {"is_deleted": True}),
            ("early@x.test", {"tz": "America/New_York"}),  # 03:30 there
            ("quiet@x.test", {"quiet_start": 9 * 60, "quiet_end": 10 * 60}),  # 09:30 there is quiet
            (None, {"delivery": "both"}),
        ]:
            add_nudge(s, ws, add_member(s, ws, email_addr, **({"tz": PARIS} | fields)))
        both = add_member(s, ws, "both@x.test", delivery="both", tz=PARIS)
        add_nudge(s, ws, both)
        ws2 = add_workspace(s, "T2")
        ws2.active = False
        add_nudge(s, ws2, add_member(s, ws2, "uninstalled@x.test", tz=PARIS))
        both_id = both.id
    assert send_digests(db, SETTINGS, now) == 1
    assert [r.recipient_id for r in outbox(db)] == [both_id]


def test_moment_passed_nudges_are_cancelled_not_sent(db: Database) -> None:
    with db.session() as s:
        ws = add_workspace(s)
        ann = add_member(s, ws, "ann@x.test", tz=PARIS)
        answered = add_nudge(s, ws, ann, kind="help", title="answered already")
        item = s.get(Item, answered.item_id)
        assert item is not None
        item.answered_at = MONDAY_0930_PARIS
        answered_id = answered.id
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS) == 0
    assert outbox(db) == []
    assert statuses(db) == {answered_id: "cancelled"}


def test_weekly_digest_goes_from_monday_morning_once_a_week(db: Database) -> None:
    with db.session() as s:
        ws = add_workspace(s)
        ann = add_member(s, ws, "ann@x.test", digest="weekly")
        add_nudge(s, ws, ann, title="first")
        ann_id = ann.id
    sunday = dt.datetime(2024, 6, 2, 10, 0, tzinfo=dt.UTC)
    assert send_digests(db, SETTINGS, sunday) == 0
    tuesday = dt.datetime(2024, 6, 4, 10, 0, tzinfo=dt.UTC)  # Monday's run was missed: catch up
    assert send_digests(db, SETTINGS, tuesday) == 1
    assert outbox(db)[0].idempotency_key == f"email-digest:{ann_id}:w2024-W23"
    with db.session() as s:
        ws1 = s.scalars(select(Workspace).where(Workspace.team_id == "T1")).one()
        member = s.get(Member, ann_id)
        assert member is not None
        add_nudge(s, ws1, member, title="second", at=tuesday)
    assert send_digests(db, SETTINGS, tuesday + dt.timedelta(days=2)) == 0  # same week
    assert send_digests(db, SETTINGS, tuesday + dt.timedelta(days=6)) == 1  # next Monday


def test_digest_period_rules() -> None:
    daily = Schedule("Asia/Tokyo", "daily", True, None, None)
    # 2024-06-07 is a Friday; 23:30 UTC Friday is 08:30 Saturday in Tokyo.
    assert digest_period(daily, dt.datetime(2024, 6, 7, 0, 30, tzinfo=dt.UTC), 9) == "d2024-06-07"
    assert digest_period(daily, dt.datetime(2024, 6, 6, 23, 30, tzinfo=dt.UTC), 9) is None  # 08:30
    assert digest_period(daily, dt.datetime(2024, 6, 8, 1, 0, tzinfo=dt.UTC), 9) is None  # Saturday
    weekend_ok = Schedule("UTC", "daily", False, None, None)
    assert digest_period(weekend_ok, dt.datetime(2024, 6, 8, 9, 0, tzinfo=dt.UTC), 9) == "d2024-06-08"
    wrap = Schedule("UTC", "daily", True, 22 * 60, 10 * 60)  # quiet 22:00-10:00
    assert digest_period(wrap, dt.datetime(2024, 6, 3, 9, 59, tzinfo=dt.UTC), 9) is None
    assert digest_period(wrap, dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC), 9) == "d2024-06-03"
    bad_tz = Schedule("Not/AZone", "daily", True, None, None)
    assert digest_period(bad_tz, dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC), 9) == "d2024-06-03"


def test_both_members_get_dmed_nudges_in_their_digest_once(db: Database) -> None:
    """For delivery "both" the planner DMs the nudge too and the drain marks it sent when the DM goes."""
    with db.session() as s:
        ws = add_workspace(s)
        bea = add_member(s, ws, "bea@x.test", delivery="both", slack_user_id="U1", tz=PARIS)
        dmed = add_nudge(s, ws, bea, title="DMed already", status="sent")
        dmed.sent_at = MONDAY_0930_PARIS - dt.timedelta(minutes=20)
        waiting = add_nudge(s, ws, bea, title="Not DMed yet")
        old = add_nudge(
            s, ws, bea, title="Long ago", status="sent", at=MONDAY_0930_PARIS - dt.timedelta(days=20)
        )
        ids = (dmed.id, waiting.id, old.id)
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS) == 1
    assert outbox(db)[0].payload["nudge_ids"] == [ids[0], ids[1]]
    with db.session() as s:
        dmed_row = s.get(Nudge, ids[0])
        assert dmed_row is not None and dmed_row.sent_at == MONDAY_0930_PARIS - dt.timedelta(minutes=20)
    # The next day nothing is repeated; a nudge DMed since then is.
    with db.session() as s:
        ws = s.scalars(select(Workspace)).one()
        bea = s.scalars(select(Member).where(Member.email == "bea@x.test")).one()
        new = add_nudge(
            s, ws, bea, title="DMed today", status="sent", at=MONDAY_0930_PARIS + dt.timedelta(hours=20)
        )
        new_id = new.id
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS + dt.timedelta(days=1)) == 1
    assert outbox(db)[1].payload["nudge_ids"] == [new_id]
    assert send_digests(db, SETTINGS, MONDAY_0930_PARIS + dt.timedelta(days=2)) == 0
