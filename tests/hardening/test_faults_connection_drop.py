"""A PostgreSQL connection dies after Slack got its 200 and before the event's writes.

The web app's database check passed, Bolt acked, and then the server ended the session (as a restart or
failover does). Slack will not send an acked event again, so the work itself must get past it: the item is
stored, once, and the question's help is still planned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text

from bot.store.db import Database
from bot.store.models import Item, Member, Nudge
from bot.web.app import create_web_app
from tests.conftest import PG_ADMIN_URL, _truncate
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


@pytest.fixture
def served(pg_url: str) -> Iterator[tuple[Slack, Database]]:
    with SlackEmulator() as emu:
        small(emu)
        ctx = make_context(make_settings(emu, pg_url))
        _truncate(ctx.db)
        with running_server(create_web_app(ctx)) as url:
            slack = Slack(emu, url, ctx.db)
            try:
                yield slack, ctx.db
                slack.quiesce()
            finally:
                slack.close()
                ctx.shutdown()
                _truncate(ctx.db)


def _kill_session_before(db: Database, statement_prefix: str) -> list[int]:
    """Terminate, from another connection, the server session about to run the first statement that starts
    with `statement_prefix`: that statement then meets a closed connection, as in a restart."""
    killed: list[int] = []
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if killed or not statement.startswith(statement_prefix):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with admin.connect() as other:
            assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killed.append(pid)

    event.listen(db.engine, "before_cursor_execute", before)
    return killed


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_an_acked_message_is_stored_when_its_connection_dies_mid_write(
    served: tuple[Slack, Database], caplog: pytest.LogCaptureFixture
) -> None:
    slack, db = served
    killed = _kill_session_before(db, "INSERT INTO items")
    with caplog.at_level(logging.WARNING, logger="bot.store.outage"):
        slack.message("help", "alice", "How do I tune autovacuum on a busy Postgres table?")
        slack.wait(lambda: _count(db, Item) == 1, what="the question stored after the dropped connection")
        slack.quiesce()
    assert killed, "the fault never fired; the test proved nothing"
    assert _count(db, Item) == 1
    assert any(r.getMessage() == "database unavailable; retrying" for r in caplog.records)


def test_help_is_planned_when_the_planning_connection_dies(served: tuple[Slack, Database]) -> None:
    slack, db = served
    slack.command("expertise add postgres", "bob")
    with db.session() as s:
        for m in s.scalars(select(Member)):
            m.weekends_off = False  # whatever day the suite runs on
    killed = _kill_session_before(db, "INSERT INTO nudges")
    slack.message("help", "alice", "How do I tune autovacuum on a busy Postgres table?")
    slack.wait(lambda: _count(db, Nudge) >= 1, what="the help nudge planned after the dropped connection")
    slack.quiesce()
    assert killed, "the fault never fired; the test proved nothing"
    with db.session() as s:
        kinds = list(s.scalars(select(Nudge.kind)))
    assert kinds == ["help"]
