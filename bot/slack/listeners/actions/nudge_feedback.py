"""The nudge DM's answer buttons: record the answer, then redraw the message in place without its buttons.

Every button but "Pass it on" (nudge_pass_on.py) records its feedback at once (bot/nudges/feedback.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.messages import nudges as nb
from bot.nudges.feedback import FeedbackError, apply_feedback
from bot.nudges.render import view_of
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import Nudge, utcnow
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.workspaces import get_workspace

log = logging.getLogger(__name__)

# DMs sent before the "…" menu still carry these buttons.
FEEDBACK_BUTTONS = (nb.TAKE_LOOK, nb.NOT_NOW, nb.NOT_MY_AREA, nb.MUTE_TOPIC, nb.MUTE_PERSON)


def action_of(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return dict(actions[0])


def nudge_id_of(body: dict[str, Any]) -> int | None:
    try:
        return int(str(action_of(body).get("value") or ""))
    except ValueError:
        return None


def _redraw(client: WebClient, body: dict[str, Any], blocks: list[dict[str, Any]], text: str) -> None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    if not channel or not ts:
        return
    try:
        client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
    except SlackApiError as exc:  # the message is gone or too old to edit: the answer is recorded anyway
        log.warning("chat.update failed", extra={"error": exc.response.get("error")})


def record(
    ctx: AppContext, team_id: str, user_id: str, nudge_id: int | None, kind: str
) -> nb.NudgeView | None:
    """Apply one button's feedback; returns the nudge as shown, or None when it is not this member's."""
    with ctx.db.session() as session:
        workspace = get_workspace(session, team_id)
        member = member_by_slack_id(session, workspace, user_id) if workspace is not None else None
        if workspace is None or member is None:
            return None
        try:
            apply_feedback(session, workspace, member, nudge_id, kind, utcnow())
        except FeedbackError as exc:
            log.info("nudge feedback refused", extra={"reason": str(exc)})
            return None
        if nudge_id is None:
            return None
        nudge = session.get(Nudge, nudge_id)
        return view_of(session, nudge) if nudge is not None else None


def on_feedback(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    ack()
    action_id = str(action_of(body).get("action_id"))
    kind = nb.FEEDBACK_OF[action_id]
    view = record(passiton, team_id_of(body, context), user_id_of(body), nudge_id_of(body), kind)
    if view is not None:
        _redraw(client, body, nb.resolved_blocks(view, kind), nb.outcome_text(kind, view))


def on_more(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext) -> None:
    ack()
    choice = nb.overflow_choice(str((action_of(body).get("selected_option") or {}).get("value") or ""))
    if choice is None:
        return
    action_id, nudge_id = choice
    kind = nb.FEEDBACK_OF[action_id]
    view = record(passiton, team_id_of(body, context), user_id_of(body), nudge_id, kind)
    if view is not None:
        _redraw(client, body, nb.resolved_blocks(view, kind), nb.outcome_text(kind, view))


def on_continue(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    """The one question to a member who left several nudges unanswered: continue, or stop."""
    ack()
    action_id = str(action_of(body).get("action_id"))
    kind = nb.FEEDBACK_OF[action_id]
    record(passiton, team_id_of(body, context), user_id_of(body), None, kind)
    keep = kind == "continue"
    _redraw(client, body, nb.continue_answered_blocks(keep), "Thanks for letting me know.")
