"""retry_transient: which database failures are waited out, and for how long."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.store.outage import FIRST_WAIT, LONGEST_WAIT, is_transient, retry_transient


class Clock:
    """Fake time: `sleep` advances it, so the budget is checked without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _dropped() -> OperationalError:
    return OperationalError("INSERT INTO items", {}, sqlite3.OperationalError("server closed the connection"))


def test_connection_failures_are_retried_until_the_work_succeeds() -> None:
    clock, calls = Clock(), []

    def work() -> str:
        calls.append(clock.now)
        if len(calls) < 4:
            raise _dropped()
        return "stored"

    assert retry_transient(work, "test", sleep=clock.sleep, clock=lambda: clock.now) == "stored"
    assert len(calls) == 4
    assert clock.waits == [FIRST_WAIT, FIRST_WAIT * 2, FIRST_WAIT * 4]


def test_other_errors_are_raised_at_once() -> None:
    clock, calls = Clock(), []

    def work() -> None:
        calls.append(1)
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        retry_transient(work, "test", sleep=clock.sleep, clock=lambda: clock.now)
    assert calls == [1] and clock.waits == []


def test_gives_up_with_the_last_failure_when_the_budget_is_spent() -> None:
    clock = Clock()

    def work() -> None:
        raise _dropped()

    with pytest.raises(OperationalError):
        retry_transient(work, "test", budget=30.0, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= 30.0 and max(clock.waits) == LONGEST_WAIT
    assert clock.now + LONGEST_WAIT > 30.0  # stopped only when the next wait would overrun


def test_what_counts_as_transient() -> None:
    assert is_transient(_dropped())
    invalidated = DBAPIError("SELECT 1", {}, Exception("reset"), connection_invalidated=True)
    assert is_transient(invalidated)
    assert not is_transient(DBAPIError("SELECT 1", {}, Exception("syntax")))
    assert not is_transient(IntegrityError("INSERT", {}, sqlite3.IntegrityError("dup")))
    assert not is_transient(ValueError("not a database error"))
