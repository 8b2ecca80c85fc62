"""Real SMTP servers on loopback (aiosmtpd), a self-signed certificate, and store builders."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.config import Settings
from bot.store.models import Item, Member, Nudge, Workspace

SECRET = "test-secret-key-for-email-links"
TRUSTED_MTA = "mx.passiton.test"  # the authserv-id of the MTA the tests play


def authenticated_by_mx(domain: str, *, dmarc: str = "pass") -> str:
    """The Authentication-Results header value our MTA writes for a sender in `domain`."""
    return (
        f"{TRUSTED_MTA}; dkim=pass header.d={domain} header.s=s1; "
        f"spf=pass smtp.mailfrom={domain}; dmarc={dmarc} (p=none) header.from={domain}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:///./unused.db",
        "email_from": "passiton <bot@passiton.test>",
        "public_url": "https://passiton.test",
        "passiton_secret_key": SECRET,
        "passiton_inbound_address": "share@passiton.test",
        "passiton_trusted_mta": TRUSTED_MTA,
        "passiton_morning_hour": 9,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Relay:
    """A recording SMTP relay whose replies a test can turn into failures."""

    port: int
    received: list[Received] = field(default_factory=list)
    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                bytes(envelope.original_content),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 2.0.0 Message accepted"


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A certificate for localhost/127.0.0.1 made with the openssl CLI (no extra Python package)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Cert(cert, key)


def _start(relay: Relay, **kwargs: Any) -> Controller:
    controller = Controller(relay, hostname="127.0.0.1", port=relay.port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A plain relay (no TLS offered, no auth)."""
    r = Relay(free_port())
    controller = _start(r)
    yield r
    controller.stop()


@pytest.fixture
def starttls_relay(self_signed: Cert) -> Iterator[Relay]:
    """A relay that offers STARTTLS and requires it before MAIL, with AUTH after TLS (user bob)."""
    r = Relay(free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"bob@x.test" and data.password == b"p@ss:w/rd"
        return AuthResult(success=ok, handled=False, auth_data=data)

    controller = _start(
        r,
        tls_context=self_signed.server_context(),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=False,
    )
    yield r
    controller.stop()


@pytest.fixture
def smtps_relay(self_signed: Cert) -> Iterator[Relay]:
    """A relay speaking TLS from the first byte (smtps)."""
    r = Relay(free_port())
    controller = _start(r, ssl_context=self_signed.server_context())
    yield r
    controller.stop()


@pytest.fixture
def auth_relay() -> Iterator[Relay]:
    """A loopback relay that requires AUTH (offered without TLS, as some local relays do)."""
    r = Relay(free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"bob" and data.password == b"s3cret word"
        return AuthResult(success=ok, handled=False, auth_data=data)

    controller = _start(r, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    yield r
    controller.stop()


# --- store builders ---------------------------------------------------------------------------------


def add_workspace(session: Any, team_id: str = "T1") -> Workspace:
    ws = Workspace(team_id=team_id, name=team_id)
    session.add(ws)
    session.flush()
    return ws


def add_member(session: Any, ws: Workspace, email_addr: str | None, **fields: Any) -> Member:
    values: dict[str, Any] = {"display_name": email_addr.split("@")[0] if email_addr else "someone"}
    values.update({"opted_in": True, "delivery": "email", "tz": "UTC"})
    values.update(fields)
    m = Member(workspace_id=ws.id, email=email_addr, **values)
    session.add(m)
    session.flush()
    return m


def add_nudge(
    session: Any,
    ws: Workspace,
    recipient: Member,
    *,
    title: str = "Postgres vacuum tuning",
    url: str | None = "https://example.org/vacuum",
    kind: str = "share",
    target: Member | None = None,
    reason: str = "Bob said he cares about databases.",
    at: dt.datetime | None = None,
    status: str = "queued",
    channel: str = "email",
) -> Nudge:
    at = at or dt.datetime(2024, 6, 3, 6, 0, tzinfo=dt.UTC)
    item = Item(
        workspace_id=ws.id,
        source_key=f"C1:{title}:{at.timestamp()}:{recipient.id}",
        kind="article" if kind == "share" else "question",
        url=url,
        title=title,
        text=title,
        permalink="https://slack.test/archives/C1/p1",
        posted_at=at,
    )
    session.add(item)
    session.flush()
    nudge = Nudge(
        workspace_id=ws.id,
        dedupe_key=f"{kind}:{item.id}:{recipient.id}",
        kind=kind,
        recipient_id=recipient.id,
        item_id=item.id,
        target_id=target.id if target else None,
        reason=reason,
        status=status,
        channel=channel,
        send_after=at,
        created_at=at,
    )
    session.add(nudge)
    session.flush()
    return nudge
