"""Claiming: batch size, due-ness, and parallel senders on PostgreSQL skipping each other's rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.drain import Drainer
from bot.store.db import Database
from bot.store.models import OutboxMessage
from tests.delivery.conftest import T0


def test_claim_takes_at_most_a_batch_and_marks_it(
    db: Database, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    ids = [queue_dm(f"U{i:04d}", f"k{i}") for i in range(30)]
    drainer = make_drainer(batch_size=7, worker_id="w1")
    batch = drainer.claim(T0)
    assert [m.id for m in batch] == ids[:7]
    with db.session() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.locked_by)).all()
    assert sorted(tuple(r) for r in rows if r[0] == "sending") == [("sending", "w1")] * 7
    assert [m.id for m in make_drainer(batch_size=7, worker_id="w2").claim(T0)] == ids[7:14]


@pytest.mark.postgres
def test_parallel_claims_skip_rows_locked_by_another_sender(
    db: Database, make_drainer: Callable[..., Drainer], queue_dm: Callable[..., int]
) -> None:
    if not db.is_postgres:
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    ids = [queue_dm(f"U{i:04d}", f"k{i}") for i in range(10)]
    # Another sender is in the middle of claiming the first four (its transaction holds their row locks).
    with Session(db.engine) as other:
        locked = list(
            other.scalars(
                select(OutboxMessage.id).order_by(OutboxMessage.id).limit(4).with_for_update(skip_locked=True)
            )
        )
        assert locked == ids[:4]
        batch = make_drainer(batch_size=5).claim(T0)  # does not wait for the other transaction
        assert [m.id for m in batch] == ids[4:9]
        other.rollback()
