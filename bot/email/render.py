"""Turning a digest (plain data) into an ``email`` outbox payload, and the pages the web routes show.

Templates live in ``templates/``; every ``*.html.j2`` is autoescaped, the text templates are not
(their output is a text/plain part, never interpreted). Only http(s) URLs ever reach an ``href``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_TITLE_CHARS = 70


@dataclass(frozen=True)
class DigestEntry:
    """One nudge in a digest: what, why, and the links to act on it."""

    kind: Literal["share", "help"]
    title: str
    url: str | None
    reason: str
    act_link: str
    not_my_area_link: str
    target_name: str | None = None


@dataclass(frozen=True)
class Digest:
    to: str
    member_name: str
    period: Literal["daily", "weekly"]
    entries: list[DigestEntry]
    unsubscribe_link: str
    unsubscribe_mailto: str | None = None
    export_link: str | None = None  # "download what passiton holds about you"
    forget_link: str | None = None  # "forget me": the email side of /passiton forget
    extra_headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def http_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a shared ``javascript:`` link must never become an href."""
    if not url:
        return None
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in ("http", "https") and "\n" not in url and "\r" not in url else None


def link(public_url: str, path: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def unsubscribe_mailto(inbound_address: str, token: str) -> str:
    """A mailto the inbound server understands: subject ``unsubscribe <token>``."""
    return f"mailto:{inbound_address}?subject={quote('unsubscribe ' + token)}"


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def subject_for(digest: Digest) -> str:
    first = one_line(digest.entries[0].title or "something shared", SUBJECT_TITLE_CHARS)
    lead = "passiton this week" if digest.period == "weekly" else "passiton"
    return f"{lead}: {first}" + (", and more" if len(digest.entries) > 1 else "")


def render_digest(digest: Digest, *, message_id: str) -> dict[str, Any]:
    """The outbox payload (see ``bot/delivery/outbox.py``) for one digest."""
    if not digest.entries:
        raise ValueError("a digest needs at least one entry")
    env = environment()
    entries = [
        {
            "kind": e.kind,
            "title": one_line(e.title or "(untitled)", 300),
            "url": http_url(e.url),
            "reason": e.reason.strip(),
            "act_link": e.act_link,
            "act_label": "I'll share it" if e.kind == "share" else "I'll take a look",
            "not_my_area_link": e.not_my_area_link,
            "target_name": e.target_name,
        }
        for e in digest.entries
    ]
    context = {
        "name": digest.member_name,
        "period": digest.period,
        "entries": entries,
        "unsubscribe_link": digest.unsubscribe_link,
        "export_link": digest.export_link,
        "forget_link": digest.forget_link,
    }
    unsubscribe = f"<{digest.unsubscribe_link}>"
    if digest.unsubscribe_mailto:
        unsubscribe += f", <{digest.unsubscribe_mailto}>"
    headers = {
        "Message-ID": message_id,
        "List-Unsubscribe": unsubscribe,
        # RFC 8058: the https URI above accepts a POST with this body and unsubscribes at once.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # Keep out-of-office replies and auto-forwarders away from the digest (RFC 3834).
        "Auto-Submitted": "auto-generated",
        **digest.extra_headers,
    }
    return {
        "to": digest.to,
        "subject": subject_for(digest),
        "text": env.get_template("digest.txt.j2").render(context),
        "html": env.get_template("digest.html.j2").render(context),
        "headers": headers,
    }


def render_page(
    title: str,
    message: str,
    *,
    form_action: str | None = None,
    button: str | None = None,
    fields: dict[str, str] | None = None,
) -> str:
    """A small standalone HTML page; with ``form_action`` it carries one POST button."""
    return (
        environment()
        .get_template("page.html.j2")
        .render(title=title, message=message, form_action=form_action, button=button, fields=fields or {})
    )
