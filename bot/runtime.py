"""The composition root: everything a passiton process runs on is built here and handed in.

`build_context` gives the `AppContext` that the Slack listeners, the web app, the jobs and the email routes
receive; the senders (Slack with the workspace's token, SMTP when configured), the outbox drainer and the
nudge relevance check are put together here too. Nothing below imports this module: the packages it wires
take their dependencies as arguments, so none of them has to know how the others are built.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from bot.backfill.runner import BackfillRunner
from bot.config import Settings
from bot.context import AppContext
from bot.delivery.drain import Drainer
from bot.delivery.ratelimit import SlackRateLimits
from bot.delivery.senders import Sender, SenderRegistry
from bot.delivery.slack_sender import CachedTokens, SlackSender, TokenLookup
from bot.email.smtp import SmtpSender
from bot.matching.embedders import embedder_from_settings
from bot.nudges.expiry import cancel_reason
from bot.nudges.member_index import MemberIndexes
from bot.slack.tokens import bot_token_for
from bot.store.db import Database

log = logging.getLogger(__name__)

SLACK_KINDS = ("slack_dm", "slack_post", "slack_update")


def build_context(settings: Settings, *, db: Database | None = None) -> AppContext:
    """The process's dependencies; the embedder is loaded on first use, the drainer built per caller."""
    database = db or Database(settings.database_url)
    return AppContext(
        db=database,
        settings=settings,
        embedder_factory=lambda: embedder_from_settings(settings),
        drainer_factory=lambda: build_drainer(database, settings),
        backfill_factory=lambda stop: backfill_runner(database, settings, stop),
        member_indexes=MemberIndexes(),
    )


def backfill_runner(db: Database, settings: Settings, stop: threading.Event) -> BackfillRunner:
    """The history reader with the workspace's bot token, its embedder loaded only if ever needed."""
    return BackfillRunner(
        db, settings, lambda team_id: bot_token_for(db, settings, team_id),
        embedder=lambda: embedder_from_settings(settings), stop=stop,
    )  # fmt: skip


def token_lookup(db: Database, settings: Settings) -> TokenLookup:
    """The workspace's bot token (SLACK_BOT_TOKEN, or the one the OAuth install stored), cached briefly."""
    return CachedTokens(lambda team_id: bot_token_for(db, settings, team_id))


def slack_sender(db: Database, settings: Settings, **kwargs: Any) -> SlackSender:
    """The Slack sender for the outbox kinds slack_dm, slack_post and slack_update."""
    kwargs.setdefault("limits", SlackRateLimits(scale=settings.passiton_slack_rate_scale))
    return SlackSender(api_url=settings.slack_api_url, tokens=token_lookup(db, settings), **kwargs)


def email_sender(settings: Settings) -> Sender | None:
    """The SMTP sender when SMTP_URL is set; without it email stays queued."""
    if not settings.smtp_url:
        return None
    sender: Sender = SmtpSender(settings)
    return sender


def build_registry(db: Database, settings: Settings, *, slack: SlackSender | None = None) -> SenderRegistry:
    registry = SenderRegistry()
    slack = slack or slack_sender(db, settings)
    for kind in SLACK_KINDS:
        registry.register(kind, slack)
    email = email_sender(settings)
    if email is not None:
        registry.register("email", email)
    return registry


def build_drainer(db: Database, settings: Settings, **kwargs: Any) -> Drainer:
    """A drainer over the configured senders that drops nudges whose moment has passed before sending."""
    registry = kwargs.pop("registry", None) or build_registry(db, settings)
    # The relevance check with this deployment's idea of a small channel (bot/policy/share.py: "seen").
    kwargs.setdefault(
        "nudge_check", partial(cancel_reason, small_channel=settings.passiton_small_channel_members)
    )
    return Drainer.from_settings(db, settings, registry, **kwargs)
