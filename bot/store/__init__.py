"""Persistence: typed models, sessions, migrations and the queries the app needs."""

from bot.store.db import Database

__all__ = ["Database"]
