"""`passiton smtpd` (share by email) and `passiton members import` (email-only members)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

members_app = typer.Typer(help="Members who are not (only) on Slack.", no_args_is_help=True)


def smtpd(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 to take mail from outside)."),
    port: int = typer.Option(8025, help="TCP port (25 when this is the domain's MX)."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate: offer STARTTLS."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
) -> None:
    """Accept shares mailed to PASSITON_INBOUND_ADDRESS by members, and store them as items."""
    import ssl

    from aiosmtpd.controller import Controller

    from bot.config import settings_or_exit
    from bot.email.inbound import Inbound, InboundHandler
    from bot.logs import setup_logging
    from bot.store.db import Database

    settings = settings_or_exit()
    setup_logging(settings.passiton_log_level)
    if not settings.passiton_inbound_address:
        typer.echo("passiton: setting PASSITON_INBOUND_ADDRESS: required for smtpd", err=True)
        raise typer.Exit(2)
    try:
        inbound = Inbound.parse(settings.passiton_inbound_address)
    except ValueError as exc:
        typer.echo(f"passiton: setting PASSITON_INBOUND_ADDRESS: {exc}", err=True)
        raise typer.Exit(2) from None
    if not settings.passiton_trusted_mta or not settings.passiton_trusted_mta.strip(" ,"):
        typer.echo(
            "passiton: setting PASSITON_TRUSTED_MTA: required for smtpd (the authserv-id of the MTA "
            "in front of it, whose Authentication-Results header vouches for senders)",
            err=True,
        )
        raise typer.Exit(2)
    tls: dict[str, Any] = {}
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            typer.echo("passiton: --tls-cert and --tls-key go together", err=True)
            raise typer.Exit(2)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(tls_cert, tls_key)
        except (OSError, ssl.SSLError) as exc:
            typer.echo(f"passiton: cannot load the TLS certificate: {exc}", err=True)
            raise typer.Exit(2) from None
        # Offered, not required: sending servers fall back to plain text when they cannot do TLS.
        tls = {"tls_context": context, "require_starttls": False}
    handler = InboundHandler(Database(settings.database_url), settings)
    controller = Controller(
        handler,
        hostname=host,
        port=port,
        server_hostname=inbound.domain,
        data_size_limit=settings.passiton_max_email_bytes,
        enable_SMTPUTF8=True,
        ident="passiton smtpd",
        **tls,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        typer.echo(f"passiton: cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"passiton smtpd listening on {host}:{port} for {settings.passiton_inbound_address}", err=True)
    try:
        stop.wait()
    finally:
        controller.stop()


@members_app.command("import")
def import_command(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: name,email,interests,expertise,timezone"
    ),
    team: str | None = typer.Option(
        None, "--team", help="Team id of the workspace (default: the only one, or a new local one)."
    ),
) -> None:
    """Create or update email-only members from a CSV file; topics are separated by ';'.

    Bad rows are reported with their line numbers and the good rows are saved anyway (exit status 1).
    """
    from sqlalchemy import select

    from bot.config import settings_or_exit
    from bot.email.members_import import ImportFileError, import_members, read_members_csv
    from bot.store.db import Database
    from bot.store.models import Workspace
    from bot.store.queries.workspaces import ensure_workspace, get_workspace

    settings = settings_or_exit()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        typer.echo(f"passiton: {path}: not UTF-8 text; save the CSV as UTF-8", err=True)
        raise typer.Exit(2) from None
    try:
        rows, errors = read_members_csv(text)
    except ImportFileError as exc:
        typer.echo(f"passiton: {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    db = Database(settings.database_url)
    with db.session() as session:
        if team:
            workspace = get_workspace(session, team)
            if workspace is None:
                typer.echo(f"passiton: no workspace with team id {team!r}", err=True)
                raise typer.Exit(2)
        else:
            workspaces = list(session.scalars(select(Workspace).order_by(Workspace.id)))
            if len(workspaces) > 1:
                known = ", ".join(w.team_id for w in workspaces)
                typer.echo(f"passiton: several workspaces ({known}); choose one with --team", err=True)
                raise typer.Exit(2)
            workspace = workspaces[0] if workspaces else ensure_workspace(session, "local", name="local")
        report = import_members(session, workspace, rows)
    errors = sorted(errors + report.errors, key=lambda e: e.line)
    for error in errors:
        typer.echo(f"{path} line {error.line}: {error.message}", err=True)
    typer.echo(
        f"{path}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(errors)} bad row(s) (workspace {workspace.team_id})"
    )
    if errors:
        raise typer.Exit(1)
