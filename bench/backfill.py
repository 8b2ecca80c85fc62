"""History backfill throughput against the Slack emulator, with and without Slack's rate limits.

    PYTHONPATH=. .venv/bin/python bench/backfill.py [--messages 1200] [--scale 20] [--repeat 3]

One channel of --messages top-level messages over 80 days, one in four a question with two replies (a
conversations.replies call each). Scenarios (fresh SQLite database each, median of --repeat runs):
- raw: emulator limits off, pacing off — fetch + ingest per message, what the machine costs.
- paced: the emulator enforces tier 3 on history/replies scaled by --scale; the backfill paces itself to
  the same rate (PASSITON_BACKFILL_PER_MINUTE = 50 x scale).
- naive (baseline): same emulator limits, pacing effectively off — calling as fast as possible and relying
  on 429 + Retry-After alone.
Prints messages/s, Slack calls, 429s, and at real tier 3 (50 calls/min) the projected wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backfill.runner import BackfillRunner
from bot.config import load_settings
from bot.store.db import Database, dispose_engines
from bot.store.migrate import upgrade
from bot.store.queries.backfill import enqueue_backfill
from bot.store.queries.workspaces import ensure_workspace
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

DAY = 86400.0


def seed(emu: SlackEmulator, messages: int) -> str:
    ch = emu.channel("help").id
    people = ["alice", "bob", "carol", "dana"]
    start = time.time() - 80 * DAY
    step = 80 * DAY / (messages + 1)
    for i in range(messages):
        t = start + i * step
        who = people[i % 4]
        if i % 4 == 0:
            q = emu.post_as_user(
                ch, who, f"how do we rotate the postgres credentials for service {i}?", ts=f"{t:.6f}"
            )
            for k in (1, 2):
                emu.post_as_user(ch, people[(i + k) % 4], f"use the vault runbook, step {k}",
                                 thread_ts=q["ts"], ts=f"{t + k:.6f}")  # fmt: skip
        else:
            emu.post_as_user(ch, who, f"deploy {i} went fine, thanks all", ts=f"{t:.6f}")
    return ch


def run_once(messages: int, mode: str, scale: float) -> dict[str, float]:
    with SlackEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        small(emu)
        channel = seed(emu, messages)
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        per_minute = 50.0 * scale if mode == "paced" else 10_000.0
        if mode != "raw":
            emu.enable_rate_limits(scale=scale)
        settings = load_settings(database_url=url, slack_bot_token=emu.bot_token, slack_api_url=emu.url,
                                 passiton_backfill_per_minute=per_minute, slack_client_id=None,
                                 slack_client_secret=None)  # fmt: skip
        db = Database(url)
        with db.session() as s:
            ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
            enqueue_backfill(s, ws, channel, dt.datetime.now(dt.UTC), 90, "cli")
        runner = BackfillRunner(db, settings, lambda _t: emu.bot_token)
        emu.reset_calls()
        started = time.perf_counter()
        [progress] = runner.run_pending()
        wall = time.perf_counter() - started
        assert progress.done, progress
        reads = [c for c in emu.calls() if c.method in ("conversations.history", "conversations.replies")]
        out = {
            "wall": wall,
            "stored": float(progress.messages),
            "calls": float(len(reads)),
            "429": float(sum(1 for c in reads if c.status == 429)),
        }
        dispose_engines()
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1200)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for mode in ("raw", "paced", "naive"):
        runs = [run_once(ns.messages, mode, ns.scale) for _ in range(ns.repeat)]
        results[mode] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        r = results[mode]
        print(f"{mode:6s} wall {r['wall']:7.2f} s  {r['stored'] / r['wall']:8.1f} msg/s  "
              f"stored {r['stored']:.0f}  history+replies calls {r['calls']:.0f}  429s {r['429']:.0f}")  # fmt: skip
    paced, naive = results["paced"], results["naive"]
    print(
        f"paced/naive wall ratio {paced['wall'] / naive['wall']:.2f} (429s {paced['429']:.0f} vs {naive['429']:.0f})"
    )
    ok_calls = paced["calls"] - paced["429"]
    print(f"at real tier 3 (50 calls/min): {ok_calls:.0f} calls ≈ {ok_calls / 50:.1f} min for "
          f"{paced['stored']:.0f} messages; ingest alone {results['raw']['stored'] / results['raw']['wall']:.0f} msg/s")  # fmt: skip


if __name__ == "__main__":
    main()
