"""Slack senders for the outbox kinds slack_dm, slack_post and slack_update.

Exactly-once on top of an at-least-once queue: every post carries Slack message metadata with the
outbox idempotency key, and when an earlier try may have reached Slack (a timeout, a dropped
connection, a 5xx, or a sender killed mid-send) the channel's recent history is searched for that key
before posting again. slack_sdk's own retry handlers are switched off: a blind retry after a dropped
response is exactly the double post this module exists to prevent.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery.outbox import METADATA_EVENT_TYPE, PERMALINK_KEY
from bot.delivery.ratelimit import SlackRateLimits
from bot.delivery.senders import (
    ClaimedMessage,
    DeliveryError,
    PermanentError,
    RateLimited,
    SendResult,
    TransientError,
)

log = logging.getLogger(__name__)

# Errors that no retry will fix: the message ends with this reason.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "cant_update_message",
        "channel_not_found",
        "edit_window_closed",
        "ekm_access_denied",
        "invalid_arguments",
        "invalid_attachments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "is_archived",
        "message_not_found",
        "method_deprecated",
        "missing_scope",
        "msg_too_long",
        "no_permission",
        "no_text",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "org_login_required",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "too_many_attachments",
        "too_many_users",
        "user_disabled",
        "user_not_found",
        "users_not_found",
        "no_bot_token",
    }
)
# The token itself was refused. Permanent for that token, but a reinstall may have stored a new one.
AUTH_ERRORS = frozenset({"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed"})
# Errors after which Slack may or may not have acted on the request.
UNCERTAIN_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout", "service_unavailable"})
HISTORY_PAGES = 5
HISTORY_SLACK_SECONDS = 120.0  # look this far before the message was queued (clock skew, retries)

TOKEN_TTL = 30.0

TokenLookup = Callable[[str], str | None]


class CachedTokens:
    """A token lookup (`bot.runtime` passes the store's) with a short memory: one query per workspace
    every TOKEN_TTL seconds, not one per message; `forget` drops a token Slack refused so the next lookup
    reads the store again."""

    def __init__(self, load: TokenLookup) -> None:
        self._load = load
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, team_id: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(team_id)
        if hit is not None and now - hit[0] < TOKEN_TTL:
            return hit[1]
        token = self._load(team_id)
        with self._lock:
            self._cache[team_id] = (now, token)
        return token

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._cache.pop(team_id, None)


class _LRU:
    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._data: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: str) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class SlackSender:
    """Sends one outbox message to Slack; raises the senders.py errors for the drain to act on."""

    def __init__(
        self,
        *,
        api_url: str,
        tokens: TokenLookup,
        limits: SlackRateLimits | None = None,
        timeout: float = 10.0,
        max_wait: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url
        self.tokens = tokens
        self.limits = limits or SlackRateLimits()
        self.timeout = timeout
        # Wait this long for a bucket in-process; longer means the row is rescheduled to when the bucket
        # refills. Short on purpose: a sender sleeping on one workspace's bucket serves no other workspace.
        self.max_wait = max_wait
        self._sleep = sleep
        self._clients: dict[str, WebClient] = {}
        self._clients_lock = threading.Lock()
        self._dm_channels = _LRU()

    # -- entry point -------------------------------------------------------------------------

    def send(self, message: ClaimedMessage) -> SendResult:
        client = self._client(message.team_id)
        try:
            if message.kind == "slack_dm":
                return self._send_dm(client, message)
            if message.kind == "slack_post":
                return self._send_post(client, message)
            if message.kind == "slack_update":
                return self._send_update(client, message)
        except PermanentError as exc:
            if exc.reason in AUTH_ERRORS and self._token_replaced(message.team_id, client.token):
                # A reinstall stored a new token while we held the old one: try again with it.
                raise TransientError(f"{exc.reason}:token_replaced", retry_after=0.5) from None
            raise
        raise PermanentError(f"unsupported_kind:{message.kind}")

    def _token_replaced(self, team_id: str, refused: str | None) -> bool:
        forget = getattr(self.tokens, "forget", None)
        if forget is None:
            return False
        forget(team_id)
        current = self.tokens(team_id)
        return bool(current) and current != refused

    # -- kinds -------------------------------------------------------------------------------

    def _send_dm(self, client: WebClient, message: ClaimedMessage) -> SendResult:
        user = str(message.payload.get("user") or "")
        if not user:
            raise PermanentError("missing_user")
        channel = message.state.get("channel") or self._dm_channels.get((message.team_id, user))
        if not channel:
            opened = self._call(client, message, "conversations.open", users=user)
            channel = str(opened["channel"]["id"])
            self._dm_channels.put((message.team_id, user), channel)
        state = {"channel": channel}
        if message.resend:
            found = self._find_posted(client, message, channel, None, state)
            if found is not None:
                return found
        return self._post(client, self._with_permalink(client, message), channel, state)

    def _with_permalink(self, client: WebClient, message: ClaimedMessage) -> ClaimedMessage:
        """The message with the linked Slack message's permalink, looked up now, in place of the archive
        URL it was planned with. Any failure keeps that URL: it points at the same message, and a help DM
        is not worth holding back for a nicer link."""
        wanted = message.payload.get(PERMALINK_KEY)
        if not isinstance(wanted, dict) or not wanted.get("url"):
            return message
        planned = str(wanted["url"])
        try:
            data = self._call(
                client,
                message,
                "chat.getPermalink",
                channel=wanted.get("channel"),
                message_ts=wanted.get("ts"),
            )
        except DeliveryError as exc:
            log.info("permalink lookup failed; keeping the archive link", extra={"reason": str(exc)})
            return message
        found = str(data.get("permalink") or "")
        if found == planned or not _PLAIN_URL.fullmatch(found):
            return message
        payload = {k: v for k, v in message.payload.items() if k != PERMALINK_KEY}
        for name in ("text", "blocks"):
            if name in payload:
                payload[name] = _swap_url(payload[name], planned, found)
        return replace(message, payload=payload)

    def _send_post(self, client: WebClient, message: ClaimedMessage) -> SendResult:
        channel = str(message.payload.get("channel") or "")
        if not channel:
            raise PermanentError("missing_channel")
        thread_ts = message.payload.get("thread_ts")
        if message.resend:
            found = self._find_posted(client, message, channel, thread_ts, {})
            if found is not None:
                return found
        return self._post(client, message, channel, {})

    def _send_update(self, client: WebClient, message: ClaimedMessage) -> SendResult:
        # chat.update sets the message to the same content however often it runs: no history check.
        payload = message.payload
        args: dict[str, Any] = {"channel": payload.get("channel"), "ts": payload.get("ts")}
        for name in ("text", "blocks", "attachments", "metadata"):
            if payload.get(name) is not None:
                args[name] = payload[name]
        data = self._call(client, message, "chat.update", **args)
        return SendResult(
            channel=str(data.get("channel") or args["channel"]), ts=str(data.get("ts") or args["ts"])
        )

    # -- helpers -----------------------------------------------------------------------------

    def _post(
        self, client: WebClient, message: ClaimedMessage, channel: str, state: dict[str, Any]
    ) -> SendResult:
        payload = message.payload
        args: dict[str, Any] = {"channel": channel, "metadata": self._metadata(message)}
        for name in (
            "text",
            "blocks",
            "attachments",
            "thread_ts",
            "unfurl_links",
            "unfurl_media",
            "reply_broadcast",
        ):
            if payload.get(name) is not None:
                args[name] = payload[name]
        data = self._call(client, message, "chat.postMessage", state=state, posting=True, **args)
        return SendResult(channel=str(data.get("channel") or channel), ts=str(data["ts"]))

    @staticmethod
    def _metadata(message: ClaimedMessage) -> dict[str, Any]:
        """The payload's metadata (if any) with the idempotency key added to its event payload."""
        given = message.payload.get("metadata") or {}
        event_payload = dict(given.get("event_payload") or {})
        event_payload["idempotency_key"] = message.idempotency_key
        return {"event_type": given.get("event_type") or METADATA_EVENT_TYPE, "event_payload": event_payload}

    def _find_posted(
        self,
        client: WebClient,
        message: ClaimedMessage,
        channel: str,
        thread_ts: str | None,
        state: dict[str, Any],
    ) -> SendResult | None:
        """The message already posted by an earlier try, found by the key in its metadata."""
        queued_at = message.created_at.timestamp() if message.created_at else time.time() - 7 * 86400
        oldest = queued_at - HISTORY_SLACK_SECONDS
        method = "conversations.replies" if thread_ts else "conversations.history"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{max(oldest, 0):.6f}",
                "limit": 200,
                "include_all_metadata": True,
            }
            if thread_ts:
                args["ts"] = thread_ts
            if cursor:
                args["cursor"] = cursor
            try:
                data = self._call(client, message, method, state=state, **args)
            except PermanentError as exc:
                # Without history access (a public channel the bot is not in) the key cannot be
                # checked; a possible duplicate is better than a message never delivered.
                log.warning("resend check impossible", extra={"outbox_id": message.id, "reason": exc.reason})
                return None
            for msg in data.get("messages") or []:
                meta = msg.get("metadata") or {}
                if (meta.get("event_payload") or {}).get("idempotency_key") == message.idempotency_key:
                    log.info(
                        "already delivered; not posting again",
                        extra={"outbox_id": message.id, "ts": msg.get("ts")},
                    )
                    return SendResult(channel=channel, ts=str(msg.get("ts")), deduplicated=True)
            cursor = ((data.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None
        return None

    def _client(self, team_id: str) -> WebClient:
        token = self.tokens(team_id)
        if not token:
            raise PermanentError("no_bot_token")
        with self._clients_lock:
            client = self._clients.get(token)
            if client is None:
                client = WebClient(
                    token=token, base_url=self.api_url, timeout=int(self.timeout), retry_handlers=[]
                )
                self._clients[token] = client
            return client

    def _call(
        self,
        client: WebClient,
        message: ClaimedMessage,
        method: str,
        *,
        state: dict[str, Any] | None = None,
        posting: bool = False,
        **args: Any,
    ) -> dict[str, Any]:
        """One Web API call, paced by the buckets, with every failure mapped to a senders.py error.

        A bucket that is not ready within `max_wait` raises a client-side `RateLimited` at once (before
        anything is sent, so it is no attempt): the drain reschedules the row to when the bucket refills
        and goes on with the next claimed row, which may be another workspace's."""
        state = state or {}
        team = message.team_id
        channel = args.get("channel") if posting else None
        waited = 0.0
        wait = self.limits.wait_for(team, method, channel)
        while wait > 0:
            if waited + wait > self.max_wait:
                raise RateLimited(
                    f"client_rate_limit:{method}", retry_after=wait, client_side=True, state=state
                )
            self._sleep(wait)
            waited += wait
            wait = self.limits.wait_for(team, method, channel)
        try:
            if _needs_json(args):
                response = client.api_call(method, json=args)
            else:
                response = client.api_call(method, data={k: _form(v) for k, v in args.items()})
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            raise self._map_api_error(team, method, exc, posting, state) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            # The request may have reached Slack and been acted on; only the answer was lost.
            reason = "timeout" if isinstance(exc, TimeoutError) else f"connection_error:{type(exc).__name__}"
            raise TransientError(f"{method}:{reason}", maybe_delivered=posting, state=state) from None

    def _map_api_error(
        self, team: str, method: str, exc: SlackApiError, posting: bool, state: dict[str, Any]
    ) -> Exception:
        status = getattr(exc.response, "status_code", 200) or 200
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(exc.response.headers)
            self.limits.blocked(team, method, retry_after)
            return RateLimited(f"{method}:ratelimited", retry_after=retry_after, state=state)
        if error in PERMANENT_ERRORS:
            return PermanentError(error)
        if status >= 500 or error in UNCERTAIN_ERRORS:
            return TransientError(
                f"{method}:{error}", retry_after=_retry_after_opt(exc.response.headers), maybe_delivered=posting,
                state=state,
            )  # fmt: skip
        # An error Slack answered cleanly but that we do not know: nothing was posted; retry, bounded.
        return TransientError(f"{method}:{error}", state=state)


_PLAIN_URL = re.compile(r"https?://[^\s<>|]+")


def _swap_url(value: Any, old: str, new: str) -> Any:
    """`value` (text or blocks) with the URL `old` replaced by `new`: as a whole string (a button's url) or
    inside mrkdwn, where `&` is written `&amp;`."""
    if isinstance(value, str):
        if value == old:
            return new
        return value.replace(old.replace("&", "&amp;"), new.replace("&", "&amp;"))
    if isinstance(value, list):
        return [_swap_url(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _swap_url(v, old, new) for k, v in value.items()}
    return value


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _needs_json(args: dict[str, Any]) -> bool:
    return any(isinstance(v, (dict, list)) for v in args.values())


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _retry_after_opt(headers: Any) -> float | None:
    raw = _header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        return max(1.0, float(raw))
    except ValueError:
        try:  # an HTTP date
            from email.utils import parsedate_to_datetime

            return max(1.0, (parsedate_to_datetime(raw) - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _retry_after(headers: Any) -> float:
    return _retry_after_opt(headers) or 1.0
