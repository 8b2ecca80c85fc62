"""Events API listeners. Each event we act on is written to the store before Bolt acks it
(`bot.slack.inbound`); the work happens after the ack, on the event pool, and rides out a database
restart (`retry_transient`): an acked event is one Slack will not send again, so it must not live only
in memory."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.events import app_home_opened, queued
from bot.slack.listeners.events.work import WORK


def register(app: App) -> None:
    for event_type in WORK:
        app.event(event_type)(queued.on_event)
    app.event("app_home_opened")(app_home_opened.on_home_opened)
