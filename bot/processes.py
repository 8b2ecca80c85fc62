"""`passiton serve` (HTTP, stateless replicas) and `passiton run` (Socket Mode, one process).

The two long-running processes, each put together from `bot.runtime.build_context`: the web app (which
holds the Bolt app), or the Bolt app on a Socket Mode link with the scheduler in the same process. They
live outside `bot.slack` because they assemble the web front and the jobs around it."""

from __future__ import annotations

import importlib.util
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from bot.context import AppContext
    from jobs.scheduler import JobsScheduler

log = logging.getLogger(__name__)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 behind a load balancer)."),
    port: int = typer.Option(3000, help="TCP port."),
    workers: int = typer.Option(1, help="uvicorn worker processes."),
) -> None:
    """Serve Slack events, commands, interactivity, OAuth install, /healthz and /metrics over HTTP."""
    import uvicorn

    from bot.config import SettingsError, settings_or_exit
    from bot.logs import setup_logging
    from bot.runtime import build_context
    from bot.web.app import create_web_app

    settings = settings_or_exit()
    setup_logging(settings.passiton_log_level)
    try:
        app = create_web_app(build_context(settings))
    except SettingsError as exc:
        typer.echo(f"passiton: {exc}", err=True)
        raise typer.Exit(2) from None
    if workers > 1:
        log.warning("workers > 1 is not supported with an app object; run several replicas instead")
    start_event_sweep(app.state.bolt)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def run(
    metrics_port: int = typer.Option(0, help="Serve Prometheus /metrics on this port (0: off)."),
    metrics_host: str = typer.Option(
        "127.0.0.1", help="Interface for /metrics (0.0.0.0 to let another host scrape it)."
    ),
) -> None:
    """One process for one team: Socket Mode (SLACK_APP_TOKEN) with the scheduler in-process.

    Runs until SIGTERM or SIGINT, then closes the WebSocket and stops the scheduler (exit status 0)."""
    from bot.config import SettingsError, settings_or_exit
    from bot.logs import setup_logging
    from bot.runtime import build_context
    from bot.slack.app import check_slack_answer, create_app, web_client

    settings = settings_or_exit()
    setup_logging(settings.passiton_log_level)
    app_token = settings.secret("slack_app_token")
    if not app_token:
        typer.echo("passiton: setting SLACK_APP_TOKEN: required for Socket Mode (xapp-…)", err=True)
        raise typer.Exit(2)
    ctx = build_context(settings)
    try:
        app = create_app(ctx, socket_mode=True)
    except SettingsError as exc:
        typer.echo(f"passiton: {exc}", err=True)
        raise typer.Exit(2) from None
    try:  # before anything starts: a wrong app token or no Slack is one line, not a scheduler's logs
        check_slack_answer(
            lambda: web_client(settings.slack_api_url).apps_connections_open(app_token=app_token),
            token_setting="SLACK_APP_TOKEN",
            api_url=settings.slack_api_url,
        )
    except SettingsError as exc:
        typer.echo(f"passiton: {exc}", err=True)
        raise typer.Exit(2) from None
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = start_scheduler(ctx)
    start_event_sweep(app, stop)
    handler = socket_mode_handler(app, app_token)
    try:
        try:  # a wrong or revoked app token, or no Slack there: one line naming the setting, no traceback
            check_slack_answer(
                handler.connect, token_setting="SLACK_APP_TOKEN", api_url=settings.slack_api_url
            )
        except SettingsError as exc:
            typer.echo(f"passiton: {exc}", err=True)
            raise typer.Exit(2) from None
        log.info("socket mode connected")
        # With a timeout: a signal the kernel hands to another thread only runs its Python handler once the
        # main thread wakes up, and a plain wait() would sleep through it.
        while not stop.wait(0.5):
            pass
        log.info("stopping")
    finally:
        close_within(handler, seconds=3.0)
        scheduler.shutdown()


def start_event_sweep(bolt_app: Any, stop: threading.Event | None = None) -> None:
    """Run the events a previous run of this (or another) process stored and acked but never finished,
    now and then every half lease (`bot.slack.inbound`)."""
    from bot.slack.inbound import queue_of

    queue = queue_of(bolt_app)
    if queue is not None:
        queue.start(stop)


def close_within(handler: Any, *, seconds: float) -> None:
    """Close the Socket Mode link, waiting at most `seconds`. The close frame goes out first; what can
    linger is websocket-client's reader, which only notices its closed socket when its select times out
    (the ping interval, 10 s). Its threads are daemons, so the process exits without them."""
    closer = threading.Thread(target=handler.close, name="socket-mode-close", daemon=True)
    closer.start()
    closer.join(seconds)
    if closer.is_alive():
        log.info("socket mode client still closing; exiting without waiting for it")


def socket_mode_handler(app: Any, app_token: str) -> Any:
    """Bolt's Socket Mode handler on websocket-client when it is installed, else slack_sdk's built-in one.

    The built-in client does not notice a connection that ends without a close frame: its reader spins on
    the closed socket until its pings have failed five times (about a minute at Bolt's 10 s interval, one
    CPU core busy meanwhile), and after a `disconnect` message it stalls 3 s before reading the new link.
    websocket-client sees the end of the stream at once and reconnects within a second. The fallback pings
    every 2 s so a dead link is at least replaced within about 10 s."""
    if importlib.util.find_spec("websocket") is not None:
        from slack_bolt.adapter.socket_mode.websocket_client import (
            SocketModeHandler as WebSocketClientHandler,
        )

        return _timed(WebSocketClientHandler)(app, app_token)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.warning("websocket-client not installed: using slack_sdk's built-in Socket Mode client")
    return _timed(SocketModeHandler)(app, app_token, ping_interval=2)


def _timed(handler_class: Any) -> Any:
    """The handler class, timing each envelope from receipt to the ack sent back on the socket (the
    same passiton_slack_ack_seconds as HTTP mode)."""
    import time

    from bot.metrics import ACK_KINDS, ACK_SECONDS

    class Timed(handler_class):  # type: ignore[misc, valid-type]
        def handle(self, client: Any, req: Any) -> None:
            started = time.monotonic()
            try:
                super().handle(client, req)
            finally:
                kind = ACK_KINDS.get(getattr(req, "type", ""))
                if kind is not None:
                    ACK_SECONDS.labels(kind).observe(time.monotonic() - started)

    return Timed


def start_scheduler(ctx: AppContext) -> JobsScheduler:
    """The jobs' scheduler and an outbox sender inside this process (stopped with `.shutdown()`)."""
    from jobs.scheduler import start_in_process

    return start_in_process(ctx)
