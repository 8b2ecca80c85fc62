"""The Slack side of the backfill: paced, cursor-paginated reads of a channel's history and threads.

Every call goes through `PacedClient.api_call`, so the channel and profile syncs the backfill reuses from
the live path are paced too. A 429 blocks the method's bucket for its Retry-After and the call is made
again (nothing was read, so nothing is lost or doubled). A lost token or lost channel access raises
`Stopped` with Slack's error code: the job ends and says why; nothing retries a call that cannot succeed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.delivery.ratelimit import TokenBuckets

log = logging.getLogger(__name__)

# The app can no longer call Slack for this workspace: uninstalled, revoked, deactivated.
TOKEN_LOST = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})
# The bot may not read this channel (any more): removed, archived away, scope not granted.
ACCESS_LOST = frozenset({"channel_not_found", "not_in_channel", "missing_scope", "team_access_not_granted"})
WHY = {
    "invalid_auth": "the app's token is not valid any more",
    "not_authed": "no token was sent",
    "token_revoked": "the app's token was revoked (uninstalled?)",
    "token_expired": "the app's token expired",
    "account_inactive": "the app's bot user was deactivated",
    "channel_not_found": "the channel is gone or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel (invite it to read its history)",
    "missing_scope": "the app lacks the scope to read this channel's history",
    "team_access_not_granted": "the app has no access to this workspace",
}
HISTORY_METHODS = ("conversations.history", "conversations.replies")
# Slack's tiers for the other methods the backfill calls, per minute and workspace.
OTHER_PER_MINUTE = {"users.info": 100.0, "conversations.members": 100.0, "conversations.info": 50.0}
MAX_RATE_LIMITED = 30  # 429s in a row for one call before the job is handed back for later
PAGE_LIMIT = 200  # Slack: "no more than 200 results at a time"


class Stopped(Exception):
    """The job cannot go on: `code` is Slack's error (see WHY)."""

    def __init__(self, code: str, method: str) -> None:
        super().__init__(f"{method}: {code}")
        self.code = code
        self.method = method

    @property
    def why(self) -> str:
        return WHY.get(self.code, "Slack refused")


class Interrupted(Exception):
    """The process is stopping, or Slack kept saying "later": the job is handed back to resume."""


def retry_after(response: SlackResponse) -> float:
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(1.0, float(value))
            except (TypeError, ValueError):
                break
    return 1.0


class Pacer:
    """Per-(workspace, method) token buckets at the backfill's own rate for history and replies.

    `wait` sleeps on the stop event, so a stopping process is not held by a long Retry-After."""

    def __init__(self, per_minute: float, stop: threading.Event | None = None) -> None:
        def rate_for(key: tuple[str, ...]) -> tuple[float, float]:
            minute = per_minute if key[1] in HISTORY_METHODS else OTHER_PER_MINUTE.get(key[1], 50.0)
            return minute / 60.0, max(1.0, minute / 60.0 * 5)  # a burst of 5 s worth, as the senders

        self.buckets = TokenBuckets(rate_for)
        self.stop = stop or threading.Event()
        self.waited = 0.0  # seconds spent waiting for a token or a Retry-After (for the progress log)
        self.rate_limited = 0  # 429s answered by Slack

    def wait(self, team_id: str, method: str) -> None:
        while True:
            seconds = self.buckets.reserve((team_id, method))
            if seconds <= 0:
                return
            self.waited += seconds
            if self.stop.wait(seconds):
                raise Interrupted("stopping")

    def blocked(self, team_id: str, method: str, seconds: float) -> None:
        self.rate_limited += 1
        self.buckets.block((team_id, method), seconds)


class PacedClient(WebClient):
    """A WebClient whose every call waits its turn, rides out 429s, and turns lost access into `Stopped`."""

    def __init__(self, *, team_id: str, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.team_id = team_id
        self.pacer = pacer
        self.calls = 0

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        for _ in range(MAX_RATE_LIMITED):
            self.pacer.wait(self.team_id, api_method)
            self.calls += 1
            try:
                return super().api_call(api_method, **kwargs)  # type: ignore[no-any-return]
            except SlackApiError as exc:
                code = str(exc.response.get("error") or "")
                if exc.response.status_code == 429 or code == "ratelimited":
                    seconds = retry_after(exc.response)
                    log.info("backfill rate limited", extra={"method": api_method, "retry_after": seconds})
                    self.pacer.blocked(self.team_id, api_method, seconds)
                    continue
                if code in TOKEN_LOST or (code in ACCESS_LOST and api_method in HISTORY_METHODS):
                    raise Stopped(code, api_method) from None
                raise
        raise Interrupted(f"{api_method}: still rate limited after {MAX_RATE_LIMITED} tries")


@dataclass(frozen=True)
class Page:
    """One page of conversations.history: top-level messages, newest first."""

    messages: list[dict[str, Any]]
    next_cursor: str | None


@dataclass
class Thread:
    """A top-level message and, when it has any, its replies (oldest first, up to the window's end)."""

    parent: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)


def history_page(
    client: WebClient, channel: str, *, oldest: str, latest: str, cursor: str | None, limit: int = PAGE_LIMIT
) -> Page:
    """One page of the window (oldest, latest) — both bounds excluded; the cursor carries the rest."""
    args: dict[str, Any] = {"channel": channel, "oldest": oldest, "latest": latest, "limit": limit}
    if cursor:
        args["cursor"] = cursor
    response = client.conversations_history(**args)
    messages = [m for m in response.get("messages") or [] if isinstance(m, dict)]
    nxt = (response.get("response_metadata") or {}).get("next_cursor") or None
    if not response.get("has_more"):
        nxt = None
    return Page(messages, nxt)


def thread_replies(
    client: WebClient, channel: str, thread_ts: str, *, latest: str, limit: int = PAGE_LIMIT
) -> list[dict[str, Any]]:
    """Every reply of the thread up to `latest` (later ones arrive as live events), oldest first; the
    parent, which Slack puts first on the first page, is left out."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        args: dict[str, Any] = {
            "channel": channel, "ts": thread_ts, "latest": latest, "inclusive": True, "limit": limit,
        }  # fmt: skip
        if cursor:
            args["cursor"] = cursor
        try:
            response = client.conversations_replies(**args)
        except SlackApiError as exc:
            if exc.response.get("error") == "thread_not_found":  # deleted since history listed it
                return out
            raise
        out.extend(
            m for m in response.get("messages") or [] if isinstance(m, dict) and m.get("ts") != thread_ts
        )
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor or not response.get("has_more"):
            return out


def has_replies(message: dict[str, Any]) -> bool:
    return bool(message.get("reply_count")) and message.get("thread_ts") in (None, message.get("ts"))


def is_broadcast_reply(message: dict[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return bool(thread_ts) and thread_ts != message.get("ts")


def threads_of(client: WebClient, channel: str, page: Page, *, oldest: str, latest: str) -> Iterator[Thread]:
    """The page's messages oldest first, each with its replies: a reply is stored after its question.

    A reply also sent to the channel appears in history too; it is read with its thread instead, unless
    its question is older than the window (then it stands alone, as the live event would have)."""
    for message in reversed(page.messages):
        ts = str(message.get("ts") or "")
        if not ts:
            continue
        if is_broadcast_reply(message):
            if float(str(message.get("thread_ts"))) <= float(oldest):
                yield Thread(message)
            continue
        replies = thread_replies(client, channel, ts, latest=latest) if has_replies(message) else []
        yield Thread(message, replies)
