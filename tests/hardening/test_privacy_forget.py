"""`/passiton forget-me` through the served app leaves nothing about the member, found by introspection.

The tables are not listed by hand: every column of `Base.metadata` with a foreign key to members.id
is checked for the member's id, and every string, text and JSON column of every table (ours and
slack_sdk's installation tables) is searched for her Slack user id and for phrases only she wrote.
The vector cache must hold no vector of her text (the whole workspace cache is dropped; see
bot/store/queries/forget.py for why).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import JSON, String, Text, func, inspect, select, text

from bot.store.db import Database
from bot.store.models import Base, EmbeddingCache, Item, Member, Nudge, ThreadReply
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

QUESTION = "How do I tune autovacuum on the busy quokkaledger Postgres table?"
TOPIC = "zymurgy"


@pytest.fixture
def slack(db: Database, db_url: str) -> Iterator[Slack]:
    with SlackEmulator() as emu:
        small(emu)
        ctx = make_context(make_settings(emu, db_url))
        with running_server(create_web_app(ctx)) as url:
            driver = Slack(emu, url, db)
            yield driver
            driver.close()


def _member_id(slack: Slack, name: str) -> int | None:
    with slack.db.session() as s:
        uid = slack.emu.user(name).id
        return s.scalar(select(Member.id).where(Member.slack_user_id == uid))


def _items(slack: Slack) -> int:
    with slack.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Item)) or 0)


def _fk_columns() -> list[tuple[str, str]]:
    cols = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(
                fk.column.table.name == "members" and fk.column.name == "id" for fk in column.foreign_keys
            ):
                cols.append((table.name, column.name))
    return cols


def _text_columns(db: Database) -> list[tuple[str, str]]:
    """Every string-like column of every table in the database (slack_sdk's tables included)."""
    inspector = inspect(db.engine)
    out = []
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            if isinstance(column["type"], String | Text | JSON) or "CHAR" in str(column["type"]).upper():
                out.append((table, column["name"]))
    return out


def test_forget_me_leaves_no_row_and_no_vector_about_the_member(slack: Slack) -> None:
    emu = slack.emu
    # Dana: topics (one only she uses), a question, a reply in someone's thread, a reaction.
    slack.command(f"interests add {TOPIC}, postgres", "dana")
    slack.command("expertise add fermentation", "dana")
    slack.command("expertise add postgres", "bob")
    with slack.db.session() as s:  # bob may be asked on any day (the settings modal is tested elsewhere)
        bob = s.scalar(select(Member).where(Member.slack_user_id == emu.user("bob").id))
        assert bob is not None
        bob.weekends_off = False
    slack.message("help", "dana", QUESTION)
    other, _ = slack.message("help", "alice", "Which Terraform module layout do you use for many stacks?")
    slack.wait(lambda: _items(slack) == 2, what="both questions stored")
    slack.message("help", "dana", "Try lowering the scale factor on that table.", thread_ts=other["ts"],
                  parent_user_id=emu.user("alice").id)  # fmt: skip
    slack.event({"type": "reaction_added", "user": emu.user("dana").id, "reaction": "eyes",
                 "item": {"type": "message", "channel": emu.channel("help").id, "ts": other["ts"]},
                 "item_user": emu.user("alice").id, "event_ts": "1.0"})  # fmt: skip
    dana = _member_id(slack, "dana")
    assert dana is not None

    def her_traces() -> bool:
        with slack.db.session() as s:
            return bool(
                s.scalar(select(func.count()).select_from(ThreadReply).where(ThreadReply.member_id == dana))
                and s.scalar(select(func.count()).select_from(Nudge).join(Item).where(Item.author_id == dana))
            )

    slack.wait(her_traces, timeout=20, what="her reply and a help nudge about her question")
    slack.quiesce()
    fk_columns = _fk_columns()
    assert {"member_topics", "items", "nudges", "outbox", "relationships", "feedback"} <= {
        t for t, _ in fk_columns
    }
    before = _rows_referencing(slack.db, fk_columns, dana)
    assert sum(before.values()) >= 6, before  # the test has something to delete
    with slack.db.session() as s:
        assert s.scalar(select(func.count()).select_from(EmbeddingCache)), "her question was embedded"

    reply = slack.command("forget-me", "dana")
    assert "forget_me_confirm" in str(reply["blocks"])
    slack.click("forget_me_confirm", "dana", channel="general")
    slack.wait(lambda: _member_id(slack, "dana") is None, what="member deleted")
    slack.quiesce()

    after = _rows_referencing(slack.db, fk_columns, dana)
    assert {k: v for k, v in after.items() if v} == {}, after
    leftovers = _search(slack.db, [emu.user("dana").id, "quokkaledger", TOPIC, "scale factor on that table"])
    assert leftovers == [], leftovers
    with slack.db.session() as s:
        digests = {hashlib.sha256(t.encode()).hexdigest() for t in (QUESTION, TOPIC)}
        kept = s.scalars(select(EmbeddingCache.text_hash)).all()
        assert not digests & set(kept)
        # Others are untouched: bob and alice, alice's question.
        assert _member_id(slack, "bob") and _member_id(slack, "alice")
        assert (
            s.scalar(select(func.count()).select_from(Item).where(Item.text.like("%Terraform module%"))) == 1
        )


def _rows_referencing(db: Database, columns: list[tuple[str, str]], member_id: int) -> dict[str, int]:
    counts = {}
    with db.engine.connect() as conn:
        for table, column in [*columns, ("members", "id")]:
            counts[f"{table}.{column}"] = int(
                conn.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :m'), {"m": member_id}
                ).scalar()
                or 0
            )
    return counts


def _search(db: Database, needles: list[str]) -> list[str]:
    found = []
    with db.engine.connect() as conn:
        for table, column in _text_columns(db):
            for (value,) in conn.execute(text(f'SELECT "{column}" FROM "{table}"')):
                if value is None:
                    continue
                blob = value if isinstance(value, str) else json.dumps(value)
                found += [f"{table}.{column}: {n!r}" for n in needles if n.lower() in blob.lower()]
    return found


def _settled(slack: Slack) -> None:
    """Events run after the ack: wait until the app is idle and a later event has been processed."""
    slack.quiesce()


def test_after_forget_me_nothing_of_theirs_is_collected_until_they_opt_in_again(slack: Slack) -> None:
    emu = slack.emu
    dana_id = emu.user("dana").id
    slack.command("interests add postgres", "dana")
    assert _member_id(slack, "dana") is not None
    slack.command("forget-me", "dana")
    slack.click("forget_me_confirm", "dana", channel="general")
    slack.wait(lambda: _member_id(slack, "dana") is None, what="member deleted")

    # Everything Slack keeps sending about her is dropped: her question, a reply, a reaction, a
    # mention of her, her joining a channel, a profile change.
    slack.message("help", "dana", QUESTION)
    theirs, _ = slack.message("help", "alice", "Which Terraform module layout do you use for many stacks?")
    slack.message("help", "dana", "Try lowering the scale factor on that table.", thread_ts=theirs["ts"],
                  parent_user_id=emu.user("alice").id)  # fmt: skip
    slack.event({"type": "reaction_added", "user": dana_id, "reaction": "eyes",
                 "item": {"type": "message", "channel": emu.channel("help").id, "ts": theirs["ts"]},
                 "item_user": emu.user("alice").id, "event_ts": "1.0"})  # fmt: skip
    slack.message("general", "bob", f"<@{dana_id}> knows about this, I think")
    slack.event({"type": "member_joined_channel", "user": dana_id, "channel": emu.channel("eng").id})
    slack.event({"type": "user_change", "user": {"id": dana_id, "name": "dana", "tz": "Europe/Paris"}})
    slack.wait(lambda: _items(slack) == 1, what="alice's question stored")
    _settled(slack)
    assert _member_id(slack, "dana") is None
    with slack.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.text.like("%quokkaledger%"))) == 0
    # Remembered only as "do not collect": one row that does not name her.
    assert _search(slack.db, [dana_id, "quokkaledger", "scale factor on that table"]) == []
    with slack.db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from forgotten_users")).scalar() == 1

    # She opts in again: collection resumes as for anyone.
    slack.command("interests add postgres", "dana")
    with slack.db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from forgotten_users")).scalar() == 0
    slack.message("help", "dana", "How do I read an EXPLAIN ANALYZE plan for the quokkaledger join?")
    slack.wait(lambda: _items(slack) == 2, what="her new question stored")
