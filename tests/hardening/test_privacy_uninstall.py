"""After app_uninstalled, a workspace's data goes once PASSITON_UNINSTALL_GRACE_DAYS have passed; a
reinstall within them keeps it; another workspace is untouched; expired OAuth states go too.

The data is made the live way (slash commands, posted messages, help planning through the served app),
the uninstall arrives as a signed Slack event, and the retention job's own function runs as of a
moment after the grace. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import func, select, text

from bot.config import Settings
from bot.slack.installation import installation_store, state_store
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, Workspace
from bot.store.queries.workspaces import ensure_workspace
from bot.web.app import create_web_app
from jobs.retention import _workspace_tables, apply_retention
from tests.hardening.test_privacy_forget import _search
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

QUESTION = "How do I tune autovacuum on the busy wallabyledger Postgres table?"
GRACE = 30


@pytest.fixture
def slack(db: Database, db_url: str) -> Iterator[tuple[Slack, Settings]]:
    with SlackEmulator() as emu:
        small(emu)
        settings = make_settings(emu, db_url, passiton_uninstall_grace_days=GRACE)
        with running_server(create_web_app(make_context(settings))) as url:
            driver = Slack(emu, url, db)
            yield driver, settings
            driver.close()


def _populate(slack: Slack) -> int:
    """Members, topics, channels, items, a help nudge and its outbox row, as the live app stores them."""
    slack.command("expertise add postgres", "bob")
    slack.command("interests add postgres", "carol")
    with slack.db.session() as s:
        for m in s.scalars(select(Member)):
            m.weekends_off = False
    slack.message("help", "dana", QUESTION)
    slack.wait(lambda: _count(slack.db, Nudge), timeout=20, what="a help nudge")
    slack.quiesce()
    with slack.db.session() as s:
        workspace_id = s.scalars(select(Workspace.id).where(Workspace.team_id == slack.team_id)).one()
        other = ensure_workspace(s, "T0STAYS")
        s.flush()
        s.add(Member(workspace_id=other.id, slack_user_id="U0STAY", display_name="stays"))
        s.add(Item(workspace_id=other.id, source_key="C9:1", kind="question", title="q", text="keep me"))
    return workspace_id


def _uninstall(slack: Slack) -> None:
    slack.event(signing.app_uninstalled_event())

    def deactivated() -> bool:
        with slack.db.session() as s:
            ws = s.scalars(select(Workspace).where(Workspace.team_id == slack.team_id)).one()
            return not ws.active and ws.deactivated_at is not None

    slack.wait(deactivated, what="workspace marked uninstalled")


def _rows(db: Database, workspace_id: int) -> dict[str, int]:
    with db.engine.connect() as conn:
        counts = {
            t.name: int(
                conn.execute(select(func.count()).where(t.c.workspace_id == workspace_id)).scalar_one()
            )
            for t in _workspace_tables()
        }
        counts["workspaces"] = int(
            conn.execute(
                text("SELECT count(*) FROM workspaces WHERE id = :i"), {"i": workspace_id}
            ).scalar_one()
        )
    # Slack event ids go after three days whatever happens (the retention job's usual rule).
    return {name: n for name, n in counts.items() if n and name != "processed_events"}


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _retention(db: Database, settings: Settings, days: float) -> dict[str, int]:
    with db.session() as session:
        return apply_retention(session, settings, dt.datetime.now(dt.UTC) + dt.timedelta(days=days))


def test_uninstalled_workspace_is_purged_after_the_grace(slack: tuple[Slack, Settings]) -> None:
    driver, settings = slack
    workspace_id = _populate(driver)
    before = _rows(driver.db, workspace_id)
    assert {"members", "topics", "member_topics", "items", "nudges", "outbox", "workspaces"} <= set(before)
    other_before = _rows(driver.db, _other_id(driver.db))

    _uninstall(driver)
    _uninstall(driver)  # Slack also sends tokens_revoked, and retries: the first stamp counts
    assert _retention(driver.db, settings, GRACE - 1)["workspaces_purged"] == 0
    assert _rows(driver.db, workspace_id) == before  # within the grace nothing goes

    assert _retention(driver.db, settings, GRACE + 1)["workspaces_purged"] == 1
    assert _rows(driver.db, workspace_id) == {}
    assert _search(driver.db, ["wallabyledger"]) == []
    assert _rows(driver.db, _other_id(driver.db)) == other_before  # another workspace is untouched


def test_a_reinstall_within_the_grace_keeps_the_data(slack: tuple[Slack, Settings]) -> None:
    driver, settings = slack
    workspace_id = _populate(driver)
    _uninstall(driver)
    emu = driver.emu
    oauth = settings.model_copy(update={"slack_client_id": "client-id"})
    installation_store(oauth, driver.db).save(
        Installation(
            app_id=emu.app_id, team_id=driver.team_id, team_name="again", bot_token=emu.bot_token,
            bot_id=emu.bot_user.bot_id, bot_user_id=emu.bot_user.id, bot_scopes=["chat:write"],
            user_id="USLACKBOT", installed_at=dt.datetime.now(dt.UTC).timestamp(),
        )
    )  # fmt: skip
    before = _rows(driver.db, workspace_id)
    assert _retention(driver.db, settings, GRACE + 1)["workspaces_purged"] == 0
    assert _rows(driver.db, workspace_id) == before
    assert _search(driver.db, ["wallabyledger"])


def test_expired_oauth_states_are_purged(db: Database, db_url: str) -> None:
    from bot.config import load_settings

    store = state_store(db.engine)
    store.issue()
    settings = load_settings(database_url=db_url)
    assert _retention(db, settings, 0)["oauth_states_pruned"] == 0  # still valid for ten minutes
    assert _retention(db, settings, 1)["oauth_states_pruned"] == 1
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM slack_oauth_states")).scalar_one() == 0


def _other_id(db: Database) -> int:
    with db.session() as s:
        return int(s.scalars(select(Workspace.id).where(Workspace.team_id == "T0STAYS")).one())
