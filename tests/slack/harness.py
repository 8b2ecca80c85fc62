"""The real app on a real uvicorn server, talking to the Slack emulator, driven by signed requests."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from bot.config import Settings, load_settings
from bot.context import AppContext
from bot.matching.embedders import make_embedder
from bot.store.db import Database
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a thread; yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="passiton-serve")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# A fixed Fernet key (32 bytes, url-safe base64) for the OAuth tests' encrypted token columns.
TEST_TOKEN_KEYS = base64.urlsafe_b64encode(b"passiton-test-token-key-32-bytes").decode()


def make_settings(emu: SlackEmulator, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "passiton_token_keys": TEST_TOKEN_KEYS,
        "database_url": database_url,
        "slack_bot_token": emu.bot_token,
        "slack_signing_secret": emu.signing_secret,
        "slack_api_url": emu.url,
        "slack_client_id": None,
        "slack_client_secret": None,
        "passiton_welcome_dm": True,
    }
    values.update(overrides)
    return load_settings(**values)


def make_context(settings: Settings) -> AppContext:
    return AppContext(
        db=Database(settings.database_url),
        settings=settings,
        embedder_factory=lambda: make_embedder("local"),
    )


class Slack:
    """Plays Slack's side: signed deliveries to `passiton serve`, and the emulator's state."""

    def __init__(self, emu: SlackEmulator, base_url: str, db: Database) -> None:
        self.emu = emu
        self.url = base_url
        self.db = db
        self.http = httpx.Client(timeout=10)
        self.team_id = emu.team.id
        self.bot_user_id = emu.bot_user.id

    def close(self) -> None:
        self.http.close()

    # -- deliveries -------------------------------------------------------------------------

    def post(self, body: str | bytes, *, retry_num: int | None = None, timestamp: int | None = None,
             secret: str | None = None, content_type: str | None = None) -> httpx.Response:  # fmt: skip
        return signing.post_signed(
            self.url + "/slack/events",
            body,
            secret or self.emu.signing_secret,
            content_type=content_type,
            retry_num=retry_num,
            timestamp=timestamp,
            client=self.http,
        )

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> str:
        """Deliver an event; returns its event_id. Asserts the fast 200 ack."""
        envelope = signing.envelope(
            event, team_id=self.team_id, bot_user_id=self.bot_user_id, event_id=event_id
        )
        resp = self.post(json.dumps(envelope), retry_num=retry_num)
        assert resp.status_code == 200, resp.text
        return str(envelope["event_id"])

    def message(self, channel: str, user: str, text: str, **kw: Any) -> tuple[dict[str, Any], str]:
        """A member posts in a channel (emulator history + message event). Returns (message, event_id)."""
        ch, u = self.emu.channel(channel), self.emu.user(user)
        posted = self.emu.post_as_user(
            ch.id, u.id, text, **{k: v for k, v in kw.items() if k in ("thread_ts", "attachments")}
        )
        event = signing.message_event(
            ch.id, u.id, text, ts=posted["ts"], channel_type="group" if ch.is_private else "channel", **kw
        )
        return posted, self.event(event)

    def command(self, text: str, user: str, channel: str = "general") -> dict[str, Any]:
        body = signing.slash_command_body(
            text,
            user_id=self.emu.user(user).id,
            team_id=self.team_id,
            channel_id=self.emu.channel(channel).id,
            trigger_id=self.emu.issue_trigger_id(user),
            response_url=self.emu.issue_response_url(channel, user),
        )
        answered = len(self.emu.responses())
        resp = self.post(body)
        assert resp.status_code == 200, resp.text
        if resp.content:
            return dict(resp.json())
        # An empty ack: the answer follows on the response_url (work that needs Slack runs after the ack).
        self.wait(lambda: len(self.emu.responses()) > answered, what="reply on the response_url")
        return dict(self.emu.responses()[-1])

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(signing.payload_body(payload))

    def shortcut(self, callback_id: str, message: dict[str, Any], user: str, channel: str) -> httpx.Response:
        ch = self.emu.channel(channel)
        payload = signing.message_action_payload(
            callback_id,
            message,
            channel_id=ch.id,
            channel_name=ch.name,
            user_id=self.emu.user(user).id,
            team_id=self.team_id,
            trigger_id=self.emu.issue_trigger_id(user),
            response_url=self.emu.issue_response_url(channel, user),
        )
        return self.interact(payload)

    def submit(self, view: dict[str, Any], values: dict[str, dict[str, Any]], user: str) -> httpx.Response:
        payload = signing.view_submission_payload(
            view, values, user_id=self.emu.user(user).id, team_id=self.team_id
        )
        resp = self.interact(payload)
        if resp.status_code == 200 and view.get("id"):  # Slack applies the answer to the modal
            self.emu.apply_view_response(
                str(view["id"]), resp.json() if resp.content else {}, submitted_hash=view.get("hash")
            )
        return resp

    def click(self, action_id: str, user: str, *, value: str = "", channel: str | None = None,
              view: dict[str, Any] | None = None) -> httpx.Response:  # fmt: skip
        action = {"action_id": action_id, "block_id": "b", "type": "button", "value": value}
        payload = signing.block_actions_payload(
            [action],
            user_id=self.emu.user(user).id,
            team_id=self.team_id,
            trigger_id=self.emu.issue_trigger_id(user),
            channel_id=self.emu.channel(channel).id if channel else None,
            message={"ts": "1.0", "text": ""} if channel else None,
            view=view,
            response_url=self.emu.issue_response_url(channel, user) if channel else None,
        )
        return self.interact(payload)

    # -- waiting on after-ack work -----------------------------------------------------------------

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        """Poll until `predicate()` is truthy. Generous timeout: the whole suite shares two cores."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def settle(self, seconds: float = 0.3) -> None:
        """Give after-ack work a moment when asserting that something did NOT happen."""
        time.sleep(seconds)

    def quiesce(self, quiet: float = 0.5, timeout: float = 15.0) -> None:
        """Wait until the app has made no Slack call for `quiet` seconds (its after-ack work is done)."""
        deadline = time.monotonic() + timeout
        last, since = len(self.emu.calls()), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
            now = len(self.emu.calls())
            if now != last:
                last, since = now, time.monotonic()
