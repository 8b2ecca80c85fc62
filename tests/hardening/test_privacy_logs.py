"""No token, secret or password in the logs of real `passiton serve` and `passiton jobs` processes.

Both run at DEBUG (the level where libraries print request headers and bodies) with every secret
set to a recognisable value, and are driven into the error paths that tend to print what they were
given: Slack answering invalid_auth to the bot token, the SMTP relay refusing our password, the
OpenAI-compatible server unreachable with a key set, a request with a bad signature. Then the whole
output of both processes is searched for each secret, raw and in the encodings it travels in (URL
quoting, base64 for SMTP AUTH and HTTP Basic).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from bot.delivery.outbox import enqueue
from bot.email.digests import send_digests
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import OutboxMessage
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace
from tests.deploy.cluster import free_port
from tests.email.conftest import Relay, add_nudge, make_settings
from tests.jobs.procs import Proc, wait_until
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(90),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

SMTP_USER = "relayuser"
SMTP_PASSWORD = "Pw7-zq9Hunter2-smtp"  # markers to search the logs for
SECRET_KEY = "sk-link-signing-0c7f3e9a51d2"
OPENAI_KEY = "sk-openai-marker-5b1e8f2d9c"


def _variants(secret: str) -> set[str]:
    """The secret as it may travel: raw, URL-quoted, and inside base64 blobs SMTP and HTTP use."""
    b64 = {
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(f"\0{SMTP_USER}\0{secret}".encode()).decode(),  # AUTH PLAIN
        base64.b64encode(f"{SMTP_USER}:{secret}".encode()).decode(),  # Basic
    }
    return {secret, urllib.parse.quote(secret, safe=""), *(b.rstrip("=") for b in b64)}


@pytest.fixture
def refusing_relay() -> Iterator[Relay]:
    """A relay that requires AUTH and refuses every password."""
    relay = Relay(free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(
            success=False, handled=False, auth_data=data if isinstance(data, LoginPassword) else None
        )

    controller = Controller(
        relay, hostname="127.0.0.1", port=relay.port, authenticator=authenticator,
        auth_required=True, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    yield relay
    controller.stop()


def test_no_secret_reaches_the_logs_of_serve_or_jobs(tmp_path: Path, refusing_relay: Relay) -> None:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    upgrade(url)
    db = Database(url)
    smtp_url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{refusing_relay.port}?timeout=5"
    with SlackEmulator() as emu:
        small(emu)
        token, signing_secret = emu.bot_token, emu.signing_secret
        with db.session() as s:
            ws = ensure_workspace(s, emu.team.id, name="Emu")
            alice = ensure_member(s, ws, emu.user("alice").id, display_name="alice")
            alice.email, alice.opted_in, alice.delivery, alice.tz = "alice@example.org", True, "email", "UTC"
            add_nudge(s, ws, alice)
            enqueue(s, workspace_id=ws.id, key="dm:bob", kind="slack_dm",
                    payload={"user": emu.user("bob").id, "text": "hello"})  # fmt: skip
        settings = make_settings(smtp_url=smtp_url, passiton_secret_key=SECRET_KEY)
        assert send_digests(db, settings, _morning()) == 1

        env = {
            "DATABASE_URL": url,
            "SLACK_API_URL": emu.url,
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "SMTP_URL": smtp_url,
            "PASSITON_SECRET_KEY": SECRET_KEY,
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # nothing listens: every call fails
            "OPENAI_TIMEOUT_SECONDS": "1",
            "PASSITON_LOG_LEVEL": "DEBUG",
            "PUBLIC_URL": "http://127.0.0.1",
        }
        port = free_port()
        serve = Proc(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path, "serve")
        jobs: Proc | None = None
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _up(base), 30, "serve", serve)
            with httpx.Client(timeout=10) as http:
                # Traffic that works: a command, a question (the LLM layer is tried and fails), Home.
                command = signing.slash_command_body(
                    "interests postgres", user_id=emu.user("carol").id, team_id=emu.team.id,
                    channel_id=emu.channel("general").id,
                )  # fmt: skip
                assert signing.post_signed(
                    base + "/slack/events", command, signing_secret, client=http
                ).is_success
                question = emu.user_message_event("help", "dana", "How do I tune autovacuum on Postgres 16?")
                assert signing.post_signed(base + "/slack/events", json.dumps(question), signing_secret,
                                           client=http).is_success  # fmt: skip
                # A forged request, then Slack refusing the bot token for everything that follows.
                assert (
                    signing.post_signed(base + "/slack/events", command, "wrong", client=http).status_code
                    == 401
                )
                emu.wait_for_calls("users.info", 1, timeout=10)
                emu.revoke_token(token, "invalid_auth")
                home = signing.envelope(
                    {"type": "app_home_opened", "user": emu.user("carol").id, "tab": "home"},
                    team_id=emu.team.id, bot_user_id=emu.bot_user.id,
                )  # fmt: skip
                assert signing.post_signed(base + "/slack/events", json.dumps(home), signing_secret,
                                           client=http).is_success  # fmt: skip
                later = emu.user_message_event(
                    "eng", "bob", "Has anyone tried pgbouncer in transaction mode?"
                )
                signing.post_signed(base + "/slack/events", json.dumps(later), signing_secret, client=http)
            jobs = Proc(["jobs", "--role", "sender"], env, tmp_path, "jobs")  # after the token went bad
            wait_until(lambda: _slack_dm_failed(db), 30, "the DM to fail on invalid_auth", jobs)
            wait_until(lambda: _email_refused(db), 30, "the relay to refuse our password", jobs)
            wait_until(lambda: len(emu.calls(ok=False)) >= 2, 15, "serve to meet invalid_auth", serve)
            time.sleep(1.0)
        finally:
            serve.stop()
            if jobs is not None:
                jobs.stop()
    assert jobs is not None
    logs = {p.name: p.log_path.read_text(errors="replace") for p in (serve, jobs)}
    assert any('"level": "debug"' in text for text in logs.values()), "DEBUG logging was not on"
    assert "invalid_auth" in logs["jobs"] and "invalid_auth" in logs["serve"]
    secrets = {"bot token": token, "signing secret": signing_secret, "SMTP password": SMTP_PASSWORD,
               "link key": SECRET_KEY, "OpenAI key": OPENAI_KEY}  # fmt: skip
    leaks = [
        f"{what} in {name}'s log"
        for what, secret in secrets.items()
        for name, text in logs.items()
        if any(v in text for v in _variants(secret))
    ]
    assert leaks == [], leaks
    assert refusing_relay.received == []


def _morning() -> Any:
    import datetime as dt

    return dt.datetime(2024, 6, 3, 9, 30, tzinfo=dt.UTC)


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _slack_dm_failed(db: Database) -> bool:
    with db.session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "slack_dm")).one()
    return row.status == "failed"


def _email_refused(db: Database) -> bool:
    with db.session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email")).one()
    return row.attempts >= 1 and bool(row.last_error)


def test_an_extra_named_like_a_core_field_does_not_replace_it() -> None:
    import logging

    from bot.logs import JsonFormatter

    record = logging.makeLogRecord({"msg": "outbox sent", "levelname": "INFO", "name": "x"})
    record.ts = "1795307311.342159"  # a Slack message ts, as the drain logs it
    record.token = "xoxb-1-secret"
    line = json.loads(JsonFormatter().format(record))
    assert line["ts"] != "1795307311.342159" and line["extra_ts"] == "1795307311.342159"
    assert line["token"] == "[redacted]"
