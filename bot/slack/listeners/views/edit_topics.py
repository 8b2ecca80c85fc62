"""The topics editor's submission (interests, expertise, muted): whole or not at all."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import PUBLIC_BLOCKS, TOPIC_BLOCKS
from bot.slack.home import publish_home
from bot.slack.listeners.views.state import state_value, topics_in
from bot.slack.member_settings import replace_topics
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.queries.members import ensure_member, set_public_expertise
from bot.store.queries.workspaces import ensure_workspace


def on_topics(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: Any,
    client: WebClient,
    passiton: AppContext,
) -> None:
    values = view["state"]["values"]
    kind = json.loads(view.get("private_metadata") or "{}").get("kind")
    if kind not in ("interest", "expertise", "muted"):
        ack(
            response_action="errors",
            errors={"topics": "This form is out of date; open it again from Home."},
        )
        return
    errors: dict[str, str] = {}
    topics: list[str] = []
    for block in TOPIC_BLOCKS:  # a long list comes in several boxes (see topics_modal)
        if block not in values:
            continue
        try:
            topics += [t for t in topics_in(state_value(values, block).get("value")) if t not in topics]
        except ValueError as exc:
            errors[block] = str(exc)
    public: list[str] = []
    if kind == "expertise":
        for block in PUBLIC_BLOCKS:
            if block not in values:
                continue
            try:
                public += [t for t in topics_in(state_value(values, block).get("value")) if t not in public]
            except ValueError as exc:
                errors[block] = str(exc)
        missing = [t for t in public if t not in topics]
        if missing and "public" not in errors:
            errors["public"] = "Only topics from your expertise above can be named: " + ", ".join(missing)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    ACTIONS.labels("edit_topics").inc()
    team_id, user_id = team_id_of(body, context), user_id_of(body)
    with passiton.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        member = ensure_member(session, workspace, user_id)
        replace_topics(session, workspace, member, kind, topics)
        if kind == "expertise":
            set_public_expertise(session, member, [t for t in topics if t not in public], False)
            set_public_expertise(session, member, public, True)
    publish_home(passiton, client, team_id, user_id)
