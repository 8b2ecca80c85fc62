"""Outbox drain throughput against the Slack emulator, with and without Slack's rate limits.

    PYTHONPATH=. .venv/bin/python bench/delivery.py [--messages 200] [--scale 10] [--repeat 3] [--pg URL]

Scenarios (each on a fresh database, median of --repeat runs):
- raw: emulator limits off, client pacing off — the cost of claim + send + record per message.
- paced: emulator enforces Slack's tiers scaled by --scale (conversations.open tier 3, chat.postMessage
  tier 4, 1/s per channel); our client-side buckets at the same scale. DMs to distinct members.
- naive (baseline): same emulator limits, client pacing effectively off — sending as fast as possible
  and relying on 429 + Retry-After alone, as a bot without buckets would.
Prints messages/s, 429 answers received, and the paced/naive ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.delivery.outbox import enqueue
from bot.delivery.ratelimit import SlackRateLimits
from bot.runtime import build_drainer, build_registry, slack_sender
from bot.store.db import Database, dispose_engines
from bot.store.migrate import upgrade
from bot.store.models import OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from tests.support.slack_emulator import SlackEmulator


def _fresh_db(pg: str | None, tmp: Path, n: int) -> str:
    if pg is None:
        url = f"sqlite:///{tmp / f'bench{n}.db'}"
    else:
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS passiton_bench_{n} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE passiton_bench_{n}"))
        admin.dispose()
        url = pg.rsplit("/", 1)[0] + f"/passiton_bench_{n}"
    upgrade(url)
    return url


def run_once(
    scenario: str, messages: int, scale: float, pg: str | None, tmp: Path, n: int
) -> tuple[float, int]:
    url = _fresh_db(pg, tmp, n)
    db = Database(url)
    with SlackEmulator() as emu:
        users = [emu.add_user(f"m{i}") for i in range(messages)]
        with db.session() as session:
            ws = ensure_workspace(session, emu.team.id)
            for i, u in enumerate(users):
                enqueue(
                    session,
                    workspace_id=ws.id,
                    key=f"b{i}",
                    kind="slack_dm",
                    payload={"user": u.id, "text": "hi"},
                )
        if scenario != "raw":
            emu.enable_rate_limits(scale=scale)
        client_scale = {"raw": 1000.0, "paced": scale, "naive": 1000.0}[scenario]
        settings = load_settings(database_url=url, slack_api_url=emu.url, slack_bot_token=emu.bot_token)
        sender = slack_sender(db, settings, limits=SlackRateLimits(scale=client_scale))
        drainer = build_drainer(
            db, settings, registry=build_registry(db, settings, slack=sender), batch_size=50
        )
        start = time.perf_counter()
        while True:
            drainer.drain()
            with db.session() as session:
                left = session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                )
            if not left:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        throttled = sum(1 for c in emu.calls() if c.status == 429)
        assert len(emu.calls("chat.postMessage", ok=True)) == messages
    dispose_engines()
    return messages / elapsed, throttled


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pg", help="PostgreSQL admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    ns = parser.parse_args()
    engine = "postgresql" if ns.pg else "sqlite"
    print(
        f"{ns.messages} DMs to distinct members, {engine}, emulator tiers x{ns.scale:g}, median of {ns.repeat}"
    )
    # The emulator's tiers: conversations.open 50/min, chat.postMessage 100/min per workspace.
    print(f"  Slack limit for new DMs (conversations.open tier 3 x{ns.scale:g}): {50 * ns.scale / 60:.1f}/s")
    medians: dict[str, float] = {}
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in ("raw", "paced", "naive"):
            rates, throttles = [], []
            for _ in range(ns.repeat):
                n += 1
                rate, throttled = run_once(scenario, ns.messages, ns.scale, ns.pg, Path(tmp), n)
                rates.append(rate)
                throttles.append(throttled)
            medians[scenario] = statistics.median(rates)
            print(
                f"  {scenario:6s} {medians[scenario]:8.1f} msg/s   429s received: median {statistics.median(throttles):.0f}"
            )
    print(f"  paced / naive throughput: {medians['paced'] / medians['naive']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
