"""Readable text, mentions and links out of Slack mrkdwn and rich-text blocks.

Everything here takes untrusted JSON values: any field may have any type, and junk is skipped
rather than raised on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# <@U123>, <@U123|name>, <#C123|name>, <!here>, <!subteam^S1|@team>, <https://x|label>, <mailto:..>
_ENTITY = re.compile(r"<([^<>\n]{1,2000})>")
_BARE_URL = re.compile(r"https?://[^\s<>|\"']+")
_MAX_DEPTH = 16

Resolver = Callable[[str], str | None]


def _none(_: str) -> str | None:
    return None


@dataclass(slots=True)
class Extracted:
    """What one pass over a message's text or blocks found."""

    text: str = ""
    mentions: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    broadcast: str | None = None


def unescape(text: str) -> str:
    # Slack escapes exactly these three in message text.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def parse_mrkdwn(
    text: str, user_name: Resolver = _none, channel_name: Resolver = _none, into: Extracted | None = None
) -> Extracted:
    """Resolve `<…>` entities to readable text and collect what they point at (adding to `into`)."""
    out = Extracted() if into is None else into
    if "<" not in text:
        out.text = unescape(text) if "&" in text else text
        if "http" in out.text:  # Slack wraps links in <…>; other exporters may not
            out.links.extend(_BARE_URL.findall(out.text))
        return out

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            out.mentions.append(uid)
            return "@" + (user_name(uid) or label or uid)
        if target.startswith("#"):
            cid = target[1:]
            out.channels.append(cid)
            return "#" + (channel_name(cid) or label or cid)
        if target.startswith("!"):
            command = target[1:]
            if command in ("here", "channel", "everyone"):
                out.broadcast = out.broadcast or command
                return "@" + command
            if command.startswith("subteam^"):
                return label or "@group"
            if command.startswith("date^"):
                return label or ""
            return label or ""
        if _http(target):
            out.links.append(unescape(target))
        return label or target

    out.text = unescape(_ENTITY.sub(entity, text))
    return out


def extract_blocks(
    blocks: object, user_name: Resolver = _none, channel_name: Resolver = _none, into: Extracted | None = None
) -> Extracted:
    """Plain text of the rich-text blocks (what a person typed), plus mentions and links.

    Other block types (section, header, context) carry bots' layouts; their text is taken too so a
    bot's card is not blank, but the message's own `text` is the better source for those.
    """
    out = Extracted() if into is None else into
    out.text = ""
    parts: list[str] = []
    if not isinstance(blocks, list):
        return out
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "rich_text":
            _rich_elements(block.get("elements"), parts, out, user_name, channel_name, 0)
        elif kind in ("section", "header", "context"):
            _layout_text(block, parts)
        _newline(parts)
    out.text = "".join(parts).strip()
    return out


def _newline(parts: list[str]) -> None:
    if parts and not parts[-1].endswith("\n"):
        parts.append("\n")


def _layout_text(block: dict[str, Any], parts: list[str]) -> None:
    candidates: list[object] = [block.get("text")]
    for key in ("fields", "elements"):
        value = block.get(key)
        if isinstance(value, list):
            candidates.extend(value)
    for item in candidates:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            parts.append(unescape(item["text"]))
            _newline(parts)


def _rich_elements(
    elements: object,
    parts: list[str],
    out: Extracted,
    user_name: Resolver,
    channel_name: Resolver,
    depth: int,
) -> None:
    if not isinstance(elements, list) or depth > _MAX_DEPTH:
        return
    for element in elements:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "rich_text_list":
            style = element.get("style")
            items = element.get("elements")
            for n, item in enumerate(items if isinstance(items, list) else [], start=1):
                _newline(parts)
                parts.append(f"{n}. " if style == "ordered" else "- ")
                _rich_elements([item], parts, out, user_name, channel_name, depth + 1)
            _newline(parts)
        elif kind in ("rich_text_section", "rich_text_quote", "rich_text_preformatted"):
            if kind != "rich_text_section":
                _newline(parts)
            _rich_elements(element.get("elements"), parts, out, user_name, channel_name, depth + 1)
            if kind != "rich_text_section":
                _newline(parts)
        else:
            parts.append(_leaf(element, out, user_name, channel_name))


def _leaf(element: dict[str, Any], out: Extracted, user_name: Resolver, channel_name: Resolver) -> str:
    kind = element.get("type")
    if kind == "text":
        text = element.get("text")
        return text if isinstance(text, str) else ""
    if kind == "link":
        url = element.get("url")
        label = element.get("text")
        if isinstance(url, str) and _http(url):
            out.links.append(url)
        if isinstance(label, str) and label:
            return label
        return url if isinstance(url, str) else ""
    if kind == "user":
        uid = element.get("user_id")
        if isinstance(uid, str):
            out.mentions.append(uid)
            return "@" + (user_name(uid) or uid)
        return ""
    if kind == "channel":
        cid = element.get("channel_id")
        if isinstance(cid, str):
            out.channels.append(cid)
            return "#" + (channel_name(cid) or cid)
        return ""
    if kind == "broadcast":
        rng = element.get("range")
        if isinstance(rng, str) and rng in ("here", "channel", "everyone"):
            out.broadcast = out.broadcast or rng
            return "@" + rng
        return ""
    if kind == "emoji":
        name = element.get("name")
        return f":{name}:" if isinstance(name, str) else ""
    if kind == "date":
        fallback = element.get("fallback")
        return fallback if isinstance(fallback, str) else ""
    if kind == "usergroup":
        return "@group"
    return ""


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Order-preserving de-duplication."""
    return tuple(dict.fromkeys(items))
