"""Store reads of the planner: restricted reads give what the full read gives, restricted."""

from __future__ import annotations

import datetime as dt

from bot.nudges import loading
from bot.policy.model import NOT_COUNTED, CapConfig
from bot.store.db import Database
from bot.store.models import Nudge
from bot.store.queries.relationships import record_interaction
from tests.nudges.world import DAY, item, small_team


def test_ties_to_some_others_are_the_full_ties_filtered(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        ids = {name: m.id for name, m in w.m.items()}
        for day, (a, b, where, how) in enumerate(
            [("ann", "cy", "eng", "reply"), ("cy", "dana", "infra", "mention"), ("ann", "dana", "secret", "reply"),
             ("bob", "dana", "infra", "reaction"), ("ann", "cy", None, "mention"), ("eve", "cy", "eng", "reply")]
        ):  # fmt: skip
            channel_id = w.ch[where].id if where else None
            record_interaction(s, w.ws.id, ids[a], ids[b], channel_id, how, DAY - dt.timedelta(days=day))
        s.flush()
        names = loading.public_channel_names(s, w.ws.id)
        targets = {ids["cy"], ids["dana"], ids["ann"]}
        full = loading.ties_for(s, w.ws.id, targets, DAY, names)
        assert full  # the world has ties to find
        for others in ({ids["bob"], ids["cy"]}, {ids["ann"]}, set(), set(ids.values())):
            kept = loading.ties_for(s, w.ws.id, targets, DAY, names, others=others)
            expected = {t: [tie for tie in ties if tie.other_id in others] for t, ties in full.items()}
            assert kept == {t: ties for t, ties in expected.items() if ties}


def test_history_holds_exactly_the_nudges_the_policy_counts(db: Database) -> None:
    """Cancelled, expired and failed nudges use no budget, so the state leaves them out; every other status is
    read, whatever it is."""
    with db.session() as s:
        w = small_team(s)
        question = item(s, w, "question", "eng", "ann", "Vacuum", "why does vacuum lock?", DAY)
        statuses = ["queued", "sent", "acted", "lapsed", "cancelled", "expired", "failed", "planned"]
        for n, status in enumerate(statuses):
            s.add(
                Nudge(
                    workspace_id=w.ws.id, dedupe_key=f"help:{question.id}:{n}", kind="help",
                    recipient_id=w.m["cy"].id, item_id=question.id, reason="r", score=1.0, status=status,
                    channel="slack", send_after=DAY + dt.timedelta(hours=n), created_at=DAY,
                )
            )  # fmt: skip
        s.flush()
        rows = loading.member_rows(s, w.ws.id)
        caps = CapConfig()
        for ids in (None, {w.m["cy"].id}):
            state = loading.load_state(s, w.ws.id, rows, DAY + dt.timedelta(days=1), caps, ids)
            read = sorted(p.status for p in state.past(w.m["cy"].id))
            assert read == sorted(t for t in statuses if t not in NOT_COUNTED)
            assert all(p.counts for p in state.past(w.m["cy"].id))
