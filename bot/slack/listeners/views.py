"""Modal submissions: validate, answer `response_action: errors` for bad input, else apply."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.matching.topics import parse_topic_list
from bot.messages.mrkdwn import escape
from bot.messages.nudges import passed_on_text
from bot.metrics import ACTIONS
from bot.slack import commands_parse as cp
from bot.slack.blocks.modals import (
    EDIT_SETTINGS,
    EDIT_TOPICS,
    MAX_NOTE,
    PASS_IT_ON,
    PUBLIC_BLOCKS,
    TOPIC_BLOCKS,
    PassItOnTarget,
    pass_it_on_done_modal,
    pass_it_on_retry_modal,
    pass_it_on_sending_modal,
)
from bot.slack.listeners import team_id_of, user_id_of
from bot.slack.listeners.home import publish_home
from bot.slack.member_settings import (
    SettingsRefused,
    pause,
    replace_topics,
    resume,
    set_delivery,
)
from bot.slack.passing import check_recipients, choice_errors, send_pass_it_on
from bot.store.models import utcnow
from bot.store.queries.members import ensure_member, set_public_expertise
from bot.store.queries.workspaces import claim_event, ensure_workspace

log = logging.getLogger(__name__)


def _value(values: dict[str, Any], block: str) -> Any:
    """The state of the single element in `block` (Slack nests it under the action id)."""
    inner = values.get(block) or {}
    return next(iter(inner.values()), {}) if isinstance(inner, dict) else {}


def _topics(text: str | None) -> list[str]:
    """Parse a topics box; empty means none. Raises ValueError with a member-facing message."""
    if not text or not text.strip():
        return []
    return parse_topic_list(text)


def register(app: App, ctx: AppContext) -> None:
    @app.view(EDIT_TOPICS)
    def on_topics(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any, client: WebClient
    ) -> None:
        values = view["state"]["values"]
        kind = json.loads(view.get("private_metadata") or "{}").get("kind")
        if kind not in ("interest", "expertise", "muted"):
            ack(
                response_action="errors",
                errors={"topics": "This form is out of date; open it again from Home."},
            )
            return
        errors: dict[str, str] = {}
        topics: list[str] = []
        for block in TOPIC_BLOCKS:  # a long list comes in several boxes (see topics_modal)
            if block not in values:
                continue
            try:
                topics += [t for t in _topics(_value(values, block).get("value")) if t not in topics]
            except ValueError as exc:
                errors[block] = str(exc)
        public: list[str] = []
        if kind == "expertise":
            for block in PUBLIC_BLOCKS:
                if block not in values:
                    continue
                try:
                    public += [t for t in _topics(_value(values, block).get("value")) if t not in public]
                except ValueError as exc:
                    errors[block] = str(exc)
            missing = [t for t in public if t not in topics]
            if missing and "public" not in errors:
                errors["public"] = "Only topics from your expertise above can be named: " + ", ".join(missing)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        ACTIONS.labels("edit_topics").inc()
        team_id, user_id = team_id_of(body, context), user_id_of(body)
        with ctx.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            member = ensure_member(session, workspace, user_id)
            replace_topics(session, workspace, member, kind, topics)
            if kind == "expertise":
                set_public_expertise(session, member, [t for t in topics if t not in public], False)
                set_public_expertise(session, member, public, True)
        publish_home(ctx, client, team_id, user_id)

    @app.view(EDIT_SETTINGS)
    def on_settings(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any, client: WebClient
    ) -> None:
        values = view["state"]["values"]
        delivery = (_value(values, "delivery").get("selected_option") or {}).get("value")
        digest = (_value(values, "digest").get("selected_option") or {}).get("value")
        quiet_text = (_value(values, "quiet").get("value") or "").strip()
        pause_choice = (_value(values, "pause").get("selected_option") or {}).get("value") or "keep"
        weekends = [o.get("value") for o in _value(values, "weekends").get("selected_options") or []]
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
            with ctx.db.session() as session:
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
        publish_home(ctx, client, team_id, user_id, now)

    @app.view(PASS_IT_ON)
    def on_pass_it_on(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any, client: WebClient
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
        recipients = [str(u) for u in _value(values, "recipients").get("selected_users") or []]
        note = str(_value(values, "note").get("value") or "")[:MAX_NOTE]
        team_id, giver = team_id_of(body, context), user_id_of(body)
        inline = choice_errors(giver, recipients)
        if inline:
            ack(response_action="errors", errors=inline)
            return
        # The modal closes into "Passing it on…" at once; who may receive it, the permalink and the
        # sending all need Slack and run after the ack. A submission Slack sends twice (a retry, a
        # double click) is claimed once, by the view's id and hash, so the share goes out once.
        first = _claim_submission(ctx, team_id, view)
        ack(response_action="update", view=pass_it_on_sending_modal())
        if not first:
            return
        ACTIONS.labels("pass_it_on").inc()
        check = check_recipients(client, giver, target, recipients)
        if check.errors or check.permalink is None:
            problem = escape(check.errors.get("recipients") or "I couldn't check that message; try again.")
            _update_view(client, view, pass_it_on_retry_modal(view, problem[:500], recipients, note))
            return
        send_pass_it_on(ctx, client, team_id, giver, target, recipients, note, check.permalink, check.names)
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
