"""The recovering back-off through the store, on SQLite and PostgreSQL: lapses start holds that wear off,
engagement (also a late reply to a lapsed nudge's question) ends them, and the migration frees members
held for good under the old rule."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from bot.nudges.feedback import apply_feedback
from bot.nudges.loading import caps_from_settings, prefs_of
from bot.nudges.planner import _lapse_unanswered, cancel_answered_help
from bot.policy.backoff import backoff_state
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import Item, ItemReach, Member, Nudge, ThreadReply
from bot.store.queries.engagement import record_engagement, record_engagement_of
from tests.nudges.world import DAY, World, item, settings, small_team

WEEK = dt.timedelta(weeks=1)


def _sent_nudge(s: Session, w: World, who: str, it: Item, at: dt.datetime, status: str = "sent") -> Nudge:
    n = Nudge(
        workspace_id=w.ws.id,
        dedupe_key=f"help:{it.id}:{w.m[who].id}",
        kind="help",
        recipient_id=w.m[who].id,
        item_id=it.id,
        status=status,
        channel="slack",
        send_after=at,
        sent_at=at,
        created_at=at,
    )
    s.add(n)
    s.flush()
    return n


def test_a_lapse_after_a_worn_off_hold_starts_a_longer_one_and_engagement_ends_it(db: Database) -> None:
    caps = caps_from_settings(settings())
    with db.session() as s:
        w = small_team(s)
        cy = w.m["cy"]
        asked = DAY - 3 * WEEK
        cy.unanswered, cy.asked_to_continue_at, cy.holds, cy.held_until = 3, asked, 1, asked + 2 * WEEK
        q = item(s, w, "question", "infra", "bob", "", "How do I drain a node?", DAY - 5 * WEEK)
        _sent_nudge(s, w, "cy", q, DAY - dt.timedelta(days=4))
        s.flush()
        assert backoff_state(prefs_of(cy), caps, DAY) == "ok"  # the first hold wore off: a try

        _lapse_unanswered(s, w.ws.id, caps, DAY)
        s.refresh(cy)
        assert (cy.unanswered, cy.holds) == (4, 2)
        assert cy.held_until == DAY + 4 * WEEK
        assert backoff_state(prefs_of(cy), caps, DAY + 3 * WEEK) == "hold"
        assert backoff_state(prefs_of(cy), caps, DAY + 4 * WEEK) == "ok"

        assert record_engagement_of(s, w.ws.team_id, cy.slack_user_id or "", DAY + WEEK)
        s.flush()
        s.refresh(cy)
        assert (cy.unanswered, cy.holds, cy.held_until, cy.asked_to_continue_at) == (0, 0, None, None)
        assert cy.last_engaged_at == DAY + WEEK
        record_engagement(s, cy, DAY)  # a late-processed event does not move it backwards
        assert cy.last_engaged_at == DAY + WEEK
        assert not record_engagement_of(s, w.ws.team_id, "UNOBODY", DAY)


def test_answering_the_question_of_a_lapsed_nudge_is_engagement(db: Database) -> None:
    caps = caps_from_settings(settings())
    with db.session() as s:
        w = small_team(s)
        dana = w.m["dana"]
        q = item(s, w, "question", "infra", "bob", "", "Why are my pods evicted?", DAY - 2 * WEEK)
        q.answered_at = DAY - 2 * WEEK + dt.timedelta(hours=1)  # someone else answered first
        nudge = _sent_nudge(s, w, "dana", q, DAY - 2 * WEEK, status="lapsed")
        dana.unanswered, dana.asked_to_continue_at, dana.holds = 3, DAY - WEEK, 1
        dana.held_until = DAY + WEEK
        s.flush()
        assert backoff_state(prefs_of(dana), caps, DAY) == "hold"
        s.execute(
            insert(ThreadReply).values(workspace_id=w.ws.id, item_id=q.id, member_id=dana.id, replied_at=DAY)
        )
        assert cancel_answered_help(s, q, DAY) == 0
        s.flush()
        s.refresh(dana)
        s.refresh(nudge)
        assert nudge.status == "acted" and nudge.acted_at == DAY
        assert backoff_state(prefs_of(dana), caps, DAY) == "ok" and dana.last_engaged_at == DAY


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same engine as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    admin_url = os.environ.get("PASSITON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"passiton_m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from bot.store.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_gives_members_held_for_good_a_hold_that_ends(empty_url: str) -> None:
    upgrade(empty_url, "0007_backfill_jobs")
    asked = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO workspaces (team_id, name, active, welcome_dm, created_at) VALUES ('T1', '', true, true, :now)"), {"now": asked})  # fmt: skip
        ws = conn.execute(text("SELECT id FROM workspaces")).scalar()
        for uid, unanswered, at in (("UHELD", 4, asked), ("UFREE", 1, None)):
            conn.execute(
                text(
                    "INSERT INTO members (workspace_id, slack_user_id, display_name, real_name, tz, is_bot, "
                    "is_deleted, is_guest, opted_in, delivery, digest, weekends_off, available, unanswered, "
                    "asked_to_continue_at, created_at, updated_at) VALUES (:ws, :uid, '', '', 'UTC', false, "
                    "false, false, true, 'slack', 'daily', true, true, :n, :at, :now, :now)"
                ),
                {"ws": ws, "uid": uid, "n": unanswered, "at": at, "now": asked},
            )
    engine.dispose()
    upgrade(empty_url)
    with Database(empty_url).session() as s:
        held, free = (
            s.scalars(select(Member).where(Member.slack_user_id == uid)).one() for uid in ("UHELD", "UFREE")
        )
        assert (held.holds, held.held_until) == (1, asked + 2 * WEEK)
        assert (free.holds, free.held_until, free.last_engaged_at) == (0, None, None)


def test_a_nudge_button_is_engagement_and_the_item_has_reached_its_presser(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        cy = w.m["cy"]
        q = item(s, w, "question", "infra", "bob", "", "How do I drain a node?", DAY - WEEK)
        nudge = _sent_nudge(s, w, "cy", q, DAY - dt.timedelta(days=1))
        cy.unanswered, cy.asked_to_continue_at, cy.holds, cy.held_until = 3, DAY - WEEK, 1, DAY + WEEK
        s.flush()
        apply_feedback(s, w.ws, cy, nudge.id, "helped", DAY)
        assert (cy.unanswered, cy.holds, cy.held_until, cy.last_engaged_at) == (0, 0, None, DAY)
        reach = s.scalars(
            select(ItemReach).where(ItemReach.item_id == q.id, ItemReach.member_id == cy.id)
        ).one()
        assert reach.how == "clicked"
