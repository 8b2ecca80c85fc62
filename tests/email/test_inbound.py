"""Share by email: smtplib -> the inbound handler in a real aiosmtpd server -> an item, on both engines.

Plus one run of the real `passiton smtpd` command as a subprocess.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.config import Settings
from bot.email import tokens
from bot.email.inbound import InboundHandler
from bot.store.db import Database
from bot.store.models import Item, Member

from .conftest import (
    SECRET,
    TRUSTED_MTA,
    Cert,
    add_member,
    add_workspace,
    authenticated_by_mx,
    free_port,
    make_settings,
)

INBOUND = "share@passiton.test"
MAX_BYTES = 20_000


@pytest.fixture
def inbound(db: Database) -> Iterator[tuple[int, Settings]]:
    settings = make_settings(passiton_max_email_bytes=MAX_BYTES)
    port = free_port()
    controller = Controller(
        InboundHandler(db, settings),
        hostname="127.0.0.1",
        port=port,
        data_size_limit=MAX_BYTES,
        server_hostname="passiton.test",
    )
    controller.start()
    yield port, settings
    controller.stop()


@pytest.fixture
def ann(db: Database) -> int:
    with db.session() as s:
        ws = add_workspace(s)
        return add_member(s, ws, "ann@example.org", display_name="Ann").id


def share(
    subject: str = "Postgres vacuum tuning",
    body: str = "Thought you'd like this: https://example.org/vacuum",
    sender: str = "Ann <Ann@Example.org>",
    message_id: str | None = "<share-1@example.org>",
    auth: list[str] | None = None,
) -> EmailMessage:
    """A share as our MTA hands it on: by default with its Authentication-Results for the From domain."""
    msg = EmailMessage()
    domain = sender.rpartition("@")[2].rstrip(">").lower()
    for value in [authenticated_by_mx(domain)] if auth is None else auth:
        msg["Authentication-Results"] = value
    msg["From"] = sender
    msg["To"] = INBOUND
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def send(port: int, msg: EmailMessage, *, mail_from: str = "ann@example.org", to: str = INBOUND) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as client:
        client.send_message(msg, from_addr=mail_from, to_addrs=[to])


def items(db: Database) -> list[Item]:
    with db.session() as s:
        return list(s.scalars(select(Item).order_by(Item.id)))


def test_a_members_mail_with_a_link_becomes_their_article(
    db: Database, inbound: tuple[int, Settings], ann: int
) -> None:
    port, _ = inbound
    send(port, share())
    [item] = items(db)
    assert (item.kind, item.source, item.source_key) == ("article", "email", "email:share-1@example.org")
    assert item.author_id == ann
    assert item.url == "https://example.org/vacuum"
    assert item.title == "Postgres vacuum tuning"
    assert item.description == "Thought you'd like this: https://example.org/vacuum"
    assert item.is_private is False
    assert abs(item.posted_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)

    send(port, share())  # the same message delivered again (a retrying MTA, a second forward)
    assert len(items(db)) == 1


def test_the_smtp_reply_says_what_happened(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.mail("ann@example.org")[0] == 250
        assert client.rcpt(INBOUND)[0] == 250
        code, text = client.data(wire(share()))
    assert code == 250 and b"shared: Postgres vacuum tuning" in text


def _refused_after_data(port: int, msg: EmailMessage, mail_from: str = "ann@example.org") -> bytes:
    """The whole dialogue: MAIL FROM and RCPT are accepted, DATA gets the one refusal."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as client:
        client.ehlo()
        assert client.mail(mail_from)[0] == 250
        assert client.rcpt(INBOUND)[0] == 250
        code, text = client.data(wire(msg))
    assert code == 550, text
    return text


def test_unknown_sender_gets_the_same_answers_as_a_member_until_data(
    db: Database, inbound: tuple[int, Settings], ann: int, caplog: pytest.LogCaptureFixture
) -> None:
    """MAIL FROM no longer tells who is a member: a stranger and a member get the same replies."""
    port, _ = inbound
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as client:
        client.ehlo()
        member = client.mail("ann@example.org")
        client.rset()
        stranger = client.mail("eve@evil.test")
        client.rset()
        nobody = client.mail("nobody@example.org")
    assert member == stranger == nobody == (250, b"OK")
    # Authenticated for its own domain, but not a member: the same refusal as a forgery.
    text = _refused_after_data(port, share(sender="eve@evil.test"), mail_from="eve@evil.test")
    assert text == _refused_after_data(port, share(auth=[]))
    assert b"eve@evil.test" not in text
    assert "not a member" in caplog.text and "not authenticated" in caplog.text  # the log says which
    assert items(db) == []


def test_known_envelope_but_unknown_from_header_is_refused(
    db: Database, inbound: tuple[int, Settings], ann: int
) -> None:
    port, _ = inbound
    with pytest.raises(smtplib.SMTPDataError) as info:
        send(port, share(sender="Eve <eve@evil.test>"))
    assert info.value.smtp_code == 550 and b"eve@evil.test" not in info.value.smtp_error
    assert items(db) == []


FORGERIES = {
    "no Authentication-Results": [],
    "another MTA's header": ["mx.evil.test; dmarc=pass header.from=example.org"],
    "a look-alike authserv-id": [f"{TRUSTED_MTA}.evil.test; dmarc=pass header.from=example.org"],
    "dmarc=fail": [authenticated_by_mx("example.org", dmarc="fail").replace("dkim=pass", "dkim=fail")],
    "dmarc=pass for another domain": [f"{TRUSTED_MTA}; dmarc=pass header.from=evil.test"],
    "dkim=pass only": [f"{TRUSTED_MTA}; dkim=pass header.d=example.org; spf=fail smtp.mailfrom=example.org"],
    "dkim and spf for another domain": [
        f"{TRUSTED_MTA}; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=eve@evil.test"
    ],
    "pass hidden in a comment": [f"{TRUSTED_MTA}; dmarc=fail (dmarc=pass header.from=example.org)"],
    "our MTA says none": [f"{TRUSTED_MTA}; none"],
    # Headers are prepended on the way: the topmost trusted one is our MTA's; a pass below it was
    # written by the sender (our MTA should have removed it; it does not count either way).
    "a forged pass under our MTA's fail": [
        f"{TRUSTED_MTA}; dmarc=fail header.from=example.org",
        authenticated_by_mx("example.org"),
    ],
    "unreadable": ["(((" + ";" * 50],
}


@pytest.mark.parametrize("auth", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_from_our_mta_does_not_vouch_for_is_refused(
    db: Database, inbound: tuple[int, Settings], ann: int, auth: list[str]
) -> None:
    port, _ = inbound
    text = _refused_after_data(port, share(sender="Ann <ann@example.org>", auth=auth))
    assert text.startswith(b"5.7.1 Not accepted")
    assert items(db) == []


VOUCHED = {
    "dmarc=pass": [f"{TRUSTED_MTA} 1; dmarc=pass (p=reject dis=none) header.from=example.org"],
    "aligned dkim and spf": [
        f"{TRUSTED_MTA}; dkim=pass (2048-bit key) header.d=mail.example.org header.i=@mail.example.org; "
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=bounces@example.org; dmarc=none"
    ],
    "upper case": ["MX.Passiton.TEST; DMARC=Pass header.from=Example.ORG"],
}


@pytest.mark.parametrize("auth", VOUCHED.values(), ids=VOUCHED.keys())
def test_a_from_our_mta_vouches_for_is_taken(
    db: Database, inbound: tuple[int, Settings], ann: int, auth: list[str]
) -> None:
    port, _ = inbound
    send(port, share(auth=auth))
    [item] = items(db)
    assert item.author_id == ann


def test_two_from_addresses_are_refused(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    msg = share()
    msg.replace_header("From", "ann@example.org, eve@evil.test")
    _refused_after_data(port, msg)
    assert items(db) == []


def test_smtpd_without_a_trusted_mta_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSITON_", "SMTP_", "DATABASE_"))}
    env.update(PASSITON_INBOUND_ADDRESS=INBOUND, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "smtpd", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "PASSITON_TRUSTED_MTA" in out.stderr and out.stderr.count("\n") == 1


def test_other_recipients_are_refused(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        send(port, share(), to="postmaster@passiton.test")
    [(code, text)] = info.value.recipients.values()
    assert code == 550 and b"share@passiton.test" in text


def test_oversize_is_refused_whether_declared_or_not(
    db: Database, inbound: tuple[int, Settings], ann: int
) -> None:
    port, _ = inbound
    big = share(body="https://example.org/big\n" + "x" * 70 + ("\n" + "y" * 70) * 400)
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:  # smtplib sends SIZE= when offered
        send(port, big)
    assert declared.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:  # a client that does not declare it
        client.helo("old.client.test")
        client.mail("ann@example.org")
        client.rcpt(INBOUND)
        code, text = client.data(wire(big))
    assert code == 552, text
    assert items(db) == []


def test_no_link_is_refused_with_a_reason(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    with pytest.raises(smtplib.SMTPDataError) as info:
        send(port, share(body="Just saying hi, no link here."))
    assert info.value.smtp_code == 550 and b"No link found" in info.value.smtp_error


def test_forwarded_newsletter_html_only(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    inner = EmailMessage()
    inner["From"] = "news@db.example.com"
    inner["Subject"] = "Vacuum deep dive"
    inner.set_content('<p>This week: <a href="https://db.example.com/deep-dive">read</a></p>', subtype="html")
    outer = share(
        subject="Fwd: Vacuum deep dive", body="For the infra folks", message_id="<fwd-2@example.org>"
    )
    outer.add_attachment(inner)
    send(port, outer)
    [item] = items(db)
    assert item.url == "https://db.example.com/deep-dive"
    assert item.title == "Vacuum deep dive"
    assert item.description == "For the infra folks"


def test_members_of_several_workspaces_choose_with_plus_addressing(
    db: Database, inbound: tuple[int, Settings], ann: int
) -> None:
    port, _ = inbound
    with db.session() as s:
        ws2 = add_workspace(s, "T2")
        other = add_member(s, ws2, "ann@example.org").id
    with pytest.raises(smtplib.SMTPDataError) as info:
        send(port, share())
    assert b"share+TEAMID@passiton.test" in info.value.smtp_error
    send(port, share(), to="share+t2@passiton.test")
    [item] = items(db)
    assert item.author_id == other


def test_mailto_unsubscribe(db: Database, inbound: tuple[int, Settings], ann: int) -> None:
    port, _ = inbound
    with db.session() as s:
        member = s.get(Member, ann)
        assert member is not None
        token = tokens.sign(
            SECRET,
            workspace_id=member.workspace_id,
            member_id=ann,
            action="unsubscribe",
            now=dt.datetime.now(dt.UTC),
        )
    with pytest.raises(smtplib.SMTPDataError):
        send(port, share(subject="unsubscribe v1.forged.token", body=""))
    with db.session() as s:
        assert s.get(Member, ann).delivery == "email"  # type: ignore[union-attr]
    send(port, share(subject=f"unsubscribe {token}", body="", message_id=None))
    with db.session() as s:
        assert s.get(Member, ann).delivery == "off"  # type: ignore[union-attr]
    assert items(db) == []


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("passiton smtpd did not start listening")


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_the_real_passiton_smtpd_command(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path, self_signed: Cert, tls: bool
) -> None:
    with sqlite_db.session() as s:
        ws = add_workspace(s)
        ann_id = add_member(s, ws, "ann@example.org").id
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSITON_", "SMTP_", "DATABASE_"))}
    env.update(
        DATABASE_URL=sqlite_url,
        PASSITON_INBOUND_ADDRESS=INBOUND,
        PASSITON_TRUSTED_MTA=TRUSTED_MTA,
        PASSITON_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "smtpd", "--host", "127.0.0.1", "--port", str(port)]
        + (["--tls-cert", str(self_signed.cert), "--tls-key", str(self_signed.key)] if tls else []),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, proc)
        if tls:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.starttls(context=self_signed.client_context())
                client.send_message(share(message_id="<cli-1@example.org>"))
        else:
            send(port, share(message_id="<cli-1@example.org>"))
        with pytest.raises(smtplib.SMTPDataError):
            send(port, share(sender="eve@evil.test"), mail_from="eve@evil.test")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr.decode()
    assert b"not a member" in stderr  # the refusal is logged
    [item] = items(sqlite_db)
    assert item.source_key == "email:cli-1@example.org" and item.author_id == ann_id
