"""Posted-message work runs on its own small pool, so a backlog never holds up a member's command."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.slack.listeners.events import message as event_listeners
from tests.slack.harness import Slack


def test_a_command_is_answered_while_message_work_is_stuck(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)
    real = event_listeners._ingest_and_answer

    def stuck(*args: Any) -> None:
        started.release()
        release.wait(30)
        real(*args)

    monkeypatch.setattr(event_listeners, "_ingest_and_answer", stuck)
    try:
        for i in range(12):  # more than Bolt's own listener threads
            slack.message("general", "alice", f"how do we tune postgres autovacuum, take {i}?")
        assert started.acquire(timeout=10), "message work never started"
        # Every event worker is now blocked and more messages are queued behind them; the command
        # still gets its reply in the HTTP response itself.
        reply = slack.command("interests add postgres", "bob")
        assert reply.get("response_type") == "ephemeral" and "Postgres" in reply["text"]
    finally:
        release.set()
    slack.quiesce()
