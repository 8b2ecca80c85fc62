"""PostgreSQL restarted under a running `passiton serve` and a running `passiton jobs`.

Plays Slack's side honestly: events keep arriving during the restart, and an event that does not get
a 2xx is delivered again (with X-Slack-Retry-Num), as Slack does. Afterwards every event became
exactly one item, `serve` answers without a restart (pool_pre_ping), and `jobs` took its leadership
back and drained the outbox, each message once.

One restart for the whole suite: other tests share this server.
"""

from __future__ import annotations

import collections
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.delivery.outbox import enqueue
from bot.store.db import Database
from bot.store.models import Item, OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from tests.conftest import _truncate
from tests.deploy.cluster import free_port
from tests.jobs.procs import Proc, wait_until
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(120)]


def _cluster() -> str:
    versions = (
        sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").exists() else []
    )
    if not versions:
        pytest.skip("no local PostgreSQL cluster to restart")
    return versions[-1]


def _pg_ready(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    _truncate(db)
    yield db
    _truncate(db)


class SlackSide:
    """Delivers events to `serve` and redelivers those that did not get a 2xx."""

    def __init__(self, emu: SlackEmulator, base: str) -> None:
        self.emu = emu
        self.base = base
        self.http = httpx.Client(timeout=5)
        self.pending: list[tuple[dict[str, Any], int]] = []  # (envelope, retries so far)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.delivered: set[str] = set()

    def _post(self, envelope: dict[str, Any], retry: int) -> int:
        try:
            resp = signing.post_signed(
                self.base + "/slack/events", json.dumps(envelope), self.emu.signing_secret,
                retry_num=retry or None, client=self.http,
            )  # fmt: skip
            status = resp.status_code
        except httpx.HTTPError:
            status = 0
        self.statuses[status] += 1
        return status

    def send(self, envelope: dict[str, Any], retry: int = 0) -> None:
        if 200 <= self._post(envelope, retry) < 300:
            self.delivered.add(envelope["event_id"])
        else:
            self.pending.append((envelope, retry + 1))

    def redeliver(self) -> None:
        again, self.pending = self.pending, []
        for envelope, retry in again:
            self.send(envelope, retry)

    def article(self, n: int) -> dict[str, Any]:
        envelope = self.emu.user_message_event(
            "eng", "alice", f"Worth a read on postgres vacuum, part {n}: https://example.com/vacuum/{n}"
        )
        self.send(envelope)
        return envelope


def test_serve_and_jobs_ride_out_a_postgres_restart(pg_url: str, pg_db: Database, tmp_path: Path) -> None:
    cluster = _cluster()
    with SlackEmulator() as emu:
        small(emu)
        with pg_db.session() as s:
            ws = ensure_workspace(s, emu.team.id, name="Emu")
            users = [emu.add_user(f"reader{i}") for i in range(20)]
            for i, user in enumerate(users):
                enqueue(s, workspace_id=ws.id, key=f"pg:{i}", kind="slack_dm",
                        payload={"user": user.id, "text": f"message {i}"})  # fmt: skip
        emu.fail_next("chat.postMessage", None, delay=0.25, times=-1)  # still draining at the restart
        port = free_port()
        env = {
            "DATABASE_URL": pg_url,
            "SLACK_API_URL": emu.url,
            "SLACK_BOT_TOKEN": emu.bot_token,
            "SLACK_SIGNING_SECRET": emu.signing_secret,
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "PASSITON_SLACK_RATE_SCALE": "50",
            "PASSITON_OUTBOX_LEASE_SECONDS": "5",
        }
        serve = Proc(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path, "serve")
        jobs = Proc(["jobs"], env, tmp_path, "jobs")
        slack = SlackSide(emu, f"http://127.0.0.1:{port}")
        try:
            wait_until(lambda: _healthy(slack), 30, "serve to answer /healthz", serve)
            wait_until(lambda: jobs.logged("jobs leader acquired"), 30, "a leader", jobs)
            wait_until(lambda: _sent(pg_db) >= 3, 30, "sending to start", jobs)
            before = [slack.article(n) for n in range(3)]
            wait_until(lambda: _items(pg_db) == 3, 30, "the first items", serve)

            restart = subprocess.Popen(
                ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                during, n = [], 3
                # Slack keeps sending while the server is down and while it comes back.
                while restart.poll() is None or n < 13:
                    during.append(slack.article(n))
                    n += 1
                    time.sleep(0.05)
            finally:
                restart.wait(60)
                _pg_ready()
            deadline = time.monotonic() + 30
            while slack.pending and time.monotonic() < deadline:
                time.sleep(0.5)
                slack.redeliver()
            assert not slack.pending, f"events still refused after the restart: {slack.statuses}"
            after = [slack.article(n) for n in range(n, n + 3)]
            everything = before + during + after
            wait_until(lambda: _items(pg_db) == len(everything), 30, "every event stored", serve)
            time.sleep(1.0)  # would a late duplicate show up?
            assert _items(pg_db) == len(everything)
            assert _distinct_sources(pg_db) == len(everything)
            assert slack.statuses[500] == 0, f"a 500 is a bug, not an outage answer: {slack.statuses}"
            assert slack.statuses[503] > 0, (
                f"no event met the outage; the test proved nothing: {slack.statuses}"
            )
            assert serve.popen.poll() is None

            wait_until(lambda: _sent(pg_db) == len(users), 45, "the outbox drained", jobs)
            wait_until(lambda: _leader_regained(jobs), 30, "leadership back after the restart", jobs)
            assert jobs.popen.poll() is None
        finally:
            _pg_ready()
            serve.stop()
            jobs.stop()
        keys = collections.Counter(
            c.args["metadata"]["event_payload"]["idempotency_key"]
            for c in emu.calls("chat.postMessage", ok=True)
        )
        assert sorted(keys) == sorted(f"pg:{i}" for i in range(len(users)))
        assert set(keys.values()) == {1}, f"sent twice: {[k for k, v in keys.items() if v > 1]}"


def _healthy(slack: SlackSide) -> bool:
    try:
        return slack.http.get(slack.base + "/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def _count(db: Database, stmt: Any) -> int:
    try:
        with db.session() as s:
            return int(s.scalar(stmt) or 0)
    except Exception:  # the test's own pool during the restart
        return -1


def _items(db: Database) -> int:
    return _count(db, select(func.count()).select_from(Item))


def _distinct_sources(db: Database) -> int:
    return _count(db, select(func.count(func.distinct(Item.source_key))))


def _sent(db: Database) -> int:
    return _count(db, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))


def _leader_regained(jobs: Proc) -> bool:
    msgs = [line.get("msg") for line in jobs.lines()]
    if "jobs leader lost" not in msgs:
        return False  # the leader must have noticed the restart...
    last_lost = len(msgs) - 1 - msgs[::-1].index("jobs leader lost")
    return "jobs leader acquired" in msgs[last_lost:]  # ...and taken the lock again
