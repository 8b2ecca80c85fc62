"""Share by email: an SMTP server (aiosmtpd) that turns a member's mail with a link into an item.

It sits behind the domain's MTA, which checks SPF, DKIM and DMARC and says so in an
Authentication-Results header (bot.email.authres; deploy/README.md has the MTA setup). SMTP itself
authenticates nothing, so the From header counts only when that header, from the authserv-id in
PASSITON_TRUSTED_MTA, vouches for its domain.

Refusals happen at SMTP level, so the sender's own mail server tells them (a bounce) and nothing
is half-accepted:

- MAIL FROM: always 250. Who is a member is not told to whoever connects (it used to be: a 550 for
  non-members made the server an address book to probe).
- RCPT to anything but PASSITON_INBOUND_ADDRESS (or its ``+team`` form): 550 5.1.1.
- After DATA, one and the same 550 5.7.1 (``REFUSED``) whether the From is not vouched for by the
  trusted MTA, is not one address, or is no member's email in an active workspace; the log line says
  which. Only a sender who passed DMARC (or aligned DKIM and SPF) for that address, i.e. its owner,
  can tell a member from a non-member.
- A message over PASSITON_MAX_EMAIL_BYTES: 552 (declared SIZE at MAIL, or counted during DATA).
- No http(s) link in it: 550 5.6.0 with a sentence saying what we expected.
- Our own trouble (database down): 451 4.3.0, so the sending server retries later; nothing is lost.

The item is an ``article`` with source ``email`` and source key ``email:<Message-ID>``: a re-delivery
of the same message creates nothing new. The share planner picks up recent articles, including
these (the member who sent it is the one who "saw" it, so they get the suggestion of whom to pass
it to).

A message whose subject is ``unsubscribe <token>`` is the mailto form of List-Unsubscribe: a valid
token unsubscribes its member. The signed token is the proof there, so it needs no authenticated From
(mail clients send these from whatever account they have).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.email import actions, authres, tokens
from bot.email.mime import ParsedMail, parse_mail
from bot.email.render import one_line
from bot.store.db import Database
from bot.store.models import Item, Member, Workspace, utcnow

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 300
# The one answer for every From we do not take: unauthenticated, not one address, or not a member.
REFUSED = (
    "550 5.7.1 Not accepted: passiton takes shares from a member's registered address, sent "
    "through a mail server that signs it (DKIM) or may send for its domain (SPF)"
)


def trusted_mtas(value: str | None) -> list[str]:
    """The authserv-ids in PASSITON_TRUSTED_MTA (comma-separated)."""
    return [v.strip().lower() for v in (value or "").split(",") if v.strip()]


@dataclass(frozen=True)
class Inbound:
    local: str
    domain: str

    @classmethod
    def parse(cls, address: str) -> Inbound:
        local, _, domain = address.strip().lower().rpartition("@")
        if not local or not domain:
            raise ValueError(f"PASSITON_INBOUND_ADDRESS must be an address, got {address!r}")
        return cls(local, domain)

    def _split(self, recipient: str) -> tuple[str, str] | None:
        local, _, domain = recipient.strip().rpartition("@")
        base, _, tag = local.partition("+")
        if domain.lower() != self.domain or base.lower() != self.local:
            return None
        return base, tag

    def accepts(self, recipient: str) -> bool:
        return self._split(recipient) is not None

    def team_of(self, recipient: str) -> str | None:
        """The team id chosen with ``local+TEAM@domain``, or None for the plain address."""
        parts = self._split(recipient)
        return parts[1].upper() if parts and parts[1] else None


def source_key(mail: ParsedMail) -> str:
    key = f"email:{mail.message_id}" if mail.message_id else f"email:sha256:{mail.digest}"
    if len(key) > MAX_KEY_CHARS:
        key = "email:sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


class InboundHandler:
    """aiosmtpd handler. Database work runs in a thread so one slow query does not stall the server."""

    def __init__(
        self, db: Database, settings: Settings, *, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        if not settings.passiton_inbound_address:
            raise ValueError("PASSITON_INBOUND_ADDRESS is not set; it names the address shares go to")
        self.db = db
        self.settings = settings
        self.inbound = Inbound.parse(settings.passiton_inbound_address)
        self.trusted = trusted_mtas(settings.passiton_trusted_mta)
        if not self.trusted:
            raise ValueError(
                "PASSITON_TRUSTED_MTA is not set; it names the MTA whose Authentication-Results "
                "header vouches for a sender"
            )
        self.clock = clock
        self._own_host = (urlsplit(settings.public_url).hostname or "").lower()

    # -- SMTP hooks ------------------------------------------------------------------------------

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # No lookup here: the same answer for members and strangers (see the module docstring).
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.inbound.accepts(address):
            log.warning("inbound: refused recipient %r", address)
            return f"550 5.1.1 <{address}>: no such mailbox here; send shares to {self.settings.passiton_inbound_address}"
        if envelope.rcpt_tos:
            return "452 4.5.3 One recipient per message, please"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or b"")
        if len(data) > self.settings.passiton_max_email_bytes:  # belt and braces: the server counts too
            return "552 5.3.4 Message too big"
        try:
            reply: str = await _in_thread(self.accept, envelope.mail_from, envelope.rcpt_tos[0], data)
            return reply
        except Exception:
            log.exception("inbound: could not store a share")
            return "451 4.3.0 Temporary failure, please try again later"

    # -- the work --------------------------------------------------------------------------------

    def accept(self, mail_from: str, recipient: str, data: bytes) -> str:
        mail = parse_mail(data)
        if mail.subject.lower().startswith("unsubscribe "):
            with self.db.session() as session:
                return self._unsubscribe(session, mail)
        headers = BytesHeaderParser(policy=compat32).parsebytes(data)
        senders = [a for _, a in getaddresses([str(v) for v in headers.get_all("From", [])]) if a]
        if len(senders) != 1:
            log.warning("inbound: refused: %d From addresses (envelope %r)", len(senders), mail_from)
            return REFUSED
        sender = senders[0].strip().lower()
        results = [str(v) for v in headers.get_all("Authentication-Results", [])]
        verdict = authres.verify(results, self.trusted, sender)
        if not verdict.ok:
            log.warning("inbound: refused From %r, not authenticated: %s", sender, verdict.reason)
            return REFUSED
        team = self.inbound.team_of(recipient)
        with self.db.session() as session:
            known = _members(session, sender)
            if not known:
                log.warning("inbound: refused From %r (%s): not a member", sender, verdict.reason)
                return REFUSED
            if team is not None:
                members = [m for m, ws in known if ws.team_id.upper() == team]
            else:
                members = [m for m, _ in known]
            if not members:
                return f"550 5.1.1 <{recipient}>: you are not a member of that workspace"
            if len(members) > 1:
                return (
                    f"550 5.1.1 You are a member of several workspaces; send to "
                    f"{self.inbound.local}+TEAMID@{self.inbound.domain} to choose one"
                )
            return self._share(session, members[0], mail)

    def _share(self, session: Session, member: Member, mail: ParsedMail) -> str:
        links = [link for link in mail.links if (urlsplit(link).hostname or "").lower() != self._own_host]
        primary = next((link for link in mail.note_links if link in links), None) or next(
            (link for link in links if "unsubscribe" not in link.lower()), None
        )
        if primary is None:
            return "550 5.6.0 No link found: passiton shares messages that contain a link (http or https)"
        key = source_key(mail)
        exists = select(Item.id).where(Item.workspace_id == member.workspace_id, Item.source_key == key)
        if session.scalars(exists).first() is not None:
            return "250 2.0.0 Already shared, thanks"
        item = Item(
            workspace_id=member.workspace_id,
            source_key=key,
            source="email",
            kind="article",
            author_id=member.id,
            url=primary,
            title=one_line(mail.title, 300),
            description=mail.note,
            text=mail.text,
            is_private=False,
            posted_at=self.clock(),
        )
        try:
            with session.begin_nested():
                session.add(item)
        except IntegrityError:  # the same message delivered twice at once
            return "250 2.0.0 Already shared, thanks"
        log.info("inbound: member %s shared %s as item %s", member.id, primary, item.id)
        return f"250 2.0.0 Thanks, shared: {one_line(item.title or primary, 80)}"

    def _unsubscribe(self, session: Session, mail: ParsedMail) -> str:
        secret = self.settings.secret("passiton_secret_key") or ""
        token = mail.subject.split(None, 1)[1].strip() if " " in mail.subject else ""
        try:
            claims = tokens.verify(secret, token, now=self.clock())
            if claims.action != "unsubscribe":
                raise tokens.BadToken("not an unsubscribe token")
            actions.unsubscribe(session, claims, self.clock())
        except tokens.ExpiredToken:
            return "550 5.7.1 This unsubscribe link has expired; use the link in a newer email"
        except (tokens.TokenError, actions.LinkMismatch, ValueError):
            return "550 5.7.1 This unsubscribe request is not valid"
        except actions.LinkGone:
            return "250 2.0.0 Nothing to unsubscribe"
        log.info("inbound: member %s unsubscribed by mail", claims.member_id)
        return "250 2.0.0 Unsubscribed"


def _members(session: Session, address: str) -> list[tuple[Member, Workspace]]:
    address = address.strip().lower()
    if not address or "@" not in address:
        return []
    rows = session.execute(
        select(Member, Workspace)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(
            func.lower(Member.email) == address,
            Member.is_deleted.is_(False),
            Member.is_bot.is_(False),
            Workspace.active.is_(True),
        )
        .order_by(Member.id)
    ).all()
    return [(m, ws) for m, ws in rows]


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
