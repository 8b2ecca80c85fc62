"""`/_emulator/...`: drive a running emulator from another process (faults, counts, builders).

Every route answers JSON. POST bodies are JSON objects whose keys are the keyword arguments of
the SlackEmulator method of the same name (see the table in `handle_admin`).
"""

from __future__ import annotations

import json
import time
from email.message import Message as HeaderMap
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from tests.support.model import JSON, CallRecord, Message

if TYPE_CHECKING:
    from tests.support.slack_emulator import SlackEmulator


def _user_json(emu: SlackEmulator, body: JSON) -> JSON:
    name = body.pop("name")
    return emu.add_user(name, **body).to_api()


def _channel_json(emu: SlackEmulator, body: JSON) -> JSON:
    name = body.pop("name")
    ch = emu.add_channel(name, **body)
    return {"id": ch.id, "name": ch.name, "private": ch.is_private, "members": list(ch.members)}


def _team_json(emu: SlackEmulator, body: JSON) -> JSON:
    team = emu.add_team(**body)
    return {
        "id": team.id,
        "bot_token": emu.bot_token_for(team.id),
        "bot_user_id": emu.bot_user_for(team.id).id,
    }


def _response_url(emu: SlackEmulator, rid: str, raw: bytes, headers: HeaderMap) -> tuple[int, JSON | str]:
    """Slack's response_url: JSON (or payload= form) with text/blocks/response_type; 5 uses."""
    ws = emu.workspace
    with ws.lock:
        target = ws.response_urls.get(rid)
        if target is None:
            return 404, "invalid_token"
        if target["uses"] >= 5:
            return 404, "used_url"
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            if ctype == "application/x-www-form-urlencoded":
                body = json.loads(parse_qs(raw.decode()).get("payload", ["{}"])[0])
            else:
                body = json.loads(raw or b"{}")
        except ValueError:
            return 400, "invalid_payload"
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        if not body.get("text") and not body.get("blocks") and not body.get("delete_original"):
            return 400, "no_text"
        target["uses"] += 1
        ws.responses.append(
            {**body, "response_url_id": rid, **{k: target[k] for k in ("team_id", "channel", "user")}}
        )
        if body.get("response_type") == "in_channel":
            team = ws.teams[target["team_id"]]
            ch = team.channels[target["channel"]]
            bot = ws.bot_user(team.id)
            ws.insert_message(
                ch,
                Message(
                    channel=ch.id,
                    ts=ws.next_ts(),
                    text=body.get("text", ""),
                    user=bot.id if bot else None,
                    bot_id=bot.bot_id if bot else None,
                    app_id=ws.app_id,
                    team=team.id,
                    blocks=body.get("blocks"),
                    thread_ts=body.get("thread_ts"),
                ),
            )
    # Recorded like a Web API call so tests can wait_for_calls("response_url").
    emu.record(CallRecord("response_url", body, None, target["team_id"], time.time(), 200, {"ok": True}))
    return 200, "ok"


def handle_admin(
    emu: SlackEmulator, verb: str, path: str, query: str, raw: bytes, headers: HeaderMap
) -> tuple[int, JSON | str]:
    route = path[len("/_emulator/") :].strip("/")
    q = {k: v[-1] for k, v in parse_qs(query).items()}
    if route.startswith("response/") and verb == "POST":
        return _response_url(emu, route.split("/", 1)[1], raw, headers)
    body: JSON = {}
    if verb == "POST" and raw:
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            return 400, {"ok": False, "error": "invalid_json"}
        if not isinstance(parsed, dict):
            return 400, {"ok": False, "error": "json_not_object"}
        body = parsed
    try:
        result = _route(emu, verb, route, q, body)
    except (LookupError, ValueError, TypeError, AttributeError) as exc:
        return 400, {"ok": False, "error": type(exc).__name__, "detail": str(exc)}
    if result is None:
        return 404, {"ok": False, "error": "unknown_admin_route", "route": route}
    return 200, {"ok": True, **result}


def _route(emu: SlackEmulator, verb: str, route: str, q: dict[str, str], body: JSON) -> JSON | None:
    if route.startswith("socket/"):
        from tests.support.socket_mode import handle_socket_admin

        return handle_socket_admin(emu.socket_mode, verb, route, q, body)
    if verb == "GET":
        if route == "health":
            return {}
        if route == "workspace":
            return emu.describe()
        if route == "calls":
            ok = None if "ok" not in q else q["ok"] in ("1", "true")
            calls = emu.calls(q.get("method"), ok=ok)
            return {"count": len(calls), "calls": [c.to_json() for c in calls]}
        if route == "messages":
            return {"messages": emu.messages(q["channel"], team_id=q.get("team_id"))}
        if route == "dms":
            return {"messages": emu.dms_to(q["user"], team_id=q.get("team_id"))}
        if route == "views":
            return {
                "published": emu.published_views(q["user"], q.get("team_id")),
                "opened": emu.opened_views(q["user"], q.get("team_id")),
            }
        if route == "ephemerals":
            return {"ephemerals": emu.ephemerals(user=q.get("user"), channel=q.get("channel"))}
        if route == "responses":
            return {"responses": emu.responses()}
        if route == "faults":
            return {"faults": [f.to_json() for f in emu.faults.pending()]}
        return None
    if route == "app_tokens":
        return {"token": emu.add_app_token(body.get("token"))}
    if route == "fail":
        return {"fault": emu.fail_next(**body).to_json()}
    if route == "drop_after_commit":
        return {"fault": emu.drop_response_after_commit(**body).to_json()}
    if route == "fail_after_commit":
        return {"fault": emu.fail_after_commit(**body).to_json()}
    if route == "clear_faults":
        emu.clear_faults()
        return {}
    if route == "rate_limits":
        if body.pop("enabled", True):
            emu.enable_rate_limits(**body)
        else:
            emu.disable_rate_limits()
        return {}
    if route == "reset_calls":
        emu.reset_calls()
        return {}
    if route == "teams":
        return {"team": _team_json(emu, body)}
    if route == "users":
        return {"user": _user_json(emu, body)}
    if route == "channels":
        return {"channel": _channel_json(emu, body)}
    if route == "post":
        return {"message": emu.post_as_user(body.pop("channel"), body.pop("user"), body.pop("text"), **body)}
    if route == "triggers":
        return {"trigger_id": emu.issue_trigger_id(body["user"], body.get("team_id"))}
    if route == "response_urls":
        return {"response_url": emu.issue_response_url(body["channel"], body["user"], body.get("team_id"))}
    if route == "oauth_codes":
        return {"code": emu.issue_oauth_code(body["team_id"], body["installer"], **body.get("options", {}))}
    if route == "revoke":
        emu.revoke_token(body["token"], body.get("error", "token_revoked"))
        return {}
    if route == "uninstall":
        emu.uninstall(body.get("team_id"), body.get("error", "token_revoked"))
        return {}
    if route == "deactivate_user":
        emu.deactivate_user(body["user"], body.get("team_id"))
        return {}
    if route == "update_user":
        return {"user": emu.update_user(body.pop("user"), body.pop("team_id", None), **body).to_api()}
    return None
