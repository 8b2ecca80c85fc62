"""What every listener and job is handed: the dependencies built once per process by `bot.runtime`.

The type lives below every caller (Slack listeners, ingest, jobs, the email web routes) and imports only
settings, the store, matching and the planners' member index cache, so handing it in never creates an import loop; building it is the
composition root's job (`bot.runtime.build_context`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.config import Settings
from bot.delivery.drain import Drainer
from bot.matching.fetch import fetch_page
from bot.matching.items import PageMeta
from bot.nudges.member_index import MemberIndexes
from bot.store.db import Database

log = logging.getLogger(__name__)


class HistoryReader(Protocol):
    """What the scheduler needs of the backfill runner (typed here: bot.backfill sits above this module)."""

    def run_pending(self, *, max_jobs: int | None = None) -> list[Any]: ...


@dataclass
class AppContext:
    """Shared dependencies of the Slack app and its listeners.

    The embedder is built on first use: loading a model costs start-up time that a process which
    never sees an item (a pure sender, a health check) should not pay. `page_fetcher` is used only
    when PASSITON_FETCH_PAGES is on (public addresses only; tests inject one that allows loopback).
    `drainer_factory` builds an outbox drainer over the senders `bot.runtime` configured, so the jobs
    never need to know how a Slack or SMTP sender is made.
    """

    db: Database
    settings: Settings
    embedder_factory: Callable[[], Any] | None = None
    page_fetcher: Callable[[str], PageMeta] = fetch_page
    drainer_factory: Callable[[], Drainer] | None = None
    # The history reader (bot.backfill's runner), built with the workspace token lookup by bot.runtime;
    # given the event that stops it with the process.
    backfill_factory: Callable[[threading.Event], HistoryReader] | None = None
    # The planners' member index cache: one per process, so every listener, job and thread reuses the indexes.
    member_indexes: MemberIndexes = field(default_factory=MemberIndexes)
    _embedder: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _workers: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def submit(self, fn: Callable[..., None], /, *args: Any) -> Future[None]:
        """Run an event's work (a posted message's ingest, match and plan; a join, a reaction) on this
        process's small event pool.

        Bolt's own listener pool also runs slash commands and button presses, which Slack wants
        acknowledged within three seconds; keeping the heavy ingest/match/plan work, and the waits of
        work riding out a database restart, off that pool means neither ever delays a member's command.
        """
        if self._workers is None:
            with self._lock:
                if self._workers is None:
                    self._workers = ThreadPoolExecutor(
                        max_workers=self.settings.passiton_event_workers, thread_name_prefix="passiton-event"
                    )
        future = self._workers.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def new_drainer(self) -> Drainer:
        """A drainer over this process's senders (each sender thread or job run gets its own)."""
        if self.drainer_factory is None:
            raise RuntimeError("no senders configured for this process")
        return self.drainer_factory()

    def new_backfill(self, stop: threading.Event) -> HistoryReader | None:
        """The history reader for this process's scheduler, or None when none is configured."""
        return self.backfill_factory(stop) if self.backfill_factory is not None else None

    def shutdown(self, wait: bool = True) -> None:
        if self._workers is not None:
            self._workers.shutdown(wait=wait)

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    if self.embedder_factory is None:
                        raise RuntimeError("no embedder configured for this process")
                    self._embedder = self.embedder_factory()
        return self._embedder


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("event work failed", exc_info=exc)
