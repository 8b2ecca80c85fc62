"""Web API methods: auth, chat.*, reactions.* — Slack's argument rules and error codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.blockkit import parse_json_arg, validate_blocks
from tests.support.model import JSON, Channel, Message, SlackError, Team, Token, User
from tests.support.workspace import Workspace

MAX_TEXT = 40_000


@dataclass
class Ctx:
    """Who is calling: the token record, its team and the acting user (the bot user for xoxb)."""

    ws: Workspace
    token: Token
    team: Team

    @property
    def actor(self) -> str:
        return self.token.user_id


class Args:
    """Slack accepts form strings and JSON values for the same argument; read both the same way."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def string(self, name: str) -> str | None:
        v = self.raw.get(name)
        if v is None or v == "":
            return None
        return v if isinstance(v, str) else str(v)

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.raw.get(name)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        return str(v).lower() in ("1", "true", "yes")

    def integer(self, name: str, default: int) -> int:
        v = self.raw.get(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", [f"[ERROR] {name} must be an integer"]) from None

    def json(self, name: str, error: str) -> Any:
        v = self.raw.get(name)
        if v is None or v == "":
            return None
        return parse_json_arg(v, error)


def can_see(ctx: Ctx, ch: Channel) -> bool:
    """Private channels, IMs and MPIMs are invisible (channel_not_found) to non-members."""
    return not (ch.is_private or ch.is_im or ch.is_mpim) or ctx.actor in ch.members


def channel_for(ctx: Ctx, ref: str | None, *, member: bool) -> Channel:
    if not ref:
        raise SlackError("channel_not_found")
    ch = ctx.ws.find_channel(ctx.team.id, ref)
    if ch is None or not can_see(ctx, ch):
        raise SlackError("channel_not_found")
    if member and ctx.actor not in ch.members:
        raise SlackError("not_in_channel")
    return ch


def _post_target(ctx: Ctx, ref: str | None) -> Channel:
    """chat.postMessage also accepts a user id: the message goes to the app's DM with that user."""
    if ref and ref in ctx.team.users and ref.startswith(("U", "W")):
        user = ctx.team.users[ref]
        if user.deleted:
            raise SlackError("channel_not_found")
        ch, _ = ctx.ws.open_im(ctx.team.id, ctx.actor, user.id)
        return ch
    ch = channel_for(ctx, ref, member=False)
    if ctx.actor not in ch.members and not (
        "chat:write.public" in ctx.token.scopes and not ch.is_private and not ch.is_im and not ch.is_mpim
    ):
        raise SlackError("not_in_channel")
    if ch.is_archived:
        raise SlackError("is_archived")
    return ch


def _content(args: Args, *, required: bool = True) -> tuple[str, list[JSON] | None, list[JSON] | None]:
    text = args.string("text") or args.string("markdown_text") or ""
    blocks = args.json("blocks", "invalid_blocks_format")
    attachments = args.json("attachments", "invalid_attachments")
    if blocks is not None:
        validate_blocks(blocks)
    if attachments is not None:
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > 100:
            raise SlackError("too_many_attachments")
    if required and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text, blocks, attachments


def _metadata(args: Args) -> JSON | None:
    meta = args.json("metadata", "invalid_metadata_format")
    if meta is None:
        return None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("event_type"), str)
        or not isinstance(meta.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": meta["event_type"], "event_payload": meta["event_payload"]}


def message_json(ctx: Ctx, ch: Channel, msg: Message, include_metadata: bool = True) -> JSON:
    parent = ctx.ws.find_message(ch, msg.thread_ts) if msg.is_reply and msg.thread_ts else None
    reply_users = [m.user for m in ch.messages if m.ts in msg.reply_ts and m.user]
    out = msg.to_api(include_metadata, parent=parent, users=reply_users)
    if msg.bot_id:
        bot = ctx.team.users.get(msg.user or "")
        out["bot_profile"] = {
            "id": msg.bot_id,
            "app_id": msg.app_id,
            "name": bot.name if bot else "",
            "deleted": False,
            "team_id": ctx.team.id,
        }
    return out


def auth_test(ctx: Ctx, args: Args) -> JSON:
    user = ctx.team.users.get(ctx.actor)
    out: JSON = {
        "url": f"https://{ctx.team.domain}.slack.com/",
        "team": ctx.team.name,
        "user": user.name if user else "",
        "team_id": ctx.team.id,
        "user_id": ctx.actor,
        "is_enterprise_install": False,
    }
    if ctx.token.bot_id:
        out["bot_id"] = ctx.token.bot_id
    return out


def chat_post_message(ctx: Ctx, args: Args) -> JSON:
    ch = _post_target(ctx, args.string("channel"))
    text, blocks, attachments = _content(args)
    metadata = _metadata(args)
    thread_ts = args.string("thread_ts")
    if thread_ts:
        parent = ctx.ws.find_message(ch, thread_ts)
        # Replying to a reply threads under that reply's parent, as Slack does.
        if parent is not None and parent.is_reply:
            thread_ts = parent.thread_ts
    msg = Message(
        channel=ch.id, ts=ctx.ws.next_ts(), text=text, user=ctx.actor, bot_id=ctx.token.bot_id,
        app_id=ctx.token.app_id if ctx.token.bot_id else None, team=ctx.team.id, thread_ts=thread_ts,
        blocks=blocks, attachments=attachments, metadata=metadata, username=args.string("username"),
        reply_broadcast=args.flag("reply_broadcast"),
    )  # fmt: skip
    ctx.ws.insert_message(ch, msg)
    return {"channel": ch.id, "ts": msg.ts, "message": message_json(ctx, ch, msg)}


def chat_post_ephemeral(ctx: Ctx, args: Args) -> JSON:
    # Unlike chat.postMessage, the bot need not be a member of a public channel here.
    ch = channel_for(ctx, args.string("channel"), member=False)
    if ch.is_archived:
        raise SlackError("is_archived")
    uid = args.string("user")
    user = ctx.team.users.get(uid or "")
    if user is None:
        raise SlackError("user_not_found")
    if user.id not in ch.members:
        raise SlackError("user_not_in_channel")
    text, blocks, attachments = _content(args)
    ts = ctx.ws.next_ts()
    with ctx.ws.lock:
        ctx.ws.ephemerals.append(
            {
                "team_id": ctx.team.id, "channel": ch.id, "user": user.id, "message_ts": ts, "text": text,
                "blocks": blocks, "attachments": attachments, "thread_ts": args.string("thread_ts"),
            }
        )  # fmt: skip
    return {"message_ts": ts}


def _own_message(ctx: Ctx, args: Args, ts_arg: str, error: str) -> tuple[Channel, Message]:
    ch = channel_for(ctx, args.string("channel"), member=False)
    ts = args.string(ts_arg)
    msg = ctx.ws.find_message(ch, ts) if ts else None
    if msg is None:
        raise SlackError("message_not_found")
    if msg.user != ctx.actor:
        raise SlackError(error)
    return ch, msg


def chat_update(ctx: Ctx, args: Args) -> JSON:
    ch, msg = _own_message(ctx, args, "ts", "cant_update_message")
    text, blocks, attachments = _content(args, required=False)
    if not text and blocks is None and attachments is None:
        raise SlackError("no_text")
    meta = _metadata(args)
    with ctx.ws.lock:
        msg.text = text
        if blocks is not None:
            msg.blocks = blocks
        if attachments is not None:
            msg.attachments = attachments
        if meta is not None:
            msg.metadata = meta
        msg.edited = {"user": ctx.actor, "ts": ctx.ws.next_ts()}
    return {"channel": ch.id, "ts": msg.ts, "text": msg.text, "message": message_json(ctx, ch, msg)}


def chat_delete(ctx: Ctx, args: Args) -> JSON:
    ch, msg = _own_message(ctx, args, "ts", "cant_delete_message")
    with ctx.ws.lock:
        ch.messages.remove(msg)
        ctx.ws.deleted_messages.append(msg)
        if msg.is_reply:
            parent = ctx.ws.find_message(ch, msg.thread_ts or "")
            if parent is not None and msg.ts in parent.reply_ts:
                parent.reply_ts.remove(msg.ts)
    return {"channel": ch.id, "ts": msg.ts}


def chat_get_permalink(ctx: Ctx, args: Args) -> JSON:
    ch = channel_for(ctx, args.string("channel"), member=False)
    ts = args.string("message_ts")
    msg = ctx.ws.find_message(ch, ts) if ts else None
    if msg is None:
        raise SlackError("message_not_found")
    link = f"https://{ctx.team.domain}.slack.com/archives/{ch.id}/p{msg.ts.replace('.', '')}"
    if msg.is_reply:
        link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
    return {"channel": ch.id, "permalink": link}


def reactions_add(ctx: Ctx, args: Args) -> JSON:
    if not args.string("channel") or not args.string("timestamp"):
        raise SlackError("no_item_specified")
    ch = channel_for(ctx, args.string("channel"), member=False)
    msg = ctx.ws.find_message(ch, args.string("timestamp") or "")
    if msg is None:
        raise SlackError("message_not_found")
    name = (args.string("name") or "").strip(":")
    if not name or " " in name:
        raise SlackError("invalid_name")
    with ctx.ws.lock:
        for r in msg.reactions:
            if r["name"] == name:
                if ctx.actor in r["users"]:
                    raise SlackError("already_reacted")
                r["users"].append(ctx.actor)
                r["count"] += 1
                break
        else:
            msg.reactions.append({"name": name, "users": [ctx.actor], "count": 1})
    return {}


def user_for(ctx: Ctx, uid: str | None) -> User:
    user = ctx.team.users.get(uid or "")
    if user is None:
        raise SlackError("user_not_found")
    return user
