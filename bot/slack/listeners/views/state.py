"""Reading a submitted modal's state."""

from __future__ import annotations

from typing import Any

from bot.matching.topics import parse_topic_list


def state_value(values: dict[str, Any], block: str) -> Any:
    """The state of the single element in `block` (Slack nests it under the action id)."""
    inner = values.get(block) or {}
    return next(iter(inner.values()), {}) if isinstance(inner, dict) else {}


def topics_in(text: str | None) -> list[str]:
    """Parse a topics box; empty means none. Raises ValueError with a member-facing message."""
    if not text or not text.strip():
        return []
    return parse_topic_list(text)
