"""Where a Slack request (event, command, interactivity) names its workspace and member. Below both the
listeners and the inbound event queue, which reads the workspace before Bolt acks."""

from __future__ import annotations

from typing import Any


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
