"""Build and deliver what Slack sends to an app: signed Events API envelopes, slash commands and
interactivity payloads, shaped like Slack's published samples.

    body = json.dumps(envelope(message_event("C1", "U1", "hi"), team_id="T1", bot_user_id="U9"))
    resp = post_signed(app_url + "/slack/events", body, secret)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx

JSON = dict[str, Any]
_seq = itertools.count(1)


# -- signatures ---------------------------------------------------------------------------------


def signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str | bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
        "Content-Type": content_type or guess_content_type(body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def guess_content_type(body: str | bytes) -> str:
    head = body[:1] if isinstance(body, str) else body[:1].decode(errors="replace")
    return "application/json" if head in ("{", "[") else "application/x-www-form-urlencoded"


def post_signed(
    url: str,
    body: str | bytes,
    secret: str,
    content_type: str | None = None,
    retry_num: int | None = None,
    *,
    retry_reason: str = "http_timeout",
    timestamp: int | None = None,
    client: httpx.Client | None = None,
    timeout: float = 5.0,
) -> httpx.Response:
    """POST `body` exactly as given, signed like Slack (pass `timestamp` to send a stale one)."""
    headers = signed_headers(
        body,
        secret,
        timestamp=timestamp,
        content_type=content_type,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )
    raw = body.encode() if isinstance(body, str) else body
    if client is not None:
        return client.post(url, content=raw, headers=headers, timeout=timeout)
    with httpx.Client() as c:
        return c.post(url, content=raw, headers=headers, timeout=timeout)


# -- Events API ---------------------------------------------------------------------------------


def new_event_id() -> str:
    return f"Ev{int(time.time())}{next(_seq):06d}"


def new_ts() -> str:
    return f"{time.time():.6f}"


def envelope(
    event: JSON,
    *,
    team_id: str,
    bot_user_id: str,
    api_app_id: str = "A0EMULATOR",
    event_id: str | None = None,
    event_time: int | None = None,
    enterprise_id: str | None = None,
    token: str = "verification_token",
) -> JSON:
    """An `event_callback` envelope with `authorizations` naming the app's bot user."""
    return {
        "token": token,
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time or int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id or 'emulator'}",
    }


def url_verification(challenge: str, token: str = "verification_token") -> JSON:
    return {"token": token, "challenge": challenge, "type": "url_verification"}


def _rich_text(text: str) -> list[JSON]:
    return [
        {
            "type": "rich_text",
            "block_id": "rt" + hashlib.sha1(text.encode()).hexdigest()[:4],
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    channel_type: str = "channel",
    team: str | None = None,
    attachments: list[JSON] | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    blocks: list[JSON] | None = None,
) -> JSON:
    """A channel `message` event; `channel_type` is channel | group | im | mpim."""
    ts = ts or new_ts()
    ev: JSON = {"type": "message", "text": text, "user": user, "ts": ts, "channel": channel, "event_ts": ts}
    ev["channel_type"] = channel_type
    if subtype is None and bot_id is None:
        ev["client_msg_id"] = f"{next(_seq):08d}-0000-4000-8000-000000000000"
        ev["blocks"] = blocks if blocks is not None else _rich_text(text)
    elif blocks is not None:
        ev["blocks"] = blocks
    if team:
        ev["team"] = team
    if thread_ts:
        ev["thread_ts"] = thread_ts
        if parent_user_id:
            ev["parent_user_id"] = parent_user_id
    if attachments is not None:
        ev["attachments"] = attachments
    if subtype:
        ev["subtype"] = subtype
    if bot_id:
        ev["bot_id"] = bot_id
    return ev


def link_unfurl(url: str, title: str, text: str = "", service_name: str = "") -> JSON:
    """An external-site unfurl attachment as Slack adds it to a message."""
    return {
        "from_url": url, "original_url": url, "title": title, "title_link": url, "text": text,
        "fallback": f"{service_name or url}: {title}", "service_name": service_name or url.split("/")[2],
        "id": 1,
    }  # fmt: skip


def message_changed_event(
    channel: str, message: JSON, previous_message: JSON, *, channel_type: str = "channel"
) -> JSON:
    ts = new_ts()
    return {
        "type": "message", "subtype": "message_changed", "hidden": True, "channel": channel,
        "channel_type": channel_type, "ts": ts, "event_ts": ts,
        "message": {**message, "edited": {"user": message.get("user"), "ts": ts}},
        "previous_message": previous_message,
    }  # fmt: skip


def message_deleted_event(channel: str, previous_message: JSON, *, channel_type: str = "channel") -> JSON:
    ts = new_ts()
    return {
        "type": "message", "subtype": "message_deleted", "hidden": True, "channel": channel,
        "channel_type": channel_type, "ts": ts, "event_ts": ts, "deleted_ts": previous_message["ts"],
        "previous_message": previous_message,
    }  # fmt: skip


def app_mention_event(
    channel: str, user: str, text: str, *, ts: str | None = None, thread_ts: str | None = None
) -> JSON:
    ts = ts or new_ts()
    ev: JSON = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def app_home_opened_event(user: str, channel: str, *, tab: str = "home", view: JSON | None = None) -> JSON:
    ev: JSON = {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab, "event_ts": new_ts()}
    if view is not None:
        ev["view"] = view
    return ev


def member_joined_channel_event(
    user: str, channel: str, *, team: str, channel_type: str = "C", inviter: str | None = None
) -> JSON:
    ev: JSON = {
        "type": "member_joined_channel", "user": user, "channel": channel, "channel_type": channel_type,
        "team": team, "event_ts": new_ts(),
    }  # fmt: skip
    if inviter:
        ev["inviter"] = inviter
    return ev


def team_join_event(user: JSON) -> JSON:
    """`user` is a users.info-shaped object (e.g. `emu.user("bob").to_api()`)."""
    return {"type": "team_join", "user": user, "event_ts": new_ts()}


def user_change_event(user: JSON) -> JSON:
    return {"type": "user_change", "user": user, "event_ts": new_ts(), "cache_ts": int(time.time())}


def app_uninstalled_event() -> JSON:
    return {"type": "app_uninstalled", "event_ts": new_ts()}


def tokens_revoked_event(*, bot: list[str] | None = None, oauth: list[str] | None = None) -> JSON:
    """bot/oauth: user ids whose bot/user tokens were revoked."""
    return {
        "type": "tokens_revoked",
        "tokens": {"oauth": oauth or [], "bot": bot or []},
        "event_ts": new_ts(),
    }


# -- slash commands and interactivity ---------------------------------------------------------------


def slash_command_body(
    text: str,
    *,
    user_id: str,
    team_id: str,
    channel_id: str,
    command: str = "/passiton",
    user_name: str = "user",
    team_domain: str = "passiton-test",
    channel_name: str = "general",
    trigger_id: str = "0.0.invalid",
    response_url: str = "https://hooks.invalid/commands/T/1/x",
    api_app_id: str = "A0EMULATOR",
    token: str = "verification_token",
    enterprise_id: str | None = None,
) -> str:
    """A form-encoded slash command exactly as Slack POSTs it."""
    fields: list[tuple[str, str]] = [
        ("token", token), ("team_id", team_id), ("team_domain", team_domain), ("channel_id", channel_id),
        ("channel_name", channel_name), ("user_id", user_id), ("user_name", user_name), ("command", command),
        ("text", text), ("api_app_id", api_app_id), ("is_enterprise_install", "false"),
    ]  # fmt: skip
    if enterprise_id:
        fields.append(("enterprise_id", enterprise_id))
    fields += [("response_url", response_url), ("trigger_id", trigger_id)]
    return urlencode(fields)


def payload_body(payload: JSON) -> str:
    """Interactivity requests are a form with one field, `payload`, holding JSON."""
    return "payload=" + quote(json.dumps(payload))


def _user(user_id: str, team_id: str, user_name: str) -> JSON:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _team(team_id: str, team_domain: str) -> JSON:
    return {"id": team_id, "domain": team_domain}


def block_actions_payload(
    actions: list[JSON],
    *,
    user_id: str,
    team_id: str,
    user_name: str = "user",
    team_domain: str = "passiton-test",
    trigger_id: str = "0.0.invalid",
    channel_id: str | None = None,
    message: JSON | None = None,
    view: JSON | None = None,
    response_url: str | None = None,
    api_app_id: str = "A0EMULATOR",
    token: str = "verification_token",
) -> JSON:
    """A `block_actions` payload from a message (pass channel_id+message) or a view (pass view).

    Each action needs at least action_id, block_id and type; action_ts is filled in.
    """
    p: JSON = {
        "type": "block_actions", "user": _user(user_id, team_id, user_name), "api_app_id": api_app_id,
        "token": token, "trigger_id": trigger_id, "team": _team(team_id, team_domain),
        "enterprise": None, "is_enterprise_install": False,
        "actions": [{"action_ts": new_ts(), **a} for a in actions],
    }  # fmt: skip
    if view is not None:
        p["container"] = {"type": "view", "view_id": view.get("id", "V0")}
        p["view"] = view
    elif channel_id is not None:
        msg = message or {}
        p["container"] = {
            "type": "message", "message_ts": msg.get("ts", "0"), "channel_id": channel_id, "is_ephemeral": False,
        }  # fmt: skip
        p["channel"] = {"id": channel_id, "name": "channel"}
        p["message"] = msg
        p["response_url"] = response_url or "https://hooks.invalid/actions/T/1/x"
    return p


def view_submission_payload(
    view: JSON,
    values: dict[str, dict[str, JSON]],
    *,
    user_id: str,
    team_id: str,
    user_name: str = "user",
    team_domain: str = "passiton-test",
    trigger_id: str = "0.0.invalid",
    api_app_id: str = "A0EMULATOR",
    token: str = "verification_token",
) -> JSON:
    """`view` as views.open returned it (see emu.opened_views()); `values` is state.values:
    {block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}."""
    return {
        "type": "view_submission", "team": _team(team_id, team_domain), "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id, "token": token, "trigger_id": trigger_id,
        "view": {**view, "state": {"values": values}}, "response_urls": [],
        "enterprise": None, "is_enterprise_install": False,
    }  # fmt: skip


def view_closed_payload(view: JSON, *, user_id: str, team_id: str, api_app_id: str = "A0EMULATOR") -> JSON:
    return {
        "type": "view_closed", "team": _team(team_id, "passiton-test"), "user": _user(user_id, team_id, "user"),
        "api_app_id": api_app_id, "token": "verification_token", "view": view, "is_cleared": False,
    }  # fmt: skip


def message_action_payload(
    callback_id: str,
    message: JSON,
    *,
    channel_id: str,
    user_id: str,
    team_id: str,
    user_name: str = "user",
    team_domain: str = "passiton-test",
    channel_name: str = "channel",
    trigger_id: str = "0.0.invalid",
    response_url: str = "https://hooks.invalid/app/T/1/x",
    api_app_id: str = "A0EMULATOR",
    token: str = "verification_token",
) -> JSON:
    """A message shortcut (`message_action`) on `message` (a conversations.history-shaped message)."""
    return {
        "type": "message_action", "token": token, "action_ts": new_ts(), "team": _team(team_id, team_domain),
        "user": _user(user_id, team_id, user_name), "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False, "enterprise": None, "callback_id": callback_id, "trigger_id": trigger_id,
        "response_url": response_url, "message_ts": message.get("ts"), "message": message,
        "api_app_id": api_app_id,
    }  # fmt: skip


def shortcut_payload(
    callback_id: str,
    *,
    user_id: str,
    team_id: str,
    trigger_id: str = "0.0.invalid",
    token: str = "verification_token",
) -> JSON:
    """A global shortcut (`shortcut`)."""
    return {
        "type": "shortcut", "token": token, "action_ts": new_ts(), "team": _team(team_id, "passiton-test"),
        "user": _user(user_id, team_id, "user"), "is_enterprise_install": False, "enterprise": None,
        "callback_id": callback_id, "trigger_id": trigger_id,
    }  # fmt: skip
