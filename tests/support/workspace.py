"""The emulator's in-memory Slack: teams, users, channels, messages, tokens, views, triggers.

All mutation goes through `Workspace` under one re-entrant lock, so the HTTP threads and the
test thread can touch it at once. Builders take sensible defaults so a test names only what
it cares about.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.support.model import JSON, Channel, Message, SlackError, Team, Token, Trigger, User, View

DEFAULT_BOT_SCOPES = (
    "app_mentions:read", "channels:history", "channels:read", "chat:write", "commands",
    "groups:history", "groups:read", "im:history", "im:read", "im:write", "mpim:history",
    "mpim:read", "mpim:write", "reactions:read", "reactions:write", "team:read", "users:read",
    "users:read.email",
)  # fmt: skip


@dataclass
class OAuthCode:
    code: str
    team_id: str
    installer_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    used: bool = False


class Workspace:
    """State plus builders. Every public method takes the lock."""

    def __init__(self, trigger_ttl: float = 3.0) -> None:
        self.lock = threading.RLock()
        self.teams: dict[str, Team] = {}
        self.tokens: dict[str, Token] = {}
        self.views: dict[str, View] = {}
        self.view_stacks: dict[tuple[str, str], list[str]] = {}  # (team, user) -> open modal ids
        self.home_views: dict[tuple[str, str], list[View]] = {}  # history of published homes
        self.opened_views: list[View] = []  # views.open / views.push, in order
        self.triggers: dict[str, Trigger] = {}
        self.trigger_ttl = trigger_ttl
        self.ephemerals: list[JSON] = []
        self.responses: list[JSON] = []  # bodies POSTed to response_url
        self.response_urls: dict[str, JSON] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.oauth_client: tuple[str, str] = ("1111.2222", "emulator-client-secret")
        self.oauth_redirect_uri: str | None = None
        self.app_id = "A0EMULATOR"
        self.deleted_messages: list[Message] = []
        self._ids = itertools.count(1)
        self._last_ts = 0.0

    # -- ids ---------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self._ids):08X}"

    def next_ts(self) -> str:
        """Slack timestamps: unique per workspace, strictly increasing, microsecond text."""
        with self.lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    # -- builders ----------------------------------------------------------------------------

    def add_team(
        self,
        id: str | None = None,
        name: str | None = None,
        domain: str | None = None,
        *,
        bot_token: str | None = None,
        bot_name: str = "passiton",
        scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
        install: bool = True,
    ) -> Team:
        with self.lock:
            tid = id or self.new_id("T")
            if tid in self.teams:
                raise ValueError(f"team {tid} exists")
            team = Team(id=tid, name=name or f"Team {tid}", domain=domain or tid.lower())
            self.teams[tid] = team
            team.users["USLACKBOT"] = User(
                id="USLACKBOT", team_id=tid, name="slackbot", real_name="Slackbot", display_name="Slackbot",
                is_bot=False, tz="America/Los_Angeles",
            )  # fmt: skip
            if install:
                self.install_bot(tid, token=bot_token, bot_name=bot_name, scopes=scopes)
            return team

    def install_bot(
        self,
        team_id: str,
        *,
        token: str | None = None,
        bot_name: str = "passiton",
        scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
    ) -> Token:
        """Create (or reuse) the app's bot user in a team and issue a fresh bot token."""
        with self.lock:
            team = self.teams[team_id]
            bot = next((u for u in team.users.values() if u.is_bot and u.app_id == self.app_id), None)
            if bot is None:
                bot = User(
                    id=self.new_id("U"), team_id=team_id, name=bot_name, real_name=bot_name,
                    display_name=bot_name, is_bot=True, bot_id=self.new_id("B"), app_id=self.app_id,
                )  # fmt: skip
                team.users[bot.id] = bot
            tok = token or f"xoxb-{team_id}-{secrets.token_hex(6)}"
            rec = Token(
                token=tok, kind="bot", team_id=team_id, user_id=bot.id, bot_id=bot.bot_id,
                app_id=self.app_id, scopes=tuple(scopes),
            )  # fmt: skip
            self.tokens[tok] = rec
            return rec

    def add_app_token(self, token: str | None = None) -> Token:
        with self.lock:
            tok = token or f"xapp-1-{self.app_id}-{secrets.token_hex(6)}"
            team_id = next(iter(self.teams), "")
            rec = Token(token=tok, kind="app", team_id=team_id, user_id="", app_id=self.app_id)
            self.tokens[tok] = rec
            return rec

    def add_user(self, team_id: str, name: str, **fields: Any) -> User:
        with self.lock:
            team = self.teams[team_id]
            uid = fields.pop("id", None) or self.new_id("U")
            if uid in team.users:
                raise ValueError(f"user {uid} exists in {team_id}")
            fields.setdefault("real_name", name.replace(".", " ").title())
            fields.setdefault("display_name", name)
            fields.setdefault("email", f"{name}@{team.email_domain}")
            user = User(id=uid, team_id=team_id, name=name, **fields)
            team.users[uid] = user
            return user

    def add_channel(
        self,
        team_id: str,
        name: str,
        *,
        private: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
        id: str | None = None,
        **fields: Any,
    ) -> Channel:
        """Members may be user ids or user names; the app's bot joins unless bot_member=False."""
        with self.lock:
            team = self.teams[team_id]
            ids = [self.resolve_user(team_id, m).id for m in (members or [])]
            bot = self.bot_user(team_id)
            if bot_member and bot is not None and bot.id not in ids:
                ids.append(bot.id)
            cid = id or self.new_id("G" if private else "C")
            ch = Channel(id=cid, team_id=team_id, name=name, is_private=private, members=ids, **fields)
            team.channels[cid] = ch
            return ch

    def resolve_user(self, team_id: str, ref: str) -> User:
        team = self.teams[team_id]
        if ref in team.users:
            return team.users[ref]
        for u in team.users.values():
            if u.name == ref:
                return u
        raise KeyError(f"no user {ref!r} in {team_id}")

    def bot_user(self, team_id: str) -> User | None:
        team = self.teams[team_id]
        return next((u for u in team.users.values() if u.is_bot and u.app_id == self.app_id), None)

    def bot_token(self, team_id: str) -> str:
        with self.lock:
            for t in self.tokens.values():
                if t.team_id == team_id and t.kind == "bot" and t.revoked_error is None:
                    return t.token
            raise KeyError(f"no live bot token for {team_id}")

    def issue_trigger(self, team_id: str, user_id: str) -> str:
        with self.lock:
            tid = f"{int(time.time())}{next(self._ids)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
            self.triggers[tid] = Trigger(id=tid, team_id=team_id, user_id=user_id, issued_at=time.monotonic())
            return tid

    def consume_trigger(self, team_id: str, trigger_id: str) -> Trigger:
        with self.lock:
            trig = self.triggers.get(trigger_id)
            if trig is None or trig.team_id != team_id:
                raise SlackError("invalid_trigger_id")
            if trig.used:
                raise SlackError("exchanged_trigger_id")
            if time.monotonic() - trig.issued_at > self.trigger_ttl:
                raise SlackError("expired_trigger_id")
            trig.used = True
            return trig

    def issue_oauth_code(
        self,
        team_id: str,
        installer_id: str,
        scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
        redirect_uri: str | None = None,
    ) -> str:
        with self.lock:
            code = f"{next(self._ids)}.{secrets.token_hex(12)}"
            self.oauth_codes[code] = OAuthCode(code, team_id, installer_id, tuple(scopes), redirect_uri)
            return code

    # -- lookups used by the methods ---------------------------------------------------------

    def find_channel(self, team_id: str, ref: str) -> Channel | None:
        team = self.teams[team_id]
        if ref in team.channels:
            return team.channels[ref]
        name = ref.lstrip("#")
        for ch in team.channels.values():
            if not ch.is_im and not ch.is_mpim and ch.name == name:
                return ch
        return None

    def open_im(self, team_id: str, bot_id: str, user_id: str) -> tuple[Channel, bool]:
        with self.lock:
            team = self.teams[team_id]
            for ch in team.channels.values():
                if ch.is_im and set(ch.members) == {bot_id, user_id}:
                    return ch, True
            ch = Channel(
                id=self.new_id("D"), team_id=team_id, is_im=True, members=[bot_id, user_id],
                im_user=user_id, is_private=True,
            )  # fmt: skip
            team.channels[ch.id] = ch
            return ch, False

    def open_mpim(self, team_id: str, member_ids: list[str]) -> tuple[Channel, bool]:
        with self.lock:
            team = self.teams[team_id]
            for ch in team.channels.values():
                if ch.is_mpim and set(ch.members) == set(member_ids):
                    return ch, True
            names = [team.users[m].name for m in member_ids]
            ch = Channel(
                id=self.new_id("G"), team_id=team_id, is_mpim=True, is_private=True,
                name="mpdm-" + "--".join(names) + "-1", members=list(member_ids),
            )  # fmt: skip
            team.channels[ch.id] = ch
            return ch, False

    def find_message(self, ch: Channel, ts: str) -> Message | None:
        for m in ch.messages:
            if m.ts == ts:
                return m
        return None

    def insert_message(self, ch: Channel, msg: Message) -> Message:
        """Append (ts is always the newest) and thread it under its parent."""
        with self.lock:
            ch.messages.append(msg)
            if msg.is_reply:
                parent = self.find_message(ch, msg.thread_ts or "")
                if parent is not None:
                    if parent.thread_ts is None:
                        parent.thread_ts = parent.ts
                    parent.reply_ts.append(msg.ts)
            return msg

    def all_channels(self) -> list[Channel]:
        with self.lock:
            return [c for t in self.teams.values() for c in t.channels.values()]

    def channel_anywhere(self, channel_id: str) -> Channel | None:
        for ch in self.all_channels():
            if ch.id == channel_id:
                return ch
        return None


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        raise SlackError("invalid_cursor") from None
    prefix, _, value = raw.partition(":")
    if prefix != kind or not value:
        raise SlackError("invalid_cursor")
    return value
