"""`/passiton`: parse, apply whole or not at all, answer privately (ephemeral, in the ack).

The parsed command's type picks its handler from `HANDLERS`; every handler acks (Slack wants that
within three seconds) and answers either in the ack or, when the answer needs Slack or ranking, on
the response_url afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.profiles import needs_profile
from bot.messages.replies import error, forget_confirm_blocks, pause_choice_blocks, reply
from bot.metrics import COMMANDS
from bot.slack import commands_parse as cp
from bot.slack.answers import ask_command, who_knows_blocks
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.home import note_engagement, publish_home
from bot.slack.member_commands import SETTINGS_COMMANDS, apply_settings, send_export, set_channel_answers
from bot.slack.payloads import team_id_of
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.workspaces import ensure_workspace


@dataclass(frozen=True)
class Invocation:
    """One `/passiton` request, as its handler needs it."""

    passiton: AppContext
    ack: Ack
    respond: Respond
    client: WebClient
    command: dict[str, Any]
    team_id: str
    user_id: str


def on_command(
    ack: Ack,
    command: dict[str, Any],
    context: Any,
    client: WebClient,
    respond: Respond,
    passiton: AppContext,
) -> None:
    team_id, user_id = team_id_of(command, context), str(command["user_id"])
    note_engagement(passiton, team_id, user_id)  # any /passiton command, even a malformed one
    try:
        parsed = cp.parse_command(str(command.get("text") or ""))
    except cp.ParseError as exc:
        COMMANDS.labels("invalid").inc()
        _answer(ack, str(exc), is_error=True)
        return
    COMMANDS.labels(type(parsed).__name__.lower()).inc()
    handler = HANDLERS.get(type(parsed))
    if handler is None:
        raise TypeError(f"unhandled command {parsed!r}")
    handler(Invocation(passiton, ack, respond, client, command, team_id, user_id), parsed)


def _answer(ack: Ack, text: str, *, is_error: bool = False) -> None:
    ack(response_type="ephemeral", text=text, blocks=error(text) if is_error else reply(text))


def _profile_matters(parsed: cp.Command) -> bool:
    """Email by email needs the address Slack knows; quiet hours are read in the member's time zone."""
    return isinstance(parsed, cp.Quiet) or (
        isinstance(parsed, cp.Via) and parsed.delivery in ("email", "both")
    )


def _needs_profile(ctx: AppContext, team_id: str, user_id: str) -> bool:
    with ctx.db.session() as session:
        member = member_by_slack_id(session, ensure_workspace(session, team_id), user_id)
        return member is None or needs_profile(member)


def _help(call: Invocation, parsed: cp.Help) -> None:
    call.ack(response_type="ephemeral", text=HELP_TEXT, blocks=help_blocks())


def _settings(call: Invocation, parsed: cp.Command) -> None:
    ctx, client, team_id, user_id = call.passiton, call.client, call.team_id, call.user_id
    # No Web API call before the ack: a member we have no profile for yet is answered on the
    # response_url once users.info told us their email and time zone, and only when the
    # answer depends on them; every other command is answered in the ack and the profile
    # is fetched afterwards.
    if _profile_matters(parsed) and _needs_profile(ctx, team_id, user_id):
        call.ack()
        slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
        text, refused = apply_settings(ctx, team_id, user_id, parsed)
        call.respond(response_type="ephemeral", text=text, blocks=error(text) if refused else reply(text))
    else:
        text, refused = apply_settings(ctx, team_id, user_id, parsed)
        _answer(call.ack, text, is_error=refused)
        slack_sync.ensure_profile(ctx.db, client, team_id, user_id)
    if not refused and not isinstance(parsed, cp.ListTopics):
        publish_home(ctx, client, team_id, user_id)


def _channel_answers(call: Invocation, parsed: cp.ChannelAnswers) -> None:
    channel_id = str(call.command.get("channel_id") or "")
    if not channel_id or channel_id.startswith("D"):
        _answer(call.ack, "Say this in the channel where answers should stop or start.", is_error=True)
        return
    call.ack()  # who may change it (members, admins) needs Slack: answered on the response_url
    text, refused = set_channel_answers(
        call.passiton, call.client, call.team_id, call.user_id, channel_id, parsed.enabled
    )
    call.respond(response_type="ephemeral", text=text, blocks=error(text) if refused else reply(text))


def _ask_pause(call: Invocation, parsed: cp.AskPause) -> None:
    call.ack(response_type="ephemeral", text="Pause for how long?", blocks=pause_choice_blocks())


def _who_knows(call: Invocation, parsed: cp.WhoKnows) -> None:
    # Answered after the ack: related items may need an embedding and a permalink lookup.
    call.ack()
    blocks = who_knows_blocks(call.passiton, call.client, call.team_id, call.user_id, parsed.topic)
    call.respond(response_type="ephemeral", text=f"Who knows about {parsed.topic}", blocks=blocks)


def _ask(call: Invocation, parsed: cp.Ask) -> None:
    call.ack()  # routing ranks every helper: after the ack, then the private status with its buttons
    blocks = ask_command(call.passiton, call.team_id, call.user_id, parsed.text)
    call.respond(response_type="ephemeral", text="Got it: your ask is on its way.", blocks=blocks)


def _export(call: Invocation, parsed: cp.Export) -> None:
    _answer(call.ack, "I'm sending you everything passiton holds about you, as a direct message.")
    send_export(call.passiton, call.client, call.team_id, call.user_id)


def _forget_me(call: Invocation, parsed: cp.ForgetMe) -> None:
    call.ack(
        response_type="ephemeral",
        text="Delete everything passiton holds about you?",
        blocks=forget_confirm_blocks(),
    )


# Parsed command type -> its handler (the command types are plain frozen dataclasses, no subclasses).
HANDLERS: dict[type[Any], Callable[[Invocation, Any], None]] = {
    cp.Help: _help,
    **dict.fromkeys(SETTINGS_COMMANDS, _settings),
    cp.ChannelAnswers: _channel_answers,
    cp.AskPause: _ask_pause,
    cp.WhoKnows: _who_knows,
    cp.Ask: _ask,
    cp.Export: _export,
    cp.ForgetMe: _forget_me,
}
