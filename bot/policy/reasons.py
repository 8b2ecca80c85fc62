"""The "why you" line of every nudge, quoting the stated topic it came from.

Plain text, not mrkdwn: renderers escape it for their medium. Never a score, a count or a streak.
"""

from __future__ import annotations


def _channel(name: str | None) -> str | None:
    if not name:
        return None
    return name if name.startswith("#") else f"#{name}"


def share_reason(
    target_name: str,
    topic_label: str | None,
    *,
    tie_channel: str | None = None,
    tie_talks: bool = True,
    giver_is_author: bool = False,
    item_channel: str | None = None,
) -> str:
    """E.g. "Bob listed databases; you two often talk in #infra." — only when they do (replies, mentions,
    reactions); a tie that is only a shared channel says so: "you're both in #infra"."""
    interest = (
        f"{target_name} listed {topic_label}" if topic_label else f"{target_name} follows topics like this"
    )
    where = _channel(item_channel)
    if giver_is_author and tie_channel is None:
        tail = f" and isn't in {where}" if where else ""
        return f"{interest}{tail}; you shared it."
    tie = _channel(tie_channel)
    if not tie_talks:
        return f"{interest}; you're both in {tie}." if tie else f"{interest}; you share a channel."
    if tie:
        return f"{interest}; you two often talk in {tie}."
    return f"{interest}; you two often talk."


def help_reason(asker_name: str, topic_label: str | None, driver: str, *, channel: str | None = None) -> str:
    """E.g. "Dana asked in #help. You listed postgres as something you can help with."""
    where = _channel(channel)
    asked = f"{asker_name} asked in {where}." if where else f"{asker_name} asked."
    if topic_label and driver != "helped":
        return f"{asked} You listed {topic_label} as something you can help with."
    if topic_label:
        return f"{asked} You've helped with questions like this, and you listed {topic_label}."
    return f"{asked} You've helped with questions like this before."


def continue_question() -> str:
    return (
        "You haven't had time for the last few suggestions, and that's fine. "
        "Should I keep sending them, or stop for now?"
    )
