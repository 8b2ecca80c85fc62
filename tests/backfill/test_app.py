"""The backfill's ends in the real app: an invite and a start enqueue it, App Home shows and clears what it
learned, and the share planner leaves history alone."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.nudges.planner import plan_share_nudges
from bot.slack.app import create_app
from bot.slack.blocks.home import CLEAR_LEARNED
from bot.store.db import Database
from bot.store.models import BackfillJob, Item, Member, Nudge, ThreadReply
from bot.store.queries.backfill import DISCOVER
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.workspaces import ensure_workspace, get_workspace
from bot.web.app import create_web_app
from tests.backfill.test_backfill import make_runner, seed_history
from tests.nudges import world
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[Slack]:
    with SlackEmulator() as emu:
        small(emu)
        ctx = make_context(make_settings(emu, sqlite_db.engine.url.render_as_string(False),
                                         passiton_backfill_days=30, passiton_backfill_per_minute=6000.0))  # fmt: skip
        with running_server(create_web_app(ctx)) as url:
            slack = Slack(emu, url, sqlite_db)
            yield slack
            slack.close()


def _jobs(db: Database) -> dict[str, BackfillJob]:
    with db.session() as s:
        rows = list(s.scalars(select(BackfillJob)))
        for r in rows:
            s.expunge(r)
    return {r.slack_channel_id: r for r in rows}


def test_inviting_the_bot_enqueues_its_channel_once(served: Slack) -> None:
    emu, db = served.emu, served.db
    help_id = emu.channel("help").id
    event = signing.member_joined_channel_event(served.bot_user_id, help_id, team=served.team_id)
    served.event(event, event_id="Ev0INVITE1")
    served.event(event, event_id="Ev0INVITE1", retry_num=1)  # Slack's retry changes nothing
    job = served.wait(lambda: _jobs(db).get(help_id), what="a backfill job")
    assert job.status == "pending" and job.trigger == "invited"
    window = float(job.latest_ts) - float(job.oldest_ts)
    assert abs(window - 30 * 86400) < 60  # PASSITON_BACKFILL_DAYS
    alice_joins = signing.member_joined_channel_event(emu.user("alice").id, help_id, team=served.team_id)
    served.event(alice_joins)
    served.quiesce()
    # The app's start found a new workspace (DISCOVER); a member joining is no reason to read history.
    assert sorted(_jobs(db)) == sorted([DISCOVER, help_id])


def test_first_start_with_a_token_discovers_channels_and_a_restart_does_not(sqlite_db: Database) -> None:
    with SlackEmulator() as emu:
        small(emu)
        settings = make_settings(emu, sqlite_db.engine.url.render_as_string(False), passiton_backfill_days=7)
        create_app(make_context(settings), socket_mode=True)
        jobs = _jobs(sqlite_db)
        assert list(jobs) == [DISCOVER] and jobs[DISCOVER].trigger == "install"
        with sqlite_db.session() as s:
            job = s.scalars(select(BackfillJob)).one()
            job.status = "done"
        create_app(make_context(settings), socket_mode=True)  # the same workspace again: a restart
        assert _jobs(sqlite_db)[DISCOVER].status == "done"


def _home_text(emu: SlackEmulator, user: str) -> str:
    view = emu.published_views(user)[-1]
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


def test_app_home_shows_what_was_learned_and_clears_it(served: Slack) -> None:
    emu, db = served.emu, served.db
    seeded = seed_history(emu, time.time(), questions=8)
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        dana = ensure_member(s, ws, emu.user("dana").id)  # someone stated these topics: the vocabulary
        add_member_topics(s, ws, dana, "interest", ["postgres", "kubernetes", "terraform"])
        from bot.store.queries.backfill import enqueue_backfill

        enqueue_backfill(s, ws, seeded.channel, dt.datetime.now(dt.UTC), 30, "invited")
    make_runner(emu, db).run_pending()

    served.event(signing.app_home_opened_event(emu.user("alice").id, "D0HOME"))
    served.wait(lambda: emu.published_views("alice"), what="alice's home")
    text = _home_text(emu, "alice")
    assert "*What I've learned*" in text and "You've answered questions about" in text
    assert "Postgres" in text and "Kubernetes" in text and "Terraform" in text
    assert not any(ch.isdigit() for ch in text.split("*What I've learned*")[1].split("\n")[1])  # no counts

    with db.session() as s:
        before = {m: n for m, n in _replies_by_member(s).items()}
    alice_id = _member_id(db, emu.user("alice").id)
    assert before.get(alice_id) and len(before) > 1
    views = len(emu.published_views("alice"))
    resp = served.click(CLEAR_LEARNED, "alice")
    assert resp.status_code == 200
    served.wait(lambda: len(emu.published_views("alice")) > views, what="home republished")
    assert "What I've learned" not in _home_text(emu, "alice")
    with db.session() as s:
        after = _replies_by_member(s)
    assert alice_id not in after and {m: n for m, n in before.items() if m != alice_id} == after
    with db.session() as s:  # the questions themselves stay
        assert s.scalars(select(Item).where(Item.kind == "question")).first() is not None


def _replies_by_member(s: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    for member_id in s.scalars(select(ThreadReply.member_id)):
        out[member_id] = out.get(member_id, 0) + 1
    return out


def _member_id(db: Database, slack_id: str) -> int:
    with db.session() as s:
        ws = get_workspace(s, "T0EMU0001")
        assert ws is not None
        member = s.scalars(
            select(Member).where(Member.workspace_id == ws.id, Member.slack_user_id == slack_id)
        ).one()
        return member.id


@pytest.mark.parametrize("source", ["slack", "history"])
def test_the_share_planner_leaves_articles_read_from_history_alone(db: Database, source: str) -> None:
    """The same day as tests/nudges' share planning, with the articles once live, once from history."""
    with db.session() as s:
        w = world.small_team(s)
        for channel, author, title, text, hours in (
            ("eng", "ann", "Postgres vacuum tuning", "A deep dive into postgres autovacuum", 3),
            ("infra", "dana", "Kubernetes operators", "building kubernetes operators", 2),
        ):
            it = world.item(
                s, w, "article", channel, author, title, text, world.DAY - dt.timedelta(hours=hours)
            )
            it.source = source
    emb, conf = world.embedder(), world.settings()
    for minute in range(0, 30 * 60, 15):
        with db.session() as s:
            ws = get_workspace(s, "T0NUDGE1")
            assert ws is not None
            plan_share_nudges(s, ws, world.DAY + dt.timedelta(minutes=minute), conf, emb)
    with db.session() as s:
        planned = s.scalars(select(Nudge)).all()
    assert (len(planned) > 0) is (source == "slack")


def test_the_in_process_scheduler_resumes_a_pending_job_on_start(
    sqlite_db: Database, sqlite_url: str
) -> None:
    """`passiton run` after a restart: the job the last process handed back (pending, half done) is read on
    to its end by the scheduler's leader, with nothing planned about it."""
    from bot.runtime import build_context
    from jobs.scheduler import start_in_process

    with SlackEmulator() as emu:
        small(emu)
        seeded = seed_history(emu, time.time(), questions=6)
        settings = make_settings(emu, sqlite_url, passiton_backfill_per_minute=6000.0)
        with sqlite_db.session() as s:
            ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
            from bot.store.queries.backfill import enqueue_backfill

            job = enqueue_backfill(s, ws, seeded.channel, dt.datetime.now(dt.UTC), 90, "invited")
            assert job is not None
            job.pages, job.reached_ts = (
                1,
                seeded.questions[3],
            )  # handed back after a page, by the last process
        scheduler = start_in_process(build_context(settings, db=sqlite_db))
        try:
            deadline = time.monotonic() + 30
            while _jobs(sqlite_db)[seeded.channel].status != "done" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            scheduler.shutdown()
        done = _jobs(sqlite_db)[seeded.channel]
        assert done.status == "done" and done.pages > 1
        history = emu.calls("conversations.history", ok=True)
        assert history[0].args["latest"] == seeded.questions[3]  # resumed, not restarted
        with sqlite_db.session() as s:
            keys = set(s.scalars(select(Item.source_key)))
            assert f"{seeded.channel}:{seeded.questions[0]}" in keys  # older than where it resumed
            assert f"{seeded.channel}:{seeded.questions[5]}" not in keys  # the page stored before the restart
            assert s.scalars(select(Nudge)).first() is None


def test_an_oauth_install_reads_the_new_workspace_with_its_stored_token(sqlite_db: Database) -> None:
    import re

    import httpx

    from bot.runtime import backfill_runner
    from bot.slack.tokens import bot_token_for

    with SlackEmulator() as emu:
        team2 = "T0EMU0002"
        emu.add_team(team2, "Second", "second", install=False)
        emu.add_user("zed", team_id=team2)
        emu.add_channel("lobby", members=["zed"], team_id=team2, bot_member=False)
        emu.post_as_user(
            "lobby", "zed", "how do we get a staging database for the new service?", team_id=team2
        )
        client_id, client_secret = emu.oauth_client
        settings = make_settings(emu, sqlite_db.engine.url.render_as_string(False), slack_bot_token=None,
                                 slack_client_id=client_id, slack_client_secret=client_secret,
                                 passiton_backfill_per_minute=6000.0)  # fmt: skip
        with running_server(create_web_app(make_context(settings))) as url, httpx.Client(timeout=10) as http:
            page = http.get(url + "/slack/install")
            state = re.search(r"state=([^&\"']+)", page.text)
            assert state is not None
            done = http.get(url + "/slack/oauth_redirect",
                            params={"code": emu.issue_oauth_code(team2, "zed"), "state": state.group(1)},
                            headers={"Cookie": page.headers["set-cookie"].split(";", 1)[0]})  # fmt: skip
            assert done.status_code == 200, done.text
        assert list(_jobs(sqlite_db)) == [DISCOVER] and _jobs(sqlite_db)[DISCOVER].trigger == "install"
        emu.join("lobby", emu.bot_user_for(team2).id, team2)  # the installer adds the bot to #lobby
        runner = backfill_runner(sqlite_db, settings, threading.Event())
        results = runner.run_pending()
        assert [r.status for r in results] == ["done", "done"]
        assert bot_token_for(sqlite_db, settings, team2) == emu.bot_token_for(team2)
        with sqlite_db.session() as s:
            item = s.scalars(select(Item)).one()
            assert item.kind == "question" and item.source == "history"
        with sqlite_db.engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("delete from slack_oauth_states"))
