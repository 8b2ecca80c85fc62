"""The pass-it-on modal's submission: check who may receive the message, then share it once."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.messages.mrkdwn import escape
from bot.messages.nudges import passed_on_text
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import (
    MAX_NOTE,
    PassItOnTarget,
    pass_it_on_done_modal,
    pass_it_on_retry_modal,
    pass_it_on_sending_modal,
)
from bot.slack.listeners.views.state import state_value
from bot.slack.passing import check_recipients, choice_errors, send_pass_it_on
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.queries.workspaces import claim_event, ensure_workspace

log = logging.getLogger(__name__)


def on_pass_it_on(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: Any,
    client: WebClient,
    passiton: AppContext,
) -> None:
    values = view["state"]["values"]
    try:
        target = PassItOnTarget.loads(view.get("private_metadata") or "")
    except (ValueError, KeyError, TypeError):
        ack(
            response_action="errors",
            errors={"recipients": "This form is out of date; start again from the message."},
        )
        return
    recipients = [str(u) for u in state_value(values, "recipients").get("selected_users") or []]
    note = str(state_value(values, "note").get("value") or "")[:MAX_NOTE]
    team_id, giver = team_id_of(body, context), user_id_of(body)
    inline = choice_errors(giver, recipients)
    if inline:
        ack(response_action="errors", errors=inline)
        return
    # The modal closes into "Passing it on…" at once; who may receive it, the permalink and the
    # sending all need Slack and run after the ack. A submission Slack sends twice (a retry, a
    # double click) is claimed once, by the view's id and hash, so the share goes out once.
    first = _claim_submission(passiton, team_id, view)
    ack(response_action="update", view=pass_it_on_sending_modal())
    if not first:
        return
    ACTIONS.labels("pass_it_on").inc()
    check = check_recipients(client, giver, target, recipients)
    if check.errors or check.permalink is None:
        problem = escape(check.errors.get("recipients") or "I couldn't check that message; try again.")
        _update_view(client, view, pass_it_on_retry_modal(view, problem[:500], recipients, note))
        return
    send_pass_it_on(passiton, client, team_id, giver, target, recipients, note, check.permalink, check.names)
    names = [check.names.get(r, r) for r in recipients]
    _update_view(client, view, pass_it_on_done_modal(passed_on_text(names)))


def _claim_submission(ctx: AppContext, team_id: str, view: dict[str, Any]) -> bool:
    """True the first time this exact submission (view id + hash: each update of a view gets a new
    hash) is seen; Slack's retries and a second click are then no-ops. Database only: before the ack."""
    key = hashlib.sha256(f"{view.get('id')}:{view.get('hash')}".encode()).hexdigest()[:40]
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        return claim_event(session, f"view:{key}", workspace.id)


def _update_view(client: WebClient, view: dict[str, Any], new: dict[str, Any]) -> None:
    """The modal may be closed by now (the member pressed Close): that is fine, the work is done."""
    try:
        client.views_update(view_id=str(view["id"]), view=new)
    except SlackApiError as exc:
        log.info("views.update of the pass-it-on modal failed", extra={"error": exc.response.get("error")})
