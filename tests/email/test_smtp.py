"""The SMTP sender against real relays on loopback: headers, parts, TLS, auth, and every failure mode."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.delivery.senders import ClaimedMessage, PermanentError, TransientError
from bot.email.render import Digest, DigestEntry, render_digest
from bot.email.smtp import CONFIG_RETRY_SECONDS, SmtpConfigError, SmtpSender, message_id_for, parse_smtp_url

from .conftest import Cert, Relay, free_port, make_settings

# The auth relay offers AUTH without TLS on purpose (loopback); aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

KEY = "email-digest:7:d2024-06-03"


def digest_payload(
    title: str = "Postgres vacuum tuning", url: str = "https://example.org/vacuum"
) -> dict[str, Any]:
    digest = Digest(
        to="Ann Example <ann@example.org>",
        member_name="Ann <the admin>",
        period="daily",
        entries=[
            DigestEntry(
                kind="share",
                title=title,
                url=url,
                reason="Bob said he cares about databases & isn't in #eng.",
                act_link="https://passiton.test/email/action?token=share1",
                not_my_area_link="https://passiton.test/email/action?token=nma1",
                target_name="Bob",
            ),
            DigestEntry(
                kind="help",
                title="How do I tune autovacuum?",
                url="https://slack.test/archives/C1/p2",
                reason="You listed Postgres as something you can help with.",
                act_link="https://passiton.test/email/action?token=share2",
                not_my_area_link="https://passiton.test/email/action?token=nma2",
            ),
        ],
        unsubscribe_link="https://passiton.test/email/unsubscribe?token=unsub",
        unsubscribe_mailto="mailto:share@passiton.test?subject=unsubscribe%20unsub",
    )
    return render_digest(digest, message_id=message_id_for(KEY, "passiton.test"))


def claimed(payload: dict[str, Any], key: str = KEY, resend: bool = False) -> ClaimedMessage:
    return ClaimedMessage(
        id=1, workspace_id=1, team_id="T1", idempotency_key=key, kind="email", payload=payload, resend=resend
    )


def sender(url: str, cert: Cert | None = None) -> SmtpSender:
    return SmtpSender(make_settings(smtp_url=url), ssl_context=cert.client_context() if cert else None)


def test_digest_arrives_with_the_headers_rfc8058_asks_for(relay: Relay) -> None:
    result = sender(f"smtp://127.0.0.1:{relay.port}").send(claimed(digest_payload()))

    [got] = relay.received
    assert got.rcpt_tos == ["ann@example.org"]
    assert got.mail_from == "bot@passiton.test"
    msg = got.message
    assert msg["Message-ID"] == message_id_for(KEY, "passiton.test") == result.extra["message_id"]
    assert msg["From"] == "passiton <bot@passiton.test>"
    sent_at = email.utils.parsedate_to_datetime(msg["Date"])
    assert abs(sent_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"] == (
        "<https://passiton.test/email/unsubscribe?token=unsub>, "
        "<mailto:share@passiton.test?subject=unsubscribe%20unsub>"
    )
    # Unfolded on the wire: a folded or encoded List-Unsubscribe is unreadable to mail providers.
    assert b"List-Unsubscribe: <https://passiton.test/email/unsubscribe?token=unsub>, <mailto:" in got.data
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "passiton: Postgres vacuum tuning, and more"
    assert msg.get_content_type() == "multipart/alternative"
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "Why you: Bob said he cares about databases & isn't in #eng." in text
    assert "I'll share it: https://passiton.test/email/action?token=share1" in text
    assert "I'll take a look: https://passiton.test/email/action?token=share2" in text
    assert "Pass it on to Bob" in text
    assert "Hi Ann <the admin>," in text
    assert "Hi Ann &lt;the admin&gt;," in html
    assert "databases &amp; isn&#39;t in #eng." in html
    assert '<a href="https://passiton.test/email/unsubscribe?token=unsub">' in html
    assert '<a href="https://example.org/vacuum">Postgres vacuum tuning</a>' in html


def test_user_text_is_escaped_and_only_http_links_become_hrefs(relay: Relay) -> None:
    payload = digest_payload(title='<script>alert("x")</script> <b>bold</b>', url="javascript:alert(1)")
    sender(f"smtp://127.0.0.1:{relay.port}").send(claimed(payload))
    html_part = relay.received[0].message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "javascript:" not in html


def test_no_scores_or_counts_in_the_digest(relay: Relay) -> None:
    sender(f"smtp://127.0.0.1:{relay.port}").send(claimed(digest_payload()))
    msg = relay.received[0].message
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    for word in ("score", "points", "streak", "karma", "rank"):
        assert word not in body.get_content().lower()
        assert word not in str(msg["Subject"]).lower()


def test_starttls_and_login_with_url_encoded_credentials(starttls_relay: Relay, self_signed: Cert) -> None:
    url = f"smtp://bob%40x.test:p%40ss%3Aw%2Frd@localhost:{starttls_relay.port}?starttls=require"
    sender(url, self_signed).send(claimed(digest_payload()))
    [got] = starttls_relay.received
    assert got.tls is True
    assert got.login == "bob@x.test"


def test_cafile_option_trusts_a_private_ca(starttls_relay: Relay, self_signed: Cert) -> None:
    sender(f"smtp://127.0.0.1:{starttls_relay.port}?cafile={self_signed.cert}").send(
        claimed(digest_payload())
    )
    assert starttls_relay.received[0].tls is True


def test_untrusted_certificate_is_transient_and_sends_nothing(starttls_relay: Relay) -> None:
    with pytest.raises(TransientError) as info:
        sender(f"smtp://127.0.0.1:{starttls_relay.port}").send(claimed(digest_payload()))
    assert "starttls" in info.value.reason.lower()
    assert starttls_relay.received == []


def test_wrong_password_keeps_the_message_for_a_later_try(starttls_relay: Relay, self_signed: Cert) -> None:
    url = f"smtp://bob%40x.test:wrong@127.0.0.1:{starttls_relay.port}"
    with pytest.raises(TransientError) as info:
        sender(url, self_signed).send(claimed(digest_payload()))
    assert info.value.retry_after == CONFIG_RETRY_SECONDS
    assert "535" in info.value.reason


def test_smtps(smtps_relay: Relay, self_signed: Cert) -> None:
    sender(f"smtps://127.0.0.1:{smtps_relay.port}", self_signed).send(claimed(digest_payload()))
    assert smtps_relay.received[0].tls is True


def test_auth_on_a_loopback_relay_without_tls(auth_relay: Relay) -> None:
    sender(f"smtp://bob:s3cret%20word@127.0.0.1:{auth_relay.port}").send(claimed(digest_payload()))
    assert auth_relay.received[0].login == "bob"
    assert auth_relay.received[0].tls is False


def test_relay_requiring_auth_without_credentials_is_a_config_problem(auth_relay: Relay) -> None:
    with pytest.raises(TransientError) as info:
        sender(f"smtp://127.0.0.1:{auth_relay.port}").send(claimed(digest_payload()))
    assert info.value.retry_after == CONFIG_RETRY_SECONDS
    assert auth_relay.received == []


def test_starttls_required_but_not_offered(relay: Relay) -> None:
    with pytest.raises(TransientError) as info:
        sender(f"smtp://127.0.0.1:{relay.port}?starttls=require").send(claimed(digest_payload()))
    assert "STARTTLS" in info.value.reason
    assert relay.received == []


def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientError) as info:
        sender(f"smtp://127.0.0.1:{free_port()}").send(claimed(digest_payload()))
    assert info.value.maybe_delivered is False
    assert "connect" in info.value.reason


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (a relay that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_timeout_is_transient(silent_server: int) -> None:
    with pytest.raises(TransientError) as info:
        sender(f"smtp://127.0.0.1:{silent_server}?timeout=0.3").send(claimed(digest_payload()))
    assert "timed out" in info.value.reason


@pytest.mark.parametrize(
    ("stage", "reply", "error", "config"),
    [
        ("rcpt_reply", "450 4.2.1 Mailbox busy, try later", TransientError, False),
        ("rcpt_reply", "550 5.1.1 No such user", PermanentError, False),
        ("data_reply", "451 4.3.0 Local error, try later", TransientError, False),
        ("data_reply", "554 5.7.1 Message rejected as spam", PermanentError, False),
        ("mail_reply", "421 4.7.0 Too many connections", TransientError, False),
        ("mail_reply", "553 5.7.1 Sender address not allowed", TransientError, True),
    ],
)
def test_relay_replies_map_to_retry_or_give_up(
    relay: Relay, stage: str, reply: str, error: type[Exception], config: bool
) -> None:
    setattr(relay, stage, reply)
    with pytest.raises(error) as info:
        sender(f"smtp://127.0.0.1:{relay.port}").send(claimed(digest_payload()))
    assert reply.split()[0] in str(info.value)
    if isinstance(info.value, TransientError):
        assert info.value.retry_after == (CONFIG_RETRY_SECONDS if config else None)
    assert relay.received == []


def test_every_try_of_one_outbox_row_has_the_same_message_id(relay: Relay) -> None:
    s = sender(f"smtp://127.0.0.1:{relay.port}")
    payload = digest_payload()
    del payload["headers"]["Message-ID"]  # the sender derives it from the key when the payload lacks it
    s.send(claimed(payload))
    s.send(claimed(payload, resend=True))
    s.send(claimed(payload, key="email-digest:7:d2024-06-04"))
    ids = [r.message["Message-ID"] for r in relay.received]
    assert ids[0] == ids[1] == message_id_for(KEY, "passiton.test")
    assert ids[2] != ids[0]


@pytest.mark.parametrize(
    "payload",
    [
        {"subject": "s", "text": "t", "html": "", "headers": {}},
        {"to": "a@x.test, b@x.test", "subject": "s", "text": "t", "headers": {}},
        {"to": "a@x.test", "subject": "line\nBcc: victim@x.test", "text": "t", "headers": {}},
        {"to": "a@x.test", "subject": "s", "text": "t", "headers": {"Bcc": "victim@x.test"}},
    ],
)
def test_malformed_payload_is_permanent_and_sends_nothing(relay: Relay, payload: dict[str, Any]) -> None:
    with pytest.raises(PermanentError):
        sender(f"smtp://127.0.0.1:{relay.port}").send(claimed(payload))
    assert relay.received == []


def test_smtp_url_parsing() -> None:
    t = parse_smtp_url("smtps://u%40x:p%2Fw@mail.example.org")
    assert (t.tls, t.host, t.port, t.username, t.password) == (
        "implicit",
        "mail.example.org",
        465,
        "u@x",
        "p/w",
    )
    assert not t.loopback
    t = parse_smtp_url("smtp://[::1]:2525?starttls=never&timeout=5")
    assert (t.host, t.port, t.starttls, t.timeout, t.loopback) == ("::1", 2525, "never", 5.0, True)
    assert parse_smtp_url("smtp://relay").port == 25
    for bad in (
        "smtp://relay?starttls=maybe",
        "smtps://relay?starttls=require",
        "smtp://relay?foo=1",
        "smtp://",
    ):
        with pytest.raises(SmtpConfigError):
            parse_smtp_url(bad)
    with pytest.raises(SmtpConfigError):
        SmtpSender(make_settings(smtp_url=None))
