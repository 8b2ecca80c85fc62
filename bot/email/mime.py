"""Reading a shared email: the member's note, the forwarded content, the links and a title.

Pure: bytes in, a `ParsedMail` out. Real-world mail is messy, so every step degrades instead of
failing: unknown charsets fall back to a lenient decode, HTML-only mail is turned into text, forwarded
messages are read whether they arrive as a ``message/rfc822`` part or inline under a "Forwarded
message" line, and attachments (anything that is not text or a forwarded message) are ignored.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

MAX_TEXT_CHARS = 4000
MAX_NOTE_CHARS = 1000

_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|fw|wg|tr|aw|sv|vs|rv|enc)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_URL = re.compile(r"""https?://[^\s<>"'`{}|\\^\[\]]+""", re.I)
_TRAILING = ".,;:!?)]}>'\""
# Lines that start an inline forwarded or quoted original (Gmail, Outlook, Apple Mail, a few locales).
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|original message|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|messaggio inoltrato)\s*-{2,}|begin forwarded message:)\s*$",
    re.I | re.M,
)
_HEADER_LINE = re.compile(
    r"^\s*>?\s*(from|de|von|date|datum|sent|subject|objet|betreff|asunto|to|cc)\s*:\s*(.*)$", re.I
)
_SUBJECT_NAMES = {"subject", "objet", "betreff", "asunto"}
_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}


@dataclass
class ParsedMail:
    message_id: str | None
    from_address: str | None
    subject: str
    note: str
    text: str
    links: list[str] = field(default_factory=list)
    note_links: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def title(self) -> str:
        return self.subject or (self.links[0] if self.links else "")


@dataclass
class _Segment:
    text: str
    links: list[str]
    forwarded: bool
    subject: str | None = None


class _HtmlText(HTMLParser):
    """Visible text and http(s) hrefs of an HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            if href.lower().startswith(("http://", "https://")):
                self.links.append(href)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # badly broken markup: keep what was read
        pass
    text = re.sub(r"[ \t\r\f\v\xa0]+", " ", "".join(parser.parts))
    text = re.sub(r"\n\s*\n+", "\n\n", "\n".join(line.strip() for line in text.splitlines()))
    return text.strip(), parser.links


def find_links(text: str) -> list[str]:
    out = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            # Keep a closing parenthesis that belongs to the URL (wiki style "x_(y)"), drop "(see …)".
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        if len(url) > len("https://x"):
            out.append(url)
    return out


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def clean_subject(subject: str) -> str:
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split())


def _decode(part: Message) -> str:
    return _raw_decode(part).replace("\r\n", "\n").replace("\r", "\n")


def _raw_decode(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, AssertionError, KeyError, ValueError):
        pass
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    declared = part.get_content_charset() or ""
    for charset in (declared, "utf-8", "windows-1252"):
        if not charset:
            continue
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or bool(
        part.get_filename() and part.get_content_maintype() == "text"
    )


def _segments(part: Message, forwarded: bool, depth: int = 0) -> list[_Segment]:
    if depth > 10:  # a message nested deeper than any client produces is not worth reading
        return []
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(inner_msg, Message):
            return []
        segments = _segments(inner_msg, True, depth + 1)
        subject = clean_subject(str(inner_msg.get("Subject", "")))
        if segments and subject:
            segments[0].subject = subject
        return segments
    if part.is_multipart():
        children = [p for p in part.get_payload() if isinstance(p, Message)]  # type: ignore[union-attr, unused-ignore]
        if ctype == "multipart/alternative":
            return _alternative(children, forwarded, depth)
        out: list[_Segment] = []
        for child in children:
            out.extend(_segments(child, forwarded, depth + 1))
        return out
    if _is_attachment(part):
        return []
    if ctype == "text/plain":
        text = _decode(part)
        return [_Segment(text, find_links(text), forwarded)]
    if ctype == "text/html":
        text, hrefs = html_to_text(_decode(part))
        return [_Segment(text, _dedupe(hrefs + find_links(text)), forwarded)]
    return []  # images, PDFs, calendars, signatures: not what is being shared


def _alternative(children: list[Message], forwarded: bool, depth: int) -> list[_Segment]:
    plain = [c for c in children if c.get_content_type() == "text/plain" and not _is_attachment(c)]
    html = [c for c in children if c.get_content_type() == "text/html" and not _is_attachment(c)]
    html_segments = [s for c in html for s in _segments(c, forwarded, depth + 1)]
    plain_segments = [s for c in plain for s in _segments(c, forwarded, depth + 1)]
    if plain_segments and any(s.text.strip() for s in plain_segments):
        # The plain part is the sender's text; hrefs hidden behind HTML anchor text still count.
        extra = [link for s in html_segments for link in s.links]
        plain_segments[0].links = _dedupe(plain_segments[0].links + extra)
        return plain_segments
    if html_segments:
        return html_segments
    nested = [c for c in children if c.is_multipart()]
    return _segments(nested[-1], forwarded, depth + 1) if nested else []


def _split_inline_forward(text: str) -> tuple[str, str, str | None]:
    """(note, forwarded text, forwarded subject) for a body with an inline forwarded block."""
    match = _FORWARD_MARKER.search(text)
    if match is None:
        return text, "", None
    note, rest = text[: match.start()], text[match.end() :]
    subject = None
    lines = rest.lstrip("\n").splitlines()
    body_start = 0
    for index, line in enumerate(lines):
        header = _HEADER_LINE.match(line)
        if header is None:
            break  # the header block (From:, Date:, Subject:, To:) ends at the first other line
        if header.group(1).lower() in _SUBJECT_NAMES:
            subject = clean_subject(header.group(2))
        body_start = index + 1
    return note, "\n".join(lines[body_start:]), subject


def _strip_signature(note: str) -> str:
    # RFC 3676 signature separator "-- " on a line of its own.
    parts = re.split(r"^-- ?$", note, maxsplit=1, flags=re.M)
    return parts[0]


def parse_mail(data: bytes) -> ParsedMail:
    msg = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    message_id = " ".join(str(msg.get("Message-ID", "")).split()).strip("<> ") or None
    from_address = parseaddr(str(msg.get("From", "")))[1].strip().lower() or None
    subject = clean_subject(str(msg.get("Subject", "")))

    segments = _segments(msg, forwarded=False)
    own = [s for s in segments if not s.forwarded]
    forwarded = [s for s in segments if s.forwarded]
    note_text = "\n\n".join(s.text for s in own)
    note, inline_forward, inline_subject = _split_inline_forward(note_text)
    note = _strip_signature(note).strip()
    note_links = _dedupe(find_links(note))
    if not inline_forward:
        # Links behind HTML anchor text in the member's own part count as theirs too.
        hidden = [link for s in own for link in s.links if link not in s.text]
        note_links = _dedupe(note_links + hidden)
    forwarded_text = "\n\n".join([inline_forward.strip()] + [s.text.strip() for s in forwarded]).strip()
    forwarded_subject = inline_subject or next((s.subject for s in forwarded if s.subject), None)
    links = _dedupe(note_links + [link for s in segments for link in s.links] + find_links(forwarded_text))
    if not subject and forwarded_subject:
        subject = forwarded_subject
    text = "\n\n".join(x for x in (subject, note, forwarded_text) if x)[:MAX_TEXT_CHARS]
    return ParsedMail(
        message_id=message_id,
        from_address=from_address,
        subject=subject,
        note=note[:MAX_NOTE_CHARS],
        text=text,
        links=links,
        note_links=note_links,
        digest=hashlib.sha256(data).hexdigest(),
    )
