"""The web side of email links, mounted by ``bot/web/app.py``.

- ``GET /email/unsubscribe?token=…`` and ``GET /email/action?token=…`` show a confirmation page with
  one button and change nothing: mail scanners and link previewers follow GET links.
- ``POST`` on the same URLs does it. ``POST /email/unsubscribe`` is also the RFC 8058 one-click
  target named in ``List-Unsubscribe`` (body ``List-Unsubscribe=One-Click``; the token is in the URL,
  so the body is not needed to act).
- ``/email/export`` and ``/email/forget``: the same GET-asks, POST-acts pair, so a member who only
  gets email can download what passiton holds about them (JSON, as ``/passiton export`` sends in
  Slack) and be forgotten (as ``/passiton forget``). The token is the proof: it was mailed to them.
- A forged or garbled token gets a 400 page, an expired one 410, a link to something since forgotten
  410; never a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.email import actions, tokens
from bot.email.render import one_line, render_page
from bot.store.models import utcnow

log = logging.getLogger(__name__)

# The pages carry no third-party content; forbid framing (clickjacking the button) and caching.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}


def _page(status: int, title: str, message: str, **form: Any) -> HTMLResponse:
    return HTMLResponse(render_page(title, message, **form), status_code=status, headers=HEADERS)


def _token_error(exc: tokens.TokenError) -> HTMLResponse:
    if isinstance(exc, tokens.ExpiredToken):
        return _page(
            410,
            "This link has expired",
            "Links in passiton emails work for a limited time. Use the links in a newer email, "
            "or change your settings from Slack with /passiton.",
        )
    return _page(
        400,
        "This link doesn't work",
        "The link is incomplete or was changed. Try copying the whole link from the email again.",
    )


def _gone() -> HTMLResponse:
    return _page(410, "Nothing to do here anymore", "What this link was about no longer exists.")


def _mismatch() -> HTMLResponse:
    return _page(400, "This link doesn't work", "The link does not match anything we sent you.")


def _here(request: Request) -> str:
    # Relative, so the form works behind a proxy that terminates TLS under another host name.
    return f"{request.url.path}?{request.url.query}"


def routes(ctx: Any) -> list[Route]:
    """The email routes; ``ctx`` is an ``AppContext`` (only ``db`` and ``settings`` are used)."""
    db = ctx.db
    settings = ctx.settings
    clock: Callable[[], dt.datetime] = getattr(ctx, "clock", None) or utcnow

    def claims_for(request: Request, allowed: tuple[str, ...]) -> tokens.LinkToken:
        secret = settings.secret("passiton_secret_key")
        if not secret:
            raise RuntimeError("PASSITON_SECRET_KEY is not set")
        token = request.query_params.get("token", "")
        claims = tokens.verify(secret, token, now=clock())
        if claims.action not in allowed:
            raise tokens.BadToken("token for another route")
        return claims

    async def guarded(request: Request, allowed: tuple[str, ...], work: Callable[..., Response]) -> Response:
        try:
            claims = claims_for(request, allowed)
            return await run_in_threadpool(work, request, claims)
        except tokens.TokenError as exc:
            return _token_error(exc)
        except actions.LinkGone:
            return _gone()
        except actions.LinkMismatch:
            return _mismatch()
        except (SQLAlchemyError, RuntimeError):
            log.exception("email link %s failed", request.url.path)
            return _page(503, "Please try again", "Something went wrong on our side. Nothing was changed.")

    def confirm_unsubscribe(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            member = actions.load(session, claims).member
            address = member.email or "you"
        return _page(
            200,
            "Stop passiton emails?",
            f"No more passiton digests will be sent to {address}. Slack messages, if you get them, "
            "are not affected.",
            form_action=_here(request),
            button="Unsubscribe",
            fields={"List-Unsubscribe": "One-Click"},
        )

    def do_unsubscribe(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            member = actions.unsubscribe(session, claims, clock())
            address = member.email or "you"
        log.info("member %s unsubscribed from email", claims.member_id)
        return _page(
            200,
            "You're unsubscribed",
            f"passiton will not email {address} again. You can turn digests back on from Slack "
            "with /passiton via email.",
        )

    def confirm_action(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            subject = actions.load(session, claims)
            title = one_line(subject.item.title or subject.item.text, 120) if subject.item else "this"
            kind = subject.nudge.kind if subject.nudge else "share"
        if claims.action == "not_my_area":
            heading, button = "Not your area?", "Not my area"
            message = f"We'll note that “{title}” isn't for you and suggest such things less."
        elif kind == "share":
            heading, button = "Pass it on?", "I'll share it"
            message = f"Thanks for passing on “{title}”. Press the button so we don't remind you again."
        else:
            heading, button = "Take a look?", "I'll take a look"
            message = f"Thanks for looking at “{title}”. Press the button so nobody else is asked twice."
        return _page(200, heading, message, form_action=_here(request), button=button)

    def do_action(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            actions.record_action(session, claims, clock())
        if claims.action == "not_my_area":
            return _page(200, "Noted", "Thanks for saying so. We'll suggest things like this less often.")
        return _page(200, "Thank you", "Noted. No need to tell us more: the rest is between you and them.")

    def confirm_export(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            actions.load(session, claims)
        return _page(
            200,
            "Download your data?",
            "You'll get a JSON file with everything passiton holds about you: your topics, settings, "
            "what you shared, and the suggestions you received.",
            form_action=_here(request),
            button="Download",
        )

    def do_export(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            data = actions.export(session, claims)
        log.info("member %s exported their data by email link", claims.member_id)
        return Response(
            json.dumps(data, indent=1, ensure_ascii=False, default=str),
            media_type="application/json",
            headers={**HEADERS, "Content-Disposition": 'attachment; filename="passiton-export.json"'},
        )

    def confirm_forget(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            member = actions.load(session, claims).member
            address = member.email or "you"
            slack = member.slack_user_id is not None
        also = " Your passiton settings in Slack go too." if slack else ""
        return _page(
            200,
            "Forget you?",
            f"passiton will delete everything it holds about {address}: topics, settings, shares and "
            f"suggestions. No more emails.{also} This cannot be undone.",
            form_action=_here(request),
            button="Forget me",
        )

    def do_forget(request: Request, claims: tokens.LinkToken) -> Response:
        with db.session() as session:
            deleted = actions.forget(session, claims)
        log.info("member forgotten by email link", extra={"rows": sum(deleted.values())})
        return _page(200, "You're forgotten", "passiton no longer holds anything about you.")

    async def export_endpoint(request: Request) -> Response:
        work = do_export if request.method == "POST" else confirm_export
        return await guarded(request, ("export",), work)

    async def forget_endpoint(request: Request) -> Response:
        work = do_forget if request.method == "POST" else confirm_forget
        return await guarded(request, ("forget",), work)

    async def unsubscribe_endpoint(request: Request) -> Response:
        work = do_unsubscribe if request.method == "POST" else confirm_unsubscribe
        return await guarded(request, ("unsubscribe",), work)

    async def action_endpoint(request: Request) -> Response:
        work = do_action if request.method == "POST" else confirm_action
        return await guarded(request, ("share", "not_my_area"), work)

    return [
        Route("/email/unsubscribe", unsubscribe_endpoint, methods=["GET", "POST"]),
        Route("/email/action", action_endpoint, methods=["GET", "POST"]),
        Route("/email/export", export_endpoint, methods=["GET", "POST"]),
        Route("/email/forget", forget_endpoint, methods=["GET", "POST"]),
    ]
