"""The one middleware that hands every listener callback the runtime.

Bolt hands a listener any key of its request context as a keyword argument of the same name, so a
callback that declares `passiton: AppContext` receives the process's AppContext with no closure and no
module global; `register_listeners` installs this middleware once, before any listener runs."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltContext

from bot.context import AppContext
from bot.slack.inbound import EventQueue

# The context keys the middleware fills (and so the keyword argument names callbacks declare).
PASSITON = "passiton"
# The queue that stored an event before its ack and runs its work (bot/slack/listeners/events/queued.py).
EVENT_QUEUE = "passiton_events"


def passiton_context(ctx: AppContext, events: EventQueue) -> Callable[..., None]:
    """The Bolt middleware that puts the runtime into every request's context."""

    def attach(context: BoltContext, next_: Callable[[], None]) -> None:
        context[PASSITON] = ctx
        context[EVENT_QUEUE] = events
        next_()

    return attach
