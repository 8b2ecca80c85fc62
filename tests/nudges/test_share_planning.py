"""Share planning on the real database: the right giver, the right target, once, in their morning."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.nudges.planner import plan_share_nudges
from bot.policy.time import local_time
from bot.store.db import Database
from bot.store.models import Member, Nudge, OutboxMessage
from bot.store.queries.engagement import record_engagement
from tests.nudges.world import DAY, embedder, item, settings, small_team


def _ticks(db: Database, start: dt.datetime, hours: int, every: int = 15) -> list[Nudge]:
    emb, conf = embedder(), settings()
    out: list[Nudge] = []
    for minute in range(0, hours * 60, every):
        with db.session() as s:
            from bot.store.queries.workspaces import get_workspace

            ws = get_workspace(s, "T0NUDGE1")
            assert ws is not None
            out.extend(plan_share_nudges(s, ws, start + dt.timedelta(minutes=minute), conf, emb))
    return out


def test_a_day_of_activity_yields_the_expected_share_nudges_and_no_more(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        item(s, w, "article", "eng", "ann", "Postgres vacuum tuning", "A deep dive into postgres autovacuum",
             DAY - dt.timedelta(hours=3))  # fmt: skip
        item(s, w, "article", "secret", "ann", "Postgres internals", "private notes about postgres",
             DAY - dt.timedelta(hours=3))  # fmt: skip
        item(s, w, "article", "infra", "dana", "Kubernetes operators", "building kubernetes operators",
             DAY - dt.timedelta(hours=2))  # fmt: skip
        ids = {k: v.id for k, v in w.m.items()}

    planned = _ticks(db, DAY, 30)
    # Once more the next morning: nothing new (one nudge per (item, target) ever).
    planned += _ticks(db, DAY + dt.timedelta(hours=30), 2)
    with db.session() as s:
        nudges = s.scalars(select(Nudge).order_by(Nudge.id)).all()
        got = {(n.recipient_id, n.target_id, n.channel) for n in nudges}
        # Bob (postgres, not in #eng) gets the article from Cy, who saw it and talks with him in #infra.
        # Eve (postgres, email) gets it from Ann, who shared it and knows her. Nobody gets the private one.
        assert got == {(ids["cy"], ids["bob"], "slack"), (ids["ann"], ids["eve"], "slack")}
        assert len(planned) == 2
        by_target = {n.target_id: n for n in nudges}
        assert by_target[ids["bob"]].reason == "bob listed postgres; you two often talk in #infra."
        assert not any(ch.isdigit() for n in nudges for ch in n.reason)
        outbox = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(outbox) == 2 and {o.kind for o in outbox} == {"slack_dm"}
        for o in outbox:
            nudge = s.get(Nudge, o.nudge_id)
            assert nudge is not None
            recipient = s.get(Member, nudge.recipient_id)
            assert recipient is not None
            assert o.payload["user"] == recipient.slack_user_id
            assert o.payload["metadata"]["event_payload"]["nudge_id"] == nudge.id
            local = local_time(recipient.tz, o.next_attempt_at)
            assert 9 <= local.hour < 20 and local.weekday() < 5, "in the giver's own morning"
        # Everyone reachable was marked planned for their local day.
        assert s.get(Member, ids["bob"]).last_planned_on is not None  # type: ignore[union-attr]


def test_pause_mute_and_opt_out_are_honoured(db: Database) -> None:
    from bot.store.models import Feedback

    with db.session() as s:
        w = small_team(s)
        item(s, w, "article", "eng", "ann", "Postgres vacuum tuning", "postgres autovacuum",
             DAY - dt.timedelta(hours=3))  # fmt: skip
        w.m["cy"].paused_until = DAY + dt.timedelta(days=5)  # the best giver for Bob is away
        s.add(Feedback(workspace_id=w.ws.id, member_id=w.m["eve"].id, kind="mute_person",
                       other_member_id=w.m["ann"].id, created_at=DAY - dt.timedelta(days=1)))  # fmt: skip
        ids = {k: v.id for k, v in w.m.items()}
    _ticks(db, DAY, 30)
    with db.session() as s:
        got = {(n.recipient_id, n.target_id) for n in s.scalars(select(Nudge))}
    # Cy is paused: the sharer Ann passes it to Bob instead. Eve muted Ann: no Ann->Eve nudge.
    assert got == {(ids["ann"], ids["bob"])}


def test_email_delivery_queues_for_the_digest_within_the_same_budget(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        w.m["cy"].delivery, w.m["cy"].email = "email", "cy@example.com"
        w.m["ann"].delivery = "both"
        w.m["ann"].email = "ann@example.com"
        item(s, w, "article", "eng", "ann", "Postgres vacuum tuning", "postgres autovacuum",
             DAY - dt.timedelta(hours=3))  # fmt: skip
        item(s, w, "article", "eng", "ann", "Postgres replication", "postgres streaming replication",
             DAY - dt.timedelta(hours=2))  # fmt: skip
        ids = {k: v.id for k, v in w.m.items()}
    _ticks(db, DAY, 30)
    with db.session() as s:
        nudges = s.scalars(select(Nudge)).all()
        per_recipient: dict[int, int] = {}
        for n in nudges:
            per_recipient[n.recipient_id] = per_recipient.get(n.recipient_id, 0) + 1
        assert all(c <= 1 for c in per_recipient.values()), (
            "one share a day per person, Slack and email together"
        )
        cy = [n for n in nudges if n.recipient_id == ids["cy"]]
        assert [(n.channel, n.status) for n in cy] == [("email", "queued")]
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == ids["cy"])).all() == []
        ann = [n for n in nudges if n.recipient_id == ids["ann"]]
        assert [(n.channel, n.status) for n in ann] == [("email", "queued")]
        assert (
            len(s.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == ids["ann"])).all()) == 1
        )


def test_a_concurrent_planner_s_rows_are_skipped_not_doubled(db: Database) -> None:
    """Two planners racing on the same (item, target): the batch falls back to one-by-one and skips it."""
    from bot.messages.nudges import NudgeView
    from bot.nudges.writing import NudgeSpec, write_nudges

    with db.session() as s:
        w = small_team(s)
        it = item(
            s, w, "article", "eng", "ann", "Postgres vacuum tuning", "postgres", DAY - dt.timedelta(hours=3)
        )
        view = NudgeView(nudge_id=0, kind="share", reason="r")
        spec = NudgeSpec("share", w.m["cy"], it, w.m["bob"].id, None, "r", 1.0, DAY, view)
        other = NudgeSpec("share", w.m["ann"], it, w.m["eve"].id, None, "r", 1.0, DAY, view)
        assert len(write_nudges(s, w.ws, [spec], DAY)) == 1
        again = write_nudges(s, w.ws, [spec, other], DAY)
        assert [n.target_id for n in again] == [w.m["eve"].id]
        assert len(s.scalars(select(Nudge)).all()) == 2
        assert len(s.scalars(select(OutboxMessage)).all()) == 2


def test_givers_in_back_off_get_the_continue_question_and_no_share(db: Database) -> None:
    """With every giver held back after unanswered nudges, a tick plans nothing (the matching is skipped) but
    still asks each of them once whether to continue; a giver who is ready again gets their share."""
    with db.session() as s:
        w = small_team(s)
        item(s, w, "article", "eng", "ann", "Postgres vacuum tuning", "A deep dive into postgres autovacuum",
             DAY - dt.timedelta(hours=3))  # fmt: skip
        for name in ("ann", "cy"):
            w.m[name].unanswered = 3
        ids = {k: v.id for k, v in w.m.items()}

    assert _ticks(db, DAY, 30) == []
    with db.session() as s:
        assert s.scalars(select(Nudge)).all() == []
        asked = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {o.recipient_id for o in asked} == {ids["ann"], ids["cy"]}
        assert all(o.idempotency_key.split(":")[1] == "continue" for o in asked)
        cy = s.get(Member, ids["cy"])
        assert cy is not None and cy.asked_to_continue_at is not None
        assert cy.held_until is not None and cy.held_until > DAY  # the first hold starts with the question
        record_engagement(s, cy, DAY + dt.timedelta(hours=2))  # cy pressed "keep them coming"

    planned = _ticks(db, DAY + dt.timedelta(hours=30), 24)
    assert [(n.recipient_id, n.target_id) for n in planned] == [(ids["cy"], ids["bob"])]
