"""Slack events are written to the store before they are acknowledged, and run from there.

Bolt acks an event before its listener runs, and the listener's work waits on the event pool; an event
held only in memory is lost when the process dies (a deploy's SIGKILL, an OOM kill, a crash) after Slack
got its 200, and Slack never sends it again. So `EventQueue.middleware` writes each event we act on to
`inbound_events` (one INSERT) before Bolt answers; the pool runs it and marks it done; `EventQueue.sweep`
(at start-up, then every half lease) runs what a dead process left pending once its lease has passed.

If the INSERT fails (the database is down), an HTTP request is answered 503 so Slack delivers the event
again later; Socket Mode acks whatever the app answers, so there the event is run from memory as before
(its work rides out a database restart in `retry_transient`).

Running an event twice is harmless (each handler claims the event id in the transaction that writes its
effects); the queue only makes sure it runs at least once after the ack.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ERRORS, EVENTS_DEDUPED
from bot.slack.payloads import team_id_of
from bot.slack.tokens import bot_token_for
from bot.store.models import utcnow
from bot.store.outage import retry_transient
from bot.store.queries import inbound

log = logging.getLogger(__name__)

# (ctx, client, team_id, bot_user_id, envelope, installation_store): the work of one event type.
EventWork = Callable[[AppContext, WebClient, str, str | None, dict[str, Any], Any], None]
ROW_KEY = "passiton_inbound_row"
SWEEP_BATCH = 100

_queues: weakref.WeakKeyDictionary[App, EventQueue] = weakref.WeakKeyDictionary()


def queue_of(app: App) -> EventQueue | None:
    """The queue `create_app` attached to this Bolt app (serve and run start its sweep)."""
    return _queues.get(app)


class EventQueue:
    def __init__(
        self, ctx: AppContext, work: Mapping[str, EventWork], installation_store: Any | None = None
    ) -> None:
        self.ctx = ctx
        self.work = dict(work)
        self.installation_store = installation_store
        self._running: set[int] = set()
        self._lock = threading.Lock()

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.ctx.settings.passiton_event_lease_seconds)

    def attach(self, app: App) -> None:
        """Register the middleware on `app` (after Bolt's own: signature, authorization, self events)."""
        app.use(self.middleware)
        _queues[app] = self

    # -- before the ack ---------------------------------------------------------------------------

    def middleware(self, req: Any, body: dict[str, Any], context: Any, next: Callable[[], Any]) -> Any:
        if body.get("type") != "event_callback":
            return next()
        raw = body.get("event")
        event: dict[str, Any] = raw if isinstance(raw, dict) else {}
        event_type, event_id = event.get("type"), body.get("event_id")
        if event_type not in self.work or not isinstance(event_id, str) or not event_id:
            return next()
        team_id = team_id_of(body, context)
        payload = {"body": body, "bot_user_id": context.bot_user_id, "team_id": team_id}
        try:
            row = inbound.record(
                self.ctx.db, team_id=team_id, event_id=event_id, event_type=str(event_type), payload=payload,
                now=utcnow(), lease=self.lease,
            )  # fmt: skip
        except Exception as exc:
            ERRORS.labels("inbound_record").inc()
            if getattr(req, "mode", "http") == "socket_mode":
                log.warning("event not stored before its ack; running it from memory",
                            extra={"error": type(exc).__name__, "event_id": event_id})  # fmt: skip
                context[ROW_KEY] = None
                return next()
            log.warning("event not stored; refused for Slack to retry",
                        extra={"error": type(exc).__name__, "event_id": event_id})  # fmt: skip
            return BoltResponse(status=503, body="database unavailable")
        if row is None:  # a retry of an event that is done, or that a live process holds
            EVENTS_DEDUPED.inc()
            return BoltResponse(status=200, body="")
        context[ROW_KEY] = row
        return next()

    # -- after the ack ----------------------------------------------------------------------------

    def run_later(
        self, event_type: str, client: WebClient, team_id: str, bot_user_id: str | None,
        body: dict[str, Any], row_id: int | None,
    ) -> None:  # fmt: skip
        """Hand the event to the pool; the row is settled when its work returns or raises."""
        if row_id is not None:
            with self._lock:
                self._running.add(row_id)
        self.ctx.submit(self._run, self.work[event_type], client, team_id, bot_user_id, body, row_id)

    def _run(
        self, work: EventWork, client: WebClient, team_id: str, bot_user_id: str | None,
        body: dict[str, Any], row_id: int | None,
    ) -> None:  # fmt: skip
        try:
            work(self.ctx, client, team_id, bot_user_id, body, self.installation_store)
        except Exception as exc:
            if row_id is not None:
                error = f"{type(exc).__name__}: {exc}"
                try:
                    status = retry_transient(
                        lambda: inbound.failed_run(self.ctx.db, row_id, utcnow(), error,
                                                   max_attempts=self.ctx.settings.passiton_event_max_attempts),
                        "inbound failed",
                    )  # fmt: skip
                    log.warning("event run failed", extra={"inbound_id": row_id, "status": status})
                except Exception:
                    log.exception("recording a failed event run failed; it runs again after its lease")
            raise
        else:
            if row_id is not None:
                try:
                    retry_transient(lambda: inbound.finish(self.ctx.db, row_id, utcnow()), "inbound finish")
                except Exception:  # it runs again after its lease and finds its event id claimed
                    log.exception("marking an event done failed", extra={"inbound_id": row_id})
        finally:
            if row_id is not None:
                with self._lock:
                    self._running.discard(row_id)

    # -- what a dead process left -----------------------------------------------------------------

    def sweep(self) -> int:
        """Run pending events whose lease has passed (a process died holding them, or an earlier run
        failed and its back-off is over) and prune finished rows. Returns how many were taken."""
        now = utcnow()
        with self._lock:
            skip = frozenset(self._running)
        taken = inbound.take_due(self.ctx.db, now=now, lease=self.lease, limit=SWEEP_BATCH, skip=skip)
        clients: dict[str, WebClient] = {}
        for event in taken:
            body = event.payload.get("body")
            work = self.work.get(event.event_type)
            if not isinstance(body, dict) or work is None:
                inbound.failed_run(self.ctx.db, event.id, now, "unreadable payload", max_attempts=0)
                continue
            team_id = str(event.payload.get("team_id") or event.team_id)
            client = clients.get(team_id)
            if client is None:
                client = clients[team_id] = self._client(team_id)
            log.info(
                "running an event left pending", extra={"inbound_id": event.id, "attempt": event.attempts}
            )
            bot_user_id = event.payload.get("bot_user_id")
            self.run_later(event.event_type, client, team_id, bot_user_id if isinstance(bot_user_id, str) else None,
                           body, event.id)  # fmt: skip
        inbound.prune(self.ctx.db, now)
        return len(taken)

    def _client(self, team_id: str) -> WebClient:
        from bot.slack.app import web_client

        return web_client(
            self.ctx.settings.slack_api_url, bot_token_for(self.ctx.db, self.ctx.settings, team_id)
        )

    def start(self, stop: threading.Event | None = None) -> threading.Thread:
        """Sweep now (a restart resumes what the last run left), then every half lease, until `stop`."""
        stop = stop or threading.Event()
        interval = max(1.0, self.lease.total_seconds() / 2)

        def loop() -> None:
            while True:
                try:
                    taken = self.sweep()
                    if taken:
                        log.info("resumed events left pending", extra={"count": taken})
                except Exception:
                    log.warning("event sweep failed; trying again later", exc_info=True)
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=loop, name="passiton-event-sweep", daemon=True)
        thread.start()
        return thread
