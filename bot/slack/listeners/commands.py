"""`/passiton`: parse, apply whole or not at all, answer privately (ephemeral, in the ack)."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.messages.mrkdwn import escape
from bot.messages.replies import error, forget_confirm_blocks, reply
from bot.metrics import COMMANDS
from bot.slack import commands_parse as cp
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.listeners import team_id_of
from bot.slack.listeners.answers import ask_command, who_knows_blocks
from bot.slack.listeners.home import publish_home
from bot.slack.member_settings import SettingsRefused, apply_command
from bot.slack.registry import COMMAND
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


def register(app: App, ctx: AppContext) -> None:
    @app.command(COMMAND)
    def on_command(
        ack: Ack, command: dict[str, Any], context: Any, client: WebClient, respond: Respond
    ) -> None:
        team_id, user_id = team_id_of(command, context), str(command["user_id"])
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
            slack_sync.ensure_profile(ctx.db, client, team_id, user_id)  # tz and email, before validating
            try:
                with ctx.db.session() as session:  # a refusal raises, rolling back anything written
                    workspace = ensure_workspace(session, team_id)
                    member = ensure_member(session, workspace, user_id)
                    text = apply_command(session, workspace, member, parsed, utcnow())
            except SettingsRefused as exc:
                _answer(ack, str(exc), is_error=True)
                return
            _answer(ack, text)
            if not isinstance(parsed, cp.ListTopics):
                publish_home(ctx, client, team_id, user_id)
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
