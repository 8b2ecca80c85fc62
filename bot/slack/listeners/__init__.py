"""Bolt listeners, one module per kind. Each is thin: parse, call the store or core, render."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.context import AppContext


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


def register_all(app: App, ctx: AppContext, *, installation_store: Any | None = None) -> None:
    from bot.slack.listeners import actions, commands, events, home, shortcuts, views
    from bot.slack.listeners.answers import register_answer_listeners
    from bot.slack.listeners.nudge_actions import register_nudge_actions

    events.register(app, ctx, installation_store=installation_store)
    home.register(app, ctx)
    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    shortcuts.register(app, ctx)
    register_answer_listeners(app, ctx)
    register_nudge_actions(app, ctx)
