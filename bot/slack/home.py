"""App Home: what a member sees there, published on open and after every change (the listeners that call
this are in bot/slack/listeners/events/app_home_opened.py and actions/home_buttons.py)."""

from __future__ import annotations

import datetime as dt
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.matching.learned import answered_topics
from bot.metrics import ERRORS
from bot.slack.blocks import home as home_blocks
from bot.slack.member_settings import MemberState, load_state
from bot.store.models import utcnow
from bot.store.queries.engagement import record_engagement_of
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.learned import observed_help
from bot.store.queries.members import ensure_member, member_by_slack_id
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
