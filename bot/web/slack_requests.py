"""Checks a Slack request must pass before Bolt sees it.

Bolt answers 500 when a correctly signed body does not parse; a malformed request is the sender's
fault and gets a 400 here instead. The signature (and its five-minute timestamp window) is checked
first, so an unsigned body learns nothing about what we would have accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request


class BadRequest(ValueError):
    """The body is not something Slack sends; the message names the reason (a fixed, short label)."""


class TooLarge(ValueError):
    """The body is (or says it will be) larger than the cap; answered 413 without reading the rest."""


MAX_CLOCK_SKEW_SECONDS = 5 * 60


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one over `limit` bytes before it is all in memory.

    A declared Content-Length over the cap is refused before a byte is read (a client that announces
    a gigabyte and then trickles it would otherwise hold a worker and its memory). A body without a
    length (chunked) is counted as it streams and refused the moment it passes the cap, so neither
    form can grow the process past `limit`.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BadRequest("bad_content_length") from None
        if length > limit:
            raise TooLarge(f"declared {length} bytes")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise TooLarge(f"more than {limit} bytes streamed")
    return bytes(received)


def signature_ok(secret: str, body: bytes, headers: Any, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw bytes (so a body that isn't UTF-8 is judged, not crashed on)."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        return False
    base = b"v0:" + str(sent_at).encode() + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters (TypeError, a 500), and a
    # header may carry any byte (Starlette decodes them as latin-1). Such a signature is simply wrong.
    return hmac.compare_digest(expected, str(signature).encode("utf-8", "surrogateescape"))


def _json_object(text: str, label: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise BadRequest(f"{label}_not_json") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{label}_not_object")
    return value


def _check_interactive(payload: dict[str, Any]) -> None:
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest("payload_without_type")
    user = payload.get("user")
    if kind != "block_suggestion" and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        raise BadRequest("payload_without_user")
    team = payload.get("team")
    if team is not None and not isinstance(team, dict):
        raise BadRequest("payload_bad_team")
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not all(
            isinstance(view.get(k), str) for k in ("callback_id", "type")
        ):
            raise BadRequest("payload_bad_view")  # Bolt reads view.type itself, unguarded
        state = view.get("state", {})
        if kind == "view_submission" and not (
            isinstance(state, dict) and isinstance(state.get("values"), dict)
        ):
            raise BadRequest("payload_bad_view_state")
    if kind == "block_actions" and not (
        isinstance(payload.get("actions"), list) and all(isinstance(a, dict) for a in payload["actions"])
    ):
        raise BadRequest("payload_bad_actions")
    if kind in ("message_action", "shortcut") and not isinstance(payload.get("callback_id"), str):
        raise BadRequest("payload_without_callback_id")
    if kind == "message_action" and not (
        isinstance(payload.get("message"), dict) and isinstance(payload.get("channel"), dict)
    ):
        raise BadRequest("payload_bad_message")


def _check_event_envelope(body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind == "url_verification":
        if not isinstance(body.get("challenge"), str):
            raise BadRequest("challenge_missing")
        return
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise BadRequest("event_missing")
        if not isinstance(body.get("team_id") or body.get("enterprise_id"), str):
            raise BadRequest("event_without_team")
        authorizations = body.get("authorizations")
        if authorizations is not None and not (
            isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
        ):
            raise BadRequest("event_bad_authorizations")
        return
    if kind == "app_rate_limited":
        return
    raise BadRequest("unknown_type")


def check_body(body: bytes, content_type: str | None) -> str:
    """Raise BadRequest unless `body` is one of the shapes Slack posts to an app's request URL.

    Returns which one: "event" (Events API, incl. url_verification and app_rate_limited), "interactive",
    "ssl_check" or "command".
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("not_utf8") from None
    if not text.strip():
        raise BadRequest("empty")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or text.lstrip().startswith("{"):
        _check_event_envelope(_json_object(text, "body"))
        return "event"
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        _check_interactive(_json_object(form["payload"], "payload"))
        return "interactive"
    if form.get("ssl_check") == "1":
        return "ssl_check"
    if "command" in form:
        for field in ("command", "user_id", "team_id"):
            if not form.get(field):
                raise BadRequest(f"command_without_{field}")
        return "command"
    raise BadRequest("unknown_form")
