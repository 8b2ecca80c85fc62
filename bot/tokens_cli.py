"""`passiton tokens`: make a key for PASSITON_TOKEN_KEYS, re-encrypt stored Slack tokens after rotation."""

from __future__ import annotations

import typer

tokens_app = typer.Typer(help="Keys for the Slack tokens stored by OAuth installs.", no_args_is_help=True)


@tokens_app.command("new-key")
def new_key() -> None:
    """Print a new Fernet key (put it first in PASSITON_TOKEN_KEYS to rotate)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode("ascii"))


@tokens_app.command("reencrypt")
def reencrypt() -> None:
    """Re-encrypt every stored token with the first key of PASSITON_TOKEN_KEYS (plain ones too).

    One transaction: a token no key opens stops it with nothing changed. Afterwards the old keys can
    be dropped from the setting.
    """
    from bot.config import settings_or_exit
    from bot.store.db import Database
    from bot.store.token_crypto import TokenCipher, TokenKeyError, rewrite_tokens

    settings = settings_or_exit()
    try:
        cipher = TokenCipher.from_setting(settings.secret("passiton_token_keys"))
        with Database(settings.database_url).engine.begin() as conn:
            changed = rewrite_tokens(conn, cipher)
    except TokenKeyError as exc:
        typer.echo(f"passiton: setting PASSITON_TOKEN_KEYS: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{changed} stored token(s) encrypted with the first key")
