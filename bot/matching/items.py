"""Item understanding from what Slack already sends: message text, links, unfurl attachments (pure parsing).

Fetching a page is I/O and lives in fetch.py; parsing the fetched HTML lives here (`parse_html_meta`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

# Slack mrkdwn link: <https://example.com/a|label> or <https://example.com/a>
_SLACK_LINK_RE = re.compile(r"<((?:https?)://[^|>\s]+)(?:\|([^>]*))?>")
_BARE_URL_RE = re.compile(r"(?<![<|])\bhttps?://[^\s<>|]+")
_USER_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_RE = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL_RE = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM_RE = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_OTHER_BANG_RE = re.compile(r"<![^>]*>")
_EMOJI_RE = re.compile(r":[a-z0-9_+\-']+:")
_URL_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_URL_NOISE = frozenset(
    [
        "www",
        "com",
        "org",
        "net",
        "io",
        "html",
        "htm",
        "php",
        "aspx",
        "amp",
        "utm",
        "index",
        "blog",
        "post",
        "posts",
        "article",
        "articles",
        "p",
        "en",
        "us",
        "id",
        "ref",
        "http",
        "https",
        "status",
        "watch",
    ]
)


@dataclass(frozen=True)
class Link:
    url: str
    label: str | None = None


@dataclass(frozen=True)
class ItemText:
    """What the matcher reads about one message: its own words, its links and what is known of them."""

    text: str
    links: tuple[Link, ...] = ()
    titles: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    url_words: tuple[str, ...] = field(default=())

    @property
    def has_link(self) -> bool:
        return bool(self.links)

    def for_embedding(self) -> str:
        """One text for the embedder and the topic lookup: titles first (the most telling), then the rest."""
        parts = [*self.titles, *self.descriptions, self.text, " ".join(self.url_words)]
        return ". ".join(p.strip() for p in parts if p and p.strip())


def extract_links(text: str) -> list[Link]:
    """Links in Slack mrkdwn (`<url|label>`, `<url>`) and bare URLs, in order, without duplicates."""
    found: dict[str, Link] = {}
    for match in _SLACK_LINK_RE.finditer(text):
        url = match.group(1).replace("&amp;", "&")
        found.setdefault(url, Link(url, match.group(2) or None))
    for match in _BARE_URL_RE.finditer(_SLACK_LINK_RE.sub(" ", text)):
        url = match.group(0).rstrip(".,;:!?)").replace("&amp;", "&")
        found.setdefault(url, Link(url))
    return list(found.values())


def clean_slack_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn to plain words: mentions become names (or nothing), links their labels, entities decoded.

    `names` optionally maps user ids to display names; without it a mention is dropped, since an id carries
    no meaning for matching.
    """
    names = names or {}
    text = _USER_RE.sub(lambda m: names.get(m.group(1), m.group(2) or ""), text)
    text = _CHANNEL_RE.sub(lambda m: m.group(2) or "", text)
    text = _SPECIAL_RE.sub("", text)
    text = _SUBTEAM_RE.sub(lambda m: (m.group(1) or "").lstrip("@"), text)
    text = _OTHER_BANG_RE.sub("", text)
    text = _SLACK_LINK_RE.sub(lambda m: m.group(2) or "", text)
    text = _EMOJI_RE.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\s+", " ", text).strip()


def url_words(url: str) -> list[str]:
    """Words in a URL's path and host that say something: /blog/postgres-vacuum-tuning -> postgres vacuum tuning."""
    parts = urlsplit(url)
    host_words = [w for w in parts.netloc.lower().split(".")[:-1] if w not in _URL_NOISE]
    path_words = [w.lower() for w in _URL_WORD_RE.findall(unquote(parts.path))]
    words = [w for w in host_words + path_words if w not in _URL_NOISE and not w.isdigit() and len(w) > 1]
    # Long random-looking tokens (ids, hashes) are not words.
    return [w for w in words if len(w) <= 24 and not (len(w) > 8 and sum(c.isdigit() for c in w) > 2)]


def from_attachments(attachments: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """(titles, descriptions, urls) from Slack unfurl attachments (title, text, fallback, service_name...)."""
    titles: list[str] = []
    descriptions: list[str] = []
    urls: list[str] = []
    for attachment in attachments:
        title = str(attachment.get("title") or "").strip()
        text = str(attachment.get("text") or "").strip()
        fallback = str(attachment.get("fallback") or "").strip()
        service = str(attachment.get("service_name") or "").strip()
        if title:
            titles.append(title)
        elif fallback:
            titles.append(fallback)
        if text:
            descriptions.append(clean_slack_text(text))
        if service and title:
            descriptions.append(service)
        for key in ("from_url", "original_url", "title_link"):
            value = attachment.get(key)
            if value:
                urls.append(str(value))
    return titles, descriptions, urls


def understand_message(
    text: str, attachments: Iterable[Mapping[str, Any]] = (), names: Mapping[str, str] | None = None
) -> ItemText:
    """Everything the matcher can know about a message without any network call."""
    links = extract_links(text)
    titles, descriptions, unfurl_urls = from_attachments(attachments)
    known = {link.url for link in links}
    links += [Link(u) for u in unfurl_urls if u not in known and not known.add(u)]  # type: ignore[func-returns-value]
    labels = [link.label for link in links if link.label and link.label != link.url]
    words: list[str] = []
    for link in links:
        words.extend(w for w in url_words(link.url) if w not in words)
    return ItemText(
        text=clean_slack_text(text, names),
        links=tuple(links),
        titles=tuple(dict.fromkeys(titles + labels)),
        descriptions=tuple(dict.fromkeys(descriptions)),
        url_words=tuple(words),
    )


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.description = ""
        self.og_title = ""
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            key = (values.get("name") or values.get("property") or "").lower()
            content = values.get("content", "").strip()
            if key in ("description", "og:description", "twitter:description") and not self.description:
                self.description = content
            elif key in ("og:title", "twitter:title") and not self.og_title:
                self.og_title = content

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < 500:
            self.title += data


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str


def parse_html_meta(html_text: str) -> PageMeta:
    """<title> (or og:title) and the meta/og description of an HTML page."""
    parser = _MetaParser()
    try:
        parser.feed(html_text)
        parser.close()
    except Exception:
        pass
    title = re.sub(r"\s+", " ", parser.title).strip() or parser.og_title
    return PageMeta(title=title[:300], description=re.sub(r"\s+", " ", parser.description).strip()[:1000])
