"""`passiton backfill`: read channels' recent history in the foreground, with progress.

The jobs process does the same on its own after an install or an invite; this command is for a first
install by hand, a channel added before the backfill existed, or to see a stuck job's reason.
"""

from __future__ import annotations

import signal
from typing import Any

import typer

from bot.backfill.runner import Progress


def backfill_command(
    channel: list[str] = typer.Option(
        [], "--channel", "-c", help="Channel id to read (repeatable); default: every channel the bot is in."
    ),
    days: int | None = typer.Option(None, help="Days of history (default PASSITON_BACKFILL_DAYS)."),
    team: str | None = typer.Option(
        None, help="Workspace (team id); default: the one SLACK_BOT_TOKEN is for."
    ),
    status: bool = typer.Option(False, "--status", help="Only list the jobs and their state."),
    page_size: int = typer.Option(200, min=1, max=999, help="Messages per conversations.history page."),
) -> None:
    """Read the recent history of channels into the store (observed help, activity, ties); sends nothing."""
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
    from sqlalchemy import select

    from bot.backfill.runner import BackfillRunner
    from bot.config import settings_or_exit
    from bot.logs import setup_logging
    from bot.slack.tokens import bot_token_for
    from bot.store.db import Database
    from bot.store.models import BackfillJob, Workspace, utcnow
    from bot.store.queries.backfill import DISCOVER, enqueue_backfill
    from bot.store.queries.workspaces import ensure_workspace

    settings = settings_or_exit()
    setup_logging("WARNING")  # the bar says what the INFO lines would
    db = Database(settings.database_url)
    console = Console(stderr=True)
    if status:
        with db.session() as session:
            rows = session.execute(
                select(Workspace.team_id, BackfillJob).join(
                    Workspace, Workspace.id == BackfillJob.workspace_id
                )
            ).all()
            for team_id, job in rows:
                typer.echo(f"{team_id} {job.slack_channel_id} {job.status} pages={job.pages} "
                           f"messages={job.messages}" + (f" error={job.error}" if job.error else ""))  # fmt: skip
        return
    team_id = team or _team_of_token(settings)
    window = settings.passiton_backfill_days if days is None else days
    if window <= 0:
        typer.echo(
            "passiton: nothing to do: the backfill is off (PASSITON_BACKFILL_DAYS=0, or --days 0)", err=True
        )
        raise typer.Exit(2)
    with db.session() as session:
        workspace = ensure_workspace(session, team_id)
        for channel_id in channel or [DISCOVER]:
            enqueue_backfill(session, workspace, channel_id, utcnow(), window, "cli")
    runner = BackfillRunner(db, settings.model_copy(update={"passiton_backfill_days": window}),
                            lambda t: bot_token_for(db, settings, t), page_limit=page_size)  # fmt: skip
    signal.signal(signal.SIGINT, lambda *_: runner.stop.set())
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    stopped: list[Progress] = []
    with Bar(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, Any] = {}

        def show(p: Progress) -> None:
            if p.channel not in tasks:
                tasks[p.channel] = bar.add_task(p.channel, total=None)
            state = {"done": "done", "stopped": f"stopped: {p.reason}"}.get(p.status, p.status)
            bar.update(
                tasks[p.channel], description=f"{p.channel}: {p.pages} pages, {p.messages} messages — {state}"
            )
            if p.status == "stopped":
                stopped.append(p)

        runner.on_progress = show
        runner.run_pending()
    if runner.stop.is_set():
        typer.echo("passiton: interrupted; `passiton backfill` again resumes where it stopped", err=True)
        raise typer.Exit(130)
    if stopped:
        raise typer.Exit(1)


def _team_of_token(settings: Any) -> str:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    token = settings.secret("slack_bot_token")
    if not token:
        typer.echo("passiton: --team is required without SLACK_BOT_TOKEN (OAuth installs)", err=True)
        raise typer.Exit(2)
    try:
        return str(WebClient(token=token, base_url=settings.slack_api_url).auth_test()["team_id"])
    except SlackApiError as exc:
        typer.echo(f"passiton: auth.test: {exc.response.get('error')}", err=True)
        raise typer.Exit(2) from None
