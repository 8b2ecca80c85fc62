"""Messages to the bot in its DM (the app's Messages tab): read as a `/passiton` command, or answered
with the short help. This is the only reason the app subscribes to `message.im`; what members write
there is never stored as an item nor shown to anyone else."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.messages import action_for
from bot.messages import Block
from bot.messages.replies import error, forget_confirm_blocks, pause_choice_blocks, reply
from bot.metrics import COMMANDS
from bot.slack import commands_parse as cp
from bot.slack.answers import ask_command, who_knows_blocks
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.home import publish_home
from bot.slack.member_commands import SETTINGS_COMMANDS, apply_settings, send_export
from bot.store.queries.workspaces import claim_event, ensure_workspace

log = logging.getLogger(__name__)

SHORT_HELP = (
    "I read messages here as commands, like `/passiton` without the slash: `interests add rust`, "
    "`mute crypto`, `pause`, `stop`, `who knows terraform`. Type `help` for everything."
)
_PREFIXES = ("/passiton ", "passiton ")


def command_text(text: str) -> str:
    """What a member typed, minus a `/passiton` they may have typed out of habit."""
    text = " ".join(text.split())
    lowered = text.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            return text[len(prefix) :]
    return "" if lowered in ("/passiton", "passiton") else text


def answer_dm(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    bot_user_id: str | None,
    event: dict[str, Any],
    event_id: str | None,
) -> None:
    """Answer one DM to the bot, once (Slack retries carry the same event id)."""
    action, message = action_for(event, bot_user_id)
    if action != "new" or message is None or not message.user:
        return  # edits, deletions, the bot's own messages
    text = command_text(message.text)
    if not text.strip():
        text = "help"
    if event_id:
        with ctx.db.session() as session:
            if not claim_event(session, event_id, ensure_workspace(session, team_id).id):
                return
    user_id = message.user
    try:
        parsed = cp.parse_command(text)
    except cp.ParseError as exc:
        COMMANDS.labels("dm_unknown").inc()
        said = str(exc)
        answer = SHORT_HELP if said.startswith("I don't know") else said
        _post(client, message.channel, answer, reply(answer) if answer == SHORT_HELP else error(answer))
        return
    COMMANDS.labels("dm_" + type(parsed).__name__.lower()).inc()
    shown = _run(ctx, client, team_id, user_id, parsed)
    if shown is not None:
        _post(client, message.channel, *shown)


def _run(
    ctx: AppContext, client: WebClient, team_id: str, user_id: str, parsed: cp.Command
) -> tuple[str, list[Block]] | None:
    """The answer to post (text, blocks), or None when the command answers by itself (the export)."""
    handler = HANDLERS.get(type(parsed))
    if handler is None:
        raise TypeError(f"unhandled command {parsed!r}")
    return handler(DirectCommand(ctx, client, team_id, user_id), parsed)


@dataclass(frozen=True)
class DirectCommand:
    """One command written to the bot, as its handler needs it."""

    passiton: AppContext
    client: WebClient
    team_id: str
    user_id: str


Shown = tuple[str, list[Block]] | None


def _help(call: DirectCommand, parsed: cp.Help) -> Shown:
    return HELP_TEXT, help_blocks()


def _settings(call: DirectCommand, parsed: cp.Command) -> Shown:
    ctx, client, team_id, user_id = call.passiton, call.client, call.team_id, call.user_id
    slack_sync.ensure_profile(ctx.db, client, team_id, user_id)  # the event was acked long ago
    text, refused = apply_settings(ctx, team_id, user_id, parsed)
    if not refused and not isinstance(parsed, cp.ListTopics):
        publish_home(ctx, client, team_id, user_id)
    return text, error(text) if refused else reply(text)


def _ask_pause(call: DirectCommand, parsed: cp.AskPause) -> Shown:
    return "Pause for how long?", pause_choice_blocks()


def _who_knows(call: DirectCommand, parsed: cp.WhoKnows) -> Shown:
    return f"Who knows about {parsed.topic}", who_knows_blocks(
        call.passiton, call.client, call.team_id, call.user_id, parsed.topic
    )


def _ask(call: DirectCommand, parsed: cp.Ask) -> Shown:
    return "Got it: your ask is on its way.", ask_command(
        call.passiton, call.team_id, call.user_id, parsed.text
    )


def _export(call: DirectCommand, parsed: cp.Export) -> Shown:
    send_export(call.passiton, call.client, call.team_id, call.user_id)
    return None


def _forget_me(call: DirectCommand, parsed: cp.ForgetMe) -> Shown:
    return "Delete everything passiton holds about you?", forget_confirm_blocks()


# Parsed command type -> its handler. `answers off|on` is a channel's setting, said in that channel: it
# has no handler here, so such a DM gets no answer (`_run` raises; the event pool logs it).
HANDLERS: dict[type[Any], Callable[[DirectCommand, Any], Shown]] = {
    cp.Help: _help,
    **dict.fromkeys(SETTINGS_COMMANDS, _settings),
    cp.AskPause: _ask_pause,
    cp.WhoKnows: _who_knows,
    cp.Ask: _ask,
    cp.Export: _export,
    cp.ForgetMe: _forget_me,
}


def _post(client: WebClient, channel: str, text: str, blocks: list[Block]) -> None:
    client.chat_postMessage(channel=channel, text=text, blocks=blocks)
