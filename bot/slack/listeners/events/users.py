"""Workspace members: someone joined the workspace, or their profile changed (time zone, deactivation)."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.listeners.events.work import count, durably
from bot.slack.listeners.request import team_id_of


def on_team_join(body: dict[str, Any], event: dict[str, Any], context: Any, passiton: AppContext) -> None:
    count(body)
    durably(passiton, "team_join", ingest.handle_team_join,
            passiton, team_id_of(body, context), event.get("user") or {}, body.get("event_id"))  # fmt: skip


def on_user_change(body: dict[str, Any], event: dict[str, Any], context: Any, passiton: AppContext) -> None:
    count(body)
    durably(passiton, "user_change", ingest.handle_user_change,
            passiton, team_id_of(body, context), event.get("user") or {}, body.get("event_id"))  # fmt: skip
