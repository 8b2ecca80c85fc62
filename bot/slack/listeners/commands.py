"""`/passiton`: parse, apply whole or not at all, answer privately (ephemeral, in the ack)."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.profiles import needs_profile
from bot.messages.mrkdwn import escape
from bot.messages.replies import error, forget_confirm_blocks, pause_choice_blocks, reply
from bot.metrics import COMMANDS
from bot.slack import commands_parse as cp
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.listeners import team_id_of
from bot.slack.listeners.answers import ask_command, who_knows_blocks
from bot.slack.listeners.home import note_engagement, publish_home
from bot.slack.member_settings import SettingsRefused, apply_command
from bot.slack.registry import COMMAND
from bot.store.models import utcnow
from bot.store.queries.forget import export_member
from bot.store.queries.members import ensure_member, member_by_slack_id
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


def _answer(ack: Ack, text: str, *, is_error: bool = False) -> None:
    ack(response_type="ephemeral", text=text, blocks=error(text) if is_error else reply(text))


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


def _profile_matters(parsed: cp.Command) -> bool:
    """Email by email needs the address Slack knows; quiet hours are read in the member's time zone."""
    return isinstance(parsed, cp.Quiet) or (
        isinstance(parsed, cp.Via) and parsed.delivery in ("email", "both")
    )


def _needs_profile(ctx: AppContext, team_id: str, user_id: str) -> bool:
    with ctx.db.session() as session:
        member = member_by_slack_id(session, ensure_workspace(session, team_id), user_id)
        return member is None or needs_profile(member)


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


def register(app: App, ctx: AppContext) -> None:
    @app.command(COMMAND)
    def on_command(
        ack: Ack, command: dict[str, Any], context: Any, client: WebClient, respond: Respond
    ) -> None:
        team_id, user_id = team_id_of(command, context), str(command["user_id"])
        note_engagement(ctx, team_id, user_id)  # any /passiton command, even a malformed one
        try:
            parsed = cp.parse_command(str(command.get("text") or ""))
        except cp.ParseError as exc:
            COMMANDS.labels("invalid").inc()
            _answer(ack, str(exc), is_error=True)
            return
        COMMANDS.labels(type(parsed).__name__.lower()).inc()
        if isinstance(parsed, cp.Help):
            ack(response_type="ephemeral", text=HELP_TEXT, blocks=help_blocks())
            return
        if isinstance(parsed, SETTINGS_COMMANDS):
            # No Web API call before the ack: a member we have no profile for yet is answered on the
            # response_url once users.info told us their email and time zone, and only when the
            # answer depends on them; every other command is answered in the ack and the profile
            # is fetched afterwards.
            if _profile_matters(parsed) and _needs_profile(ctx, team_id, user_id):
                ack()
                slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
                text, refused = apply_settings(ctx, team_id, user_id, parsed)
                respond(response_type="ephemeral", text=text, blocks=error(text) if refused else reply(text))
            else:
                text, refused = apply_settings(ctx, team_id, user_id, parsed)
                _answer(ack, text, is_error=refused)
                slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
            if not refused and not isinstance(parsed, cp.ListTopics):
                publish_home(ctx, client, team_id, user_id)
            return
        if isinstance(parsed, cp.ChannelAnswers):
            channel_id = str(command.get("channel_id") or "")
            if not channel_id or channel_id.startswith("D"):
                _answer(ack, "Say this in the channel where answers should stop or start.", is_error=True)
                return
            ack()  # who may change it (members, admins) needs Slack: answered on the response_url
            text, refused = set_channel_answers(ctx, client, team_id, user_id, channel_id, parsed.enabled)
            respond(response_type="ephemeral", text=text, blocks=error(text) if refused else reply(text))
            return
        if isinstance(parsed, cp.AskPause):
            ack(response_type="ephemeral", text="Pause for how long?", blocks=pause_choice_blocks())
            return
        if isinstance(parsed, cp.WhoKnows):
            # Answered after the ack: related items may need an embedding and a permalink lookup.
            ack()
            blocks = who_knows_blocks(ctx, client, team_id, user_id, parsed.topic)
            respond(response_type="ephemeral", text=f"Who knows about {parsed.topic}", blocks=blocks)
            return
        if isinstance(parsed, cp.Ask):
            ack()  # routing ranks every helper: after the ack, then the private status with its buttons
            blocks = ask_command(ctx, team_id, user_id, parsed.text)
            respond(response_type="ephemeral", text="Got it: your ask is on its way.", blocks=blocks)
            return
        if isinstance(parsed, cp.Export):
            _answer(ack, "I'm sending you everything passiton holds about you, as a direct message.")
            send_export(ctx, client, team_id, user_id)
            return
        if isinstance(parsed, cp.ForgetMe):
            ack(
                response_type="ephemeral",
                text="Delete everything passiton holds about you?",
                blocks=forget_confirm_blocks(),
            )
            return
        raise TypeError(f"unhandled command {parsed!r}")
