"""`/passiton`: parse, apply whole or not at all, answer privately (ephemeral, in the ack)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.ingest import slack_sync
from bot.ingest.planning import plan_help
from bot.slack import commands_parse as cp
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.blocks.replies import error, forget_confirm_blocks, reply
from bot.slack.context import AppContext
from bot.slack.listeners import team_id_of
from bot.slack.listeners.home import publish_home
from bot.slack.member_settings import SettingsRefused, apply_command, labels
from bot.slack.metrics import COMMANDS
from bot.slack.mrkdwn import escape
from bot.slack.registry import COMMAND
from bot.store.models import Item, utcnow
from bot.store.queries.experts import public_experts
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


def who_knows_text(ctx: AppContext, team_id: str, user_id: str, topic: str) -> str:
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        me = ensure_member(session, workspace, user_id)
        names = [m.name for m in public_experts(session, workspace, [topic], exclude=[me.id]).get(topic, [])]
    if not names:
        return (
            f"Nobody has agreed to be named for {labels([topic])} yet. "
            f"`/passiton ask …` routes a question to people who listed it privately."
        )
    return (
        f"People who agreed to be named for {labels([topic])}: " + ", ".join(escape(n) for n in names) + "."
    )


def store_ask(ctx: AppContext, team_id: str, user_id: str, text: str) -> int:
    """An ask typed to the bot is an Item like a question posted in a channel, routed the same way."""
    from bot.matching.items import clean_slack_text

    now = utcnow()
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        member = ensure_member(session, workspace, user_id)
        item = Item(
            workspace_id=workspace.id,
            source_key=f"ask:{uuid.uuid4().hex}",
            source="command",
            kind="ask",
            author_id=member.id,
            text=clean_slack_text(text),
            is_private=False,
            posted_at=now,
        )
        session.add(item)
        session.flush()
        return item.id


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
    def on_command(ack: Ack, command: dict[str, Any], context: Any, client: WebClient) -> None:
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
            _answer(ack, who_knows_text(ctx, team_id, user_id, parsed.topic))
            return
        if isinstance(parsed, cp.Ask):
            item_id = store_ask(ctx, team_id, user_id, parsed.text)
            _answer(
                ack,
                "Got it. I'll ask a few people who said they can help with this; they'll reach out to you directly "
                "if they can. Nobody else sees your ask.",
            )
            plan_help(ctx, item_id, utcnow())
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
