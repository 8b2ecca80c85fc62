"""Web API methods: conversations.*, users.*, team.info, bots.info — reads and DM opening."""

from __future__ import annotations

import time
from typing import TypeVar

from tests.support.methods_chat import Args, Ctx, channel_for, message_json, user_for
from tests.support.model import JSON, SlackError
from tests.support.workspace import decode_cursor, encode_cursor

T = TypeVar("T")


def _page(
    items: list[T], args: Args, *, default_limit: int, max_limit: int, kind: str
) -> tuple[list[T], str]:
    """Offset pagination behind an opaque cursor, like Slack's `next_cursor` (empty when done)."""
    limit = args.integer("limit", default_limit)
    if limit <= 0:
        limit = default_limit
    limit = min(limit, max_limit)
    cursor = args.string("cursor")
    start = 0
    if cursor:
        value = decode_cursor(cursor, kind)
        if not value.isdigit():
            raise SlackError("invalid_cursor")
        start = int(value)
    page = items[start : start + limit]
    nxt = encode_cursor(kind, start + limit) if start + limit < len(items) else ""
    return page, nxt


def conversations_open(ctx: Ctx, args: Args) -> JSON:
    users_arg = args.string("users")
    chan_arg = args.string("channel")
    if not users_arg and not chan_arg:
        raise SlackError("users_list_not_supplied")
    if chan_arg and not users_arg:
        ch = channel_for(ctx, chan_arg, member=False)
        if not (ch.is_im or ch.is_mpim):
            raise SlackError("method_not_supported_for_channel_type")
        return {"no_op": True, "already_open": True, "channel": {"id": ch.id}}
    ids = [u.strip() for u in (users_arg or "").split(",") if u.strip()]
    if len(ids) > 8:
        raise SlackError("too_many_users")
    others: list[str] = []
    for uid in ids:
        user = user_for(ctx, uid)
        if user.deleted:
            raise SlackError("user_disabled")
        if user.id != ctx.actor and user.id not in others:
            others.append(user.id)
    if not others:
        raise SlackError("not_enough_users")
    if len(others) == 1:
        if ctx.team.users[others[0]].is_bot:
            raise SlackError("cannot_dm_bot")
        ch, existed = ctx.ws.open_im(ctx.team.id, ctx.actor, others[0])
    else:
        ch, existed = ctx.ws.open_mpim(ctx.team.id, [ctx.actor, *others])
    out: JSON = {"channel": ch.to_api(ctx.actor) if args.flag("return_im") else {"id": ch.id}}
    if existed:
        out["no_op"] = True
        out["already_open"] = True
    return out


def conversations_info(ctx: Ctx, args: Args) -> JSON:
    ch = channel_for(ctx, args.string("channel"), member=False)
    return {"channel": ch.to_api(ctx.actor, include_num_members=args.flag("include_num_members"))}


def conversations_members(ctx: Ctx, args: Args) -> JSON:
    ch = channel_for(ctx, args.string("channel"), member=False)
    page, nxt = _page(list(ch.members), args, default_limit=100, max_limit=1000, kind="next_member")
    return {"members": page, "response_metadata": {"next_cursor": nxt}}


def _in_range(ts: str, oldest: str | None, latest: str | None, inclusive: bool) -> bool:
    t = float(ts)
    if oldest is not None and (t < float(oldest) or (t == float(oldest) and not inclusive)):
        return False
    return not (latest is not None and (t > float(latest) or (t == float(latest) and not inclusive)))


def _ts_arg(args: Args, name: str) -> str | None:
    v = args.string(name)
    if v is None:
        return None
    try:
        float(v)
    except ValueError:
        raise SlackError("invalid_ts_" + name) from None
    return v


def _ts_page(
    items: list[tuple[str, JSON]], args: Args, *, default_limit: int, max_limit: int, newest_first: bool
) -> tuple[list[JSON], str]:
    """Slack's message paging: the cursor is `next_ts:<ts>`, the ts of the first message of the next page
    (so a message posted meanwhile never shifts a page, as offsets would), given back with the same range
    arguments. `items` are (ts, message) in the order pages run: newest first for history, oldest first
    for a thread."""
    limit = args.integer("limit", default_limit)
    if limit <= 0:
        limit = default_limit
    limit = min(limit, max_limit)
    cursor = args.string("cursor")
    if cursor:
        value = decode_cursor(cursor, "next_ts")
        try:
            boundary = float(value)
        except ValueError:
            raise SlackError("invalid_cursor") from None
        if newest_first:
            items = [(ts, m) for ts, m in items if float(ts) <= boundary]
        else:
            items = [(ts, m) for ts, m in items if float(ts) >= boundary]
    page = items[:limit]
    nxt = encode_cursor("next_ts", items[limit][0]) if len(items) > limit else ""
    return [m for _, m in page], nxt


def conversations_history(ctx: Ctx, args: Args) -> JSON:
    """Top-level messages (and broadcast replies) newest first within [oldest, latest] (bounds excluded
    unless `inclusive`); `limit` defaults to 100, at most 999."""
    ch = channel_for(ctx, args.string("channel"), member=True)
    oldest, latest = _ts_arg(args, "oldest"), _ts_arg(args, "latest")
    inclusive = args.flag("inclusive")
    meta = args.flag("include_all_metadata")
    with ctx.ws.lock:
        top = [
            m for m in reversed(ch.messages)
            if (not m.is_reply or m.reply_broadcast) and _in_range(m.ts, oldest, latest, inclusive)
        ]  # fmt: skip
        items = [(m.ts, message_json(ctx, ch, m, include_metadata=meta)) for m in top]
    page, nxt = _ts_page(items, args, default_limit=100, max_limit=999, newest_first=True)
    out: JSON = {
        "messages": page,
        "has_more": bool(nxt),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if nxt:
        out["response_metadata"] = {"next_cursor": nxt}
    return out


def conversations_replies(ctx: Ctx, args: Args) -> JSON:
    """A thread oldest first: the parent, then its replies within [oldest, latest]. Only the first page
    carries the parent; later pages (with a cursor) hold replies only, as Slack's do."""
    ch = channel_for(ctx, args.string("channel"), member=True)
    ts = args.string("ts")
    parent = ctx.ws.find_message(ch, ts) if ts else None
    if parent is None:
        raise SlackError("thread_not_found")
    if parent.is_reply:  # Slack answers a reply's ts with that reply's thread
        parent = ctx.ws.find_message(ch, parent.thread_ts or "") or parent
    oldest, latest = _ts_arg(args, "oldest"), _ts_arg(args, "latest")
    inclusive = args.flag("inclusive")
    meta = args.flag("include_all_metadata")
    with ctx.ws.lock:
        replies = [
            m for m in ch.messages if m.ts in parent.reply_ts and _in_range(m.ts, oldest, latest, inclusive)
        ]
        thread = replies if args.string("cursor") else [parent, *replies]
        items = [(m.ts, message_json(ctx, ch, m, include_metadata=meta)) for m in thread]
    page, nxt = _ts_page(items, args, default_limit=1000, max_limit=1000, newest_first=False)
    out: JSON = {"messages": page, "has_more": bool(nxt)}
    if nxt:
        out["response_metadata"] = {"next_cursor": nxt}
    return out


def users_conversations(ctx: Ctx, args: Args) -> JSON:
    """The conversations the caller (or `user`) is a member of, of the given `types` (default
    public_channel), cursor-paginated."""
    wanted = {t.strip() for t in (args.string("types") or "public_channel").split(",") if t.strip()}
    known = {"public_channel", "private_channel", "mpim", "im"}
    if not wanted or not wanted <= known:
        raise SlackError("invalid_types")
    uid = args.string("user") or ctx.actor
    exclude_archived = args.flag("exclude_archived")
    with ctx.ws.lock:
        found = []
        for ch in ctx.team.channels.values():
            kind = (
                "im"
                if ch.is_im
                else "mpim"
                if ch.is_mpim
                else "private_channel"
                if ch.is_private
                else "public_channel"
            )
            if kind in wanted and uid in ch.members and not (exclude_archived and ch.is_archived):
                found.append(ch.to_api(ctx.actor))
    page, nxt = _page(found, args, default_limit=100, max_limit=1000, kind="channel")
    return {"channels": page, "response_metadata": {"next_cursor": nxt}}


def users_info(ctx: Ctx, args: Args) -> JSON:
    user = user_for(ctx, args.string("user"))
    return {"user": user.to_api(include_locale=args.flag("include_locale"))}


def users_list(ctx: Ctx, args: Args) -> JSON:
    with ctx.ws.lock:
        members = [u.to_api(include_locale=args.flag("include_locale")) for u in ctx.team.users.values()]
    page, nxt = _page(members, args, default_limit=len(members) or 1, max_limit=1000, kind="user")
    return {"members": page, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": nxt}}


def users_lookup_by_email(ctx: Ctx, args: Args) -> JSON:
    email = (args.string("email") or "").lower()
    if not email:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: email"])
    for u in ctx.team.users.values():
        if u.email and u.email.lower() == email and not u.is_bot:
            return {"user": u.to_api()}
    raise SlackError("users_not_found")


def team_info(ctx: Ctx, args: Args) -> JSON:
    tid = args.string("team")
    if tid and tid != ctx.team.id:
        raise SlackError("team_not_found")
    return {"team": ctx.team.to_api()}


def bots_info(ctx: Ctx, args: Args) -> JSON:
    bid = args.string("bot") or ctx.token.bot_id
    for u in ctx.team.users.values():
        if u.bot_id and u.bot_id == bid:
            return {
                "bot": {
                    "id": u.bot_id,
                    "deleted": u.deleted,
                    "name": u.name,
                    "updated": u.updated,
                    "app_id": u.app_id,
                    "user_id": u.id,
                    "icons": {"image_36": "", "image_48": "", "image_72": ""},
                }
            }
    raise SlackError("bot_not_found")
