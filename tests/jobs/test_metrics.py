"""`passiton jobs --metrics-port` serves what an operator alerts on, from a real process: the outbox
backlog, each job's last success, send latency, leadership."""

from __future__ import annotations

import datetime as dt
import re
import socket
from pathlib import Path

import httpx
import pytest

from bot.delivery.outbox import enqueue
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.queries.workspaces import ensure_workspace
from tests.jobs.procs import Proc, wait_until
from tests.support.slack_emulator import SlackEmulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format (labels matched exactly), or None."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return None


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_jobs_process_exports_backlog_last_success_and_send_latency(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    db = Database(url)
    with SlackEmulator() as emu:
        user = emu.add_user("olive")
        with db.session() as session:
            ws = ensure_workspace(session, emu.team.id)
            session.flush()
            enqueue(
                session,
                workspace_id=ws.id,
                key="now",
                kind="slack_dm",
                payload={"user": user.id, "text": "hi"},
            )
            enqueue(session, workspace_id=ws.id, key="later", kind="slack_dm",
                    payload={"user": user.id, "text": "tomorrow"},
                    not_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))  # fmt: skip
        port = _free_port()
        env = {"DATABASE_URL": url, "SLACK_API_URL": emu.url, "SLACK_BOT_TOKEN": emu.bot_token,
               "PASSITON_LOG_LEVEL": "INFO"}  # fmt: skip
        proc = Proc(["jobs", "--metrics-port", str(port)], env, tmp_path, "jobs")
        scraped = ""

        def scrape() -> str:
            nonlocal scraped
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return ""
            return scraped

        def ready() -> bool:
            text = scrape()
            return (
                _sample(text, "passiton_outbox_backlog", status="pending") == 1.0  # only "later" is left
                and (_sample(text, "passiton_job_last_success_timestamp_seconds", job="plan-shares") or 0) > 0
                and (_sample(text, "passiton_job_last_success_timestamp_seconds", job="drain-outbox") or 0)
                > 0
            )

        try:
            # The gauges refresh every 15 s; the first refresh may predate the send.
            wait_until(ready, 60, "backlog, last success and latency in /metrics", proc)
        finally:
            proc.stop()
        assert [m["text"] for m in emu.dms_to(user.id)] == ["hi"]
        assert _sample(scraped, "passiton_outbox_backlog", status="sending") == 0.0
        assert _sample(scraped, "passiton_outbox_send_seconds_count", kind="slack_dm") == 1.0
        assert _sample(scraped, "passiton_outbox_send_seconds_bucket", kind="slack_dm", le="+Inf") == 1.0
        assert _sample(scraped, "passiton_outbox_oldest_due_seconds") == 0.0  # nothing due is waiting
        assert _sample(scraped, "passiton_jobs_leader") == 1.0
        assert _sample(scraped, "passiton_job_duration_seconds_count", job="plan-shares") >= 1.0  # type: ignore[operator]
