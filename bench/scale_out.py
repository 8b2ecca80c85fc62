"""Scale-out figures with the processes of tests/deploy/test_scale_out.py (loopback only):

1. Events per second that 1 and 3 `passiton serve` replicas accept (closed loop: `--concurrency`
   senders back to back for `--seconds`), with p50/p99 ack latency, and the rate at which the work
   behind those acks (storing items, embedding, planning) is done: "handled/s", from the first event
   to the last `processed_events` row.
2. Direct messages per second that 1 and 2 `passiton jobs` processes deliver to 3 workspaces with the
   emulator enforcing Slack's rate limits at their real tiers (the outbox rows are queued directly, so
   this measures sending alone), and how many 429s they ran into.

    .venv/bin/python bench/scale_out.py [--repeats 3] [--seconds 5] [--concurrency 16] [--dms 30]

Medians over repeats; ratios are 3-vs-1 replicas and 2-vs-1 senders, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ack_latency import bench_workspace, count_rows, factory_for, wait_for_events, warm_up
from scale_load import LoadResult, closed_loop

from tests.deploy.cluster import Cluster, fresh_database, pg_available

TEAMS = 3
CLIENT_ID = "1111.2222"


@dataclass
class AckRun:
    replicas: int
    load: LoadResult
    handled_per_s: float
    cpu_ms_per_event: float  # serve processes' CPU time per event acked and handled


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def ack_run(replicas: int, seconds: float, concurrency: int) -> AckRun:
    with fresh_database("passiton_bench") as url, Cluster(Path(tempfile.mkdtemp()), url) as cluster:
        cluster.start_emulator(bench_workspace())
        serves = cluster.start_serve(replicas)
        cluster.wait_healthy(serves)
        factory = factory_for(cluster)
        warm = len(factory.channels) * len(factory.users)
        warm_up(cluster, serves, factory, warm)
        wait_for_events(url, warm, 60)
        urls = [p.url + "/slack/events" for p in serves]
        pids = [p.popen.pid for p in serves]
        cpu_before = cpu_seconds(pids)
        started = time.monotonic()
        load = asyncio.run(
            closed_loop(
                urls,
                cluster.signing_secret,
                lambda i: factory.body(warm + i),
                concurrency=concurrency,
                seconds=seconds,
            )
        )
        handled = wait_for_events(url, warm + load.ok, 600) - warm
        finished = time.monotonic()
        cpu = cpu_seconds(pids) - cpu_before
        return AckRun(replicas, load, handled / (finished - started), cpu * 1000 / max(1, handled))


def multi_workspace(dms: int) -> dict[str, Any]:
    return {
        "oauth": {"client_id": CLIENT_ID, "client_secret": "bench-secret"},
        "teams": [
            {
                "id": f"T0BENCH{t:02d}",
                "name": f"Bench {t}",
                "domain": f"bench{t}",
                "users": [{"name": f"member{i:03d}", "tz": "Europe/Berlin"} for i in range(dms)],
                "channels": [],
            }
            for t in range(TEAMS)
        ],
    }


def install_and_queue(database_url: str, info: dict[str, Any], dms: int) -> int:
    """Store each team's OAuth installation (multi-workspace mode) and queue one DM per member."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.delivery.outbox import enqueue
    from bot.slack.installation import installation_store
    from bot.store.db import Database
    from bot.store.queries.workspaces import get_workspace

    db = Database(database_url)
    store = installation_store(CLIENT_ID, db)
    queued = 0
    for team in info["teams"]:
        members = [u for u in team["users"] if u["name"].startswith("member")]  # not Slackbot or the bot
        store.save(
            Installation(
                app_id=info["app_id"], enterprise_id=None, team_id=team["id"], team_name=team["name"],
                bot_token=team["bot_token"], bot_id=team["bot_id"], bot_user_id=team["bot_user_id"],
                bot_scopes=["chat:write", "im:write"], user_id=members[0]["id"],
            )
        )  # fmt: skip
        with db.session() as session:
            workspace = get_workspace(session, team["id"])
            assert workspace is not None
            for user in members[:dms]:
                enqueue(
                    session, workspace_id=workspace.id, key=f"bench:{team['id']}:{user['id']}", kind="slack_dm",
                    payload={"user": user["id"], "text": f"Hello {user['name']}, this is a benchmark DM."},
                )  # fmt: skip
                queued += 1
    db.engine.dispose()
    return queued


@dataclass
class SendRun:
    senders: int
    sent: int
    seconds: float
    rate_limited: int

    @property
    def per_s(self) -> float:
        return self.sent / self.seconds


def send_run(senders: int, dms: int) -> SendRun:
    with fresh_database("passiton_bench") as url, Cluster(Path(tempfile.mkdtemp()), url) as cluster:
        emu = cluster.start_emulator(multi_workspace(dms))
        emu.post("rate_limits", {"scale": 1.0})
        queued = install_and_queue(url, emu.info, dms)
        env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "bench-secret"}
        cluster.start_jobs(senders, **env)
        deadline = time.monotonic() + 600
        posts: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(posts) < queued:
            time.sleep(0.5)
            posts = emu.calls("chat.postMessage")
        if len(posts) < queued:
            raise RuntimeError(f"{len(posts)} of {queued} DMs sent in time:\n{cluster.tails()}")
        # From the first DM to the last, as Slack saw them: process start-up is not sending.
        stamps = sorted(float(c["at"]) for c in posts)
        elapsed = stamps[-1] - stamps[0]
        limited = sum(1 for c in emu.calls(None, ok=None) if c.get("fault") == "rate_limited")
        if count_rows(url, "outbox") != queued:
            raise RuntimeError("outbox rows went missing")
        sent = len(posts) - 1  # intervals between the first and the last
        return SendRun(senders, sent, elapsed, limited)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dms", type=int, default=30, help="DMs per workspace (3 workspaces)")
    parser.add_argument("--skip-acks", action="store_true")
    parser.add_argument("--skip-sends", action="store_true")
    ns = parser.parse_args()
    if not pg_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432", file=sys.stderr)
        return 2

    if not ns.skip_acks:
        acks: dict[int, list[AckRun]] = {1: [], 3: []}
        for _ in range(ns.repeats):
            for replicas in (1, 3):
                run = ack_run(replicas, ns.seconds, ns.concurrency)
                acks[replicas].append(run)
                print(
                    f"serve x{replicas}: accepted {run.load.rate:7.1f}/s  p50 {run.load.p50_ms:6.1f} ms  "
                    f"p99 {run.load.p99_ms:7.1f} ms  errors {run.load.errors or 'none'}  "
                    f"handled {run.handled_per_s:6.1f}/s  serve CPU {run.cpu_ms_per_event:5.1f} ms/event",
                    flush=True,
                )
        med = {
            r: {
                "accepted": statistics.median(x.load.rate for x in runs),
                "p50": statistics.median(x.load.p50_ms for x in runs),
                "p99": statistics.median(x.load.p99_ms for x in runs),
                "handled": statistics.median(x.handled_per_s for x in runs),
                "cpu": statistics.median(x.cpu_ms_per_event for x in runs),
            }
            for r, runs in acks.items()
        }
        print(f"\nevents, closed loop {ns.concurrency} senders x {ns.seconds:.0f} s, median of {ns.repeats}:")
        print("  replicas  accepted/s   p50 ms   p99 ms   handled/s   serve CPU ms/event")
        for r, m in med.items():
            print(
                f"  {r:>8}  {m['accepted']:10.1f}  {m['p50']:7.1f}  {m['p99']:7.1f}  {m['handled']:10.1f}"
                f"   {m['cpu']:8.1f}"
            )
        print(
            f"  3 vs 1:   accepted x{med[3]['accepted'] / med[1]['accepted']:.2f}, "
            f"handled x{med[3]['handled'] / med[1]['handled']:.2f}"
        )

    if not ns.skip_sends:
        sends: dict[int, list[SendRun]] = {1: [], 2: []}
        for _ in range(ns.repeats):
            for senders in (1, 2):
                send = send_run(senders, ns.dms)
                sends[senders].append(send)
                print(
                    f"jobs x{senders}: {send.sent + 1} DMs, {send.per_s:5.2f}/s from first to last, "
                    f"{send.rate_limited} answered 429",
                    flush=True,
                )
        rate = {s: statistics.median(x.per_s for x in runs) for s, runs in sends.items()}
        limited = {s: statistics.median(x.rate_limited for x in runs) for s, runs in sends.items()}
        print(
            f"\nDMs to {TEAMS} workspaces x {ns.dms} members, Slack tiers enforced, median of {ns.repeats}:"
        )
        for s in rate:
            print(
                f"  jobs x{s}: {rate[s]:5.2f} DMs/s ({rate[s] / TEAMS:4.2f}/s per workspace), 429s {limited[s]:.0f}"
            )
        print(f"  2 vs 1: x{rate[2] / rate[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
