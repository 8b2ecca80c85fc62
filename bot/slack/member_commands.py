"""What `/passiton` and a DM to the bot have in common once a command is parsed: settings applied whole
or not at all, answers switched per channel, the data export. The two listeners
(bot/slack/listeners/commands/passiton.py, bot/slack/direct_messages.py) answer in their own ways."""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.messages.mrkdwn import escape
from bot.slack import commands_parse as cp
from bot.slack.member_settings import SettingsRefused, apply_command
from bot.store.models import utcnow
from bot.store.queries.forget import export_member
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)
EXPORT_CHUNK = 3500
SETTINGS_COMMANDS = (
    cp.ListTopics,
    cp.ChangeTopics,
    cp.ExpertiseVisibility,
    cp.Pause,
    cp.Mute,
    cp.Resume,
    cp.Quiet,
    cp.Via,
    cp.Digest,
)


def send_export(ctx: AppContext, client: WebClient, team_id: str, user_id: str) -> None:
    with ctx.db.session() as session:
        member = ensure_member(session, ensure_workspace(session, team_id), user_id)
        data = export_member(session, member)
    dump = escape(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    chunks = [dump[i : i + EXPORT_CHUNK] for i in range(0, len(dump), EXPORT_CHUNK)] or ["{}"]
    client.chat_postMessage(channel=channel, text="Here is everything passiton holds about you (JSON):")
    for chunk in chunks:
        client.chat_postMessage(channel=channel, text=f"```{chunk}```")


def apply_settings(ctx: AppContext, team_id: str, user_id: str, parsed: cp.Command) -> tuple[str, bool]:
    """(reply, refused). A refusal raises inside the session, rolling back anything written."""
    try:
        with ctx.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            member = ensure_member(session, workspace, user_id)
            return apply_command(session, workspace, member, parsed, utcnow()), False
    except SettingsRefused as exc:
        return str(exc), True


def set_channel_answers(
    ctx: AppContext, client: WebClient, team_id: str, user_id: str, channel_id: str, enabled: bool
) -> tuple[str, bool]:
    """(reply, refused). The channel's own members decide (membership fresh from Slack), and admins."""
    facts = slack_sync.fetch_channel(client, channel_id)
    where = f"#{escape(facts.name)}" if facts.name else "this channel"
    if user_id not in (facts.members or ()):
        user = slack_sync.fetch_user(client, user_id) or {}
        if not (user.get("is_admin") or user.get("is_owner")):
            return f"Only members of {where} (or workspace admins) can turn my answers there off or on.", True
    slack_sync.ensure_channel(ctx.db, client, team_id, channel_id)
    with ctx.db.session() as session:
        channel = slack_sync.get_channel(session, ensure_workspace(session, team_id), channel_id)
        if channel is None:
            return "I can't see that channel; invite me first.", True
        channel.answers_enabled = enabled
    if enabled:
        return (
            f"Answers are on in {where}: I reply in the thread when someone asks who knows something.",
            False,
        )
    return (
        f"Answers are off in {where}: I won't reply to “who knows …” questions here. "
        "`/passiton answers on` brings them back.",
        False,
    )
