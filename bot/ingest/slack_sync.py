"""Channels, memberships and profiles, fetched from Slack lazily and cached in the store.

Privacy rests on this: an item's `is_private` comes from the channel, and "is this person in the
channel" comes from the synced membership. Syncs are fetched outside any database transaction so a
slow Slack call never holds a lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.ingest.profiles import apply_profile, needs_profile
from bot.store.db import Database
from bot.store.models import Base, Channel, ChannelMember, Member, Workspace, utcnow
from bot.store.queries.conflicts import insert_ignoring_conflict
from bot.store.queries.forgotten import is_forgotten
from bot.store.queries.members import ensure_member, member_by_slack_id
from bot.store.queries.relationships import record_interactions

log = logging.getLogger(__name__)

MEMBERS_TTL = dt.timedelta(hours=6)
MAX_SYNCED_MEMBERS = 10_000
# Sharing a channel counts as a (light) tie only where a channel is small enough to mean something.
SHARED_CHANNEL_MAX = 50
PRIVATE_CHANNEL_TYPES = frozenset({"group", "im", "mpim", "G", "D"})
_CHANNEL_MEMBERS: Table = Base.metadata.tables["channel_members"]


@dataclass(frozen=True)
class ChannelFacts:
    slack_channel_id: str
    name: str
    is_private: bool
    is_archived: bool
    members: tuple[str, ...] | None  # None when Slack would not tell us
    is_ext_shared: bool | None = None  # None when Slack would not tell us


def is_private_info(info: dict[str, Any]) -> bool:
    return bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim") or info.get("is_group"))


def fetch_channel(client: WebClient, channel_id: str, channel_type: str | None = None) -> ChannelFacts:
    """conversations.info + conversations.members. Falls back to what the event said on an API error."""
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        log.warning(
            "conversations.info failed", extra={"channel": channel_id, "error": exc.response.get("error")}
        )
        private = channel_type in PRIVATE_CHANNEL_TYPES if channel_type else True  # unknown: assume private
        return ChannelFacts(channel_id, "", private, False, None)
    members: list[str] | None = None
    if info.get("is_im"):
        members = [str(info.get("user"))] if info.get("user") else None
    else:
        try:
            members = []
            cursor: str | None = None
            while len(members) < MAX_SYNCED_MEMBERS:
                page = client.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
                members.extend(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning(
                "conversations.members failed",
                extra={"channel": channel_id, "error": exc.response.get("error")},
            )
            members = None
    private = is_private_info(info) or (channel_type in PRIVATE_CHANNEL_TYPES if channel_type else False)
    return ChannelFacts(
        channel_id,
        str(info.get("name") or ""),
        private,
        bool(info.get("is_archived")),
        tuple(members) if members is not None else None,
        bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared")),
    )


def get_channel(session: Session, workspace: Workspace, slack_channel_id: str) -> Channel | None:
    return session.scalars(
        select(Channel).where(
            Channel.workspace_id == workspace.id, Channel.slack_channel_id == slack_channel_id
        )
    ).first()


def needs_sync(channel: Channel | None, now: dt.datetime) -> bool:
    return (
        channel is None or channel.members_synced_at is None or now - channel.members_synced_at > MEMBERS_TTL
    )


def store_channel(session: Session, workspace: Workspace, facts: ChannelFacts, now: dt.datetime) -> Channel:
    """Upsert the channel and, when known, replace its membership with Slack's."""
    channel = get_channel(session, workspace, facts.slack_channel_id)
    if channel is None:
        channel = Channel(workspace_id=workspace.id, slack_channel_id=facts.slack_channel_id)
        session.add(channel)
    if facts.name:
        channel.name = facts.name
    # Once seen private, always private: a channel converted to public keeps its old items private.
    channel.is_private = channel.is_private or facts.is_private
    channel.is_archived = facts.is_archived
    if facts.is_ext_shared is not None:
        channel.is_ext_shared = facts.is_ext_shared
    session.flush()
    if facts.members is None:
        return channel
    have = dict(
        session.execute(
            select(Member.slack_user_id, ChannelMember.id)
            .join(Member, Member.id == ChannelMember.member_id)
            .where(ChannelMember.channel_id == channel.id)
        ).all()
    )
    want = set(facts.members)
    gone = [cm_id for uid, cm_id in have.items() if uid not in want]
    if gone:
        session.execute(delete(ChannelMember).where(ChannelMember.id.in_(gone)))
    new_ids = [
        ensure_member(session, workspace, uid).id
        for uid in facts.members
        if uid not in have and not is_forgotten(session, workspace, uid)
    ]
    if new_ids:
        # Plain rows (nobody holds them as objects): one INSERT for all, not a unit-of-work flush.
        session.execute(
            insert(_CHANNEL_MEMBERS),
            [{"workspace_id": workspace.id, "channel_id": channel.id, "member_id": m} for m in new_ids],
        )
    channel.members_synced_at = now
    session.flush()
    if new_ids and len(want) <= SHARED_CHANNEL_MAX:
        everyone = list(
            session.scalars(select(ChannelMember.member_id).where(ChannelMember.channel_id == channel.id))
        )
        fresh = set(new_ids)
        pairs = [
            (new_id, other)
            for new_id in new_ids
            for other in everyone
            if other != new_id and (other not in fresh or other < new_id)
        ]
        record_interactions(session, workspace.id, pairs, channel.id, "shared_channel", now)
    return channel


def ensure_channel(
    db: Database,
    client: WebClient,
    team_id: str,
    slack_channel_id: str,
    *,
    channel_type: str | None = None,
    force: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Make sure the channel row and membership are fresh (fetching from Slack only when stale)."""
    from bot.store.queries.workspaces import ensure_workspace

    now = now or utcnow()
    with db.session() as session:
        workspace = ensure_workspace(session, team_id)
        channel = get_channel(session, workspace, slack_channel_id)
        if not force and not needs_sync(channel, now):
            return
    facts = fetch_channel(client, slack_channel_id, channel_type)
    # Two events from one channel (a message and its app_mention) may sync it at once: the loser of the
    # insert race retries once and then finds the winner's rows.
    for attempt in (1, 2):
        try:
            with db.session() as session:
                workspace = ensure_workspace(session, team_id)
                store_channel(session, workspace, facts, now)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def add_channel_member(session: Session, workspace: Workspace, channel: Channel, member: Member) -> bool:
    """Record one join (member_joined_channel) without a full resync; False if already there (or if a
    resync or another replica recorded it a moment ago)."""
    inserted = session.execute(
        insert_ignoring_conflict(session, _CHANNEL_MEMBERS, ("channel_id", "member_id")),
        {"workspace_id": workspace.id, "channel_id": channel.id, "member_id": member.id},
    ).scalar()
    return inserted is not None


def remove_channel_member(session: Session, channel: Channel, member: Member) -> None:
    session.execute(
        delete(ChannelMember).where(
            ChannelMember.channel_id == channel.id, ChannelMember.member_id == member.id
        )
    )


def forget_members(session: Session, channel: Channel) -> None:
    """Drop a channel's whole member list and mark it unknown (the next sync fetches it again)."""
    session.execute(delete(ChannelMember).where(ChannelMember.channel_id == channel.id))
    channel.members_synced_at = None


def is_channel_member(session: Session, channel: Channel, member: Member) -> bool:
    return (
        session.scalars(
            select(ChannelMember.id).where(
                ChannelMember.channel_id == channel.id, ChannelMember.member_id == member.id
            )
        ).first()
        is not None
    )


def fetch_user(client: WebClient, slack_user_id: str) -> dict[str, Any] | None:
    try:
        user = client.users_info(user=slack_user_id)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed", extra={"user": slack_user_id, "error": exc.response.get("error")})
        return None
    return dict(user) if isinstance(user, dict) else None


def ensure_profile(
    db: Database, client: WebClient, team_id: str, slack_user_id: str, *, force: bool = False
) -> None:
    """Fetch the member's profile (tz, bot, guest, deactivated, email) if we don't have it yet."""
    from bot.store.queries.workspaces import ensure_workspace

    if not force:
        with db.session() as session:
            workspace = ensure_workspace(session, team_id)
            member = member_by_slack_id(session, workspace, slack_user_id)
            if member is not None and not needs_profile(member):
                return
            if is_forgotten(session, workspace, slack_user_id):
                return  # not even their profile, until they opt in again
    user = fetch_user(client, slack_user_id)
    if user is None:
        return
    with db.session() as session:
        workspace = ensure_workspace(session, team_id)
        if is_forgotten(session, workspace, slack_user_id):
            return  # they said forget-me while users.info was on its way (a command's after-ack work)
        apply_profile(session, workspace, user)
