"""The nudge DM's buttons: record the answer, then redraw the message in place without its buttons.

"Pass it on" opens the slack lane's pass-it-on modal with the target preselected; the modal's submit
records the share. Every other button records its feedback at once (bot/nudges/feedback.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.messages import nudges as nb
from bot.nudges.feedback import FeedbackError, apply_feedback
from bot.nudges.render import view_of
from bot.slack.listeners import team_id_of, user_id_of
from bot.store.models import Channel, Item, Member, Nudge, utcnow
from bot.store.queries.engagement import record_engagement
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.reaches import record_reach
from bot.store.queries.workspaces import get_workspace

log = logging.getLogger(__name__)

FEEDBACK_BUTTONS = (nb.TAKE_LOOK, nb.NOT_NOW, nb.NOT_MY_AREA, nb.MUTE_TOPIC, nb.MUTE_PERSON)


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return dict(actions[0])


def _nudge_id(body: dict[str, Any]) -> int | None:
    try:
        return int(str(_action(body).get("value") or ""))
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


def register_nudge_actions(app: App, ctx: AppContext) -> None:
    def on_feedback(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        action_id = str(_action(body).get("action_id"))
        kind = nb.FEEDBACK_OF[action_id]
        view = record(ctx, team_id_of(body, context), user_id_of(body), _nudge_id(body), kind)
        if view is not None:
            _redraw(client, body, nb.resolved_blocks(view, kind), nb.outcome_text(kind, view))

    for action_id in FEEDBACK_BUTTONS:  # DMs sent before the "…" menu still carry these buttons
        app.action(action_id)(on_feedback)

    @app.action(nb.MORE)
    def on_more(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        choice = nb.overflow_choice(str((_action(body).get("selected_option") or {}).get("value") or ""))
        if choice is None:
            return
        action_id, nudge_id = choice
        kind = nb.FEEDBACK_OF[action_id]
        view = record(ctx, team_id_of(body, context), user_id_of(body), nudge_id, kind)
        if view is not None:
            _redraw(client, body, nb.resolved_blocks(view, kind), nb.outcome_text(kind, view))

    @app.action(nb.PASS_ON)
    def on_pass_on(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        from bot.slack.blocks.modals import open_pass_it_on_modal
        from bot.slack.listeners.answers import offer_pass_it_on_draft

        nudge_id = _nudge_id(body)
        with ctx.db.session() as session:
            workspace = get_workspace(session, team_id_of(body, context))
            member = member_by_slack_id(session, workspace, user_id_of(body)) if workspace else None
            nudge = session.get(Nudge, nudge_id) if nudge_id is not None else None
            if member is None or nudge is None or nudge.recipient_id != member.id or workspace is None:
                return
            if nudge.workspace_id != workspace.id:
                return
            item = session.get(Item, nudge.item_id)
            if item is not None:
                # Pressing a nudge's button is engagement, and the giver has now seen the article.
                now = utcnow()
                record_engagement(session, member, now)
                record_reach(session, workspace.id, item.id, member.id, "clicked", now)
            target = session.get(Member, nudge.target_id) if nudge.target_id is not None else None
            channel = session.get(Channel, item.channel_id) if item is not None and item.channel_id else None
            if item is None:
                return
            prefill = [target.slack_user_id] if target is not None and target.slack_user_id else []
            channel_name = channel.name if channel is not None else ""
        opened = open_pass_it_on_modal(
            client, body["trigger_id"], item, prefill, channel_name=channel_name, nudge_id=nudge_id
        )
        # With an LLM configured, an editable draft note follows into the open modal (issue 7).
        offer_pass_it_on_draft(
            ctx, client, opened, nudge_id=nudge_id, prefill=prefill, channel_name=channel_name
        )

    def on_continue(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        action_id = str(_action(body).get("action_id"))
        kind = nb.FEEDBACK_OF[action_id]
        record(ctx, team_id_of(body, context), user_id_of(body), None, kind)
        keep = kind == "continue"
        _redraw(client, body, nb.continue_answered_blocks(keep), "Thanks for letting me know.")

    app.action(nb.CONTINUE)(on_continue)
    app.action(nb.STOP)(on_continue)
