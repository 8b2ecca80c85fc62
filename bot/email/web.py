"""The web side of email links, mounted by ``bot/web/app.py``.

- ``GET /email/unsubscribe?token=…`` and ``GET /email/action?token=…`` show a confirmation page with
  one button and change nothing: mail scanners and link previewers follow GET links.
- ``POST`` on the same URLs does it. ``POST /email/unsubscribe`` is also the RFC 8058 one-click
  target named in ``List-Unsubscribe`` (body ``List-Unsubscribe=One-Click``; the token is in the URL,
  so the body is not needed to act).
- A forged or garbled token gets a 400 page, an expired one 410, a link to something since forgotten
  410; never a 500.
"""

from __future__ import annotations

import datetime as dt
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

    async def unsubscribe_endpoint(request: Request) -> Response:
        work = do_unsubscribe if request.method == "POST" else confirm_unsubscribe
        return await guarded(request, ("unsubscribe",), work)

    async def action_endpoint(request: Request) -> Response:
        work = do_action if request.method == "POST" else confirm_action
        return await guarded(request, ("share", "not_my_area"), work)

    return [
        Route("/email/unsubscribe", unsubscribe_endpoint, methods=["GET", "POST"]),
        Route("/email/action", action_endpoint, methods=["GET", "POST"]),
    ]
