"""Signed, expiring tokens for the links in emails (act on a nudge, unsubscribe, export, forget me).

A token is ``v1.<payload>.<signature>``, both parts base64url without padding. The payload is compact
JSON binding the workspace, the member, the action and (for nudge actions) the nudge, plus an expiry
in Unix seconds. The signature is HMAC-SHA256 under a key derived from PASSITON_SECRET_KEY for this
purpose only, so the same secret could sign something else without a token for one being valid for
the other. Verification compares signatures in constant time before it looks at the payload.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

ACTIONS = ("share", "not_my_area", "unsubscribe", "export", "forget")
Action = Literal["share", "not_my_area", "unsubscribe", "export", "forget"]
# About the member, not one nudge: an email-only member has no Slack to run `/passiton export|forget` in.
MEMBER_ACTIONS = ("unsubscribe", "export", "forget")

# Action links lose meaning once the nudge's moment has passed; an unsubscribe link must keep working
# for as long as someone might dig an old digest out of their inbox.
ACTION_TTL = dt.timedelta(days=30)
UNSUBSCRIBE_TTL = dt.timedelta(days=400)

_VERSION = "v1"
_PURPOSE = b"passiton email link token v1"


class TokenError(Exception):
    """A token that cannot be honoured. `kind` is "bad" (forged, garbled, wrong key) or "expired"."""

    kind: Literal["bad", "expired"] = "bad"


class BadToken(TokenError):
    kind = "bad"


class ExpiredToken(TokenError):
    kind = "expired"


@dataclass(frozen=True)
class LinkToken:
    workspace_id: int
    member_id: int
    action: Action
    nudge_id: int | None
    expires_at: dt.datetime


def _key(secret: str) -> bytes:
    if not secret:
        raise ValueError("PASSITON_SECRET_KEY is not set; it is required to sign email links")
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(
    secret: str,
    *,
    workspace_id: int,
    member_id: int,
    action: Action,
    nudge_id: int | None = None,
    now: dt.datetime,
    ttl: dt.timedelta | None = None,
) -> str:
    """A token for one member doing one action (on one nudge), valid until now + ttl."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action not in MEMBER_ACTIONS and nudge_id is None:
        raise ValueError(f"action {action!r} needs a nudge")
    if ttl is None:
        # Forgetting is a right that should not lapse with an old email; an export hands over data,
        # so its link lives only as long as a nudge's.
        ttl = UNSUBSCRIBE_TTL if action in ("unsubscribe", "forget") else ACTION_TTL
    body = {
        "w": workspace_id,
        "m": member_id,
        "a": action,
        "n": nudge_id,
        "e": int((now + ttl).timestamp()),
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{payload}".encode("ascii")
    signature = _b64(hmac.new(_key(secret), signed, hashlib.sha256).digest())
    return f"{_VERSION}.{payload}.{signature}"


def verify(secret: str, token: str, *, now: dt.datetime) -> LinkToken:
    """The claims of a genuine, unexpired token; raises BadToken or ExpiredToken otherwise."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != _VERSION or len(token) > 1024:
        raise BadToken("malformed token")
    version, payload, signature = parts
    expected = hmac.new(_key(secret), f"{version}.{payload}".encode("ascii", "replace"), hashlib.sha256)
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadToken("malformed signature") from None
    if not hmac.compare_digest(expected.digest(), given):
        raise BadToken("signature does not match")
    try:
        body = json.loads(_unb64(payload))
        claims = LinkToken(
            workspace_id=int(body["w"]),
            member_id=int(body["m"]),
            action=body["a"],
            nudge_id=None if body["n"] is None else int(body["n"]),
            expires_at=dt.datetime.fromtimestamp(int(body["e"]), dt.UTC),
        )
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, OSError):
        # OverflowError/OSError: an expiry beyond what the platform's time_t holds.
        raise BadToken("malformed payload") from None
    if claims.action not in ACTIONS:
        raise BadToken("unknown action")
    if now >= claims.expires_at:
        raise ExpiredToken("link expired")
    return claims
