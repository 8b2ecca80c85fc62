"""Outbound mail: the outbox sender for kind ``email``.

``SMTP_URL`` forms:

- ``smtp://host[:port]`` (port 25 by default): STARTTLS is used whenever the relay offers it; add
  ``?starttls=require`` to refuse a relay that does not, or ``?starttls=never`` for a local relay on
  loopback that offers a certificate nobody can verify.
- ``smtps://host[:port]`` (port 465 by default): TLS from the first byte.
- ``user:password@`` before the host logs in; both parts are URL-decoded (``%40`` for ``@``).
  Credentials are only ever sent over TLS, except to a relay on loopback.
- ``?timeout=SECONDS`` (default 30), ``?cafile=PATH`` for a relay with a private CA.

How failures map onto the outbox (``bot/delivery/senders.py``):

- connection refused, DNS and socket errors, timeouts, TLS failures, a dropped connection, any 4xx:
  ``TransientError`` — the digest stays in the outbox and is tried again with back-off.
- 5xx for the recipient (RCPT) or for the content (DATA): ``PermanentError`` — this relay will never
  take this message, retrying would only repeat the bounce.
- 5xx before any recipient was named (greeting, EHLO, STARTTLS, AUTH, MAIL FROM) and "STARTTLS/AUTH
  not offered": these say our relay configuration is wrong (bad password, sender not allowed), not
  that the message is undeliverable. They are ``TransientError`` with a long ``retry_after``
  (``CONFIG_RETRY_SECONDS``), so fixing the configuration delivers the digest instead of losing it.

Sent once: the Message-ID is derived from the outbox idempotency key, so every try of one outbox row
carries the same Message-ID. SMTP itself has no idempotency, so one window remains: if the connection
breaks after the relay took the message but before its final "250" reached us (or before the drain
recorded the row as sent), the next try sends it again. We flag that case ``maybe_delivered`` and keep
the same Message-ID, which lets mail stores and clients that collapse duplicates by Message-ID show it
once; others will show two copies. Once the relay accepted the DATA, a failure of QUIT is ignored.
"""

from __future__ import annotations

import email.policy
import hashlib
import io
import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from bot.config import Settings
from bot.delivery.senders import ClaimedMessage, PermanentError, SendResult, TransientError
from bot.store.models import utcnow

log = logging.getLogger(__name__)

CONFIG_RETRY_SECONDS = 900.0
DEFAULT_TIMEOUT = 30.0


class SmtpConfigError(ValueError):
    """SMTP_URL cannot be used as written."""


@dataclass(frozen=True)
class SmtpTarget:
    tls: Literal["implicit", "starttls"]
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: Literal["auto", "require", "never"] = "auto"
    timeout: float = DEFAULT_TIMEOUT
    cafile: str | None = None

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpConfigError("SMTP_URL must look like smtp://[user:pass@]host[:port] or smtps://…")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "cafile"}
    if unknown:
        raise SmtpConfigError(f"SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "auto")
    if starttls not in ("auto", "require", "never"):
        raise SmtpConfigError("SMTP_URL: starttls must be auto, require or never")
    if parts.scheme == "smtps" and "starttls" in query:
        raise SmtpConfigError("SMTP_URL: starttls does not apply to smtps:// (TLS from the start)")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        port = parts.port
    except ValueError as exc:
        raise SmtpConfigError(f"SMTP_URL: {exc}") from None
    if timeout <= 0:
        raise SmtpConfigError("SMTP_URL: timeout must be positive")
    return SmtpTarget(
        tls="implicit" if parts.scheme == "smtps" else "starttls",
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        starttls=starttls,  # type: ignore[arg-type]
        timeout=timeout,
        cafile=query.get("cafile"),
    )


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID that is a function of the outbox key: every try of one message carries the same."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}.passiton@{domain}>"


def sender_domain(settings: Settings) -> str:
    address = parseaddr(settings.email_from)[1]
    return address.rpartition("@")[2] or urlsplit(settings.public_url).hostname or "localhost"


def build_message(payload: dict[str, Any], *, settings: Settings, message_id: str) -> EmailMessage:
    """The MIME message for an ``email`` outbox payload: text part, HTML alternative, headers."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = settings.email_from
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    headers = dict(payload.get("headers") or {})
    msg["Message-ID"] = headers.pop("Message-ID", None) or message_id
    # Date is when the message leaves, not when it was queued.
    msg["Date"] = format_datetime(utcnow())
    for name, value in headers.items():
        if name.lower() in ("from", "to", "subject", "date", "message-id", "bcc", "cc"):
            raise PermanentError(f"payload header {name!r} is set by the sender")
        msg[name] = value
    msg.set_content(payload["text"], cte="quoted-printable")
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html", cte="quoted-printable")
    return msg


# Lines may be up to 998 octets (RFC 5322). The stock 78 would fold List-Unsubscribe, whose long URLs
# have no place to break, into RFC 2047 encoded words that no mail client reads as URLs.
_WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


def serialise(msg: EmailMessage, *, utf8: bool = False) -> bytes:
    out = io.BytesIO()
    BytesGenerator(out, policy=_WIRE_POLICY.clone(utf8=utf8)).flatten(msg)
    return out.getvalue()


class SmtpSender:
    """Sends ``email`` outbox messages through the relay in SMTP_URL, one connection per message.

    A connection per message keeps failure handling simple and isolates a broken connection to one
    message; digests are at most one per member per day, so connection reuse would buy little.
    """

    def __init__(self, settings: Settings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if not settings.smtp_url:
            raise SmtpConfigError("SMTP_URL is not set; it is required to send email")
        self.settings = settings
        self.target = parse_smtp_url(settings.smtp_url)
        if self.target.username and self.target.password is None:
            raise SmtpConfigError("SMTP_URL has a user but no password")
        self._ssl_context = ssl_context
        self._envelope_from = parseaddr(settings.email_from)[1]
        if "@" not in self._envelope_from:
            raise SmtpConfigError("EMAIL_FROM must contain an address, e.g. passiton <bot@example.org>")
        # EHLO with our public name; smtplib's default (getfqdn) can stall on a host without DNS.
        self._ehlo_name = urlsplit(settings.public_url).hostname or "localhost"

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        return ssl.create_default_context(cafile=self.target.cafile)

    def send(self, message: ClaimedMessage) -> SendResult:
        payload = message.payload
        try:
            to = _single_recipient(payload["to"])
            msg = build_message(
                payload,
                settings=self.settings,
                message_id=message_id_for(message.idempotency_key, sender_domain(self.settings)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PermanentError(f"malformed email payload: {exc}") from None
        if message.resend:
            log.warning(
                "email %s may already have been delivered; resending with the same Message-ID %s",
                message.idempotency_key,
                msg["Message-ID"],
            )
        self._deliver(msg, to)
        return SendResult(extra={"message_id": str(msg["Message-ID"]), "to": to})

    def _deliver(self, msg: EmailMessage, to: str) -> None:
        t = self.target
        stage = "connect"
        client: smtplib.SMTP | None = None
        try:
            if t.tls == "implicit":
                client = smtplib.SMTP_SSL(
                    t.host, t.port, local_hostname=self._ehlo_name, timeout=t.timeout, context=self._context()
                )
            else:
                client = smtplib.SMTP(t.host, t.port, local_hostname=self._ehlo_name, timeout=t.timeout)
            stage = "ehlo"
            client.ehlo()
            encrypted = t.tls == "implicit"
            if t.tls == "starttls" and t.starttls != "never":
                if client.has_extn("starttls"):
                    stage = "starttls"
                    client.starttls(context=self._context())
                    client.ehlo()
                    encrypted = True
                elif t.starttls == "require":
                    raise _config(f"relay {t.host}:{t.port} does not offer STARTTLS (starttls=require)")
            if t.username is not None:
                if not encrypted and not t.loopback:
                    raise _config("refusing to send SMTP credentials without TLS to a relay off this host")
                stage = "auth"
                client.login(t.username, t.password or "")
            stage = "mail"
            utf8 = not to.isascii()
            options = ["SMTPUTF8"] if utf8 else []
            client.sendmail(self._envelope_from, [to], serialise(msg, utf8=utf8), mail_options=options)
            stage = "sent"
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text, "recipient refused", config=False) from None
        except smtplib.SMTPSenderRefused as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, "sender refused", config=True) from None
        except smtplib.SMTPDataError as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, "message refused", config=False) from None
        except smtplib.SMTPResponseException as exc:  # greeting, EHLO, STARTTLS, AUTH
            raise _by_code(exc.smtp_code, exc.smtp_error, f"relay said no at {stage}", config=True) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _config(f"relay does not support what SMTP_URL asks for at {stage}: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # ssl.SSLError, socket.timeout and ConnectionRefusedError are OSErrors. A break while the
            # message was being transferred may have left it with the relay.
            raise TransientError(
                f"SMTP {stage} failed: {type(exc).__name__}: {exc}".strip(),
                maybe_delivered=stage == "mail",
            ) from None
        finally:
            if client is not None:
                _quit_quietly(client)


def _single_recipient(value: str) -> str:
    addresses = [a for _, a in getaddresses([value]) if a]
    if len(addresses) != 1 or "@" not in addresses[0]:
        raise ValueError(f"expected one recipient address, got {value!r}")
    Address(addr_spec=addresses[0])  # raises on a malformed address
    return addresses[0]


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _by_code(code: int, raw: bytes | str, what: str, *, config: bool) -> Exception:
    reason = f"{what}: {code} {_text(raw)}"
    if 400 <= code < 500:
        return TransientError(reason)
    if config:
        return TransientError(reason + " (check SMTP_URL and EMAIL_FROM)", retry_after=CONFIG_RETRY_SECONDS)
    if 500 <= code < 600:
        return PermanentError(reason)
    return TransientError(reason)  # a code outside 4xx/5xx where a reply was expected


def _config(reason: str) -> TransientError:
    return TransientError(reason, retry_after=CONFIG_RETRY_SECONDS)


def _quit_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
