"""What every listener callback knows about its request: the runtime, put into Bolt's context by one
middleware, and the workspace and member the request is about.

Bolt hands a listener any key of its request context as a keyword argument of the same name, so a
callback that declares `passiton: AppContext` receives the process's AppContext with no closure and no
module global; `register_listeners` installs the middleware once, before any listener runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from bot.context import AppContext

# The context keys the middleware fills (and so the keyword argument names callbacks declare).
PASSITON = "passiton"
# The OAuth installation store, or None in single-workspace mode: app_uninstalled and tokens_revoked
# delete installations from it.
INSTALLATIONS = "passiton_installations"


def passiton_context(ctx: AppContext, installation_store: Any | None = None) -> Callable[..., None]:
    """The Bolt middleware that puts the runtime into every request's context."""

    def attach(context: BoltContext, next_: Callable[[], None]) -> None:
        context[PASSITON] = ctx
        context[INSTALLATIONS] = installation_store
        next_()

    return attach


def team_id_of(body: dict[str, Any], context: Any = None) -> str:
    """The workspace a request is about (events, commands and interactivity all carry it somewhere)."""
    team = getattr(context, "team_id", None) if context is not None else None
    if team:
        return str(team)
    for candidate in (
        body.get("team_id"),
        (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else None,
        (body.get("user") or {}).get("team_id") if isinstance(body.get("user"), dict) else None,
        body.get("enterprise_id"),
    ):
        if candidate:
            return str(candidate)
    raise ValueError("request names no workspace")


def user_id_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user["id"])
    return str(body.get("user_id") or user)
