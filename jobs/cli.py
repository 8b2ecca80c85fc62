"""`passiton jobs` (run the scheduler) and `passiton jobs run NAME [--now ISO]` (one job, once)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
from typing import Any

import typer

JOB_NAMES = ("plan-shares", "send-digests", "drain-outbox", "retention")
ROLES = ("all", "scheduler", "sender")
ROLE_HELP = (
    "all: elect a leader for the scheduled jobs and drain the outbox; scheduler: no sender; "
    "sender: only drain the outbox."
)

jobs_app = typer.Typer(
    help="Scheduled jobs: share-nudge planning, digests, retention (one leader) and the outbox sender.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _context() -> Any:
    from bot.config import settings_or_exit
    from bot.logs import setup_logging
    from bot.runtime import build_context

    settings = settings_or_exit()
    setup_logging(settings.passiton_log_level)
    return build_context(settings)


def parse_now(value: str | None) -> dt.datetime | None:
    """ISO-8601; a time without an offset is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint="--now") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


@jobs_app.callback()
def jobs(
    typer_ctx: typer.Context,
    role: str = typer.Option("all", help=ROLE_HELP),
    metrics_port: int = typer.Option(0, help="Serve Prometheus /metrics on this port (0: off)."),
) -> None:
    """Run the scheduler until SIGTERM/SIGINT. Several processes may run: one leads, all may send."""
    if typer_ctx.invoked_subcommand is not None:
        return
    if role not in ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    from jobs.scheduler import JobsScheduler

    ctx = _context()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="0.0.0.0")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler = JobsScheduler(ctx, role=role).start()  # type: ignore[arg-type]
    try:
        # Short waits, not one long one: a signal delivered to a worker thread only runs its Python handler
        # when the main thread next executes bytecode.
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown()


@jobs_app.command("run")
def run_job(
    name: str = typer.Argument(..., help="plan-shares | send-digests | drain-outbox | retention"),
    now: str | None = typer.Option(
        None, "--now", help="Run as if it were this moment (ISO-8601, UTC if no offset)."
    ),
) -> None:
    """Run one job once and print its summary as JSON."""
    if name not in JOB_NAMES:
        raise typer.BadParameter(f"must be one of {', '.join(JOB_NAMES)}", param_hint="NAME")
    from bot.store.models import utcnow
    from jobs.tasks import JOBS

    moment = parse_now(now)
    ctx = _context()
    if name == "drain-outbox":
        from jobs.tasks import drain_outbox

        result = drain_outbox(ctx, moment)
    else:
        result = JOBS[name](ctx, moment or utcnow())
    typer.echo(
        json.dumps({"job": name, "now": (moment or utcnow()).isoformat(), "result": result}, default=str)
    )
