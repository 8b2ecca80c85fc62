"""Event handlers: fetch what Slack must tell us, then write in one transaction keyed by event id.

Called by the Bolt listeners after the ack. A Slack retry (same `event_id`) finds the id already
claimed and does nothing; the claim commits with the writes, so a failed attempt leaves no claim.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.ingest import pages, slack_sync
from bot.ingest.pipeline import FollowUp, incoming_message, process_message, record_reactions
from bot.ingest.planning import run_after_commit
from bot.ingest.profiles import SLACKBOT_ID, apply_profile
from bot.ingest.welcome import queue_channel_intro, queue_welcome
from bot.metrics import EVENTS_DEDUPED, ITEMS
from bot.store.models import ProcessedEvent, Workspace, utcnow
from bot.store.queries.backfill import enqueue_backfill
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.members import ensure_member, member_by_slack_id
from bot.store.queries.workspaces import claim_event, deactivate, ensure_workspace

log = logging.getLogger(__name__)


def seen(ctx: AppContext, event_id: str | None) -> bool:
    """A cheap early check so a retry does not even call Slack; the claim is what guarantees once."""
    if not event_id:
        return False
    with ctx.db.session() as session:
        found = session.scalars(select(ProcessedEvent.id).where(ProcessedEvent.event_id == event_id)).first()
    if found is not None:
        EVENTS_DEDUPED.inc()
        return True
    return False


def _claim(session: Session, workspace: Workspace, event_id: str | None) -> bool:
    if event_id and not claim_event(session, event_id, workspace.id):
        EVENTS_DEDUPED.inc()
        return False
    return True


def handle_message(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    bot_user_id: str | None,
    event: dict[str, Any],
    event_id: str | None,
) -> None:
    """A posted, edited or deleted message through the pipeline: stored in the transaction that claims the
    event, then (committed) its page fetched and its follow-ups planned, each in a transaction of its own."""
    channel_type = event.get("channel_type")
    private = channel_type in slack_sync.PRIVATE_CHANNEL_TYPES
    incoming = incoming_message(event, bot_user_id, is_private=private)
    if incoming is None or channel_type == "im":
        return  # DMs with the bot are conversations with passiton, not items for others
    if seen(ctx, event_id):
        return
    message = incoming.message
    slack_sync.ensure_channel(ctx.db, client, team_id, message.channel, channel_type=channel_type)
    if incoming.action == "new" and message.user:
        slack_sync.ensure_profile(ctx.db, client, team_id, message.user)
    now = utcnow()
    after_commit: list[FollowUp] = []
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if not workspace.active or not _claim(session, workspace, event_id):
            return
        channel = slack_sync.get_channel(session, workspace, message.channel)
        outcome = process_message(
            session, workspace, channel, incoming, now=now, settings=ctx.settings,
            embedder=lambda: ctx.embedder, run=after_commit.append, indexes=ctx.member_indexes,
        )  # fmt: skip
        if incoming.action == "deleted":
            return
        result = outcome.stored
        page_url = pages.page_to_fetch(ctx.settings, result.item) if result.created else None
    if page_url is not None and outcome.item_id is not None:
        pages.fill_from_page(
            ctx, outcome.item_id, page_url
        )  # committed item first: a slow page never holds it back
    if result.created and result.item is not None:
        ITEMS.labels(result.item.kind).inc()
    for step in after_commit:
        run_after_commit(ctx, step, outcome.answered_id if step.name == "cancel_help" else outcome.item_id)


def handle_member_joined(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    bot_user_id: str | None,
    event: dict[str, Any],
    event_id: str | None,
) -> None:
    user_id, channel_id = event.get("user"), event.get("channel")
    if not isinstance(user_id, str) or not isinstance(channel_id, str) or seen(ctx, event_id):
        return
    if user_id == bot_user_id:  # the bot was invited: learn the channel and its members now
        slack_sync.ensure_channel(ctx.db, client, team_id, channel_id, force=True)
        with ctx.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            if _claim(session, workspace, event_id) and workspace.active:
                # ...and its recent history, read by the jobs process (bot.backfill), not on this thread.
                enqueue_backfill(
                    session, workspace, channel_id, utcnow(), ctx.settings.passiton_backfill_days, "invited"
                )
                channel = slack_sync.get_channel(session, workspace, channel_id)
                if channel is not None and not channel_id.startswith("D"):  # says hello there, once
                    queue_channel_intro(session, ctx.settings, workspace, channel, utcnow())
        return
    slack_sync.ensure_channel(ctx.db, client, team_id, channel_id)
    slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
    now = utcnow()
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if not workspace.active or not _claim(session, workspace, event_id):
            return
        if is_forgotten(session, workspace, user_id):
            return
        member = ensure_member(session, workspace, user_id)
        channel = slack_sync.get_channel(session, workspace, channel_id)
        if channel is not None:
            slack_sync.add_channel_member(session, workspace, channel, member)
        queue_welcome(session, ctx.settings, workspace, member, now)


def handle_member_left(ctx: AppContext, team_id: str, event: dict[str, Any], event_id: str | None) -> None:
    user_id, channel_id = event.get("user"), event.get("channel")
    if not isinstance(user_id, str) or not isinstance(channel_id, str):
        return
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if not _claim(session, workspace, event_id):
            return
        member = member_by_slack_id(session, workspace, user_id)
        channel = slack_sync.get_channel(session, workspace, channel_id)
        if channel is not None and workspace.bot_user_id is not None and user_id == workspace.bot_user_id:
            slack_sync.forget_members(session, channel)  # the bot itself left: see handle_bot_left_channel
        elif member is not None and channel is not None:
            slack_sync.remove_channel_member(session, channel, member)


def handle_bot_left_channel(ctx: AppContext, team_id: str, event: dict[str, Any]) -> None:
    """The bot left or was removed from a channel (channel_left, group_left): it hears no more joins and
    leaves there, so the stored member list can only go stale. Drop it: nobody counts as a member of that
    channel (its private items reach no one) until the bot is invited back and syncs the list afresh.
    Idempotent, so a Slack retry needs no event-id claim."""
    channel_id = event.get("channel")
    if not isinstance(channel_id, str):
        return
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        channel = slack_sync.get_channel(session, workspace, channel_id)
        if channel is not None:
            slack_sync.forget_members(session, channel)
    log.info("bot left channel; member list dropped", extra={"team_id": team_id, "channel": channel_id})


def handle_team_join(ctx: AppContext, team_id: str, user: dict[str, Any], event_id: str | None) -> None:
    if not isinstance(user, dict) or not user.get("id"):
        return
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if not workspace.active or not _claim(session, workspace, event_id):
            return
        member = apply_profile(session, workspace, user)
        queue_welcome(session, ctx.settings, workspace, member, utcnow())


def handle_user_change(ctx: AppContext, team_id: str, user: dict[str, Any], event_id: str | None) -> None:
    """Time zone, names, deactivation and guest status follow Slack's profile."""
    if not isinstance(user, dict) or not user.get("id"):
        return
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if _claim(session, workspace, event_id) and not is_forgotten(session, workspace, str(user["id"])):
            apply_profile(session, workspace, user)


def handle_reaction(ctx: AppContext, team_id: str, event: dict[str, Any], event_id: str | None) -> None:
    user_id, item_user = event.get("user"), event.get("item_user")
    item = event.get("item") or {}
    if not isinstance(user_id, str) or not isinstance(item_user, str) or user_id == item_user:
        return
    if SLACKBOT_ID in (user_id, item_user):
        return
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if workspace.bot_user_id in (user_id, item_user) or not _claim(session, workspace, event_id):
            return
        if is_forgotten(session, workspace, user_id) or is_forgotten(session, workspace, item_user):
            return
        channel = slack_sync.get_channel(session, workspace, str(item.get("channel") or ""))
        reactor = ensure_member(session, workspace, user_id)
        author = ensure_member(session, workspace, item_user)
        ts = item.get("ts")
        record_reactions(
            session,
            workspace,
            channel,
            author,
            [reactor],
            utcnow(),
            message_ts=ts if isinstance(ts, str) else None,
        )


def handle_uninstalled(
    ctx: AppContext, team_id: str, enterprise_id: str | None, installation_store: Any | None
) -> None:
    """Deactivate the workspace and drop its tokens; its members' data stays until retention or forget-me."""
    if installation_store is not None:  # tokens first: an inactive workspace never has a live token
        installation_store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        deactivate(workspace)
    log.info("workspace deactivated", extra={"team_id": team_id})


def handle_tokens_revoked(
    ctx: AppContext,
    team_id: str,
    enterprise_id: str | None,
    tokens: dict[str, Any],
    installation_store: Any | None,
) -> None:
    if tokens.get("bot"):
        handle_uninstalled(ctx, team_id, enterprise_id, installation_store)
        return
    if installation_store is not None:
        for user_id in tokens.get("oauth") or []:
            installation_store.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
