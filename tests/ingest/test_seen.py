""" "Seen" is an act: the shared ingest (live events and the replay) records a reaction to an article and a
reply under it as the article having reached that member, so no share nudge names them as its target."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.ingest.messages import Message, ingest_new
from bot.ingest.pipeline import record_reactions
from bot.nudges.loading import reached
from bot.store.db import Database
from bot.store.models import ItemReach
from tests.nudges.world import DAY, item, small_team


def test_reactions_and_replies_on_an_article_mark_it_seen(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        art = item(s, w, "article", "infra", "bob", "Pod eviction explained", "a good read", DAY)
        infra = w.ch["infra"]
        later = DAY + dt.timedelta(minutes=5)
        record_reactions(s, w.ws, infra, w.m["bob"], [w.m["cy"], w.m["bob"]], later, message_ts=art.slack_ts)
        record_reactions(s, w.ws, infra, w.m["bob"], [w.m["ann"]], DAY, message_ts="1.000000")  # not an item
        reply = Message(
            channel=infra.slack_channel_id,
            ts=f"{(DAY + dt.timedelta(hours=1)).timestamp():.6f}",
            user=w.m["dana"].slack_user_id,
            text="thanks, this explains our evictions",
            thread_ts=art.slack_ts,
        )
        ingest_new(s, w.ws, infra, reply, is_private=False)
        s.flush()
        hows = {(r.member_id, r.how) for r in s.scalars(select(ItemReach).where(ItemReach.item_id == art.id))}
        assert hows == {(w.m["cy"].id, "reaction"), (w.m["dana"].id, "reply")}
        assert reached(s, w.ws.id, [art.id])[art.id] == {w.m["cy"].id, w.m["dana"].id}
