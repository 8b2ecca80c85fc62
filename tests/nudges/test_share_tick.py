"""The share tick's outlook (`has_work`) and the marks of skipped ticks (`mark_planned`), pinned to what
`plan_share_nudges` itself does on the real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nudges.planner import plan_share_nudges
from bot.nudges.share_tick import FEW, has_work, mark_planned, planned_on, read_outlook
from bot.policy.time import at_local
from bot.store.db import Database
from bot.store.models import Member, Nudge, OutboxMessage, Workspace
from bot.store.queries.relationships import record_interaction
from bot.store.queries.workspaces import ensure_workspace
from tests.nudges.world import DAY, World, channel, embedder, item, member, settings

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata")


def _mornings(days: int, zones: tuple[str, ...] = ZONES, start: dt.datetime = DAY) -> list[dt.datetime]:
    """Every zone's 9:00 on each day, as the replay ticks (plus the hour after, which finds nobody new)."""
    out = {
        at_local(tz, (start + dt.timedelta(days=d)).date(), 9 * 60 + extra)
        for d in range(-1, days + 1)
        for tz in zones
        for extra in (0, 60)
    }
    return sorted(t for t in out if start <= t < start + dt.timedelta(days=days))


def test_planned_on_is_the_local_day_of_the_latest_tick_after_the_morning() -> None:
    tokyo_morning = at_local("Asia/Tokyo", DAY.date(), 9 * 60)  # 00:00 UTC
    berlin_morning = at_local("Europe/Berlin", DAY.date(), 9 * 60)  # 07:00 UTC
    assert planned_on([], "Asia/Tokyo", 9) is None
    assert planned_on([tokyo_morning], "Asia/Tokyo", 9) == DAY.date()
    # Tokyo's morning is Berlin's night before: no mark for Berlin yet.
    assert planned_on([tokyo_morning], "Europe/Berlin", 9) is None
    assert planned_on([tokyo_morning, berlin_morning], "Europe/Berlin", 9) == DAY.date()
    # A later tick in Tokyo's evening is still Tokyo's same day; the next day's night is not a morning.
    evening = tokyo_morning + dt.timedelta(hours=12)
    night = tokyo_morning + dt.timedelta(hours=17)  # 02:00 the next day in Tokyo
    assert planned_on([tokyo_morning, evening, night], "Asia/Tokyo", 9) == DAY.date()
    assert planned_on([night + dt.timedelta(hours=7)], "Asia/Tokyo", 9) == DAY.date() + dt.timedelta(days=1)
    # An unknown zone is UTC, as everywhere in the policy.
    assert planned_on([DAY + dt.timedelta(hours=9)], "Mars/Olympus", 9) == DAY.date()


def _varied(s: Session, team: str) -> World:
    """People the planner marks and people it must not: every way of being left out, and odd zones."""
    w = World(ensure_workspace(s, team, name=team))
    for n, tz in enumerate(ZONES):
        member(s, w, f"in{n}", tz, interests=("postgres",))
    member(s, w, "nozone", "", interests=("postgres",))
    member(s, w, "mars", "Mars/Olympus", interests=("postgres",))
    member(s, w, "email", "Europe/Berlin", interests=("postgres",), slack_user_id=None, email="e@example.org")
    member(s, w, "digest", "Asia/Tokyo", interests=("postgres",), delivery="email", email="d@example.org")
    member(s, w, "nobody", "Asia/Tokyo")  # never opted in
    member(s, w, "off", "Asia/Kolkata", interests=("postgres",), delivery="off")
    member(s, w, "bot", "Europe/Berlin", interests=("postgres",), is_bot=True)
    member(s, w, "gone", "Europe/Berlin", interests=("postgres",), is_deleted=True)
    member(s, w, "noway", "Europe/Berlin", interests=("postgres",), slack_user_id=None)
    member(s, w, "weekend", "Australia/Sydney", interests=("postgres",), weekends_off=True)
    member(s, w, "held", "Asia/Kolkata", interests=("postgres",), unanswered=9)
    member(
        s,
        w,
        "early",
        "Asia/Tokyo",
        interests=("postgres",),
        last_planned_on=(DAY + dt.timedelta(days=5)).date(),
    )
    s.flush()
    return w


def _marks(s: Session, ws: Workspace) -> dict[str, dt.date | None]:
    rows = s.execute(select(Member.display_name, Member.last_planned_on).where(Member.workspace_id == ws.id))
    return {name: day for name, day in rows}


def test_mark_planned_writes_what_the_ticks_would_have(db: Database) -> None:
    """Two copies of the same people: the planner ticks one, mark_planned writes the other's marks for the
    same ticks at once (in two stretches, as the replay does); every member's day is the same."""
    ticks = [*_mornings(4), DAY + dt.timedelta(days=4, hours=23, minutes=30)]
    conf, emb = settings(), embedder()
    with db.session() as s:
        ticked, skipped = _varied(s, "T0TICKED"), _varied(s, "T0SKIPPD")
        ticked_id, skipped_id = ticked.ws.id, skipped.ws.id
    with db.session() as s:
        ws = s.get(Workspace, ticked_id)
        assert ws is not None
        for at in ticks:
            plan_share_nudges(s, ws, at, conf, emb)
    half = len(ticks) // 2
    with db.session() as s:
        mark_planned(s, skipped_id, ticks[:half], 9)
    with db.session() as s:
        mark_planned(s, skipped_id, ticks[half:], 9)
    with db.session() as s:
        a, b = s.get(Workspace, ticked_id), s.get(Workspace, skipped_id)
        assert a is not None and b is not None
        want, got = _marks(s, a), _marks(s, b)
    assert got == want
    # Not a vacuous comparison: some were marked on the last days, the left-out ones never were.
    last = (DAY + dt.timedelta(days=3)).date()
    assert want["in2"] == last and want["email"] == last
    # The late tick is 23:30 in UTC (an empty zone is UTC): that day's mark, not yet Tokyo's next morning.
    assert want["nozone"] == want["mars"] == last + dt.timedelta(days=1)
    assert want["nobody"] is None and want["off"] is None and want["bot"] is None and want["noway"] is None
    assert want["early"] == (DAY + dt.timedelta(days=5)).date()


def _team(s: Session, team: str) -> World:
    """Five opted-in people in four zones and one who is not; articles on two days; Cy held back and not yet
    asked; Ann with a sent help nudge nobody answers (it lapses three days later), one short of the back-off."""
    w = World(ensure_workspace(s, team, name=team))
    member(s, w, "ann", "America/New_York", interests=("writing",), expertise=("postgres",), unanswered=2)
    member(s, w, "bob", "Europe/Berlin", interests=("postgres", "databases"))
    member(
        s, w, "cy", "Asia/Tokyo", interests=("design",), expertise=("postgres", "kubernetes"), unanswered=3
    )
    member(s, w, "dana", "Australia/Sydney", interests=("kubernetes",), expertise=("kubernetes",))
    member(s, w, "eve", "Europe/Berlin", interests=("postgres",), delivery="email", email="eve@example.com")
    member(s, w, "fred", "America/New_York")  # never opted in
    channel(s, w, "eng", ["ann", "cy", "fred"])
    channel(s, w, "infra", ["bob", "cy", "dana"])
    for _ in range(3):
        record_interaction(s, w.ws.id, w.m["cy"].id, w.m["bob"].id, w.ch["infra"].id, "reply", DAY)
        record_interaction(s, w.ws.id, w.m["dana"].id, w.m["ann"].id, w.ch["infra"].id, "reply", DAY)
    item(s, w, "article", "eng", "ann", "Postgres vacuum tuning", "A deep dive into postgres autovacuum",
         DAY - dt.timedelta(hours=3))  # fmt: skip
    item(s, w, "article", "infra", "dana", "Kubernetes operators", "building kubernetes operators",
         DAY + dt.timedelta(days=1, hours=2))  # fmt: skip
    question = item(s, w, "question", "eng", "bob", "Vacuum", "how do I vacuum postgres", DAY)
    s.add(Nudge(workspace_id=w.ws.id, dedupe_key=f"help:{question.id}:ann", kind="help", item_id=question.id,
                recipient_id=w.m["ann"].id, status="sent", channel="slack", reason="r",
                send_after=DAY, sent_at=DAY + dt.timedelta(days=2, hours=5), created_at=DAY))  # fmt: skip
    s.flush()
    return w


def _state(s: Session, ws: Workspace) -> list[Any]:
    """Everything a tick may write, but the marks, by name (ids differ between workspaces)."""
    name = {m.id: m.display_name for m in s.scalars(select(Member).where(Member.workspace_id == ws.id))}
    nudges = s.execute(
        select(Nudge.kind, Nudge.status, Nudge.recipient_id, Nudge.target_id, Nudge.send_after, Nudge.reason)
        .where(Nudge.workspace_id == ws.id)
    ).all()  # fmt: skip
    outbox = s.execute(
        select(OutboxMessage.kind, OutboxMessage.recipient_id, OutboxMessage.next_attempt_at)
        .where(OutboxMessage.workspace_id == ws.id)
    ).all()  # fmt: skip
    members = s.execute(
        select(Member.id, Member.unanswered, Member.asked_to_continue_at).where(Member.workspace_id == ws.id)
    ).all()
    return (
        sorted((k, st, name[r], name.get(t), at, why) for k, st, r, t, at, why in nudges)
        + sorted((k, name.get(r), at) for k, r, at in outbox)
        + sorted((name[i], u, a) for i, u, a in members)
    )


TICKS = _mornings(9)


def test_has_work_foresees_everything_a_tick_writes(db: Database) -> None:
    """Tick the planner at every morning; whenever has_work said no, the tick changed nothing but marks."""
    conf, emb = settings(), embedder()
    with db.session() as s:
        ws_id = _team(s, "T0TICKED").ws.id
    said: list[bool] = []
    for at in TICKS:
        with db.session() as s:
            ws = s.get(Workspace, ws_id)
            assert ws is not None
            work = has_work(read_outlook(s, ws.id, conf, at), at, conf)
            before = _state(s, ws)
            plan_share_nudges(s, ws, at, conf, emb)
            s.flush()
            if not work:
                assert _state(s, ws) == before, f"the tick at {at} did what has_work did not foresee"
            said.append(work)
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        assert ws is not None
        kinds = {row[0] for row in _state(s, ws)}
        assert "share" in kinds and "slack_dm" in kinds, "the scenario plans shares and asks"
        ann = s.scalars(
            select(Member).where(Member.workspace_id == ws_id, Member.display_name == "ann")
        ).one()
        assert ann.unanswered == 3 and ann.asked_to_continue_at is not None, (
            "Ann's nudge lapsed, she was asked"
        )
    assert any(said) and not all(said), "work on the articles' days, none on most of the rest"


def test_skipping_the_idle_ticks_decides_the_same(db: Database) -> None:
    """The replay's way: a tick has_work rules out is skipped, and the skipped ticks' marks are written
    before the next tick that runs. Same nudges, messages and back-off as ticking every morning."""
    conf, emb = settings(), embedder()
    with db.session() as s:
        every, driven = _team(s, "T0EVERY1").ws.id, _team(s, "T0DRIVEN").ws.id
    ran = 0
    skipped: list[dt.datetime] = []
    for at in TICKS:
        with db.session() as s:
            ws = s.get(Workspace, every)
            assert ws is not None
            plan_share_nudges(s, ws, at, conf, emb)
        with db.session() as s:
            ws = s.get(Workspace, driven)
            assert ws is not None
            if not has_work(read_outlook(s, ws.id, conf, at), at, conf, skipped):
                skipped.append(at)
                continue
            mark_planned(s, ws.id, skipped, conf.passiton_morning_hour)
            skipped = []
            plan_share_nudges(s, ws, at, conf, emb)
            ran += 1
    with db.session() as s:
        mark_planned(s, driven, skipped, conf.passiton_morning_hour)
    with db.session() as s:
        a, b = s.get(Workspace, every), s.get(Workspace, driven)
        assert a is not None and b is not None
        assert _state(s, b) == _state(s, a)
        assert _marks(s, b) == _marks(s, a)
    assert 0 < ran < len(TICKS) // 2, f"{ran} of {len(TICKS)} ticks ran"


def test_has_work_without_people_or_with_too_many() -> None:
    from bot.nudges.share_tick import ShareOutlook

    conf = settings()
    article = DAY - dt.timedelta(days=1)
    # Too many people to check one by one: the tick runs while an article is in the window, not after it.
    assert has_work(ShareOutlook(None, article, None), DAY, conf)
    assert not has_work(ShareOutlook(None, article, None), DAY + dt.timedelta(days=2, seconds=1), conf)
    assert not has_work(ShareOutlook(None, None, None), DAY, conf)
    # Too many to ask: always runs.
    assert has_work(ShareOutlook(None, None, (), None), DAY, conf)
    assert not has_work(ShareOutlook(None, article, ()), DAY, conf)
    # A lapse is due strictly after three days.
    sent = DAY - dt.timedelta(days=3)
    assert not has_work(ShareOutlook(sent, None, ()), DAY, conf)
    assert has_work(ShareOutlook(sent, None, ()), DAY + dt.timedelta(seconds=1), conf)
    assert FEW >= 1
