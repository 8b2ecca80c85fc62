"""The history backfill against the Slack emulator (a real HTTP server) and both database engines.

A channel's history is seeded over the last months: questions with threads of answers, chatter, bot
posts and joins, mentions, reactions, an article, a question older than the window. The backfill must
store what the live ingest would (items, observed help, ties) and nothing about the noise, page with
cursors, wait out 429s, resume after a kill, stop with its reason when access goes, and plan no nudge.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot.backfill.runner import BackfillRunner, Progress
from bot.config import Settings
from bot.store.db import Database
from bot.store.models import (
    BackfillJob,
    Channel,
    Item,
    Member,
    Nudge,
    OutboxMessage,
    ProcessedEvent,
    Relationship,
    ThreadReply,
)
from bot.store.queries.backfill import DISCOVER, enqueue_backfill
from bot.store.queries.workspaces import ensure_workspace
from tests.slack.harness import make_settings
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0
HELPERS = ("alice", "bob", "carol")
TOPICS = ("postgres autovacuum", "kubernetes pod evictions", "terraform state locking", "python packaging")


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        small(emulator)
        yield emulator


@dataclass
class Seeded:
    channel: str
    questions: list[str] = field(default_factory=list)  # ts of in-window questions
    answers: dict[str, set[str]] = field(default_factory=dict)  # question ts -> user ids who replied
    too_old: str = ""
    article: str = ""


def seed_history(emu: SlackEmulator, now: float, *, questions: int = 14, channel: str = "help") -> Seeded:
    """Messages in ts order (the emulator appends): a question every 4 days, answered 1 to 3 times in
    its thread, with chatter, a bot post and a join between; one question 120 days old."""
    ch = emu.channel(channel)
    out = Seeded(ch.id)
    ids = {n: emu.user(n).id for n in ("alice", "bob", "carol", "dana")}
    old = emu.post_as_user(
        ch.id, "dana", "how do I rotate postgres credentials safely?", ts=f"{now - 120 * DAY:.6f}"
    )
    emu.post_as_user(
        ch.id, "alice", "use the vault integration", thread_ts=old["ts"], ts=f"{now - 119 * DAY:.6f}"
    )
    out.too_old = old["ts"]
    for i in range(questions):
        t = now - (4 * (questions - i) + 1) * DAY
        asker = "dana" if i % 2 == 0 else ("bob" if i % 3 else "carol")
        topic = TOPICS[i % len(TOPICS)]
        q = emu.post_as_user(ch.id, asker, f"how do we deal with {topic} in staging, case {i}?", ts=f"{t:.6f}",
                             reactions=[{"name": "eyes", "users": [ids["alice"]], "count": 1}] if i % 4 == 0 else [])  # fmt: skip
        out.questions.append(q["ts"])
        repliers = [h for h in HELPERS if h != asker][: 1 + i % 3]
        out.answers[q["ts"]] = {ids[h] for h in repliers}
        for k, helper in enumerate(repliers):
            broadcast = {"reply_broadcast": True, "subtype": "thread_broadcast"} if (i, k) == (2, 0) else {}
            emu.post_as_user(ch.id, helper, f"we solved that with a runbook, see step {k} <@{ids[asker]}>",
                             thread_ts=q["ts"], ts=f"{t + 3600 * (k + 1):.6f}", **broadcast)  # fmt: skip
        emu.post_as_user(ch.id, asker, "thanks!", thread_ts=q["ts"], ts=f"{t + 4 * 3600:.6f}")
        emu.post_as_user(ch.id, "bob", "lol same here", ts=f"{t + 5 * 3600:.6f}")
        if i == 3:
            emu.post_as_user(ch.id, "otherbot", "deploy finished", ts=f"{t + 6 * 3600:.6f}", bot_id="B0OTHERBOT",
                             subtype="bot_message")  # fmt: skip
            emu.post_as_user(ch.id, "carol", "<@carol> has joined the channel", ts=f"{t + 7 * 3600:.6f}",
                             subtype="channel_join")  # fmt: skip
        if i == 5:
            a = emu.post_as_user(ch.id, "carol", "great read on vacuum tuning https://example.com/vacuum",
                                 ts=f"{t + 8 * 3600:.6f}")  # fmt: skip
            out.article = a["ts"]
    return out


def settings_for(emu: SlackEmulator, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"passiton_backfill_per_minute": 6000.0, "passiton_backfill_days": 90}
    values.update(overrides)
    return make_settings(emu, url, **values)


def make_runner(emu: SlackEmulator, db: Database, **kwargs: Any) -> BackfillRunner:
    settings = kwargs.pop("settings", None) or settings_for(emu, str(db.engine.url.render_as_string(False)))
    return BackfillRunner(
        db, settings, lambda _team: emu.bot_token, page_limit=kwargs.pop("page_limit", 4), **kwargs
    )


def enqueue(
    emu: SlackEmulator, db: Database, channel: str, now: dt.datetime | None = None, days: int = 90
) -> int:
    with db.session() as session:
        workspace = ensure_workspace(session, emu.team.id, bot_user_id=emu.bot_user.id)
        job = enqueue_backfill(session, workspace, channel, now or dt.datetime.now(dt.UTC), days, "invited")
        assert job is not None
        session.flush()
        return job.id


def snapshot(db: Database) -> dict[str, Any]:
    """What the ingest learned, in plain comparable values (no ids, which differ between databases)."""
    a, b = aliased(Member), aliased(Member)
    with db.session() as s:
        items = sorted(
            (i.source_key, i.kind, i.source, i.answered_at.isoformat() if i.answered_at else None)
            for i in s.scalars(select(Item))
        )
        replies = sorted(
            (key, user, at.isoformat())
            for key, user, at in s.execute(
                select(Item.source_key, Member.slack_user_id, ThreadReply.replied_at)
                .join(Item, Item.id == ThreadReply.item_id)
                .join(Member, Member.id == ThreadReply.member_id)
            )
        )
        # Weights to 4 places, without their time: the channel's membership sync ties its members at the
        # moment it runs, so two runs a second apart decay history's ties to slightly different moments.
        ties = sorted(
            (x, y, ch, round(w, 4))
            for x, y, ch, w, _at in s.execute(
                select(
                    a.slack_user_id,
                    b.slack_user_id,
                    Channel.slack_channel_id,
                    Relationship.weight,
                    Relationship.updated_at,
                )
                .join(a, a.id == Relationship.member_a_id)
                .join(b, b.id == Relationship.member_b_id)
                .outerjoin(Channel, Channel.id == Relationship.channel_id)
            )
        )
        return {
            "items": items,
            "replies": replies,
            "ties": ties,
            "members": sorted(s.scalars(select(Member.slack_user_id))),
            "claims": s.scalar(select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id.startswith("h:"))),
            "nudges": s.scalar(select(func.count()).select_from(Nudge)),
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
        }  # fmt: skip


def job_row(db: Database, job_id: int) -> BackfillJob:
    with db.session() as s:
        job = s.get(BackfillJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


# -- the whole channel, page by page --------------------------------------------------------------


def test_multi_page_history_with_threads_feeds_the_ingest_and_plans_nothing(
    emu: SlackEmulator, db: Database
) -> None:
    now = time.time()
    seeded = seed_history(emu, now)
    with db.session() as s:  # an opted-in expert: even they are not nudged about old questions
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        from bot.store.queries.members import add_member_topics, ensure_member

        alice = ensure_member(s, ws, emu.user("alice").id)
        alice.opted_in = True
        add_member_topics(s, ws, alice, "expertise", ["postgres", "kubernetes"])
    job_id = enqueue(emu, db, seeded.channel)
    emu.reset_calls()
    emu.post_as_user(
        seeded.channel, "dana", "how do I tune autovacuum after the window closed?"
    )  # live's, not ours

    [progress] = make_runner(emu, db).run_pending()

    assert progress.done and progress.status == "done"
    job = job_row(db, job_id)
    # The old question, questions, chatter, bot, join, article, and a reply also sent to the channel.
    top_level = 1 + len(seeded.questions) * 2 + 2 + 1 + 1
    in_window = top_level - 1
    assert job.status == "done" and job.pages == -(-in_window // 4) and job.error is None
    history = emu.calls("conversations.history", ok=True)
    assert len(history) == job.pages
    assert all("cursor" in c.args for c in history[1:]) and "cursor" not in history[0].args
    assert {c.args["oldest"] for c in history} == {job.oldest_ts}
    replies = emu.calls("conversations.replies", ok=True)
    assert sorted(c.args["ts"] for c in replies) == sorted(seeded.questions)  # each thread read once

    snap = snapshot(db)
    keys = {k: kind for k, kind, _, _ in snap["items"]}
    assert {f"{seeded.channel}:{ts}" for ts in seeded.questions} <= keys.keys()
    assert keys[f"{seeded.channel}:{seeded.article}"] == "article"
    assert f"{seeded.channel}:{seeded.too_old}" not in keys  # outside the 90 days
    assert not any("after the window" in k for k in keys)
    assert len(keys) == len(seeded.questions) + 1  # chatter, the bot's post and the join are no items
    assert {source for _, _, source, _ in snap["items"]} == {"history"}
    observed = {(k.split(":")[1], u) for k, u, _ in snap["replies"]}
    assert observed == {(q, u) for q, users in seeded.answers.items() for u in users}
    assert all(answered for _, kind, _, answered in snap["items"] if kind == "question")
    ids = {n: emu.user(n).id for n in ("alice", "bob", "carol", "dana")}
    pairs = {(x, y) for x, y, *_ in snap["ties"]}
    assert tuple(sorted((ids["alice"], ids["dana"]))) in pairs  # replies, mentions and reactions
    assert emu.user("otherbot").id not in snap["members"]
    assert snap["nudges"] == 0 and snap["outbox"] == 0  # nothing planned, nothing sent about history
    assert not emu.dms_to("alice")


def test_a_stopping_process_hands_its_job_back_to_resume_at_once(emu: SlackEmulator, db: Database) -> None:
    seeded = seed_history(emu, time.time(), questions=8)
    job_id = enqueue(emu, db, seeded.channel)
    first = make_runner(emu, db)

    def stop(p: Progress) -> None:
        if p.pages == 2:
            first.stop.set()  # SIGTERM: the scheduler sets its stop event

    first.on_progress = stop
    [paused] = first.run_pending()
    job = job_row(db, job_id)
    assert paused.status == "pending" and job.status == "pending" and job.locked_by is None and job.pages == 2
    emu.reset_calls()
    [resumed] = make_runner(emu, db).run_pending()  # no lease to wait out
    assert resumed.done and emu.calls("conversations.history")[0].args["latest"] == job.reached_ts


def test_running_again_adds_nothing(emu: SlackEmulator, db: Database) -> None:
    seeded = seed_history(emu, time.time(), questions=6)
    job_id = enqueue(emu, db, seeded.channel)
    make_runner(emu, db).run_pending()
    first = snapshot(db)
    with db.session() as s:  # the same window again, from the start (an operator's re-run)
        job = s.get(BackfillJob, job_id)
        assert job is not None
        job.status, job.reached_ts = "pending", None
    [again] = make_runner(emu, db).run_pending()
    assert again.done and snapshot(db) == first


# -- pacing, 429s, restarts -----------------------------------------------------------------------------


def test_429_mid_way_is_waited_out_and_nothing_is_lost_or_doubled(
    emu: SlackEmulator, db: Database, sqlite_db: Database
) -> None:
    seeded = seed_history(emu, time.time(), questions=8)
    same = db.engine.url.render_as_string(False) == sqlite_db.engine.url.render_as_string(False)
    reference = None if same else sqlite_db
    job_id = enqueue(emu, db, seeded.channel)
    emu.reset_calls()
    # Slack's own limiter, at a rate the backfill's pacing must stay under...
    emu.enable_rate_limits(per_minute={"conversations.history": 600, "conversations.replies": 600})
    # ...and two 429s it did not cause, in the middle of the history and of a thread.
    second_page: dict[str, Any] = {}

    def inject(p: Progress) -> None:
        if p.pages == 1 and not p.done:
            emu.fail_next("conversations.history", retry_after=1)
            emu.fail_next("conversations.replies", retry_after=1)
            second_page["at"] = time.time()

    runner = make_runner(emu, db, settings=settings_for(emu, db.engine.url.render_as_string(False),
                                                        passiton_backfill_per_minute=300.0), on_progress=inject)  # fmt: skip
    [progress] = runner.run_pending()
    assert progress.done
    limited = [c for c in emu.calls() if c.status == 429]
    assert {c.fault for c in limited} == {"injected"}  # the limiter itself never had to say no
    assert len(limited) == 2 and runner.pacer.rate_limited == 2
    for refused in limited:  # the same call again, after the Retry-After second, not before
        retry = next(c for c in emu.calls(refused.method) if c.at > refused.at and c.status == 200)
        assert retry.args == refused.args and retry.at - refused.at >= 1.0
    snap = snapshot(db)
    observed = {(k.split(":")[1], u) for k, u, _ in snap["replies"]}
    assert observed == {(q, u) for q, users in seeded.answers.items() for u in users}
    assert snap["claims"] == job_row(db, job_id).messages  # each message stored once
    if reference is not None:  # one run without faults on the other engine stores the same
        emu.disable_rate_limits()
        enqueue(emu, reference, seeded.channel)
        make_runner(emu, reference).run_pending()
        assert snapshot(reference) == snap
    assert job_row(db, job_id).status == "done"


class Crash(Exception):
    """A stand-in for the process dying right after a page was committed."""


def test_a_crashed_run_is_taken_over_after_its_lease_and_ends_as_a_one_shot_run(
    emu: SlackEmulator, db: Database, tmp_path: Path
) -> None:
    seeded = seed_history(emu, time.time(), questions=10)
    url = db.engine.url.render_as_string(False)
    job_id = enqueue(emu, db, seeded.channel)

    def crash(p: Progress) -> None:
        if p.pages == 2:
            raise Crash

    with pytest.raises(Crash):
        make_runner(emu, db, on_progress=crash).run_pending()
    halfway = job_row(db, job_id)
    assert halfway.status == "running" and halfway.pages == 2 and halfway.reached_ts is not None
    assert make_runner(emu, db).run_pending() == []  # its heartbeat is fresh: nobody takes it yet
    emu.reset_calls()
    [resumed] = make_runner(emu, db, lease=dt.timedelta(0)).run_pending()
    assert resumed.done and job_row(db, job_id).pages > 2
    first = emu.calls("conversations.history", ok=True)[0]
    assert first.args["latest"] == halfway.reached_ts  # on from the last page stored, not from the top

    one_shot = Database(f"sqlite:///{tmp_path / 'oneshot.db'}")
    from bot.store.migrate import upgrade

    upgrade(one_shot.engine.url.render_as_string(False))
    with one_shot.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        job = s.get(BackfillJob, job_id)  # nothing there: copy the window of the crashed job
        assert job is None
        enqueue_backfill(s, ws, seeded.channel, dt.datetime.now(dt.UTC), 90, "invited")
    with one_shot.session() as s:
        only = s.scalars(select(BackfillJob)).one()
        only.oldest_ts, only.latest_ts = halfway.oldest_ts, halfway.latest_ts
    make_runner(emu, one_shot, settings=settings_for(emu, url)).run_pending()
    assert snapshot(one_shot) == snapshot(db)


def test_killed_process_resumes_in_a_new_one(emu: SlackEmulator, sqlite_db: Database, tmp_path: Path) -> None:
    """`passiton backfill` killed (SIGKILL) after a few pages; the next process finishes the job, and the
    store equals a one-shot run's."""
    db = sqlite_db
    seeded = seed_history(emu, time.time(), questions=12)
    url = db.engine.url.render_as_string(False)
    emu.fail_next("conversations.history", error=None, delay=0.4, times=-1)  # slow enough to kill mid-way
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SLACK_BOT_TOKEN": emu.bot_token,
           "SLACK_API_URL": emu.url, "PASSITON_BACKFILL_PER_MINUTE": "6000", "SLACK_CLIENT_ID": "",
           "SLACK_CLIENT_SECRET": ""}  # fmt: skip
    cmd = [sys.executable, "-m", "bot.cli", "backfill", "--channel", seeded.channel, "--page-size", "3"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            with db.session() as s:
                job = s.scalars(select(BackfillJob)).first()
                pages = job.pages if job is not None else 0
            if pages >= 2 or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    emu.clear_faults()
    with db.session() as s:
        killed = s.scalars(select(BackfillJob)).one()
        assert killed.status == "running" and killed.pages >= 2
        s.expunge(killed)
    [resumed] = make_runner(emu, db, lease=dt.timedelta(0), page_limit=3).run_pending()
    assert resumed.done

    one_shot = Database(f"sqlite:///{tmp_path / 'oneshot.db'}")
    from bot.store.migrate import upgrade

    upgrade(one_shot.engine.url.render_as_string(False))
    with one_shot.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        enqueue_backfill(s, ws, seeded.channel, dt.datetime.now(dt.UTC), 90, "cli")
    with one_shot.session() as s:
        only = s.scalars(select(BackfillJob)).one()
        only.oldest_ts, only.latest_ts = killed.oldest_ts, killed.latest_ts
    make_runner(emu, one_shot, page_limit=3).run_pending()
    assert snapshot(one_shot) == snapshot(db)


# -- stopping cleanly ------------------------------------------------------------------------------------


def test_lost_token_stops_the_job_with_its_reason_in_one_log_line(
    emu: SlackEmulator, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed_history(emu, time.time(), questions=8)
    job_id = enqueue(emu, db, seeded.channel)

    def revoke(p: Progress) -> None:
        if p.pages == 1 and p.status == "running":
            emu.revoke_token(emu.bot_token, "token_revoked")

    later = make_runner(emu, db)  # built while the token still works (the emulator hands out live ones)
    with caplog.at_level(logging.INFO, logger="bot.backfill"):
        [progress] = make_runner(emu, db, on_progress=revoke).run_pending()
    job = job_row(db, job_id)
    assert progress.status == "stopped" and job.status == "stopped" and job.pages == 1
    assert job.error is not None and job.error.startswith("token_revoked: ")
    stopped = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(stopped) == 1 and "token_revoked" in stopped[0].getMessage()
    assert seeded.channel in stopped[0].getMessage() and stopped[0].reason == "token_revoked"
    assert snapshot(db)["items"]  # what the first page stored stays
    assert later.run_pending() == []  # a stopped job is not retried in a loop


def test_a_channel_the_bot_is_not_in_stops_with_not_in_channel(
    emu: SlackEmulator, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    random = emu.channel("random").id
    job_id = enqueue(emu, db, random)
    with caplog.at_level(logging.WARNING, logger="bot.backfill"):
        [progress] = make_runner(emu, db).run_pending()
    job = job_row(db, job_id)
    assert job.status == "stopped" and job.error is not None and job.error.startswith("not_in_channel: ")
    assert progress.reason == job.error
    assert [r.getMessage() for r in caplog.records] == [f"backfill of {random} stopped: {job.error}"]


def test_install_discovers_the_bots_channels_public_and_private(emu: SlackEmulator, db: Database) -> None:
    for name in ("help", "leads", "random"):
        emu.post_as_user(name, "alice", f"how does {name} work around here, anyone?")
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        enqueue_backfill(s, ws, DISCOVER, dt.datetime.now(dt.UTC), 90, "install")
    results = make_runner(emu, db).run_pending()
    assert next(r.channel for r in results) == DISCOVER and all(r.done for r in results)
    with db.session() as s:
        jobs = {j.slack_channel_id: j.status for j in s.scalars(select(BackfillJob))}
        private = {i.source_key.split(":")[0]: i.is_private for i in s.scalars(select(Item))}
    names = {emu.channel(n).id: n for n in ("general", "eng", "help", "leads")}
    assert jobs == {DISCOVER: "done", **{cid: "done" for cid in names}}  # not #random: not a member
    assert private == {emu.channel("help").id: False, emu.channel("leads").id: True}


def test_backfill_off_enqueues_nothing(emu: SlackEmulator, db: Database) -> None:
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id)
        assert enqueue_backfill(s, ws, emu.channel("help").id, dt.datetime.now(dt.UTC), 0, "invited") is None
        assert s.scalars(select(BackfillJob)).first() is None


def test_invited_again_reads_only_what_the_last_run_did_not_cover(emu: SlackEmulator, db: Database) -> None:
    seeded = seed_history(emu, time.time(), questions=4)
    job_id = enqueue(emu, db, seeded.channel)
    make_runner(emu, db).run_pending()
    first = job_row(db, job_id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    enqueue(emu, db, seeded.channel, now=later)
    again = job_row(db, job_id)
    assert again.status == "pending" and again.oldest_ts == first.latest_ts and again.reached_ts is None


def test_a_slack_outage_hands_the_job_back_and_a_refusal_stops_it(
    emu: SlackEmulator, sqlite_db: Database
) -> None:
    db = sqlite_db
    seeded = seed_history(emu, time.time(), questions=3)
    job_id = enqueue(emu, db, seeded.channel)
    emu.fail_next("conversations.history", error="internal_error", status=503)
    [outage] = make_runner(emu, db).run_pending()
    job = job_row(db, job_id)
    assert outage.status == "pending" and job.status == "pending" and "internal_error" in (job.error or "")
    [after] = make_runner(emu, db).run_pending()  # the next round goes on
    assert after.done
    other = enqueue(emu, db, emu.channel("eng").id)
    emu.fail_next("conversations.history", error="invalid_arguments")  # HTTP 200, ok: false
    [refused] = make_runner(emu, db).run_pending()
    assert refused.status == "stopped" and job_row(db, other).error == "invalid_arguments: Slack refused"


def test_a_forgotten_member_is_not_collected_from_history(emu: SlackEmulator, db: Database) -> None:
    """Forget-me stops collection: history brings back none of their messages, replies, reactions or ties."""
    from bot.store.queries.forgotten import mark_forgotten

    seeded = seed_history(emu, time.time(), questions=8)
    alice = emu.user("alice").id
    with db.session() as s:
        mark_forgotten(s, ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id), alice)
    enqueue(emu, db, seeded.channel)
    [done] = make_runner(emu, db).run_pending()
    assert done.done
    snap = snapshot(db)
    assert alice not in snap["members"]
    assert not any(u == alice for _, u, _ in snap["replies"]) and snap["replies"]
    assert not any(alice in (x, y) for x, y, *_ in snap["ties"]) and snap["ties"]


def test_the_cli_reads_every_channel_the_bot_is_in_and_lists_the_jobs(
    emu: SlackEmulator, sqlite_db: Database, tmp_path: Path
) -> None:
    seeded = seed_history(emu, time.time(), questions=3)
    url = sqlite_db.engine.url.render_as_string(False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SLACK_BOT_TOKEN": emu.bot_token,
           "SLACK_API_URL": emu.url, "PASSITON_BACKFILL_PER_MINUTE": "6000", "SLACK_CLIENT_ID": "",
           "SLACK_CLIENT_SECRET": ""}  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "bot.cli", "backfill"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    status = subprocess.run([sys.executable, "-m", "bot.cli", "backfill", "--status"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = status.stdout.splitlines()
    assert any(f" {seeded.channel} done " in line for line in lines), status.stdout
    assert len(lines) == 1 + 4  # discovery, and #general #eng #help #leads
    off = subprocess.run([sys.executable, "-m", "bot.cli", "backfill", "--days", "0"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert off.returncode == 2 and "the backfill is off" in off.stderr


def test_learned_help_from_a_private_channel_shows_only_while_its_member_is_in_it(
    emu: SlackEmulator, db: Database
) -> None:
    from bot.matching.learned import answered_topics
    from bot.store.models import ChannelMember
    from bot.store.queries.learned import observed_help
    from bot.store.queries.members import add_member_topics, member_by_slack_id

    leads = emu.channel("leads").id
    q = emu.post_as_user(leads, "dana", "how do we handle terraform state locking across teams?")
    emu.post_as_user(leads, "alice", "a DynamoDB lock table per workspace", thread_ts=q["ts"])
    enqueue(emu, db, leads)
    [done] = make_runner(emu, db).run_pending()
    assert done.done
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id)
        alice = member_by_slack_id(s, ws, emu.user("alice").id)
        assert alice is not None
        add_member_topics(s, ws, alice, "interest", ["terraform"])
        helped = observed_help(s, alice)
        assert answered_topics(helped.texts, helped.vocabulary) == ["terraform"] and helped.channels == [
            "leads"
        ]
        s.query(ChannelMember).filter(ChannelMember.member_id == alice.id).delete()  # she left #leads
    with db.session() as s:
        alice = member_by_slack_id(s, ensure_workspace(s, emu.team.id), emu.user("alice").id)
        assert alice is not None
        assert not observed_help(s, alice).any  # the private question's text never shows outside it
