"""App Home's buttons: open an editing modal, pause or resume, unmute, forget what was learned."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import settings_modal, topics_modal
from bot.slack.home import member_state, publish_home
from bot.slack.member_settings import pause, resume
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import Member, utcnow
from bot.store.queries.learned import clear_observed_help
from bot.store.queries.members import ensure_member, remove_member_topics
from bot.store.queries.mutes import unmute_person
from bot.store.queries.workspaces import ensure_workspace


def on_edit_interests(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    _open_editor("interest", ack, body, context, client, passiton)


def on_edit_expertise(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    _open_editor("expertise", ack, body, context, client, passiton)


def on_edit_muted(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    _open_editor("muted", ack, body, context, client, passiton)


def on_edit_settings(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    _open_editor("settings", ack, body, context, client, passiton)


def _open_editor(
    kind: str, ack: Ack, body: dict[str, Any], context: Any, client: WebClient, ctx: AppContext
) -> None:
    ack()
    ACTIONS.labels(f"home_edit_{kind}").inc()
    state = member_state(ctx, team_id_of(body, context), user_id_of(body))
    view = settings_modal(state) if kind == "settings" else topics_modal(kind, state)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def on_pause_week(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    _pause_or_resume(7, ack, body, context, client, passiton)


def on_resume(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext) -> None:
    _pause_or_resume(None, ack, body, context, client, passiton)


def _pause_or_resume(
    days: int | None, ack: Ack, body: dict[str, Any], context: Any, client: WebClient, ctx: AppContext
) -> None:
    ack()
    ACTIONS.labels("home_pause" if days else "home_resume").inc()
    team_id, user_id, now = team_id_of(body, context), user_id_of(body), utcnow()
    with ctx.db.session() as session:
        member = ensure_member(session, ensure_workspace(session, team_id), user_id)
        if days:
            pause(member, days, now)
        else:
            resume(member, now)
    publish_home(ctx, client, team_id, user_id, now)


def on_unmute(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext) -> None:
    ack()
    ACTIONS.labels("home_unmute").inc()
    kind, _, value = str((body.get("actions") or [{}])[0].get("value") or "").partition(":")
    team_id, user_id = team_id_of(body, context), user_id_of(body)
    with passiton.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        member = ensure_member(session, workspace, user_id)
        if kind == "topic" and value:
            remove_member_topics(session, member, "muted", [value])
        elif kind == "person" and value.isdigit():
            other = session.get(Member, int(value))
            if other is not None and other.workspace_id == workspace.id:  # never another team's row
                unmute_person(session, member, other)
    publish_home(passiton, client, team_id, user_id)


def on_clear_learned(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    ack()
    ACTIONS.labels("home_clear_learned").inc()
    team_id, user_id = team_id_of(body, context), user_id_of(body)
    with passiton.db.session() as session:
        clear_observed_help(session, ensure_member(session, ensure_workspace(session, team_id), user_id))
    publish_home(passiton, client, team_id, user_id)
