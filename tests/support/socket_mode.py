"""Socket Mode for the Slack emulator: `apps.connections.open` hands out a one-time `ws://` URL on the
emulator's own port, and `/link/?ticket=…` upgrades to a WebSocket (RFC 6455, standard library only;
the emulator's HTTP server already gives each connection its own thread).

Like Slack, the server sends `hello` on connect, pushes envelopes (`events_api`, `slash_commands`,
`interactive`) and expects `{"envelope_id": …, "payload"?: …}` back; it can ask the client to
reconnect (`disconnect` message), close the socket with a close frame, or drop it without one.

    hub = emu.socket_mode
    url = hub.push_command("interests add postgres", user_id=..., team_id=..., channel_id=...)
    ack = hub.wait_for_ack(eid, timeout=3.0)

From another process: `SocketModeAdmin(api_url)` over `/_emulator/socket/...` (see `handle_socket_admin`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx

from tests.support.model import JSON

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 1 << 20  # Slack's envelopes are far smaller; anything bigger is a client bug here


class ProtocolError(Exception):
    """The client broke RFC 6455; the connection is closed with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """A single unmasked (server-to-client) final frame."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


@dataclass
class Connection:
    """One accepted WebSocket. Reads run on the HTTP handler's thread; sends come from any thread."""

    id: int
    ticket: str
    sock: socket.socket
    opened_at: float = field(default_factory=time.time)
    closed_at: float | None = None
    close_reason: str | None = None  # client_close | server_close | dropped | eof | protocol_error
    received: list[JSON] = field(default_factory=list)  # every text message the client sent
    pings: int = 0
    _send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload))

    def send_json(self, message: JSON) -> None:
        self.send(OP_TEXT, json.dumps(message).encode())

    def to_json(self) -> JSON:
        return {
            "id": self.id, "ticket": self.ticket, "open": self.open, "opened_at": self.opened_at,
            "closed_at": self.closed_at, "close_reason": self.close_reason, "pings": self.pings,
            "received": len(self.received),
        }  # fmt: skip


class SocketModeHub:
    """Tickets, live connections, pushed envelopes and the acks that came back."""

    def __init__(self, app_id: str, root_url: Callable[[], str]) -> None:
        self.app_id = app_id
        self._root_url = root_url
        self._cv = threading.Condition()
        self._tickets: dict[str, bool] = {}  # ticket -> already used
        self._connections: list[Connection] = []
        self._pushed: dict[str, tuple[float, JSON]] = {}
        self._acks: list[JSON] = []

    # -- apps.connections.open and the upgrade -------------------------------------------------

    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._cv:
            self._tickets[ticket] = False
        ws_root = "ws://" + self._root_url().split("://", 1)[1]
        return f"{ws_root}/link/?ticket={ticket}&app_id={self.app_id}"

    def serve(self, handler: BaseHTTPRequestHandler, query: str) -> None:
        """Upgrade `handler`'s connection and run it until either side ends it."""
        handler.close_connection = True
        ticket = (parse_qs(query).get("ticket") or [""])[-1]
        key = handler.headers.get("Sec-WebSocket-Key") or ""
        upgrade = (handler.headers.get("Upgrade") or "").lower()
        with self._cv:
            used = self._tickets.get(ticket)
            valid = used is False
            if valid:
                self._tickets[ticket] = True  # one connection per URL, as Slack does
        if upgrade != "websocket" or handler.headers.get("Sec-WebSocket-Version") != "13" or not key:
            return _refuse(handler, 400, "bad websocket handshake")
        if not valid:
            return _refuse(handler, 401, "invalid or used ticket")
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(key))
        handler.end_headers()
        handler.wfile.flush()
        with self._cv:
            conn = Connection(id=len(self._connections) + 1, ticket=ticket, sock=handler.connection)
            self._connections.append(conn)
            live = sum(1 for c in self._connections if c.open)
            self._cv.notify_all()
        conn.send_json(
            {
                "type": "hello",
                "num_connections": live,
                "debug_info": {
                    "host": "applink-emulator",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            self._read_loop(conn, handler)
        except ProtocolError as err:
            self._close(conn, "protocol_error", err.code, str(err))
        except OSError:
            self._mark_closed(conn, "eof")

    def _read_loop(self, conn: Connection, handler: BaseHTTPRequestHandler) -> None:
        rfile = handler.rfile
        parts: list[bytes] = []
        while conn.open:
            head = rfile.read(2)
            if len(head) < 2:
                self._mark_closed(conn, "eof")
                return
            fin, opcode = head[0] & 0x80, head[0] & 0x0F
            if head[0] & 0x70:
                raise ProtocolError(1002, "reserved bits set")
            if not head[1] & 0x80:
                raise ProtocolError(1002, "client frames must be masked")
            n = head[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", _read_exact(rfile, 2))[0]
            elif n == 127:
                n = struct.unpack("!Q", _read_exact(rfile, 8))[0]
            if n > MAX_MESSAGE:
                raise ProtocolError(1009, "message too big")
            mask = _read_exact(rfile, 4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(_read_exact(rfile, n)))
            if opcode >= 0x8:  # control frames: never fragmented, at most 125 bytes
                if not fin or n > 125:
                    raise ProtocolError(1002, "bad control frame")
                if opcode == OP_PING:
                    conn.pings += 1
                    conn.send(OP_PONG, data)
                elif opcode == OP_CLOSE:
                    self._close(
                        conn, "client_close", struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1000
                    )
                    return
                continue
            if opcode not in (OP_CONT, OP_TEXT, OP_BINARY) or (opcode == OP_CONT) != bool(parts):
                raise ProtocolError(1002, "unexpected opcode")
            parts.append(data)
            if fin:
                self._on_message(conn, b"".join(parts))
                parts = []

    def _on_message(self, conn: Connection, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            raise ProtocolError(1007, "not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError(1007, "not a JSON object")
        with self._cv:
            conn.received.append(message)
            eid = message.get("envelope_id")
            if isinstance(eid, str):
                pushed = self._pushed.get(eid)
                ack: JSON = {
                    "envelope_id": eid,
                    "connection": conn.id,
                    "at": time.time(),
                    "known": pushed is not None,
                    "latency": time.time() - pushed[0] if pushed else None,
                }
                if "payload" in message:
                    ack["payload"] = message["payload"]
                self._acks.append(ack)
            self._cv.notify_all()

    def _mark_closed(self, conn: Connection, reason: str) -> None:
        with self._cv:
            if conn.closed_at is None:
                conn.closed_at, conn.close_reason = time.time(), reason
            self._cv.notify_all()

    def _close(self, conn: Connection, reason: str, code: int = 1000, text: str = "") -> None:
        """Close handshake from our side (answering the client's close, or ending the link)."""
        if conn.open:
            with contextlib.suppress(OSError):
                conn.send(OP_CLOSE, struct.pack("!H", code) + text.encode()[:120])
        self._mark_closed(conn, reason)
        _hang_up(conn.sock)

    # -- what tests do -----------------------------------------------------------------------

    def connections(self, *, open_only: bool = False) -> list[Connection]:
        with self._cv:
            return [c for c in self._connections if c.open or not open_only]

    def wait_for_connections(self, count: int, *, timeout: float = 10.0) -> Connection:
        """Block until `count` connections were ever accepted and one is open; returns the newest open one."""
        self._wait(
            lambda: len(self._connections) >= count and any(c.open for c in self._connections), timeout
        )
        return self.connections(open_only=True)[-1]

    def push(
        self,
        type: str,
        payload: JSON,
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: int | None = None,
    ) -> str:
        """Send an envelope on the newest open connection (or `connection`); returns its envelope_id."""
        eid = envelope_id or f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive" and payload.get("type") in ("view_submission", "block_suggestion")
            )
        envelope: JSON = {
            "envelope_id": eid,
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"], envelope["retry_reason"] = retry_attempt, retry_reason
        target = self._target(connection)
        with self._cv:
            self._pushed[eid] = (time.time(), envelope)
        target.send_json(envelope)
        return eid

    def push_event(self, event_callback: JSON, *, retry_attempt: int = 0, retry_reason: str = "") -> str:
        """An Events API delivery; `event_callback` is what `emu.envelope(...)` builds for HTTP."""
        return self.push("events_api", event_callback, retry_attempt=retry_attempt, retry_reason=retry_reason)

    def push_command(self, text: str, **fields: Any) -> str:
        """`/passiton <text>`; fields as for `signing.slash_command_body` (user_id, team_id, channel_id...)."""
        from tests.support.signing import slash_command_body

        fields.setdefault("api_app_id", self.app_id)
        return self.push("slash_commands", dict(parse_qsl(slash_command_body(text, **fields))))

    def push_interactive(self, payload: JSON) -> str:
        return self.push("interactive", payload)

    def disconnect(self, reason: str = "refresh_requested", *, connection: int | None = None) -> None:
        """Slack's "please reconnect" (refresh_requested, warning, link_disabled); the socket stays open."""
        self._target(connection).send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
        )

    def close(self, code: int = 1001, *, connection: int | None = None) -> None:
        """End the connection with a close frame (a graceful server-side close)."""
        self._close(self._target(connection), "server_close", code, "going away")

    def drop(self, *, connection: int | None = None) -> None:
        """Cut the TCP connection with no close frame (a network failure, a dead load balancer)."""
        conn = self._target(connection)
        self._mark_closed(conn, "dropped")
        _hang_up(conn.sock)

    def close_all(self, code: int = 1001) -> None:
        for conn in self.connections(open_only=True):
            self._close(conn, "server_close", code, "going away")

    def acks(self, envelope_id: str | None = None) -> list[JSON]:
        with self._cv:
            return [dict(a) for a in self._acks if envelope_id is None or a["envelope_id"] == envelope_id]

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 3.0) -> JSON:
        self._wait(lambda: any(a["envelope_id"] == envelope_id for a in self._acks), timeout, envelope_id)
        return self.acks(envelope_id)[0]

    def to_json(self) -> JSON:
        return {"connections": [c.to_json() for c in self.connections()], "acks": self.acks()}

    def _target(self, connection: int | None) -> Connection:
        live = self.connections(open_only=True)
        if connection is not None:
            live = [c for c in live if c.id == connection]
        if not live:
            raise LookupError(
                "no open Socket Mode connection" + (f" with id {connection}" if connection else "")
            )
        return live[-1]

    def _wait(self, predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"socket mode: {what} not met after {timeout}s")
                self._cv.wait(left)


def _read_exact(rfile: Any, n: int) -> bytes:
    data = rfile.read(n) if n else b""
    if len(data) < n:
        raise OSError("connection closed mid-frame")
    return bytes(data)


def _refuse(handler: BaseHTTPRequestHandler, status: int, text: str) -> None:
    raw = text.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def _hang_up(sock: socket.socket) -> None:
    """End the TCP connection; the handler thread's blocked read then returns and it closes the socket."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# -- /_emulator/socket/... ----------------------------------------------------------------------


def handle_socket_admin(
    hub: SocketModeHub, verb: str, route: str, q: dict[str, str], body: JSON
) -> JSON | None:
    """GET socket/state, socket/acks?envelope_id=; POST socket/push (keyword args of `push`),
    socket/disconnect {reason}, socket/close {code}, socket/drop {}. LookupError -> 400 (no connection)."""
    if verb == "GET" and route == "socket/state":
        return hub.to_json()
    if verb == "GET" and route == "socket/acks":
        return {"acks": hub.acks(q.get("envelope_id"))}
    if verb != "POST":
        return None
    if route == "socket/push":
        return {"envelope_id": hub.push(body.pop("type"), body.pop("payload"), **body)}
    if route == "socket/disconnect":
        hub.disconnect(**body)
        return {}
    if route == "socket/close":
        hub.close(**body)
        return {}
    if route == "socket/drop":
        hub.drop(**body)
        return {}
    return None


class SocketModeAdmin:
    """The admin routes above, from another process."""

    def __init__(self, api_url: str, timeout: float = 5.0) -> None:
        root = api_url.rstrip("/").removesuffix("/api")
        self._http = httpx.Client(base_url=root + "/_emulator/socket/", timeout=timeout)

    def close_client(self) -> None:
        self._http.close()

    def _post(self, route: str, body: JSON) -> JSON:
        r = self._http.post(route, json=body)
        r.raise_for_status()
        return dict(r.json())

    def state(self) -> JSON:
        r = self._http.get("state")
        r.raise_for_status()
        return dict(r.json())

    def push(self, type: str, payload: JSON, **kw: Any) -> str:
        return str(self._post("push", {"type": type, "payload": payload, **kw})["envelope_id"])

    def disconnect(self, reason: str = "refresh_requested") -> None:
        self._post("disconnect", {"reason": reason})

    def drop(self) -> None:
        self._post("drop", {})

    def acks(self, envelope_id: str | None = None) -> list[JSON]:
        r = self._http.get("acks", params={"envelope_id": envelope_id} if envelope_id else {})
        r.raise_for_status()
        return list(r.json()["acks"])

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 3.0) -> JSON:
        deadline = time.monotonic() + timeout
        while not (found := self.acks(envelope_id)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ack for {envelope_id} after {timeout}s")
            time.sleep(0.02)
        return found[0]
