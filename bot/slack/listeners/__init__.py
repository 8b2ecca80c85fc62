"""Bolt listeners by kind, laid out like Slack's own Bolt starter template: `listeners/<kind>/` holds one
module per listener, each a plain top-level callback, and the kind's `register(app)` wires them.

Callbacks are thin (parse, call the store or core, render). The AppContext reaches them through one
middleware (`request.passiton_context`), as the `passiton` keyword argument."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.slack.inbound import EventQueue
from bot.slack.listeners import actions, commands, events, shortcuts, views
from bot.slack.listeners.events.work import WORK
from bot.slack.listeners.request import passiton_context


def register_listeners(app: App, ctx: AppContext, *, installation_store: Any | None = None) -> None:
    queue = EventQueue(ctx, WORK, installation_store)
    app.use(passiton_context(ctx, queue))
    queue.attach(app)  # events are stored before the ack (its middleware runs after the one above)
    events.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    shortcuts.register(app)
