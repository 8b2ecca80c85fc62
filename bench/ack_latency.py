"""Event ack latency of one `passiton serve` at a fixed event rate (Slack's deadline is 3 s).

    .venv/bin/python bench/ack_latency.py [--rate 200] [--seconds 10] [--repeats 3]

Real processes on loopback: a fresh PostgreSQL database, the Slack emulator, one `passiton serve`.
Signed `message` events (70 % chatter, 20 % questions, 10 % links) are sent open-loop at `--rate`, so
a slow answer does not slow the sender down — the way Slack sends. The baseline, measured in the same
run at the same rate, is Slack's `url_verification` handshake: signature check and routing with no
work behind it. Printed: p50/p99 of each (median over repeats), their ratio, the serve process's
peak memory, and whether every event became an item once the work behind the acks had finished.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scale_load import EventFactory, LoadResult, open_loop, url_verification_body
from sqlalchemy import create_engine, text

from tests.deploy.cluster import Cluster, Proc, fresh_database, pg_available


def bench_workspace(users: int = 20, channels: int = 4) -> dict[str, object]:
    names = [f"member{i:03d}" for i in range(users)]
    return {
        "teams": [
            {
                "id": "T0BENCH01",
                "name": "Bench",
                "domain": "bench",
                "users": [{"name": n, "tz": "Europe/Berlin"} for n in names],
                "channels": [{"name": f"chan-{c}", "members": names} for c in range(channels)],
            }
        ]
    }


def factory_for(cluster: Cluster) -> EventFactory:
    emu = cluster.emulator
    assert emu is not None
    team = emu.team
    return EventFactory(
        team_id=team["id"],
        bot_user_id=team["bot_user_id"],
        app_id=emu.info["app_id"],
        channels=[c["id"] for c in team["channels"]],
        users=[u["id"] for u in team["users"] if u["name"].startswith("member")],
    )


def warm_up(cluster: Cluster, serves: list[Proc], factory: EventFactory, count: int) -> None:
    """One event per channel and member, one at a time, so first-sight syncing is not measured."""
    import httpx
    from scale_load import signed

    with httpx.Client(timeout=10) as client:
        for i in range(count):
            body = factory.body(i)
            url = serves[i % len(serves)].url + "/slack/events"
            client.post(url, content=body, headers=signed(cluster.signing_secret, body)).raise_for_status()
            time.sleep(0.05)


def count_rows(database_url: str, table: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"select count(*) from {table}")).scalar_one())
    finally:
        engine.dispose()


def wait_for_events(database_url: str, expected: int, timeout: float) -> int:
    """Events handled behind the acks (each claims its event id once, chatter included)."""
    deadline = time.monotonic() + timeout
    found = count_rows(database_url, "processed_events")
    while found < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        found = count_rows(database_url, "processed_events")
    return found


def peak_rss_mib(proc: Proc) -> float:
    for line in Path(f"/proc/{proc.popen.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shifted(factory: EventFactory, offset: int) -> Callable[[int], bytes]:
    """Event bodies numbered from `offset`, so each run sends events never seen before."""
    return lambda i: factory.body(offset + i)


def describe(label: str, result: LoadResult) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result.errors.items())) or "none"
    return (
        f"{label:<22} sent {result.sent:>5}  ok {result.ok:>5}  {result.rate:7.1f}/s  "
        f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  client lag max "
        f"{result.max_start_lag * 1000:6.1f} ms  errors: {errors}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()
    if not pg_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432", file=sys.stderr)
        return 2

    with fresh_database("passiton_bench") as url, Cluster(Path(tempfile.mkdtemp()), url) as cluster:
        cluster.start_emulator(bench_workspace())
        serves = cluster.start_serve(1)
        cluster.wait_healthy(serves)
        factory = factory_for(cluster)
        warm = len(factory.channels) * len(factory.users)
        warm_up(cluster, serves, factory, warm)
        wait_for_events(url, warm, 60)
        urls = [p.url + "/slack/events" for p in serves]

        base_runs, event_runs = [], []
        drains: list[float] = []
        offset = warm
        for _ in range(ns.repeats):
            base = asyncio.run(
                open_loop(
                    urls, cluster.signing_secret, url_verification_body, rate=ns.rate, seconds=ns.seconds
                )
            )
            events = asyncio.run(
                open_loop(
                    urls, cluster.signing_secret, shifted(factory, offset), rate=ns.rate, seconds=ns.seconds
                )
            )
            offset += events.sent
            # Let the work behind these acks finish, so the next baseline is not measured under it.
            acked = time.monotonic()
            wait_for_events(url, offset, 300)
            drains.append(time.monotonic() - acked)
            base_runs.append(base)
            event_runs.append(events)
            print(describe("url_verification", base))
            print(describe("message events", events))
        handled = count_rows(url, "processed_events")
        items = count_rows(url, "items")
        rss = peak_rss_mib(serves[0])

    p50 = statistics.median(r.p50_ms for r in event_runs)
    p99 = statistics.median(r.p99_ms for r in event_runs)
    b50 = statistics.median(r.p50_ms for r in base_runs)
    b99 = statistics.median(r.p99_ms for r in base_runs)
    print()
    print(
        f"ack latency at {ns.rate:.0f} events/s, 1 serve replica, median of {ns.repeats} x {ns.seconds:.0f} s:"
    )
    print(f"  message events     p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    print(f"  url_verification   p50 {b50:7.1f} ms   p99 {b99:7.1f} ms   (baseline)")
    print(f"  ratio events/base  p50 {p50 / b50:7.2f} x   p99 {p99 / b99:7.2f} x")
    print(
        f"  processed_events rows {handled} for {offset} events sent; {items} became items, the rest chatter"
    )
    print(
        f"  the work behind a run's acks finished a median {statistics.median(drains):.1f} s after its last ack"
    )
    print(f"  serve peak RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
