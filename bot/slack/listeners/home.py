"""App Home: publish on open and after every change; its buttons open the editing modals."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.matching.learned import answered_topics
from bot.metrics import ACTIONS, ERRORS, EVENTS
from bot.slack.blocks import home as home_blocks
from bot.slack.blocks.modals import settings_modal, topics_modal
from bot.slack.listeners import team_id_of, user_id_of
from bot.slack.member_settings import MemberState, load_state, pause, resume
from bot.store.models import Member, utcnow
from bot.store.queries.engagement import record_engagement_of
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.learned import clear_observed_help, observed_help
from bot.store.queries.members import ensure_member, member_by_slack_id, remove_member_topics
from bot.store.queries.mutes import unmute_person
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)


def member_state(ctx: AppContext, team_id: str, user_id: str) -> MemberState:
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        # A member who just said forget-me is shown the empty state, never recreated: a Home refresh
        # still running from their previous command (after its ack) must not bring them back.
        if member_by_slack_id(session, workspace, user_id) is None and is_forgotten(
            session, workspace, user_id
        ):
            return MemberState()
        member = ensure_member(session, workspace, user_id)
        state = load_state(session, member)
        helped = observed_help(session, member)
    if helped.any:
        state.learned_topics = answered_topics(helped.texts, helped.vocabulary)
        state.learned_channels = helped.channels
    return state


def publish_home(
    ctx: AppContext, client: WebClient, team_id: str, user_id: str, now: dt.datetime | None = None
) -> None:
    """Render and publish the member's Home tab. A failure is logged: Home is never worth an error reply."""
    try:
        slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
        state = member_state(ctx, team_id, user_id)
        client.views_publish(user_id=user_id, view=home_blocks.home_view(state, now or utcnow()))
    except SlackApiError as exc:
        ERRORS.labels("views.publish").inc()
        log.warning("views.publish failed", extra={"error": exc.response.get("error")})


def note_engagement(ctx: AppContext, team_id: str, user_id: str) -> None:
    """Opening App Home, any command: signs of engagement that end a back-off (bot/policy/backoff.py)."""
    with ctx.db.session() as session:
        record_engagement_of(session, team_id, user_id, utcnow())


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def on_home_opened(body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient) -> None:
        EVENTS.labels("app_home_opened").inc()
        team_id, user_id = team_id_of(body, context), str(event["user"])
        note_engagement(ctx, team_id, user_id)  # either tab: they came to look
        if event.get("tab", "home") != "home":
            return
        publish_home(ctx, client, team_id, user_id)

    def _open(kind: str) -> Any:
        def handler(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
            ack()
            ACTIONS.labels(f"home_edit_{kind}").inc()
            state = member_state(ctx, team_id_of(body, context), user_id_of(body))
            view = settings_modal(state) if kind == "settings" else topics_modal(kind, state)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        return handler

    app.action(home_blocks.EDIT_INTERESTS)(_open("interest"))
    app.action(home_blocks.EDIT_EXPERTISE)(_open("expertise"))
    app.action(home_blocks.EDIT_MUTED)(_open("muted"))
    app.action(home_blocks.EDIT_SETTINGS)(_open("settings"))

    def _pause_or_resume(days: int | None) -> Any:
        def handler(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
            ack()
            ACTIONS.labels("home_pause" if days else "home_resume").inc()
            team_id, user_id, now = team_id_of(body, context), user_id_of(body), utcnow()
            with ctx.db.session() as session:
                member = ensure_member(session, ensure_workspace(session, team_id), user_id)
                if days:
                    pause(member, days, now)
                else:
                    resume(member, now)
            publish_home(ctx, client, team_id, user_id, now)

        return handler

    @app.action(re.compile(rf"^{home_blocks.UNMUTE}_\d+$"))
    def on_unmute(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        ACTIONS.labels("home_unmute").inc()
        kind, _, value = str((body.get("actions") or [{}])[0].get("value") or "").partition(":")
        team_id, user_id = team_id_of(body, context), user_id_of(body)
        with ctx.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            member = ensure_member(session, workspace, user_id)
            if kind == "topic" and value:
                remove_member_topics(session, member, "muted", [value])
            elif kind == "person" and value.isdigit():
                other = session.get(Member, int(value))
                if other is not None and other.workspace_id == workspace.id:  # never another team's row
                    unmute_person(session, member, other)
        publish_home(ctx, client, team_id, user_id)

    @app.action(home_blocks.CLEAR_LEARNED)
    def on_clear_learned(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        ACTIONS.labels("home_clear_learned").inc()
        team_id, user_id = team_id_of(body, context), user_id_of(body)
        with ctx.db.session() as session:
            clear_observed_help(session, ensure_member(session, ensure_workspace(session, team_id), user_id))
        publish_home(ctx, client, team_id, user_id)

    app.action(home_blocks.PAUSE_WEEK)(_pause_or_resume(7))
    app.action(home_blocks.RESUME)(_pause_or_resume(None))
