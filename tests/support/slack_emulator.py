"""A strict Slack Web API emulator: a real HTTP server on 127.0.0.1 that slack_sdk talks to unchanged.

    with SlackEmulator() as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.url)
        alice = emu.add_user("alice", tz="Europe/Paris")
        eng = emu.add_channel("eng", members=[alice.id])
        client.chat_postMessage(channel=eng.id, text="hi")
        assert emu.messages(eng.id)[0]["text"] == "hi"

Standalone (another process drives it through /_emulator/...):

    python -m tests.support.slack_emulator --port 0 --seed small [--workspace ws.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from tests.support.faults import Fault, FaultBook, RateLimiter, make_fault
from tests.support.model import JSON, CallRecord, Channel, Message, Team, User
from tests.support.server import EmulatorServer
from tests.support.socket_mode import SocketModeHub
from tests.support.workspace import DEFAULT_BOT_SCOPES, Workspace

DEFAULT_TEAM = "T0EMU0001"


class SlackEmulator:
    """In-memory Slack plus its HTTP server. Builders default to the first team (`emu.team`)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        trigger_ttl: float = 3.0,
        signing_secret: str | None = None,
        default_team: bool = True,
        team_id: str = DEFAULT_TEAM,
        team_domain: str = "passiton-test",
        team_name: str = "Passiton Test",
    ) -> None:
        self.workspace = Workspace(trigger_ttl=trigger_ttl)
        self.faults = FaultBook()
        self.rate_limiter: RateLimiter | None = None
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self._host, self._port = host, port
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[CallRecord] = []
        self._calls_cv = threading.Condition()
        self._default_team: str | None = None
        self._holds: list[tuple[str, threading.Event]] = []
        self._arrivals: collections.Counter[str] = collections.Counter()  # calls received, answered or not
        self._arrivals_lock = threading.Lock()
        self.socket_mode = SocketModeHub(self.workspace.app_id, lambda: self.root_url)
        if default_team:
            self.add_team(id=team_id, name=team_name, domain=team_domain)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        if self._server is None:
            self._server = EmulatorServer((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},
                daemon=True,
                name="slack-emulator",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.socket_mode.close_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """The Web API base for `WebClient(base_url=...)` / SLACK_API_URL (ends with `/api/`)."""
        return f"{self.root_url}/api/"

    @property
    def admin_url(self) -> str:
        return f"{self.root_url}/_emulator/"

    # -- workspace builders ------------------------------------------------------------------

    @property
    def team(self) -> Team:
        if self._default_team is None:
            raise RuntimeError("no team yet: call add_team()")
        return self.workspace.teams[self._default_team]

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token(self.team.id)

    @property
    def bot_user(self) -> User:
        bot = self.workspace.bot_user(self.team.id)
        assert bot is not None
        return bot

    @property
    def app_id(self) -> str:
        return self.workspace.app_id

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
        """A workspace with Slackbot and (unless install=False) the app's bot user and token."""
        team = self.workspace.add_team(
            id, name, domain, bot_token=bot_token, bot_name=bot_name, scopes=scopes, install=install
        )
        if self._default_team is None:
            self._default_team = team.id
        return team

    def bot_token_for(self, team_id: str) -> str:
        return self.workspace.bot_token(team_id)

    def bot_user_for(self, team_id: str) -> User:
        bot = self.workspace.bot_user(team_id)
        if bot is None:
            raise KeyError(f"app not installed in {team_id}")
        return bot

    def add_user(self, name: str, *, team_id: str | None = None, **fields: Any) -> User:
        """fields: id, real_name, display_name, email, tz, tz_label, tz_offset, is_bot, is_app_user,
        deleted, is_restricted, is_ultra_restricted, is_admin, is_owner, bot_id, locale; Slack Connect:
        home_team_id, enterprise_id, is_stranger (see `add_external_user`)."""
        return self.workspace.add_user(team_id or self.team.id, name, **fields)

    def add_external_user(
        self,
        name: str,
        *,
        home_team_id: str = "T0EXT0001",
        enterprise_id: str | None = None,
        is_stranger: bool | None = None,
        team_id: str | None = None,
        **fields: Any,
    ) -> User:
        """A member of another organisation as this workspace sees them through a Slack Connect channel:
        users.info answers with their own workspace's `team_id` (and `enterprise_user` when their org is on
        Enterprise Grid); none of the guest flags is set, since they are not this workspace's guests."""
        fields.setdefault("email", f"{name}@partner.example")
        return self.add_user(
            name, team_id=team_id, home_team_id=home_team_id, enterprise_id=enterprise_id,
            is_stranger=is_stranger, **fields,
        )  # fmt: skip

    def add_channel(
        self,
        name: str,
        *,
        private: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
        team_id: str | None = None,
        **fields: Any,
    ) -> Channel:
        """members: user ids or names. The app's bot is a member unless bot_member=False.
        fields: id, is_archived, is_general, topic, purpose, creator; Slack Connect: connected_team_ids
        (the other organisations' workspaces: is_shared/is_ext_shared and shared_team_ids follow),
        is_pending_ext_shared."""
        return self.workspace.add_channel(
            team_id or self.team.id, name, private=private, members=members, bot_member=bot_member, **fields
        )

    def user(self, ref: str, team_id: str | None = None) -> User:
        return self.workspace.resolve_user(team_id or self.team.id, ref)

    def channel(self, ref: str, team_id: str | None = None) -> Channel:
        ch = self.workspace.find_channel(team_id or self.team.id, ref)
        if ch is None:
            raise KeyError(ref)
        return ch

    def join(self, channel: str, user: str, team_id: str | None = None) -> None:
        tid = team_id or self.team.id
        with self.workspace.lock:
            ch, u = self.channel(channel, tid), self.user(user, tid)
            if u.id not in ch.members:
                ch.members.append(u.id)

    def leave(self, channel: str, user: str, team_id: str | None = None) -> None:
        tid = team_id or self.team.id
        with self.workspace.lock:
            ch, u = self.channel(channel, tid), self.user(user, tid)
            if u.id in ch.members:
                ch.members.remove(u.id)

    def deactivate_user(self, user: str, team_id: str | None = None) -> None:
        with self.workspace.lock:
            self.user(user, team_id).deleted = True

    def update_user(self, user: str, team_id: str | None = None, **fields: Any) -> User:
        with self.workspace.lock:
            u = self.user(user, team_id)
            for k, v in fields.items():
                if not hasattr(u, k):
                    raise AttributeError(k)
                setattr(u, k, v)
            u.updated = int(time.time())
            return u

    def post_as_user(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        team_id: str | None = None,
        **fields: Any,
    ) -> JSON:
        """Put a member's message into history (as if typed in Slack); no call is recorded.
        fields: blocks, attachments, subtype, metadata, reply_broadcast, ts."""
        tid = team_id or self.team.id
        ws = self.workspace
        with ws.lock:
            ch, u = self.channel(channel, tid), self.user(user, tid)
            ts = fields.pop("ts", None) or ws.next_ts()
            msg = Message(channel=ch.id, ts=ts, text=text, user=u.id, team=tid, thread_ts=thread_ts, **fields)
            ws.insert_message(ch, msg)
            return {**msg.to_api(True), "channel": ch.id}

    def envelope(self, event: JSON, *, team_id: str | None = None, **kw: Any) -> JSON:
        """Wrap an event for delivery to the app as this team's install (see signing.envelope)."""
        from tests.support.signing import envelope

        tid = team_id or self.team.id
        return envelope(
            event, team_id=tid, bot_user_id=self.bot_user_for(tid).id, api_app_id=self.app_id, **kw
        )

    def user_message_event(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        team_id: str | None = None,
        attachments: list[JSON] | None = None,
    ) -> JSON:
        """Put a member's message into history AND return the matching `message` event envelope,
        so what the app reads back through the API agrees with what it was told."""
        from tests.support.signing import message_event

        tid = team_id or self.team.id
        ch, u = self.channel(channel, tid), self.user(user, tid)
        posted = self.post_as_user(
            ch.id, u.id, text, thread_ts=thread_ts, team_id=tid, attachments=attachments
        )
        kind = "im" if ch.is_im else "mpim" if ch.is_mpim else "group" if ch.is_private else "channel"
        parent = self.workspace.find_message(ch, thread_ts) if thread_ts else None
        event = message_event(
            ch.id, u.id, text, ts=posted["ts"], thread_ts=thread_ts, channel_type=kind, team=tid,
            attachments=attachments, parent_user_id=parent.user if parent else None,
        )  # fmt: skip
        return self.envelope(event, team_id=tid)

    def revoke_token(self, token: str, error: str = "token_revoked") -> None:
        """Later calls with this token fail with `error` (token_revoked, account_inactive, invalid_auth...)."""
        with self.workspace.lock:
            self.workspace.tokens[token].revoked_error = error

    def uninstall(self, team_id: str | None = None, error: str = "token_revoked") -> None:
        tid = team_id or self.team.id
        with self.workspace.lock:
            for t in self.workspace.tokens.values():
                if t.team_id == tid:
                    t.revoked_error = error

    def reinstall(self, team_id: str | None = None) -> str:
        return self.workspace.install_bot(team_id or self.team.id).token

    def add_app_token(self, token: str | None = None) -> str:
        """An xapp- token: apps.connections.open gives it a Socket Mode URL (see `emu.socket_mode`)."""
        return self.workspace.add_app_token(token).token

    # -- interactivity plumbing ----------------------------------------------------------------

    def issue_trigger_id(self, user: str, team_id: str | None = None) -> str:
        """A trigger id views.open/push will accept once, within `trigger_ttl` seconds (Slack: 3 s)."""
        tid = team_id or self.team.id
        return self.workspace.issue_trigger(tid, self.user(user, tid).id)

    def issue_response_url(self, channel: str, user: str, team_id: str | None = None) -> str:
        """A response_url served by the emulator; posts to it are recorded in `responses()`."""
        tid = team_id or self.team.id
        rid = secrets.token_hex(8)
        with self.workspace.lock:
            self.workspace.response_urls[rid] = {
                "team_id": tid, "channel": self.channel(channel, tid).id, "user": self.user(user, tid).id, "uses": 0,
            }  # fmt: skip
        return f"{self.admin_url}response/{rid}"

    def configure_oauth(self, client_id: str, client_secret: str) -> None:
        self.workspace.oauth_client = (client_id, client_secret)

    @property
    def oauth_client(self) -> tuple[str, str]:
        return self.workspace.oauth_client

    def issue_oauth_code(
        self,
        team_id: str,
        installer: str,
        *,
        scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
        redirect_uri: str | None = None,
    ) -> str:
        """A one-time code oauth.v2.access exchanges for a new bot token in `team_id`."""
        return self.workspace.issue_oauth_code(
            team_id, self.user(installer, team_id).id, scopes, redirect_uri
        )

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str | None = "ratelimited",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        times: int = 1,
        delay: float = 0.0,
        match: dict[str, Any] | None = None,
    ) -> Fault:
        """Answer the next `times` calls of `method` ("*" = any; times=-1 = until cleared) with
        `{"ok": false, "error": error}` before any side effect. `ratelimited` defaults to HTTP 429
        with Retry-After: 1. `error=None` with `delay` just slows the (successful) call down.
        `match` narrows to calls whose args equal the given values, e.g. {"channel": "C1"}."""
        fault = make_fault(method, error, status, retry_after, times, delay, match)
        self.faults.add(fault)
        return fault

    def drop_response_after_commit(
        self, method: str, *, times: int = 1, match: dict[str, Any] | None = None
    ) -> Fault:
        """Run the method (the message IS posted), then close the connection without an answer."""
        fault = Fault(method, error=None, times=times, match=dict(match or {}), after_commit=True)
        self.faults.add(fault)
        return fault

    def fail_after_commit(
        self,
        method: str,
        error: str = "internal_error",
        *,
        status: int = 503,
        times: int = 1,
        match: dict[str, Any] | None = None,
    ) -> Fault:
        """Run the method (the message IS posted), then answer `status` with `{"ok": false, "error": error}`:
        what a gateway timeout or a 5xx after Slack acted looks like to the client."""
        fault = Fault(
            method, error=error, status=status, times=times, match=dict(match or {}), after_commit=True
        )
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    @contextmanager
    def holding(self, method: str = "*") -> Iterator[threading.Event]:
        """Hold every call of `method` ("*" = any) until the block ends or the yielded event is set.

        A test asserts that an app answers Slack (its ack) before it calls the Web API: with the
        calls held, an ack that waited on one would never come within Slack's three seconds. A hold
        lasts at most 30 s (`wait_if_held`), so a broken test cannot hang the suite."""
        gate = threading.Event()
        entry = (method, gate)
        self._holds.append(entry)
        try:
            yield gate
        finally:
            gate.set()
            self._holds.remove(entry)

    def note_arrival(self, method: str) -> None:
        with self._arrivals_lock:
            self._arrivals[method] += 1

    def arrivals(self, method: str) -> int:
        """Calls of `method` received so far, including ones still held or delayed: `calls()` records a
        call only once it is answered, too late for a test that must act while the app waits on Slack."""
        with self._arrivals_lock:
            return self._arrivals[method]

    def wait_if_held(self, method: str, limit: float = 30.0) -> None:
        for held, gate in list(self._holds):
            if held in ("*", method):
                gate.wait(limit)

    def apply_view_response(self, view_id: str, response: JSON, submitted_hash: str | None = None) -> None:
        """What Slack does with a view_submission's answer: `update` replaces the view (new hash),
        `clear` or an empty answer closes the modal; `errors`/`push` leave it open. When the app has
        already changed the view by views.update since the submission (`submitted_hash` no longer
        current), the answer is stale and changes nothing."""
        from tests.support.blockkit import validate_view

        action = response.get("response_action")
        with self.workspace.lock:
            view = self.workspace.views.get(view_id)
            if view is None or (submitted_hash is not None and view.hash != submitted_hash):
                return
            if action == "update":
                view.body = validate_view(response.get("view"), kind="modal")
                view.hash = f"{time.time():.6f}.{secrets.token_hex(4)}"
                self.workspace.opened_views.append(view)
            elif action in (None, "clear"):
                view.closed = True

    def enable_rate_limits(
        self,
        *,
        scale: float = 1.0,
        per_channel_per_second: float = 1.0,
        burst: float = 1.0,
        per_minute: dict[str, float] | None = None,
    ) -> RateLimiter:
        """Enforce Slack's tiers (per team and method) and ~1 chat.postMessage per second per channel.
        `scale` multiplies all rates; `per_minute` overrides a method's tier."""
        limiter = RateLimiter(scale=scale, per_channel_per_second=per_channel_per_second, burst=burst)
        limiter.overrides.update(per_minute or {})
        self.rate_limiter = limiter
        return limiter

    def disable_rate_limits(self) -> None:
        self.rate_limiter = None

    # -- recording ---------------------------------------------------------------------------

    def record(self, rec: CallRecord) -> None:
        with self._calls_cv:
            self._calls.append(rec)
            self._calls_cv.notify_all()

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[CallRecord]:
        with self._calls_cv:
            out = [c for c in self._calls if method is None or c.method == method]
        return [c for c in out if ok is None or c.ok == ok]

    def reset_calls(self) -> None:
        with self._calls_cv:
            self._calls.clear()

    def wait_for_calls(
        self, method: str, count: int = 1, *, timeout: float = 5.0, ok: bool | None = None
    ) -> list[CallRecord]:
        """Block until `count` calls of `method` were answered (the app works after its ack)."""
        deadline = time.monotonic() + timeout
        with self._calls_cv:
            while True:
                found = [c for c in self._calls if c.method == method and (ok is None or c.ok == ok)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    break
                self._calls_cv.wait(left)
        if len(found) < count:
            raise TimeoutError(f"{len(found)} of {count} {method} calls after {timeout}s")
        return found

    def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._calls_cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("condition not met")
                self._calls_cv.wait(min(left, 0.05))

    def messages(self, channel: str, *, team_id: str | None = None, replies: bool = True) -> list[JSON]:
        """Every message in the channel (id or name), oldest first, with metadata and `channel`."""
        ws = self.workspace
        with ws.lock:
            ch = ws.channel_anywhere(channel) if team_id is None else None
            ch = ch or self.channel(channel, team_id)
            return [{**m.to_api(True), "channel": ch.id} for m in ch.messages if replies or not m.is_reply]

    def dms_to(self, user: str, *, team_id: str | None = None) -> list[JSON]:
        """Messages the app posted in its 1:1 DM with `user` (oldest first)."""
        tid = team_id or self.team.id
        with self.workspace.lock:
            uid = self.user(user, tid).id
            bot = self.workspace.bot_user(tid)
            out: list[JSON] = []
            for ch in self.workspace.teams[tid].channels.values():
                if ch.is_im and ch.im_user == uid:
                    out += [
                        {**m.to_api(True), "channel": ch.id} for m in ch.messages if bot and m.user == bot.id
                    ]
            return out

    def conversation_between(self, *users: str, team_id: str | None = None) -> Channel | None:
        """The IM/MPIM the app opened whose humans are exactly `users` (with the bot)."""
        tid = team_id or self.team.id
        with self.workspace.lock:
            want = {self.user(u, tid).id for u in users}
            bot = self.workspace.bot_user(tid)
            for ch in self.workspace.teams[tid].channels.values():
                if (ch.is_im or ch.is_mpim) and set(ch.members) - {bot.id if bot else ""} == want:
                    return ch
        return None

    def published_views(self, user: str, team_id: str | None = None) -> list[JSON]:
        """Every Home tab published to the user (oldest first), in the views.publish response shape."""
        tid = team_id or self.team.id
        with self.workspace.lock:
            uid = self.user(user, tid).id
            return [v.to_api() for v in self.workspace.home_views.get((tid, uid), [])]

    def opened_views(self, user: str | None = None, team_id: str | None = None) -> list[JSON]:
        """Modals opened, pushed or updated (oldest first), optionally for one user."""
        with self.workspace.lock:
            views = list(self.workspace.opened_views)
        if user is not None:
            uid = self.user(user, team_id).id
            views = [v for v in views if v.user_id == uid]
        return [v.to_api() for v in views]

    def ephemerals(self, *, user: str | None = None, channel: str | None = None) -> list[JSON]:
        with self.workspace.lock:
            items = list(self.workspace.ephemerals)
        return [
            e
            for e in items
            if (user is None or e["user"] == self.user(user, e["team_id"]).id)
            and (channel is None or e["channel"] == self.channel(channel, e["team_id"]).id)
        ]

    def responses(self) -> list[JSON]:
        """Bodies the app POSTed to response_urls issued by `issue_response_url`."""
        with self.workspace.lock:
            return list(self.workspace.responses)

    def describe(self) -> JSON:
        """A JSON summary (teams, tokens, users, channels) for another process."""
        with self.workspace.lock:
            teams = []
            for t in self.workspace.teams.values():
                bot = self.workspace.bot_user(t.id)
                token = next(
                    (
                        k.token
                        for k in self.workspace.tokens.values()
                        if k.team_id == t.id and k.kind == "bot"
                    ),
                    None,
                )
                teams.append(
                    {
                        "id": t.id, "name": t.name, "domain": t.domain, "bot_token": token,
                        "bot_user_id": bot.id if bot else None, "bot_id": bot.bot_id if bot else None,
                        "users": [{"id": u.id, "name": u.name} for u in t.users.values()],
                        "channels": [
                            {"id": c.id, "name": c.name, "private": c.is_private, "members": list(c.members)}
                            for c in t.channels.values() if not (c.is_im or c.is_mpim)
                        ],
                    }
                )  # fmt: skip
        return {
            "url": self.url if self._server else None,
            "admin_url": self.admin_url if self._server else None,
            "app_id": self.app_id,
            "signing_secret": self.signing_secret,
            "oauth_client_id": self.oauth_client[0],
            "oauth_client_secret": self.oauth_client[1],
            "teams": teams,
        }


def main(argv: list[str] | None = None) -> int:
    from tests.support.seeds import load_workspace, seed

    parser = argparse.ArgumentParser(description="Run the Slack Web API emulator until SIGTERM/SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", default="small", help="small | empty | users=N,channels=M")
    parser.add_argument("--workspace", help="JSON workspace description (replaces --seed)")
    parser.add_argument("--signing-secret")
    parser.add_argument("--trigger-ttl", type=float, default=3.0)
    parser.add_argument("--info-file", help="also write the describe() JSON here")
    ns = parser.parse_args(argv)

    if ns.workspace:
        with open(ns.workspace) as fh:
            desc = json.load(fh)
        emu = SlackEmulator(host=ns.host, port=ns.port, trigger_ttl=ns.trigger_ttl,
                            signing_secret=ns.signing_secret or desc.get("signing_secret"), default_team=False)  # fmt: skip
        load_workspace(emu, desc)
    else:
        emu = SlackEmulator(
            host=ns.host, port=ns.port, trigger_ttl=ns.trigger_ttl, signing_secret=ns.signing_secret
        )
        seed(emu, ns.seed)
    emu.start()
    info = emu.describe()
    if ns.info_file:
        with open(ns.info_file, "w") as fh:
            json.dump(info, fh)
    # First line: the Web API base URL; second line: the JSON description (tokens, ids).
    print(emu.url, flush=True)
    print(json.dumps(info), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
