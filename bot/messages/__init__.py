"""Block Kit builders: pure functions from plain data to Slack JSON. Member text is escaped here.

A package of its own, not part of `bot.slack`: the nudge planner, the welcome, the email side and the replay
render the same messages the Slack listeners send, without depending on the Bolt app."""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]


def section(text: str, accessory: Block | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, style: str | None = None) -> Block:
    el: Block = {"type": "button", "text": {"type": "plain_text", "text": text[:75]}, "action_id": action_id}
    if value is not None:
        el["value"] = value[:2000]
    if style:
        el["style"] = style
    return el


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}
