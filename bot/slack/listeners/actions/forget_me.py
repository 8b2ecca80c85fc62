"""The forget-me confirmation: delete everything passiton holds about the member, or nothing."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack.blocks.home import home_view
from bot.slack.member_settings import MemberState
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import utcnow
from bot.store.queries.forget import forget_and_stop_collecting
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)


def forget(ctx: AppContext, team_id: str, user_id: str) -> bool:
    with ctx.db.session() as session:
        member = member_by_slack_id(session, ensure_workspace(session, team_id), user_id)
        if member is None:
            return False
        deleted = forget_and_stop_collecting(session, member)
    log.info("member forgotten", extra={"team_id": team_id, "rows": sum(deleted.values())})
    return True


def on_forget(
    ack: Ack, body: dict[str, Any], context: Any, respond: Respond, client: WebClient, passiton: AppContext
) -> None:
    ack()
    ACTIONS.labels("forget_me").inc()
    team_id, user_id = team_id_of(body, context), user_id_of(body)
    forget(passiton, team_id, user_id)
    respond(
        replace_original=True,
        response_type="ephemeral",
        text="Done: everything passiton held about you is deleted. If you use passiton again, it starts from nothing.",
    )
    # Show the empty state without recreating a member row, which publish_home would do.
    try:
        client.views_publish(user_id=user_id, view=home_view(MemberState(), utcnow()))
    except SlackApiError as exc:
        log.warning("views.publish failed", extra={"error": exc.response.get("error")})


def on_forget_cancel(ack: Ack, respond: Respond) -> None:
    ack()
    ACTIONS.labels("forget_me_cancel").inc()
    respond(replace_original=True, response_type="ephemeral", text="Nothing deleted.")
