"""`app_uninstalled` and `tokens_revoked`: the workspace (or a user) took passiton's access away."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.listeners.events.work import count, durably
from bot.slack.listeners.request import team_id_of


def on_uninstalled(
    body: dict[str, Any], context: Any, passiton: AppContext, passiton_installations: Any
) -> None:
    count(body)
    durably(passiton, "app_uninstalled", ingest.handle_uninstalled,
            passiton, team_id_of(body, context), body.get("enterprise_id"), passiton_installations)  # fmt: skip


def on_tokens_revoked(
    body: dict[str, Any],
    event: dict[str, Any],
    context: Any,
    passiton: AppContext,
    passiton_installations: Any,
) -> None:
    count(body)
    durably(passiton, "tokens_revoked", ingest.handle_tokens_revoked,
            passiton, team_id_of(body, context), body.get("enterprise_id"), event.get("tokens") or {},
            passiton_installations)  # fmt: skip
