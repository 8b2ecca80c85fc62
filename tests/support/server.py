"""HTTP front of the emulator: parses requests the way Slack does and dispatches them.

`/api/<method>` is the Web API (what slack_sdk's WebClient calls with `base_url=<url>/api/`),
`/_emulator/...` is the admin API for tests in another process (see admin_api.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.support import methods_chat as chat
from tests.support import methods_read as read
from tests.support import methods_views as views
from tests.support.faults import retry_after_header
from tests.support.methods_chat import Args, Ctx
from tests.support.model import JSON, CallRecord, SlackError

if TYPE_CHECKING:
    from tests.support.slack_emulator import SlackEmulator

Handler = Callable[[Ctx, Args], JSON]

METHODS: dict[str, Handler] = {
    "auth.test": chat.auth_test,
    "chat.postMessage": chat.chat_post_message,
    "chat.postEphemeral": chat.chat_post_ephemeral,
    "chat.update": chat.chat_update,
    "chat.delete": chat.chat_delete,
    "chat.getPermalink": chat.chat_get_permalink,
    "reactions.add": chat.reactions_add,
    "conversations.open": read.conversations_open,
    "conversations.info": read.conversations_info,
    "conversations.members": read.conversations_members,
    "conversations.history": read.conversations_history,
    "conversations.replies": read.conversations_replies,
    "users.conversations": read.users_conversations,
    "users.info": read.users_info,
    "users.list": read.users_list,
    "users.lookupByEmail": read.users_lookup_by_email,
    "team.info": read.team_info,
    "bots.info": read.bots_info,
    "views.publish": views.views_publish,
    "views.open": views.views_open,
    "views.push": views.views_push,
    "views.update": views.views_update,
}
# Methods that authenticate differently (client credentials, app-level token).
SPECIAL = {"oauth.v2.access", "apps.connections.open", "api.test"}


class Dropped(Exception):
    """Hang up without answering (the drop-after-commit fault)."""


class RateLimited(SlackError):
    def __init__(self, retry_after: str) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 makes bursts of concurrent clients wait for SYN retries

    def __init__(self, addr: tuple[str, int], emulator: SlackEmulator) -> None:
        super().__init__(addr, RequestHandler)
        self.emulator = emulator


class RequestHandler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read recorded calls instead
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: JSON | str, headers: dict[str, str] | None = None) -> None:
        raw = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        ctype = "application/json; charset=utf-8" if isinstance(body, dict) else "text/plain; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, verb: str) -> None:
        parts = urlsplit(self.path)
        raw = self._read_body()
        try:
            if parts.path == "/link/" and verb == "GET":  # Socket Mode's WebSocket (socket_mode.py)
                self.server.emulator.socket_mode.serve(self, parts.query)
            elif parts.path.startswith("/api/"):
                self._web_api(verb, parts.path[len("/api/") :], parts.query, raw)
            elif parts.path.startswith("/_emulator/"):
                from tests.support.admin_api import handle_admin

                status, body = handle_admin(
                    self.server.emulator, verb, parts.path, parts.query, raw, self.headers
                )
                self._send(status, body)
            else:
                self._send(404, {"ok": False, "error": "not_found"})
        except Dropped:
            self.close_connection = True

    def _parse_args(self, verb: str, query: str, raw: bytes) -> tuple[dict[str, Any], bool]:
        """Merge query and body arguments. Returns (args, body_was_json)."""
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if verb != "POST" or not raw:
            return args, False
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not ctype:
            raise SlackError("missing_post_type")
        if ctype == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            args.update(body)
            return args, True
        if ctype == "application/x-www-form-urlencoded":
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise SlackError("invalid_charset") from None
            args.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
            return args, False
        raise SlackError("invalid_post_type")

    def _web_api(self, verb: str, method: str, query: str, raw: bytes) -> None:
        emu = self.server.emulator
        started = time.time()
        args: dict[str, Any] = {}
        token: str | None = None
        team_id: str | None = None
        status, headers, fault_name = 200, {}, None
        body: JSON
        try:
            if method not in METHODS and method not in SPECIAL:
                raise SlackError("unknown_method", req_method=method)
            args, was_json = self._parse_args(verb, query, raw)
            auth = self.headers.get("Authorization") or ""
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            if token is None and not was_json:  # Slack ignores a token inside a JSON body
                token = args.get("token") or None
            recorded_args = {k: v for k, v in args.items() if k != "token"}
            args = recorded_args
            emu.note_arrival(method)
            emu.wait_if_held(method)
            fault = emu.faults.take(method, args)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and not fault.after_commit and fault.error is not None:
                fault_name = "injected"
                status = fault.status
                if fault.retry_after is not None:
                    headers["Retry-After"] = retry_after_header(fault.retry_after)
                raise SlackError(fault.error)
            body, team_id = self._call(method, args, token, auth)
            if fault is not None and fault.after_commit:
                if fault.error is not None:  # acted on, then answered with an error (a 5xx, a timeout)
                    fault_name, status = "failed_after_commit", fault.status
                    raise SlackError(fault.error)
                emu.record(CallRecord(method, args, token, team_id, started, 0, body, "dropped_after_commit"))
                raise Dropped()
        except RateLimited as err:
            body, status, fault_name = err.body(), 429, "rate_limited"
            headers["Retry-After"] = err.retry_after
        except SlackError as err:
            body = err.body()
        emu.record(CallRecord(method, args, token, team_id, started, status, body, fault_name))
        self._send(status, body, headers)

    def _call(
        self, method: str, args: dict[str, Any], token: str | None, auth: str
    ) -> tuple[JSON, str | None]:
        emu = self.server.emulator
        ws = emu.workspace
        if method == "api.test":
            return {"ok": True, "args": args}, None
        if method == "oauth.v2.access":
            return {"ok": True, **views.oauth_v2_access(ws, Args(args), auth)}, None
        if not token:
            raise SlackError("not_authed")
        with ws.lock:
            rec = ws.tokens.get(token)
        if rec is None:
            raise SlackError("invalid_auth")
        if rec.revoked_error:
            raise SlackError(rec.revoked_error)
        if method == "apps.connections.open":
            if rec.kind != "app":
                raise SlackError("not_allowed_token_type")
            return {"ok": True, "url": emu.socket_mode.issue_url()}, None
        if rec.kind == "app":
            raise SlackError("not_allowed_token_type")
        if emu.rate_limiter is not None:
            wait = emu.rate_limiter.check(rec.team_id, method, args)
            if wait > 0:
                raise RateLimited(retry_after_header(wait))
        ctx = Ctx(ws=ws, token=rec, team=ws.teams[rec.team_id])
        result = METHODS[method](ctx, Args(args))
        return {"ok": True, **result}, rec.team_id
