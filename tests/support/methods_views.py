"""Web API methods: views.* (trigger ids are single-use and expire) and oauth.v2.access."""

from __future__ import annotations

import base64
import secrets
import time

from tests.support.blockkit import validate_view
from tests.support.methods_chat import Args, Ctx
from tests.support.model import JSON, SlackError, View
from tests.support.workspace import Workspace


def _view_arg(args: Args, kind: str) -> JSON:
    raw = args.raw.get("view")
    if raw is None or raw == "":
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    view = args.json("view", "invalid_arguments")
    return validate_view(view, kind=kind)


def _new_view(ctx: Ctx, user_id: str, body: JSON, root: str | None, previous: str | None) -> View:
    vid = ctx.ws.new_id("V")
    view = View(
        id=vid, team_id=ctx.team.id, user_id=user_id, body=body, hash=f"{time.time():.6f}.{secrets.token_hex(4)}",
        root_view_id=root or vid, previous_view_id=previous, app_id=ctx.token.app_id, bot_id=ctx.token.bot_id,
    )  # fmt: skip
    ctx.ws.views[vid] = view
    return view


def _check_external_id(ctx: Ctx, body: JSON, own: str | None = None) -> None:
    ext = body.get("external_id")
    if ext:
        for v in ctx.ws.views.values():
            if v.team_id == ctx.team.id and v.body.get("external_id") == ext and v.id != own:
                raise SlackError("duplicate_external_id")


def _trigger(ctx: Ctx, args: Args) -> str:
    trig = args.string("trigger_id") or args.string("interactivity_pointer")
    if not trig:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    return ctx.ws.consume_trigger(ctx.team.id, trig).user_id


def views_publish(ctx: Ctx, args: Args) -> JSON:
    uid = args.string("user_id")
    if not uid:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: user_id"])
    user = ctx.team.users.get(uid)
    if user is None or user.deleted:
        raise SlackError("invalid_arguments", ["invalid `user_id`"])
    body = _view_arg(args, "home")
    with ctx.ws.lock:
        history = ctx.ws.home_views.setdefault((ctx.team.id, uid), [])
        want_hash = args.string("hash")
        if want_hash and history and history[-1].hash != want_hash:
            raise SlackError("hash_conflict")
        _check_external_id(ctx, body, history[-1].id if history else None)
        prev = history[-1] if history else None
        view = _new_view(ctx, uid, body, None, None)
        if prev is not None:  # the home tab keeps its id across publishes
            del ctx.ws.views[view.id]
            view.id = view.root_view_id = prev.id
            ctx.ws.views[prev.id] = view
        history.append(view)
    return {"view": view.to_api()}


def views_open(ctx: Ctx, args: Args) -> JSON:
    body = _view_arg(args, "modal")
    _check_external_id(ctx, body)
    uid = _trigger(ctx, args)
    with ctx.ws.lock:
        view = _new_view(ctx, uid, body, None, None)
        ctx.ws.view_stacks[(ctx.team.id, uid)] = [view.id]
        ctx.ws.opened_views.append(view)
    return {"view": view.to_api()}


def views_push(ctx: Ctx, args: Args) -> JSON:
    body = _view_arg(args, "modal")
    _check_external_id(ctx, body)
    uid = _trigger(ctx, args)
    with ctx.ws.lock:
        stack = ctx.ws.view_stacks.get((ctx.team.id, uid)) or []
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        view = _new_view(ctx, uid, body, stack[0], stack[-1])
        stack.append(view.id)
        ctx.ws.opened_views.append(view)
    return {"view": view.to_api()}


def views_update(ctx: Ctx, args: Args) -> JSON:
    vid, ext = args.string("view_id"), args.string("external_id")
    if not vid and not ext:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view_id or external_id"])
    with ctx.ws.lock:
        target = ctx.ws.views.get(vid or "")
        if ext and target is None:
            target = next(
                (
                    v
                    for v in ctx.ws.views.values()
                    if v.team_id == ctx.team.id and v.body.get("external_id") == ext
                ),
                None,
            )
        if target is None or target.team_id != ctx.team.id or target.closed:
            raise SlackError("not_found")
        body = _view_arg(args, "home" if target.body.get("type") == "home" else "modal")
        want_hash = args.string("hash")
        if want_hash and want_hash != target.hash:
            raise SlackError("hash_conflict")
        target.body = body
        target.hash = f"{time.time():.6f}.{secrets.token_hex(4)}"
        if body.get("type") == "modal":
            ctx.ws.opened_views.append(target)
    return {"view": target.to_api()}


def oauth_v2_access(ws: Workspace, args: Args, authorization: str | None) -> JSON:
    """Exchange a code issued by `issue_oauth_code` for a fresh bot token (no bearer token needed)."""
    client_id, client_secret = args.string("client_id"), args.string("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except ValueError:
            raise SlackError("invalid_client_id") from None
        client_id, _, client_secret = decoded.partition(":")
    if client_id != ws.oauth_client[0]:
        raise SlackError("invalid_client_id")
    if client_secret != ws.oauth_client[1]:
        raise SlackError("bad_client_secret")
    with ws.lock:
        code = ws.oauth_codes.get(args.string("code") or "")
        if code is None or code.used:
            raise SlackError("invalid_code")
        redirect = args.string("redirect_uri")
        if code.redirect_uri and redirect != code.redirect_uri:
            raise SlackError("bad_redirect_uri")
        code.used = True
        tok = ws.install_bot(code.team_id, scopes=code.scopes)
        team = ws.teams[code.team_id]
    return {
        "app_id": ws.app_id,
        "authed_user": {"id": code.installer_id},
        "scope": ",".join(code.scopes),
        "token_type": "bot",
        "access_token": tok.token,
        "bot_user_id": tok.user_id,
        "team": {"id": team.id, "name": team.name},
        "enterprise": None,
        "is_enterprise_install": False,
    }
