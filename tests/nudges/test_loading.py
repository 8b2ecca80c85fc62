"""Store reads of the planner: restricted reads give what the full read gives, restricted."""

from __future__ import annotations

import datetime as dt

from bot.nudges import loading as ld
from bot.store.db import Database
from bot.store.queries.relationships import record_interaction
from tests.nudges.world import DAY, small_team


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
        names = ld.public_channel_names(s, w.ws.id)
        targets = {ids["cy"], ids["dana"], ids["ann"]}
        full = ld.ties_for(s, w.ws.id, targets, DAY, names)
        assert full  # the world has ties to find
        for others in ({ids["bob"], ids["cy"]}, {ids["ann"]}, set(), set(ids.values())):
            kept = ld.ties_for(s, w.ws.id, targets, DAY, names, others=others)
            expected = {t: [tie for tie in ties if tie.other_id in others] for t, ties in full.items()}
            assert kept == {t: ties for t, ties in expected.items() if ties}
