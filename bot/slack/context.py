"""What every listener needs, built once per process and handed to the listener registrars."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.matching.fetch import fetch_page
from bot.matching.items import PageMeta
from bot.store.db import Database


@dataclass
class AppContext:
    """Shared dependencies of the Slack app and its listeners.

    The embedder is built on first use: loading a model costs start-up time that a process which
    never sees an item (a pure sender, a health check) should not pay. `page_fetcher` is used only
    when PASSITON_FETCH_PAGES is on (public addresses only; tests inject one that allows loopback).
    """

    db: Database
    settings: Settings
    embedder_factory: Callable[[], Any] | None = None
    page_fetcher: Callable[[str], PageMeta] = fetch_page
    _embedder: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    if self.embedder_factory is None:
                        raise RuntimeError("no embedder configured for this process")
                    self._embedder = self.embedder_factory()
        return self._embedder
