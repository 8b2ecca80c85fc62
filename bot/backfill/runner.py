"""Runs backfill jobs: claim one, page through the channel, store each page with its progress, finish.

Where it runs: in the scheduler process (`passiton jobs`, or inside `passiton run`), on the leader, so
one process reads a workspace's history at a time; `passiton backfill` runs the same loop in the
foreground. A job left `running` by a process that died is taken over once its heartbeat is older than
the lease; one left by a process that stopped cleanly is `pending` again and resumes at once.

A page is fetched (history, then the threads of its questions, then unknown authors' profiles) before
any transaction opens, and stored in one transaction together with the job's new `reached_ts`: after a
crash the job resumes exactly after the last page stored, and a page is never stored twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.backfill.fetch import Interrupted, PacedClient, Pacer, Stopped, Thread, history_page, threads_of
from bot.backfill.store import store_threads
from bot.config import Settings
from bot.ingest import slack_sync
from bot.ingest.messages import action_for
from bot.ingest.profiles import needs_profile
from bot.store.db import Database
from bot.store.models import BackfillJob, Workspace, utcnow
from bot.store.queries import backfill as jobs
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)

TokenFor = Callable[[str], str | None]
CHANNEL_TYPES = "public_channel,private_channel"
DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass
class Progress:
    """What the progress log line (and `passiton backfill`'s bar) says after each page."""

    team_id: str
    channel: str
    pages: int
    messages: int
    done: bool
    status: str = "running"
    reason: str | None = None


@dataclass
class BackfillRunner:
    db: Database
    settings: Settings
    token_for: TokenFor
    embedder: Callable[[], Any] = field(default=lambda: None)
    stop: threading.Event = field(default_factory=threading.Event)
    lease: dt.timedelta = DEFAULT_LEASE
    page_limit: int = 200
    # Told after each page is committed, and at the end (the CLI's progress bar).
    on_progress: Callable[[Progress], None] | None = None
    worker: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    clock: Callable[[], dt.datetime] = utcnow

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.settings.passiton_backfill_per_minute, self.stop)
        self._profiled: set[str] = set()

    # -- the loop ------------------------------------------------------------------------------

    def run_pending(self, *, max_jobs: int | None = None) -> list[Progress]:
        """Run claimable jobs one after another until none is left, `max_jobs` ran, or `stop` is set."""
        finished: list[Progress] = []
        while not self.stop.is_set() and (max_jobs is None or len(finished) < max_jobs):
            with self.db.session() as session:
                job = jobs.claim_next(session, self.worker, self.clock(), self.lease)
                job_id = job.id if job is not None else None
            if job_id is None:
                break
            finished.append(self.run_job(job_id))
            if finished[-1].status == "pending":  # handed back (stopping, Slack down): the next round retries
                break
        return finished

    def run_job(self, job_id: int) -> Progress:
        """Run one job this worker has claimed, to its end or until interrupted (then it is pending again)."""
        with self.db.session() as session:
            job = session.get(BackfillJob, job_id)
            assert job is not None
            workspace = session.get(Workspace, job.workspace_id)
            assert workspace is not None
            team_id, channel, pages, count = workspace.team_id, job.slack_channel_id, job.pages, job.messages
        progress = Progress(team_id, channel, pages, count, done=False)
        try:
            token = self.token_for(team_id)
            if not token:
                raise Stopped("not_authed", "token lookup")
            client = PacedClient(
                team_id=team_id,
                pacer=self.pacer,
                token=token,
                base_url=self.settings.slack_api_url.rstrip("/") + "/",
            )
            if channel == jobs.DISCOVER:
                self._discover(client, job_id, team_id)
            else:
                self._read_channel(client, job_id, team_id, channel, progress)
        except Stopped as exc:
            self._stopped(exc, job_id, progress)
        except SlackApiError as exc:
            if exc.response.status_code < 500:  # Slack said no and would say it again: stop, saying why
                self._stopped(Stopped(str(exc.response.get("error") or "error"), "slack"), job_id, progress)
            else:
                self._paused(exc, job_id, progress)
        except (Interrupted, OSError) as exc:
            self._paused(exc, job_id, progress)
        else:
            with self.db.session() as session:
                jobs.finish(session, job_id, self.worker, self.clock(), "done", None)
            progress.done, progress.status = True, "done"
            log.info(
                "backfill done",
                extra={"team_id": progress.team_id, "channel": progress.channel, "pages": progress.pages,
                       "messages": progress.messages, "done": True, "rate_limited": self.pacer.rate_limited},
            )  # fmt: skip
        self._report(progress)
        return progress

    def _stopped(self, exc: Stopped, job_id: int, progress: Progress) -> None:
        """The job ends here: its row and one log line say why."""
        reason = f"{exc.code}: {exc.why}"
        with self.db.session() as session:
            jobs.finish(session, job_id, self.worker, self.clock(), "stopped", reason)
        log.warning(
            f"backfill of {progress.channel} stopped: {reason}",
            extra={"team_id": progress.team_id, "channel": progress.channel, "reason": exc.code,
                   "method": exc.method, "pages": progress.pages, "messages": progress.messages, "done": False},
        )  # fmt: skip
        progress.status, progress.reason = "stopped", reason

    def _paused(self, exc: Exception, job_id: int, progress: Progress) -> None:
        """Stopping, or Slack unreachable or failing (5xx): pending again, to go on from the last page stored."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        with self.db.session() as session:
            jobs.release(session, job_id, self.worker, None if isinstance(exc, Interrupted) else error)
        log.info(
            "backfill paused",
            extra={"team_id": progress.team_id, "channel": progress.channel, "reason": error,
                   "pages": progress.pages, "messages": progress.messages, "done": False},
        )  # fmt: skip
        progress.status, progress.reason = "pending", error

    # -- the two kinds of job ----------------------------------------------------------------------

    def _discover(self, client: PacedClient, job_id: int, team_id: str) -> None:
        """The channels the bot is in (public, and private ones it was invited to): one job each."""
        cursor: str | None = None
        found: list[str] = []
        while True:
            response = client.users_conversations(
                types=CHANNEL_TYPES,
                exclude_archived=True,
                limit=200,
                **({"cursor": cursor} if cursor else {}),
            )
            found += [
                str(c["id"]) for c in response.get("channels") or [] if isinstance(c, dict) and c.get("id")
            ]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        now = self.clock()
        with self.db.session() as session:
            job = session.get(BackfillJob, job_id)
            assert job is not None
            workspace = session.get(Workspace, job.workspace_id)
            assert workspace is not None
            for channel_id in found:
                jobs.enqueue_backfill(
                    session, workspace, channel_id, now, self.settings.passiton_backfill_days, "install",
                    again=False,
                )  # fmt: skip
        log.info("backfill channels found", extra={"team_id": team_id, "channels": len(found)})

    def _read_channel(
        self, client: PacedClient, job_id: int, team_id: str, channel: str, progress: Progress
    ) -> None:
        slack_sync.ensure_channel(self.db, client, team_id, channel, force=True)
        with self.db.session() as session:
            job = session.get(BackfillJob, job_id)
            assert job is not None
            oldest, latest = job.oldest_ts, job.reached_ts or job.latest_ts
            window_end = job.latest_ts
        cursor: str | None = None
        while True:
            if self.stop.is_set():
                raise Interrupted("stopping")
            page = history_page(
                client, channel, oldest=oldest, latest=latest, cursor=cursor, limit=self.page_limit
            )
            threads = list(threads_of(client, channel, page, oldest=oldest, latest=window_end))
            self._profiles(client, team_id, threads)
            reached = min((str(m["ts"]) for m in page.messages if m.get("ts")), key=float, default=None)
            now = self.clock()
            with self.db.session() as session:
                job = session.get(BackfillJob, job_id)
                assert job is not None
                workspace = session.get(Workspace, job.workspace_id)
                assert workspace is not None
                stored_channel = slack_sync.get_channel(session, workspace, channel)
                if stored_channel is None:
                    raise Stopped("channel_not_found", "conversations.info")
                result = store_threads(
                    session,
                    workspace,
                    stored_channel,
                    threads,
                    settings=self.settings,
                    embedder=self.embedder,
                )
                values: dict[str, Any] = {"pages": job.pages + 1, "messages": job.messages + result.stored}
                if reached is not None:
                    values["reached_ts"] = reached
                if not jobs.still_mine(session, job_id, self.worker, now, **values):
                    session.rollback()
                    raise Interrupted("another runner took the job over")
            progress.pages, progress.messages = values["pages"], values["messages"]
            log.info(
                "backfill page",
                extra={"team_id": team_id, "channel": channel, "pages": progress.pages,
                       "messages": progress.messages, "read": result.seen, "items": result.items,
                       "replies": result.replies, "done": False},
            )  # fmt: skip
            self._report(progress)
            cursor = page.next_cursor
            if not cursor:
                return

    def _profiles(self, client: PacedClient, team_id: str, threads: list[Thread]) -> None:
        """Authors the store has no profile of yet (time zone, bot, guest, deactivated), as live does."""
        with self.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            users: set[str] = set()
            for thread in threads:
                for raw in (thread.parent, *thread.replies):
                    action, message = action_for({**raw, "channel": "C"}, workspace.bot_user_id)
                    if action == "new" and message is not None and message.user:  # people, as live reads them
                        users.add(message.user)
            users -= self._profiled
            missing = []
            for user_id in sorted(users):
                member = member_by_slack_id(session, workspace, user_id)
                if member is None or needs_profile(member):
                    missing.append(user_id)
        for user_id in missing:
            # Asked once per run: a user Slack no longer knows (user_not_found) is not asked on every page.
            self._profiled.add(user_id)
            slack_sync.ensure_profile(self.db, client, team_id, user_id)  # (it skips forgotten members)

    def _report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)
