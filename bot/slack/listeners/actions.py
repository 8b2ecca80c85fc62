"""Buttons outside Home: forget-me confirmation, the welcome DM's "count me in"."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.messages.replies import FORGET_CANCEL, FORGET_CONFIRM, PAUSE_FOR, WELCOME_SET_INTERESTS
from bot.metrics import ACTIONS
from bot.slack.blocks.home import home_view
from bot.slack.blocks.modals import topics_modal
from bot.slack.commands_parse import MAX_PAUSE_DAYS
from bot.slack.listeners import team_id_of, user_id_of
from bot.slack.listeners.home import member_state, publish_home
from bot.slack.member_settings import MemberState, pause
from bot.store.models import utcnow
from bot.store.queries.forget import forget_and_stop_collecting
from bot.store.queries.members import ensure_member, member_by_slack_id
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


def register(app: App, ctx: AppContext) -> None:
    @app.action(FORGET_CONFIRM)
    def on_forget(ack: Ack, body: dict[str, Any], context: Any, respond: Respond, client: WebClient) -> None:
        ack()
        ACTIONS.labels("forget_me").inc()
        team_id, user_id = team_id_of(body, context), user_id_of(body)
        forget(ctx, team_id, user_id)
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

    @app.action(FORGET_CANCEL)
    def on_forget_cancel(ack: Ack, respond: Respond) -> None:
        ack()
        ACTIONS.labels("forget_me_cancel").inc()
        respond(replace_original=True, response_type="ephemeral", text="Nothing deleted.")

    @app.action(re.compile(rf"^{PAUSE_FOR}_\d+$"))
    def on_pause_for(
        ack: Ack, body: dict[str, Any], context: Any, respond: Respond, client: WebClient
    ) -> None:
        ack()
        ACTIONS.labels("pause_for").inc()
        try:
            days = int(str((body.get("actions") or [{}])[0].get("value")))
        except ValueError:
            return
        if not 1 <= days <= MAX_PAUSE_DAYS:
            return
        team_id, user_id, now = team_id_of(body, context), user_id_of(body), utcnow()
        with ctx.db.session() as session:
            member = ensure_member(session, ensure_workspace(session, team_id), user_id)
            text = pause(member, days, now)
        respond(replace_original=True, response_type="ephemeral", text=text)
        publish_home(ctx, client, team_id, user_id, now)

    @app.action(WELCOME_SET_INTERESTS)
    def on_welcome(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        ACTIONS.labels("welcome_set_interests").inc()
        state = member_state(ctx, team_id_of(body, context), user_id_of(body))
        client.views_open(trigger_id=body["trigger_id"], view=topics_modal("interest", state))
