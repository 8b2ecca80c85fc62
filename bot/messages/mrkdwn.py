"""Putting member-written text into Slack mrkdwn safely.

Slack reads `<!channel>`, `<@U123>` and `<https://x|label>` as control sequences. Escaping `&`, `<`
and `>` turns them back into plain characters, so nothing a member writes can make the bot ping
`@channel`, `@here` or a person, or disguise a link.
"""

from __future__ import annotations

import re

_MAX_LABEL = 200


def escape(text: str) -> str:
    """Escape the three characters Slack reserves in mrkdwn; `&` first so nothing is escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str | None = None) -> str:
    """A mrkdwn link whose label cannot break out of it. URLs with `<`, `>` or `|` are shown as text."""
    if not re.fullmatch(r"https?://[^\s<>|]+", url):
        return escape(url)
    safe_url = url.replace("&", "&amp;")
    if not label:
        return f"<{safe_url}>"
    label = escape(label.replace("|", "¦"))[:_MAX_LABEL]
    return f"<{safe_url}|{label}>"


def quote(text: str, limit: int = 600) -> str:
    """An escaped block quote of member text, shortened to `limit` characters."""
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return "\n".join("> " + escape(line) for line in text.splitlines() or [""])


def mention(slack_user_id: str) -> str:
    """A user mention, for ids the app itself got from Slack (never from member text)."""
    if not re.fullmatch(r"[UW][A-Z0-9]+", slack_user_id):
        raise ValueError(f"not a Slack user id: {slack_user_id!r}")
    return f"<@{slack_user_id}>"
