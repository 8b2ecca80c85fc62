"""Wiring: the sender registry and a drainer built from settings (used by jobs and `passiton run`)."""

from __future__ import annotations

import logging
from typing import Any

from bot.config import Settings
from bot.delivery.drain import Drainer
from bot.delivery.senders import Sender, SenderRegistry
from bot.delivery.slack_sender import SlackSender
from bot.store.db import Database

log = logging.getLogger(__name__)

SLACK_KINDS = ("slack_dm", "slack_post", "slack_update")


def email_sender(settings: Settings) -> Sender | None:
    """The email lane's SMTP sender, when it is installed and SMTP_URL is set."""
    if not settings.smtp_url:
        return None
    try:
        from bot.email.smtp import SmtpSender  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        log.warning("SMTP_URL is set but bot.email.smtp is not available; email stays queued")
        return None
    sender: Sender = SmtpSender(settings)
    return sender


def build_registry(db: Database, settings: Settings, *, slack: SlackSender | None = None) -> SenderRegistry:
    registry = SenderRegistry()
    slack = slack or SlackSender.from_settings(db, settings)
    for kind in SLACK_KINDS:
        registry.register(kind, slack)
    email = email_sender(settings)
    if email is not None:
        registry.register("email", email)
    return registry


def build_drainer(db: Database, settings: Settings, **kwargs: Any) -> Drainer:
    registry = kwargs.pop("registry", None) or build_registry(db, settings)
    return Drainer.from_settings(db, settings, registry, **kwargs)
