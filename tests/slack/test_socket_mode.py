"""`passiton run` as an operator starts it (a subprocess, Socket Mode), driven over a real WebSocket.

The emulator plays Slack's side: `apps.connections.open` hands out a `ws://` link on loopback, envelopes
go down the socket, acks come back. slack_sdk's built-in client inside `passiton run` is what connects.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import Item, Member, MemberTopic, Topic
from tests.jobs.test_metrics import _free_port, _sample
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator
from tests.support.socket_mode import SocketModeAdmin, accept_key

pytestmark = pytest.mark.slow

ARTICLE = "https://example.com/blog/postgres-vacuum-tuning"


class Running:
    def __init__(
        self, emu: SlackEmulator, db: Database, proc: subprocess.Popen[bytes], log: Path, metrics_port: int
    ) -> None:
        self.emu, self.db, self.proc, self.log = emu, db, proc, log
        self.metrics_port = metrics_port
        self.hub = emu.socket_mode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"passiton run exited: {self.output()}"
            assert time.monotonic() < deadline, f"{what} not reached: {self.output()}"
            time.sleep(0.05)

    def reconnects_after(self, disruption: Callable[[], None], what: str) -> None:
        """A new URL from apps.connections.open and a new link in place of the current one."""
        opened = len(self.emu.calls("apps.connections.open", ok=True))
        current = self.hub.connections(open_only=True)[-1].id
        disruption()
        # Bolt's fallback client (no websocket-client) takes ~10 s to notice a dropped link.
        self.wait(
            lambda: (
                len(self.emu.calls("apps.connections.open", ok=True)) > opened
                and any(c.id > current for c in self.hub.connections(open_only=True))
            ),
            f"reconnect after {what}",
            timeout=40,
        )

    def command(self, text: str, user: str = "alice", timeout: float = 3.0) -> dict[str, Any]:
        eid = self.hub.push_command(
            text,
            user_id=self.emu.user(user).id,
            team_id=self.emu.team.id,
            channel_id=self.emu.channel("general").id,
            trigger_id=self.emu.issue_trigger_id(user),
            response_url=self.emu.issue_response_url("general", user),
        )
        return self.hub.wait_for_ack(eid, timeout=timeout)  # Slack's limit for an ack

    def topics(self, user: str, kind: str) -> list[str]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Topic.name)
                    .join(MemberTopic, MemberTopic.topic_id == Topic.id)
                    .join(Member, Member.id == MemberTopic.member_id)
                    .where(Member.slack_user_id == self.emu.user(user).id, MemberTopic.kind == kind)
                    .order_by(Topic.name)
                )
            )

    def items(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(Item)) or 0)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    upgrade(url)
    with SlackEmulator() as emu:
        small(emu)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": emu.bot_token,
            "SLACK_APP_TOKEN": emu.add_app_token(),
            "SLACK_API_URL": emu.url,
            "SLACK_SIGNING_SECRET": "",
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "PASSITON_EMBEDDER": "local",
        }
        metrics_port = _free_port()
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--metrics-port", str(metrics_port)],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        db = Database(url)
        try:
            yield Running(emu, db, proc, log, metrics_port)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            db.engine.dispose()


def test_passiton_run_over_socket_mode_acks_stores_reconnects_and_stops(running: Running) -> None:
    emu, hub = running.emu, running.hub
    running.wait(lambda: hub.connections(open_only=True), "first connection", timeout=60)

    # A slash command: acked on the socket with the ephemeral reply, the interest stored.
    ack = running.command("interests add postgres")
    assert ack["payload"]["response_type"] == "ephemeral" and "Postgres" in ack["payload"]["text"], ack
    assert running.topics("alice", "interest") == ["postgres"]
    # `passiton run --metrics-port`: the ack was timed; the in-process jobs report the outbox.
    metrics = httpx.get(f"http://127.0.0.1:{running.metrics_port}/metrics", timeout=5).text
    assert (_sample(metrics, "passiton_slack_ack_seconds_count", kind="command") or 0) >= 1
    assert "passiton_outbox_backlog" in metrics and "passiton_jobs_leader 1.0" in metrics

    # A channel message with a link: one item; Slack redelivering the same event id changes nothing.
    unfurl = signing.link_unfurl(ARTICLE, "Tuning autovacuum", "How to tune it")
    delivery = emu.user_message_event("eng", "alice", f"worth a read <{ARTICLE}>", attachments=[unfurl])
    hub.wait_for_ack(hub.push_event(delivery))
    running.wait(lambda: running.items() == 1, "article item")
    hub.wait_for_ack(hub.push_event(delivery, retry_attempt=1, retry_reason="timeout"))
    time.sleep(0.5)  # the redelivery was acked; give its (no-op) processing time to show up if it were wrong
    assert running.items() == 1

    # Slack asks for a refresh: the client opens a new link and keeps working on it.
    running.reconnects_after(lambda: hub.disconnect("refresh_requested"), "disconnect message")
    running.wait(lambda: len(hub.connections(open_only=True)) == 1, "old link closed by the client")
    assert running.command("expertise add terraform")["payload"]["response_type"] == "ephemeral"
    assert running.topics("alice", "expertise") == ["terraform"]

    # The TCP connection drops with no close frame: the client notices, reconnects, and events flow again.
    running.reconnects_after(hub.drop, "dropped connection")
    second = emu.user_message_event("eng", "bob", "How do I tune autovacuum on a busy Postgres table?")
    hub.wait_for_ack(hub.push_event(second))
    running.wait(lambda: running.items() == 2, "question item after reconnect")

    # SIGTERM: a clean exit, the WebSocket closed from the client's side.
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(timeout=10) == 0, running.output()
    assert not hub.connections(open_only=True)


def test_admin_api_drives_socket_mode_from_another_process() -> None:
    """The same Socket Mode link, controlled through `/_emulator/socket/...` (what another process uses)."""
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    with SlackEmulator() as emu:
        admin = SocketModeAdmin(emu.url)
        client = SocketModeClient(app_token=emu.add_app_token(), web_client=WebClient(base_url=emu.url))

        def answer(c: Any, req: SocketModeRequest) -> None:
            c.send_socket_mode_response(SocketModeResponse(req.envelope_id, payload={"text": req.type}))

        client.socket_mode_request_listeners.append(answer)
        try:
            client.connect()
            emu.socket_mode.wait_for_connections(1)
            eid = admin.push("slash_commands", {"command": "/passiton", "text": "help"})
            assert admin.wait_for_ack(eid)["payload"] == {"text": "slash_commands"}
            admin.disconnect()
            emu.socket_mode.wait_for_connections(2)
            deadline = time.monotonic() + 10  # the client closes the old link once the new one is up
            while True:
                state = admin.state()
                if [c["open"] for c in state["connections"]] == [False, True]:
                    break
                assert time.monotonic() < deadline, state
                time.sleep(0.05)
            assert [a["envelope_id"] for a in state["acks"]] == [eid]
        finally:
            client.close()
            admin.close_client()


def test_passiton_run_with_an_unknown_app_token_exits_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    upgrade(url)
    with SlackEmulator() as emu:
        env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": emu.bot_token, "SLACK_API_URL": emu.url,
               "SLACK_APP_TOKEN": "xapp-1-A0EMULATOR-unknown", "SLACK_CLIENT_ID": "", "SLACK_CLIENT_SECRET": ""}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path, capture_output=True, timeout=60
        )
    assert done.returncode == 2, done.stderr
    assert (
        b"setting SLACK_APP_TOKEN: Slack refused it: invalid_auth" in done.stderr
        and b"Traceback" not in done.stderr
    )


def _handshake(url: str) -> tuple[socket.socket, bytes]:
    """Open the WebSocket by hand; returns the socket and the raw HTTP answer head."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    if head.startswith(b"HTTP/1.1 101"):
        assert f"Sec-WebSocket-Accept: {accept_key(key)}".encode() in head
    return sock, head


def _frame(sock: socket.socket) -> tuple[int, bytes]:
    b1, b2 = sock.recv(1)[0], sock.recv(1)[0]
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))[0]
    return b1 & 0x0F, sock.recv(n, socket.MSG_WAITALL) if n else b""


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    return (
        bytes([0x80 | opcode, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


def test_emulated_link_is_strict_like_slack() -> None:
    with SlackEmulator() as emu:
        web = WebClient(base_url=emu.url)
        with pytest.raises(SlackApiError) as bot_token:
            web.apps_connections_open(app_token=emu.bot_token)
        assert bot_token.value.response["error"] == "not_allowed_token_type"
        url = web.apps_connections_open(app_token=emu.add_app_token())["url"]
        assert url.startswith(f"ws://127.0.0.1:{emu.port}/link/?ticket=")

        sock, head = _handshake(url)
        assert head.startswith(b"HTTP/1.1 101")
        opcode, hello = _frame(sock)
        assert opcode == 0x1 and json.loads(hello)["type"] == "hello"
        sock.sendall(_masked(0x9, b"are you there"))
        assert _frame(sock) == (0xA, b"are you there")
        again, refused = _handshake(url)  # a URL is good for one connection
        assert refused.startswith(b"HTTP/1.1 401")
        again.close()
        sock.sendall(bytes([0x81, 2]) + b"{}")  # unmasked client frame: a protocol error
        opcode, reason = _frame(sock)
        assert opcode == 0x8 and struct.unpack("!H", reason[:2])[0] == 1002
        sock.close()
        # The server records why it closed after sending the close frame: wait for it, don't race it.
        emu.wait_until(lambda: [c.close_reason for c in emu.socket_mode.connections()] == ["protocol_error"])
