"""The settings modal's submission: delivery, digest, quiet hours, weekends, pause."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack import commands_parse as cp
from bot.slack.home import publish_home
from bot.slack.listeners.views.state import state_value
from bot.slack.member_settings import SettingsRefused, pause, resume, set_delivery
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import utcnow
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace


def on_settings(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: Any,
    client: WebClient,
    passiton: AppContext,
) -> None:
    values = view["state"]["values"]
    delivery = (state_value(values, "delivery").get("selected_option") or {}).get("value")
    digest = (state_value(values, "digest").get("selected_option") or {}).get("value")
    quiet_text = (state_value(values, "quiet").get("value") or "").strip()
    pause_choice = (state_value(values, "pause").get("selected_option") or {}).get("value") or "keep"
    weekends = [o.get("value") for o in state_value(values, "weekends").get("selected_options") or []]
    errors: dict[str, str] = {}
    if delivery not in ("slack", "email", "both", "off"):
        errors["delivery"] = "Choose one."
    if digest not in ("daily", "weekly"):
        errors["digest"] = "Choose daily or weekly."
    quiet = cp.Quiet(None, None)
    if quiet_text:
        try:
            quiet = cp.parse_quiet(quiet_text)
        except cp.ParseError:
            errors["quiet"] = "Write it like 19:00-08:00, or leave it empty."
    if pause_choice not in ("keep", "resume") and not pause_choice.isdigit():
        errors["pause"] = "Choose one."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    team_id, user_id, now = team_id_of(body, context), user_id_of(body), utcnow()
    try:
        with passiton.db.session() as session:
            member = ensure_member(session, ensure_workspace(session, team_id), user_id)
            set_delivery(member, str(delivery))
            member.digest = str(digest)
            member.quiet_start, member.quiet_end = quiet.start, quiet.end
            member.weekends_off = "weekends_off" in weekends
            if pause_choice == "resume":
                resume(member, now)
            elif pause_choice != "keep":
                pause(member, int(pause_choice), now)
    except SettingsRefused as exc:
        ack(response_action="errors", errors={"delivery": str(exc).replace("`", "")[:150]})
        return
    ack()
    ACTIONS.labels("edit_settings").inc()
    publish_home(passiton, client, team_id, user_id, now)
