"""Help planning on the real database: K helpers, awake, fair, private stays private, cancelled on answer."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nudges import planner
from bot.nudges.expiry import cancel_reason
from bot.nudges.loading import caps_from_settings, not_held_back, prefs_of
from bot.nudges.member_index import MemberIndexes
from bot.nudges.planner import cancel_answered_help, plan_help_nudges
from bot.policy.caps import backoff_state
from bot.policy.time import WAKING, may_reach_at
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage, ThreadReply
from bot.store.queries.workspaces import get_workspace
from tests.nudges.world import DAY, World, channel, embedder, item, member, settings, small_team

FEW_READY = planner.FEW_READY
NOON_UTC = DAY + dt.timedelta(hours=12)  # 08:00 New York, 14:00 Berlin, 21:00 Tokyo, 22:00 Sydney


def test_help_goes_to_at_most_k_awake_helpers_never_the_asker(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        member(s, w, "gus", "Europe/Lisbon", expertise=("postgres",))
        member(s, w, "hal", "America/Chicago", expertise=("postgres",), quiet_start=6 * 60, quiet_end=9 * 60)
        channel(s, w, "help", ["ann", "bob", "cy", "dana", "eve", "gus", "hal"])
        q = item(s, w, "question", "help", "bob", "", "How do I tune postgres autovacuum?", NOON_UTC)
        nudges = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(passiton_helpers_per_question=3), embedder())
        assert 1 <= len(nudges) <= 3
        names = {s.get(Member, n.recipient_id).display_name for n in nudges}  # type: ignore[union-attr]
        assert "bob" not in names
        # Cy is in Tokyo at 21:00 (awake till 21), Hal in quiet hours (06:00-09:00 Chicago, 07:00 now).
        assert "hal" not in names
        for n in nudges:
            m = s.get(Member, n.recipient_id)
            assert m is not None and may_reach_at(prefs_of(m), n.send_after, WAKING)
            assert "postgres" in n.reason and not any(c.isdigit() for c in n.reason)
        # Planning twice queues nothing new.
        again = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(passiton_helpers_per_question=3), embedder())
        assert again == []


def test_excluded_helpers_are_not_asked_and_their_cancelled_slots_are_refilled(db: Database) -> None:
    """An in-channel answer names some experts in public: they are not nudged, and others take their place."""
    with db.session() as s:
        w = small_team(s)
        member(s, w, "gus", "Europe/Lisbon", expertise=("postgres",))
        member(s, w, "ivy", "Europe/Madrid", expertise=("postgres",))
        channel(s, w, "help", ["ann", "bob", "cy", "dana", "eve", "gus", "ivy"])
        q = item(s, w, "question", "help", "bob", "", "How do I tune postgres autovacuum?", NOON_UTC)
        cfg = settings(passiton_helpers_per_question=1)
        [first] = plan_help_nudges(s, w.ws, q, NOON_UTC, cfg, embedder())
        first.status = "cancelled"  # as the answer service does for an expert it named
        s.flush()
        [second] = plan_help_nudges(s, w.ws, q, NOON_UTC, cfg, embedder(), exclude=[first.recipient_id])
        assert second.recipient_id != first.recipient_id
        assert plan_help_nudges(s, w.ws, q, NOON_UTC, cfg, embedder()) == [], "K open nudges: nothing more"


def test_private_question_only_reaches_channel_members(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "secret", "ann", "", "Anyone know kubernetes pod autoscaling?", NOON_UTC)
        nudges = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(), embedder())
        members = {w.m["ann"].id, w.m["dana"].id}
        assert all(n.recipient_id in members for n in nudges)
        assert [n.recipient_id for n in nudges] == [w.m["dana"].id]


def test_a_reply_in_the_thread_cancels_unsent_help_nudges(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "infra", "dana", "", "How do I tune postgres autovacuum?", NOON_UTC)
        nudges = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(), embedder())
        assert nudges
        ids = [n.id for n in nudges]
        s.add(ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=w.m["dana"].id, replied_at=NOON_UTC))
        s.flush()
        assert cancel_answered_help(s, q, NOON_UTC) == 0, "the asker's own reply is not an answer"
        s.add(ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=w.m["bob"].id, replied_at=NOON_UTC))
        s.flush()
        assert cancel_answered_help(s, q, NOON_UTC + dt.timedelta(minutes=1)) == len(ids)
        assert {s.get(Nudge, i).status for i in ids} == {"cancelled"}  # type: ignore[union-attr]
        outbox = s.scalars(select(OutboxMessage).where(OutboxMessage.nudge_id.in_(ids))).all()
        assert outbox and all(cancel_reason(s, o.nudge_id, NOON_UTC) for o in outbox if o.nudge_id)


def test_a_helper_who_replies_after_the_first_answer_has_acted(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "infra", "dana", "", "How do I tune postgres autovacuum?", NOON_UTC)
        nudges = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(), embedder())
        assert len(nudges) >= 1
        for n in nudges:
            n.status, n.sent_at = "sent", NOON_UTC
        helper = s.get_one(Member, nudges[0].recipient_id)
        helper.unanswered = 2
        others = [n.id for n in nudges[1:]]
        asked = {n.recipient_id for n in nudges} | {w.m["dana"].id}
        first = next(m for m in w.m.values() if m.id not in asked)
        s.add(ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=first.id, replied_at=NOON_UTC))
        s.flush()
        assert cancel_answered_help(s, q, NOON_UTC) == 0  # answered; sent nudges are not cancelled
        assert q.answered_at == NOON_UTC
        assert nudges[0].status == "sent" and helper.unanswered == 2
        later = NOON_UTC + dt.timedelta(hours=1)
        s.add(ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=helper.id, replied_at=later))
        s.flush()
        assert cancel_answered_help(s, q, later) == 0
        assert q.answered_at == NOON_UTC, "the first answer's time stands"
        assert (nudges[0].status, nudges[0].acted_at, helper.unanswered) == ("acted", later, 0)
        assert all(s.get_one(Nudge, i).status == "sent" for i in others)


def test_an_answer_to_a_question_nobody_was_nudged_about_only_marks_it_answered(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "infra", "dana", "", "Where is the coffee machine manual?", NOON_UTC)
        s.add(ThreadReply(workspace_id=w.ws.id, item_id=q.id, member_id=w.m["bob"].id, replied_at=NOON_UTC))
        s.flush()
        assert planner.help_to_settle(s, q), "not marked answered yet: cancel_answered_help marks it"
        assert cancel_answered_help(s, q, NOON_UTC) == 0
        assert q.answered_at == NOON_UTC
        assert not planner.help_to_settle(s, q), "answered, and no help nudge to settle"


def test_help_to_settle_while_a_help_nudge_is_unsent_or_awaiting_an_answer(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "infra", "dana", "", "How do I tune postgres autovacuum?", NOON_UTC)
        [first, *_] = plan_help_nudges(s, w.ws, q, NOON_UTC, settings(), embedder())
        q.answered_at = NOON_UTC
        for status, settle in [("queued", True), ("sent", True), ("acted", False), ("cancelled", False)]:
            first.status = status
            others = [n for n in s.scalars(select(Nudge).where(Nudge.item_id == q.id)) if n is not first]
            for n in others:
                n.status = "expired"
            s.flush()
            assert planner.help_to_settle(s, q) is settle, status


def test_fairness_over_many_questions_across_time_zones(db: Database) -> None:
    """Ten similar questions over two weeks: the load spreads and the caps hold."""
    with db.session() as s:
        w = small_team(s)
        for name, tz in [("gus", "Europe/Lisbon"), ("ian", "Europe/Madrid"), ("jo", "Africa/Lagos")]:
            member(s, w, name, tz, expertise=("postgres",))
        channel(s, w, "help", list(w.m))
        ws_id = w.ws.id
    counts: Counter[int] = Counter()
    conf = settings(passiton_helpers_per_question=1)
    emb = embedder()
    for day in range(10):
        now = NOON_UTC + dt.timedelta(days=day)
        with db.session() as s:
            ws = get_workspace(s, "T0NUDGE1")
            assert ws is not None and ws.id == ws_id
            from tests.nudges.world import World

            w = World(ws)
            w.ch["help"] = s.scalars(
                select(__import__("bot.store.models", fromlist=["Channel"]).Channel)
            ).first()  # type: ignore[assignment]
            asker = s.scalars(select(Member).where(Member.display_name == "fred")).one()
            w.m["fred"] = asker
            q = item(s, w, "question", "help", "fred", "", f"postgres vacuum question number {day}", now)
            for n in plan_help_nudges(s, ws, q, now, conf, emb):
                counts[n.recipient_id] += 1
    assert sum(counts.values()) >= 5
    assert max(counts.values()) < sum(counts.values()), "not the same expert every time"
    assert len(counts) >= 3
    with db.session() as s:
        for member_id in counts:
            m = s.get(Member, member_id)
            assert m is not None
            weekly: Counter[tuple[int, int]] = Counter()
            for n in s.scalars(select(Nudge).where(Nudge.recipient_id == member_id)):
                iso = (
                    __import__("bot.policy.time", fromlist=["local_date"])
                    .local_date(m.tz, n.send_after)
                    .isocalendar()
                )
                weekly[(iso[0], iso[1])] += 1
            assert max(weekly.values()) <= 5


def test_concurrent_help_planners_do_not_ask_a_helper_twice(db: Database) -> None:
    """Replicas (or Bolt's listener threads) planning at the same moment still respect the help recency."""
    import threading

    with db.session() as s:
        w = small_team(s)
        member(s, w, "gus", "Europe/Lisbon", expertise=("postgres",))
        channel(s, w, "help", ["ann", "bob", "cy", "dana", "eve", "gus"])
        questions = [
            item(
                s,
                w,
                "question",
                "help",
                "bob",
                "",
                f"How do I tune postgres autovacuum, case {i}?",
                NOON_UTC + dt.timedelta(seconds=i),
            )
            for i in range(4)
        ]
        ids = [q.id for q in questions]
        ws_id = w.ws.id
    cfg = settings(passiton_helpers_per_question=1)
    emb = embedder()
    emb.embed(["warm the model up before the race"])
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def plan(item_id: int) -> None:
        try:
            with db.session() as s:
                from bot.store.models import Item, Workspace

                it = s.get(Item, item_id)
                ws = s.get(Workspace, ws_id)
                assert it is not None and ws is not None
                barrier.wait()
                plan_help_nudges(s, ws, it, NOON_UTC, cfg, emb)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=plan, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with db.session() as s:
        per_helper = Counter(s.scalars(select(Nudge.recipient_id).where(Nudge.kind == "help")).all())
    assert per_helper, "someone should have been asked"
    assert max(per_helper.values()) == 1, per_helper


def _plan_both_ways(
    s: Session, w: World, q: Item, at: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[int], list[int], int]:
    """Recipients planned with the few-ready shortcut and with the workspace's matching alone (each in a
    savepoint rolled back), and how often the workspace index was built for the first. Whenever
    `anyone_to_ask` says no, the full matching must find nobody."""
    monkeypatch.setattr(planner, "FEW_READY", FEW_READY)
    asks = planner.anyone_to_ask(s, w.ws, q, at, settings(), embedder())
    built = 0
    counting = MemberIndexes()
    real = counting.member_index

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal built
        built += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(counting, "member_index", counted)
    out: list[list[int]] = []
    for few in (FEW_READY, -1):
        monkeypatch.setattr(planner, "FEW_READY", few)
        indexes = counting if few >= 0 else MemberIndexes()
        savepoint = s.begin_nested()
        planned = plan_help_nudges(s, w.ws, q, at, settings(), embedder(), indexes=indexes)
        out.append(sorted(n.recipient_id for n in planned))
        savepoint.rollback()
    assert asks or out[1] == [], "anyone_to_ask said no to a question the full matching plans"
    assert asks == bool(out[0]), "here the only reason to plan nothing is that nobody could be asked"
    return out[0], out[1], built


def test_with_few_people_ready_they_are_matched_alone_and_the_plan_is_the_same(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once most people are in back-off, the few still ready are ranked alone before the workspace's index:
    the same helpers come out, and without anyone ready who knows the topic the index is never built."""
    with db.session() as s:
        w = small_team(s)
        topics = ["postgres", "kubernetes", "css", "terraform", "react"]
        for n in range(15):
            member(s, w, f"x{n}", "Europe/Lisbon", expertise=(topics[n % 5],), unanswered=3)
        member(s, w, "gus", "Europe/Lisbon", expertise=("css",))  # ready, knows css
        member(s, w, "ivy", "Europe/Madrid", opted_in=True)  # ready, no expertise
        for name in ("ann", "cy", "dana", "eve"):
            w.m[name].unanswered = 4
        channel(s, w, "help", list(w.m))
        postgres = item(s, w, "question", "help", "bob", "", "How do I tune postgres autovacuum?", NOON_UTC)
        css = item(
            s,
            w,
            "question",
            "help",
            "bob",
            "",
            "Why does my css grid layout collapse?",
            NOON_UTC + dt.timedelta(seconds=1),
        )
        s.flush()

        shortcut, full, built = _plan_both_ways(s, w, postgres, NOON_UTC, monkeypatch)
        assert shortcut == full == [] and built == 0
        shortcut, full, built = _plan_both_ways(s, w, css, NOON_UTC, monkeypatch)
        assert shortcut == full == [w.m["gus"].id] and built == 1
        # Gus asked the css question himself: nobody ready is left who could answer it.
        own = item(
            s,
            w,
            "question",
            "help",
            "gus",
            "",
            "Any css container query tips?",
            NOON_UTC + dt.timedelta(seconds=2),
        )
        shortcut, full, built = _plan_both_ways(s, w, own, NOON_UTC, monkeypatch)
        assert shortcut == full == [] and built == 0


def test_nobody_is_to_be_asked_about_an_answered_closed_or_deleted_question(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q = item(s, w, "question", "infra", "dana", "", "How do I tune postgres autovacuum?", NOON_UTC)
        assert planner.anyone_to_ask(s, w.ws, q, NOON_UTC, settings(), embedder())
        for field in ("answered_at", "closed_at", "deleted_at"):
            setattr(q, field, NOON_UTC)
            assert not planner.anyone_to_ask(s, w.ws, q, NOON_UTC, settings(), embedder()), field
            assert plan_help_nudges(s, w.ws, q, NOON_UTC, settings(), embedder()) == [], field
            setattr(q, field, None)


def test_not_held_back_reads_exactly_the_members_the_back_off_lets_through(db: Database) -> None:
    caps = caps_from_settings(settings())
    with db.session() as s:
        w = small_team(s)
        held, over = NOON_UTC + dt.timedelta(days=3), NOON_UTC - dt.timedelta(days=3)
        for n in range(6):
            member(s, w, f"u{n}", "UTC", opted_in=True, unanswered=n)
            member(s, w, f"a{n}", "UTC", opted_in=True, unanswered=n, asked_to_continue_at=NOON_UTC)
            member(
                s, w, f"h{n}", "UTC", opted_in=True, unanswered=n, asked_to_continue_at=over, held_until=held
            )
            member(
                s, w, f"w{n}", "UTC", opted_in=True, unanswered=n, asked_to_continue_at=over, held_until=over
            )
            member(s, w, f"s{n}", "UTC", opted_in=True, unanswered=n, delivery="off")
        s.flush()
        read = {r.id for r in not_held_back(s, w.ws.id, caps, NOON_UTC)}
        everyone = s.scalars(select(Member).where(Member.workspace_id == w.ws.id, Member.opted_in.is_(True)))
        assert read == {m.id for m in everyone if backoff_state(prefs_of(m), caps, NOON_UTC) == "ok"}
        assert w.m["u0"].id in read and w.m["a0"].id in read and w.m["u5"].id not in read
        # A hold that wore off lets them through (a try); one still running, or a stop, does not.
        assert w.m["w5"].id in read and w.m["h0"].id not in read and w.m["s0"].id not in read
        # With a limit, the first ones by id: enough to tell "more than that many".
        assert [r.id for r in not_held_back(s, w.ws.id, caps, NOON_UTC, limit=3)] == sorted(read)[:3]
