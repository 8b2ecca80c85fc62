"""The `passiton` command. Each feature keeps its commands in its own module; this file wires them."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from bot.config import settings_or_exit

app = typer.Typer(
    name="passiton",
    help="A Slack bot (with an email side) that nudges people to pass things on and to help each other.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command("version")
def version_command() -> None:
    """Print the installed version."""
    try:
        typer.echo(version("passiton"))
    except PackageNotFoundError:  # running from a source tree without install
        typer.echo("unknown")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the schema in DATABASE_URL."""
    from bot.store.migrate import upgrade
    from bot.store.token_crypto import TokenKeyError

    settings = settings_or_exit()
    try:
        upgrade(settings.database_url, revision, token_keys=settings.secret("passiton_token_keys"))
    except TokenKeyError as exc:  # migration 0005 found stored tokens it cannot encrypt or decrypt
        typer.echo(f"passiton: setting PASSITON_TOKEN_KEYS: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"schema at {revision} in {_display_url(settings.database_url)}")


from bot.tokens_cli import tokens_app  # noqa: E402 - encrypted Slack tokens: keys, rotation

app.add_typer(tokens_app, name="tokens")

from bot.matching.cli import match_command  # noqa: E402 - each feature module registers its commands here

app.command("match")(match_command)

from bot.processes import run, serve  # noqa: E402 - the long-running processes

app.command("serve")(serve)
app.command("run")(run)

from jobs.cli import jobs_app  # noqa: E402 - scheduler, leader election, outbox sender

app.add_typer(jobs_app, name="jobs")

from bot.email.cli import members_app, smtpd  # noqa: E402 - share by email and email-only members

app.command("smtpd")(smtpd)
app.add_typer(members_app, name="members")

from bot.replay.cli import replay_command  # noqa: E402 - offline preview on a Slack export

app.command("replay")(replay_command)

from bot.backfill.cli import backfill_command  # noqa: E402 - warm start from channel history

app.command("backfill")(backfill_command)


def _display_url(url: str) -> str:
    from bot.logs import redact

    return redact(url)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
