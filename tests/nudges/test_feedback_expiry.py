"""Feedback changes what comes next; a nudge whose moment passed is not sent; vectors are not re-embedded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from sqlalchemy import select, update

from bot.matching.embedders import CachedEmbedder, Matrix
from bot.nudges.expiry import cancel_reason
from bot.nudges.feedback import FeedbackError, apply_feedback
from bot.nudges.member_index import MemberIndexes
from bot.nudges.planner import plan_help_nudges, plan_share_nudges
from bot.store.db import Database
from bot.store.models import ChannelMember, EmbeddingCache, Feedback, Member, Nudge
from bot.store.queries.members import member_topics
from bot.store.queries.reaches import record_reach
from tests.nudges.world import DAY, _local, embedder, item, settings, small_team

NOON = DAY + dt.timedelta(hours=12)


def _share(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        w = small_team(s)
        it = item(
            s,
            w,
            "article",
            "eng",
            "ann",
            "Postgres vacuum tuning",
            "postgres autovacuum",
            DAY - dt.timedelta(hours=3),
        )
        [nudge] = [
            n for n in plan_share_nudges(s, w.ws, DAY, settings(), embedder()) if n.target_id == w.m["bob"].id
        ]
        return nudge.id, it.id, w.ws.id


def test_feedback_is_recorded_once_and_only_by_the_recipient(db: Database) -> None:
    nudge_id, _, _ = _share(db)
    with db.session() as s:
        nudge = s.get(Nudge, nudge_id)
        assert nudge is not None
        recipient = s.get(Member, nudge.recipient_id)
        other = s.scalars(select(Member).where(Member.display_name == "ann")).one()
        ws = recipient.workspace_id if recipient else 0
        from bot.store.models import Workspace

        workspace = s.get(Workspace, ws)
        assert recipient is not None and workspace is not None
        recipient.unanswered = 2
        with pytest.raises(FeedbackError):
            apply_feedback(s, workspace, other, nudge_id, "not_now", NOON)
        apply_feedback(s, workspace, recipient, nudge_id, "mute_topic", NOON)
        apply_feedback(s, workspace, recipient, nudge_id, "mute_topic", NOON)
        apply_feedback(s, workspace, recipient, nudge_id, "mute_person", NOON)
        kinds = [f.kind for f in s.scalars(select(Feedback).where(Feedback.nudge_id == nudge_id))]
        assert sorted(kinds) == ["mute_person", "mute_topic"]
        assert [t.name for t in member_topics(s, recipient, "muted")] == ["postgres"]
        assert nudge.status == "dismissed" and recipient.unanswered == 0
        mute = s.scalars(select(Feedback).where(Feedback.kind == "mute_person")).one()
        assert mute.other_member_id == nudge.target_id


def test_a_nudge_expires_when_the_link_already_reached_the_target(db: Database) -> None:
    nudge_id, item_id, ws_id = _share(db)
    with db.session() as s:
        nudge = s.get(Nudge, nudge_id)
        assert nudge is not None and nudge.target_id is not None
        assert cancel_reason(s, nudge_id, NOON) is None
        record_reach(s, ws_id, item_id, nudge.target_id, "reaction", NOON)
        assert cancel_reason(s, nudge_id, NOON) == "already_reached"
        assert nudge.status == "expired"


def test_a_nudge_expires_when_the_target_joins_the_channel_or_pauses(db: Database) -> None:
    nudge_id, item_id, ws_id = _share(db)
    with db.session() as s:
        nudge = s.get(Nudge, nudge_id)
        assert nudge is not None and nudge.target_id is not None
        recipient = s.get(Member, nudge.recipient_id)
        assert recipient is not None
        recipient.paused_until = NOON + dt.timedelta(days=1)
        assert cancel_reason(s, nudge_id, NOON) == "recipient_paused"
    nudge_id, item_id, ws_id = _share_again(db)
    with db.session() as s:
        nudge = s.get(Nudge, nudge_id)
        assert nudge is not None and nudge.target_id is not None
        from bot.store.models import Item

        it = s.get(Item, item_id)
        assert it is not None and it.channel_id is not None
        s.add(ChannelMember(workspace_id=ws_id, channel_id=it.channel_id, member_id=nudge.target_id))
        s.flush()
        assert cancel_reason(s, nudge_id, NOON) == "target_in_channel"


def _share_again(db: Database) -> tuple[int, int, int]:
    from tests.conftest import _truncate

    _truncate(db)
    return _share(db)


def test_not_my_area_lowers_the_topic_for_the_next_question(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        q1 = item(s, w, "question", "infra", "dana", "", "How do I tune postgres autovacuum?", NOON)
        first = plan_help_nudges(s, w.ws, q1, NOON, settings(passiton_helpers_per_question=1), embedder())
        assert len(first) == 1
        helper = s.get(Member, first[0].recipient_id)
        assert helper is not None
        apply_feedback(s, w.ws, helper, first[0].id, "not_my_area", NOON)
        later = NOON + dt.timedelta(days=7)
        q2 = item(s, w, "question", "infra", "dana", "", "Postgres autovacuum keeps running, why?", later)
        second = plan_help_nudges(s, w.ws, q2, later, settings(passiton_helpers_per_question=1), embedder())
        assert len(second) == 1 and second[0].recipient_id != helper.id


def test_replanning_reads_vectors_from_the_store_not_the_model(db: Database) -> None:
    with db.session() as s:
        w = small_team(s)
        item(
            s,
            w,
            "article",
            "eng",
            "ann",
            "Postgres vacuum tuning",
            "postgres autovacuum",
            DAY - dt.timedelta(hours=3),
        )
        ws = w.ws
        plan_share_nudges(s, ws, DAY, settings(), embedder())
        assert s.scalars(select(EmbeddingCache.id)).first() is not None
    counting = Counting()
    with db.session() as s:
        from bot.store.queries.workspaces import get_workspace

        ws2 = get_workspace(s, "T0NUDGE1")
        assert ws2 is not None
        s.execute(update(Member).values(last_planned_on=None))
        # A fresh member index cache, as in a new process: every vector must come from the store.
        plan_share_nudges(
            s, ws2, DAY + dt.timedelta(hours=1), settings(), CachedEmbedder(counting), indexes=MemberIndexes()
        )
    assert counting.texts == 0, "every vector came from the store"


class Counting:
    """The local model, counting the texts it is actually asked to embed."""

    def __init__(self) -> None:
        self.inner = _local()
        self.texts = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.texts += len(texts)
        return self.inner.embed(texts)
