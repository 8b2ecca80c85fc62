"""`passiton serve`: the Starlette app behind the load balancer.

Routes: `POST /slack/events` (events, commands and interactivity, into Bolt), `GET /slack/install`
and `GET /slack/oauth_redirect` (OAuth, multi-workspace mode), `GET /livez` (the process answers; no
database), `GET /readyz` and `GET /healthz` (the database answers too), `GET /metrics`, and the email
lane's routes. Bolt's `dispatch` is synchronous; it runs on the thread pool so one slow
request never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import AppContext
from bot.email.web import routes as email_routes
from bot.metrics import ACK_KINDS, ACK_SECONDS, BAD_REQUESTS, ERRORS
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH, create_app
from bot.web.slack_requests import (
    BadRequest,
    TooLarge,
    check_body,
    read_capped_body,
    signature_ok,
)

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; anything bigger is not from Slack
# Below the readiness probes' own timeouts (2 s in deploy/k8s), so the probe gets a 503, not a hang.
READY_TIMEOUT_SECONDS = 1.5


def create_web_app(ctx: AppContext, bolt_app: App | None = None) -> Starlette:
    bolt = bolt_app or create_app(ctx)
    secret = ctx.settings.secret("slack_signing_secret") or ""

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_capped_body(request, MAX_BODY_BYTES)
        except TooLarge:
            BAD_REQUESTS.labels("too_large").inc()
            return PlainTextResponse("request too large", status_code=413)
        except BadRequest as exc:
            BAD_REQUESTS.labels(str(exc)).inc()
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        if not signature_ok(secret, body, request.headers):
            BAD_REQUESTS.labels("signature").inc()
            return PlainTextResponse("invalid signature or stale timestamp", status_code=401)
        try:
            kind = check_body(body, request.headers.get("content-type"))
            request.state.slack_kind = kind  # for the ack latency histogram (timed_slack_events)
        except BadRequest as exc:
            BAD_REQUESTS.labels(str(exc)).inc()
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        if _is_event_callback(body) and not await run_in_threadpool(_database_up, ctx):
            # Bolt acks events before its listeners touch the database, so an event taken while the
            # database is down would be acked and lost. A 503 makes Slack deliver it again later.
            ERRORS.labels("database_down").inc()
            return PlainTextResponse("database unavailable", status_code=503)
        try:
            # Bolt reads fields while building its request (user, channel, team ids) without checking
            # their types; a body it cannot read is the sender's error, not a 500 for Slack to retry.
            bolt_request = to_bolt_request(request, body)
        except Exception as exc:
            BAD_REQUESTS.labels("unreadable").inc()
            log.warning("signed body Bolt cannot read: %s", type(exc).__name__)
            return PlainTextResponse("bad request: unreadable", status_code=400)
        try:
            bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        except Exception:
            ERRORS.labels("dispatch").inc()
            log.exception("Bolt dispatch failed")
            return PlainTextResponse("internal error", status_code=500)
        if kind == "event" and bolt_response.status == 404:
            # An event no listener takes (a type we don't handle, app_rate_limited): Bolt answers 404,
            # and Slack retries any non-2xx event, then flags the app. Ack it; the log says what it was.
            log.info("event acked without a listener: %s", _event_type(bolt_request.body))
            return Response(status_code=200)
        return to_starlette_response(bolt_response)

    async def timed_slack_events(request: Request) -> Response:
        """slack_events, timed from arrival to answer for the requests Slack holds a deadline on."""
        started = time.monotonic()
        try:
            return await slack_events(request)
        finally:
            kind = ACK_KINDS.get(getattr(request.state, "slack_kind", ""))
            if kind is not None:
                ACK_SECONDS.labels(kind).observe(time.monotonic() - started)

    async def oauth(request: Request) -> Response:
        flow = bolt.oauth_flow
        if flow is None:
            return PlainTextResponse(
                "this installation is single-workspace (SLACK_BOT_TOKEN)", status_code=404
            )
        # GET routes: the flow reads only the query string and cookies, so a body (of any size) is
        # never read into memory.
        bolt_request: BoltRequest = to_bolt_request(request, b"")
        handler = flow.handle_installation if request.url.path == INSTALL_PATH else flow.handle_callback
        return to_starlette_response(await run_in_threadpool(handler, bolt_request))

    async def livez(_: Request) -> Response:
        # Liveness: the event loop answers. Never the database: a database outage must take replicas out
        # of the load balancer (readiness), not have them all restarted at once by their liveness probes.
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        """Readiness: this replica can take Slack's requests, so the database answers within the budget."""

        def ping() -> None:
            with ctx.db.engine.connect() as conn:
                conn.execute(text("select 1"))

        try:
            await asyncio.wait_for(run_in_threadpool(ping), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            return JSONResponse({"ok": False, "database": "timeout"}, status_code=503)
        except Exception as exc:
            return JSONResponse({"ok": False, "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"ok": True})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/slack/events", timed_slack_events, methods=["POST"]),
        Route(INSTALL_PATH, oauth, methods=["GET"]),
        Route(REDIRECT_PATH, oauth, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/healthz", readyz, methods=["GET"]),  # as before: the database is checked
        Route("/metrics", metrics, methods=["GET"]),
    ]
    routes += _email_routes(ctx)
    app = Starlette(routes=routes)
    app.state.bolt = bolt
    return app


def _is_event_callback(body: bytes) -> bool:
    # Cheap and conservative: a false positive only costs a pool checkout.
    return body.lstrip().startswith(b"{") and b'"event_callback"' in body


def _database_up(ctx: AppContext) -> bool:
    """A pool checkout: pool_pre_ping makes it a round trip on PostgreSQL (well under a millisecond
    on a healthy server) and replaces connections a restart broke."""
    try:
        with ctx.db.engine.connect():
            return True
    except Exception as exc:
        log.warning(
            "database unavailable; event refused for Slack to retry", extra={"error": type(exc).__name__}
        )
        return False


def _event_type(body: dict[str, Any]) -> str:
    event = body.get("event")
    inner = event.get("type") if isinstance(event, dict) else None
    return f"{body.get('type')}/{inner}" if inner else str(body.get("type"))


def _email_routes(ctx: AppContext) -> list[Any]:
    return list(email_routes(ctx))
