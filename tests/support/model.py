"""Plain records the Slack emulator keeps in memory, and how each one looks on the wire.

The `to_api` methods render Slack's response shapes (users.info, conversations.info, message
objects); they are the only place those shapes are spelled out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class SlackError(Exception):
    """A Web API failure answered as HTTP 200 `{"ok": false, "error": code}` (like Slack)."""

    def __init__(self, code: str, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []
        self.extra = extra

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error": self.code}
        out.update(self.extra)
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


@dataclass
class Team:
    id: str
    name: str
    domain: str
    email_domain: str = "example.com"
    enterprise_id: str | None = None
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "url": f"https://{self.domain}.slack.com/",
            "domain": self.domain,
            "email_domain": self.email_domain,
            "icon": {"image_default": True, "image_34": "", "image_44": "", "image_68": ""},
            "avatar_base_url": "",
            "is_verified": False,
            "enterprise_id": self.enterprise_id,
        }


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str = ""
    display_name: str = ""
    email: str | None = None
    tz: str = "America/Los_Angeles"
    tz_label: str = "Pacific Standard Time"
    tz_offset: int = -28800
    is_bot: bool = False
    is_app_user: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    locale: str = "en-US"
    updated: int = field(default_factory=lambda: int(time.time()))
    # Slack Connect: a member of another organisation seen from this workspace. `home_team_id` is their own
    # workspace (rendered as `team_id`), `enterprise_id` their Enterprise Grid org (rendered in
    # `enterprise_user`), `is_stranger` set when Slack marks them as someone this workspace shares no
    # channel with (rendered only when set, as Slack omits it for ordinary members).
    home_team_id: str | None = None
    enterprise_id: str | None = None
    is_stranger: bool | None = None

    def to_api(self, include_locale: bool = False) -> JSON:
        profile: JSON = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "avatar_hash": "g000000000",
            "status_text": "",
            "status_emoji": "",
            "image_24": "",
            "image_48": "",
            "image_72": "",
            "team": self.home_team_id or self.team_id,
        }
        if self.email is not None and not self.is_bot:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = self.app_id or ""
        out: JSON = {
            "id": self.id,
            "team_id": self.home_team_id or self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "is_bot": self.is_bot,
            "is_app_user": self.is_app_user,
            "updated": self.updated,
            "has_2fa": False,
        }
        if self.enterprise_id is not None:
            out["enterprise_user"] = {
                "id": self.id,
                "enterprise_id": self.enterprise_id,
                "enterprise_name": "",
                "is_admin": False,
                "is_owner": False,
                "teams": [self.home_team_id or self.team_id],
            }
        if self.is_stranger is not None:
            out["is_stranger"] = self.is_stranger
        if include_locale:
            out["locale"] = self.locale
        return out


@dataclass
class Message:
    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    thread_ts: str | None = None
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    metadata: JSON | None = None
    subtype: str | None = None
    username: str | None = None
    edited: JSON | None = None
    reactions: list[JSON] = field(default_factory=list)
    reply_ts: list[str] = field(default_factory=list)  # replies, when this is a thread parent
    reply_broadcast: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, include_metadata: bool, parent: Message | None = None, users: Any = None) -> JSON:
        out: JSON = {"type": "message", "ts": self.ts, "text": self.text}
        if self.subtype:
            out["subtype"] = self.subtype
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.username:
            out["username"] = self.username
        if self.team:
            out["team"] = self.team
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.edited:
            out["edited"] = self.edited
        if self.reactions:
            out["reactions"] = self.reactions
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.is_reply and parent is not None and parent.user:
            out["parent_user_id"] = parent.user
        if self.reply_ts:
            out["reply_count"] = len(self.reply_ts)
            out["latest_reply"] = self.reply_ts[-1]
            out["reply_users"] = sorted(set(users or []))
            out["reply_users_count"] = len(out["reply_users"])
            out["is_locked"] = False
            out["subscribed"] = False
        if include_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class Channel:
    id: str
    team_id: str
    name: str = ""
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    is_general: bool = False
    members: list[str] = field(default_factory=list)
    creator: str = ""
    created: int = field(default_factory=lambda: int(time.time()))
    topic: str = ""
    purpose: str = ""
    im_user: str | None = None  # the other party of a 1:1 IM
    # Slack Connect: the other organisations' workspaces this channel is shared with (is_ext_shared when
    # any), and whether an invitation to share it is pending.
    connected_team_ids: list[str] = field(default_factory=list)
    is_pending_ext_shared: bool = False
    messages: list[Message] = field(default_factory=list)  # in ts order

    def to_api(self, viewer: str | None, include_num_members: bool = False) -> JSON:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        out: JSON = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": bool(self.connected_team_ids),
            "is_org_shared": False,
            "is_ext_shared": bool(self.connected_team_ids),
            "is_pending_ext_shared": self.is_pending_ext_shared,
            "context_team_id": self.team_id,
            "creator": self.creator,
            "is_member": viewer in self.members if viewer else False,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if self.connected_team_ids:
            out["shared_team_ids"] = [self.team_id, *self.connected_team_ids]
            out["conversation_host_id"] = self.team_id
        if include_num_members:
            out["num_members"] = len(self.members)
        return out


@dataclass
class Token:
    """A credential: bot (xoxb-), user (xoxp-) or app-level (xapp-)."""

    token: str
    kind: str  # "bot" | "user" | "app"
    team_id: str
    user_id: str  # bot user id for bot tokens
    bot_id: str | None = None
    app_id: str = "A0EMULATOR"
    scopes: tuple[str, ...] = ()
    revoked_error: str | None = None  # token_revoked, account_inactive, ...


@dataclass
class Trigger:
    id: str
    team_id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class View:
    id: str
    team_id: str
    user_id: str
    body: JSON  # the view payload as the app sent it
    hash: str
    root_view_id: str
    previous_view_id: str | None
    app_id: str
    bot_id: str | None
    closed: bool = False  # a modal the member submitted and Slack closed (views.update: not_found)

    def to_api(self) -> JSON:
        b = self.body
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": b.get("type"),
            "blocks": b.get("blocks", []),
            "private_metadata": b.get("private_metadata", ""),
            "callback_id": b.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self.hash,
            "title": b.get("title"),
            "clear_on_close": bool(b.get("clear_on_close", False)),
            "notify_on_close": bool(b.get("notify_on_close", False)),
            "close": b.get("close"),
            "submit": b.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": self.app_id,
            "external_id": b.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


@dataclass
class CallRecord:
    """One Web API call as the emulator saw and answered it."""

    method: str
    args: JSON
    token: str | None
    team_id: str | None
    at: float
    status: int
    response: JSON | None
    fault: str | None = None  # "injected", "rate_limited", "dropped_after_commit", ...

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "args": self.args,
            "token": self.token,
            "team_id": self.team_id,
            "at": self.at,
            "status": self.status,
            "response": self.response,
            "fault": self.fault,
        }
