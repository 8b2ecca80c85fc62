"""How fast `passiton replay` goes through a large export (default 100,000 messages), and whether its cost
follows the messages rather than the calendar span of the export.

    .venv/bin/python bench/replay.py [--messages 100000] [--span-days D] [--runs 3] [--embedder local|hashing] [--keep DIR]
    .venv/bin/python bench/replay.py --compare 60,1826 --per-day 20 [--runs 3]     # same density, 2 months vs 5 years
    .venv/bin/python bench/replay.py --compare 60,1096 --messages 100000 [--runs 3]  # same count, 2 months vs 3 years

Writes a synthetic export — 400 people in 8 time zones, 28 channels (3 private), chatter, questions on a dozen
topics answered in threads, articles with link unfurls, mentions, reactions, rich-text blocks, bot messages,
joins — and a profiles file for 60% of the people (in a temporary folder, or in DIR with `--keep`, reused by
the next run with the same size and span). By default the messages fall on about 1,700 a day (100,000: two
months); `--span-days` spreads them over that many days, and a span over 180 days has quiet months (a trickle
of 3%, about one month in four, and a quiet quarter in the second year), as real workspaces have.

Single export: runs, each as its own process, `--runs` times:

- the baseline: a process that imports passiton and parses the export (`load_export`), the part of a replay
  that cannot be avoided;
- the command a user runs: `passiton replay EXPORT --profiles P --out report.html --json report.jsonl`, which
  includes interpreter start, imports, the model load, the migrated temporary database, the replay, the
  summary and writing both reports;

and prints the median wall time and CPU time (user + system of the child, threads included) of each, their
ratio, the nudges and answers the command produced (from its JSON lines) and its peak memory.

`--compare A,B`: the command on an export spanning A days and one spanning B days, interleaved in one run,
and the ratio of B's CPU per message to A's. With `--per-day N` both have N messages on an ordinary day (so
the longer one has more messages), and a one-day export of the same workspace is timed too: its CPU (start-up,
model load, setup, reports) is subtracted before dividing by the messages, so a short export's start-up does
not make its messages look dear. Without it, both have `--messages` messages and the ratio is of the totals.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ZONES = [
    ("America/Los_Angeles", -25200), ("America/New_York", -14400), ("Europe/London", 3600),
    ("Europe/Berlin", 7200), ("Asia/Kolkata", 19800), ("Asia/Tokyo", 32400), ("Australia/Sydney", 39600),
    ("America/Sao_Paulo", -10800),
]  # fmt: skip
TOPICS = {
    "postgres": ["vacuum", "index", "replica", "query plan", "autovacuum", "partitioning"],
    "kubernetes": ["pod", "node", "ingress", "helm chart", "eviction", "operator"],
    "terraform": ["module", "state file", "provider", "plan output", "workspace", "drift"],
    "react": ["hook", "render", "suspense", "state", "context", "memo"],
    "css": ["grid", "flexbox", "container query", "layout", "cascade", "selector"],
    "python packaging": ["wheel", "pyproject", "lock file", "venv", "sdist", "entry point"],
    "machine learning": ["training run", "embedding", "fine-tune", "eval set", "model drift", "features"],
    "observability": ["trace", "alert", "dashboard", "metric", "span", "log volume"],
    "security": ["token", "secret", "cve", "rotation", "sso", "audit log"],
    "data pipelines": ["backfill", "dbt model", "airflow dag", "late data", "schema change", "partition"],
    "design systems": ["token", "component", "figma", "spacing", "theme", "variant"],
    "public speaking": ["talk", "slides", "cfp", "rehearsal", "abstract", "meetup"],
}
CHATTER = [
    "morning all", "lunch anyone?", "that demo was great", "I'll be late to standup", "thanks!",
    "shipping the fix now", "can we move the sync to 3pm", "nice work on the release", "back from leave today",
    "the coffee machine is fixed", "reviewing your PR after lunch", "happy friday", "heads down on the migration",
]  # fmt: skip


def _user(i: int, rng: random.Random) -> dict[str, Any]:
    tz, offset = ZONES[i % len(ZONES)]
    name = f"person{i:03d}"
    return {
        "id": f"U{i:08d}", "name": name, "real_name": f"Person {i}", "tz": tz, "tz_offset": offset,
        "deleted": rng.random() < 0.01, "is_bot": False,
        "profile": {"real_name": f"Person {i}", "display_name": f"P{i}", "email": f"{name}@example.org"},
    }  # fmt: skip


def _blocks(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


QUIET = 0.03  # a quiet month's activity, relative to an ordinary month's
START = datetime(2026, 3, 2, tzinfo=UTC)


def day_weights(span_days: int, seed: int = 7) -> list[float]:
    """Each day's share of the activity: 1 on an ordinary day; a multi-year export (a span over 180 days)
    also has quiet months (a trickle, as in a real workspace's summers, reorganisations or slow years),
    about one month in four, and a quiet quarter in its second year. Months are 30-day blocks from the start.
    Drawn from their own generator, so the messages' draws do not depend on them."""
    if span_days <= 180:
        return [1.0] * span_days
    rng = random.Random(seed + 1)
    months = (span_days + 29) // 30
    quiet = [rng.random() < 0.25 for _ in range(months)]
    for m in range(15, min(18, months)):  # one long lull
        quiet[m] = True
    return [QUIET if quiet[d // 30] else 1.0 for d in range(span_days)]


def messages_for(per_day: float, span_days: int) -> int:
    """How many messages an export of `per_day` messages on an ordinary day has over `span_days` (a
    question's thread replies count too, as they do in the build)."""
    return max(1, round(per_day * sum(day_weights(span_days))))


def build(root: Path, messages: int, seed: int = 7, span_days: int | None = None) -> tuple[Path, Path]:
    """A synthetic export of `messages` messages over `span_days` days (default: about 1,700 a day)."""
    rng = random.Random(seed)
    people = 400
    users = [_user(i, rng) for i in range(people)]
    users.append({"id": "U0DEPLOYBOT", "name": "deploybot", "is_bot": True, "deleted": False,
                  "profile": {"bot_id": "B0DEPLOY", "real_name": "deploybot"}})  # fmt: skip
    ids = [u["id"] for u in users[:people]]
    expertise = {uid: rng.sample(sorted(TOPICS), rng.randint(1, 2)) for uid in ids}
    interests = {uid: rng.sample(sorted(TOPICS), rng.randint(1, 3)) for uid in ids}
    channels: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    for c in range(28):
        private = c >= 25
        size = rng.randint(8, 40) if private else rng.randint(30, 220)
        cid = f"{'G' if private else 'C'}{c:08d}"
        who = rng.sample(ids, size)
        members[cid] = who
        entry = {"id": cid, "name": f"team-{c}", "created": 1, "members": who, "is_private": private}
        (groups if private else channels).append(entry)
    names = {c["id"]: c["name"] for c in channels + groups}
    days = span_days or max(1, round(messages / 1700))
    start = START.timestamp()
    weights = day_weights(days, seed)
    # Ordinary days only: the same draws as before spans existed, so a default export is unchanged.
    uniform = all(w == 1.0 for w in weights)
    cumulative = list(itertools.accumulate(weights))
    per_day: dict[tuple[str, str], list[dict[str, Any]]] = {}
    count = 0
    n = 0

    def put(cid: str, msg: dict[str, Any]) -> None:
        nonlocal count
        day = datetime.fromtimestamp(float(msg["ts"]), UTC).strftime("%Y-%m-%d")
        per_day.setdefault((names[cid], day), []).append(msg)
        count += 1

    while count < messages:
        n += 1
        if uniform:
            t = start + rng.uniform(0, days * 86400)
        else:
            which = rng.choices(range(days), cum_weights=cumulative)[0]
            t = start + (which + rng.random()) * 86400
        cid = rng.choice(list(members))
        author = rng.choice(members[cid])
        ts = f"{t:.6f}"
        roll = rng.random()
        if roll < 0.12:  # a question, answered in its thread by people who know the topic (or not)
            topic = rng.choice(sorted(TOPICS))
            detail = rng.choice(TOPICS[topic])
            lead = "Does anyone know" if rng.random() < 0.1 else "How do I deal with"
            text = f"{lead} {topic} {detail} issues? our {detail} keeps failing after the deploy"
            helpers = [u for u in members[cid] if topic in expertise[u] and u != author]
            repliers = rng.sample(helpers, min(len(helpers), rng.randint(0, 2))) + rng.sample(members[cid], 1)
            parent = {"type": "message", "user": author, "text": text, "ts": ts, "blocks": _blocks(text),
                      "thread_ts": ts, "reply_count": len(repliers)}  # fmt: skip
            put(cid, parent)
            for k, r in enumerate(repliers):
                rt = f"{t + 300 * (k + 1) + rng.uniform(0, 3600):.6f}"
                body = f"try checking the {detail}; we had the same with {topic} last month"
                put(cid, {"type": "message", "user": r, "text": body, "ts": rt, "thread_ts": ts,
                          "parent_user_id": author})  # fmt: skip
        elif roll < 0.19:  # an article with its unfurl
            topic = rng.choice(sorted(TOPICS))
            url = f"https://blog{n % 40}.example.org/{topic.replace(' ', '-')}/{n}"
            text = f"good read on {topic} <{url}>"
            put(cid, {"type": "message", "user": author, "text": text, "ts": ts, "blocks": _blocks(text),
                      "attachments": [{"from_url": url, "original_url": url, "service_name": f"blog{n % 40}",
                                       "title": f"What we learned about {topic} {rng.choice(TOPICS[topic])}",
                                       "text": f"A long look at {topic} in production."}],
                      "reactions": [{"name": "eyes", "users": rng.sample(members[cid], 2), "count": 2}]})  # fmt: skip
        elif roll < 0.23:
            put(cid, {"type": "message", "subtype": "bot_message", "bot_id": "B0DEPLOY", "username": "deploybot",
                      "text": f"deployed build {n}", "ts": ts})  # fmt: skip
        elif roll < 0.24:
            put(cid, {"type": "message", "subtype": "channel_join", "user": author,
                      "text": f"<@{author}> has joined the channel", "ts": ts})  # fmt: skip
        else:  # chatter, sometimes mentioning someone, sometimes in a thread
            text = rng.choice(CHATTER)
            msg: dict[str, Any] = {"type": "message", "user": author, "text": text, "ts": ts}
            if rng.random() < 0.15:
                other = rng.choice(members[cid])
                msg["text"] = f"<@{other}> {text}"
            if rng.random() < 0.1:
                msg["reactions"] = [{"name": "+1", "users": rng.sample(members[cid], 1), "count": 1}]
            put(cid, msg)
    for (folder, day), msgs in per_day.items():
        path = root / folder / f"{day}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(msgs, key=lambda m: float(m["ts"]))))
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps(channels))
    (root / "groups.json").write_text(json.dumps(groups))
    profiles = {
        uid: {"interests": interests[uid], "expertise": expertise[uid]} for uid in ids if rng.random() < 0.6
    }
    profiles_path = root.parent / "profiles.json"
    profiles_path.write_text(json.dumps(profiles))
    return root, profiles_path


def run_child(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process, which must succeed. The child's own
    resource use (wait4), so one child's peak is not another's."""
    wall = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - wall
        if child.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{tail}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def produced(jsonl: Path) -> tuple[int, int]:
    nudges = answers = 0
    for line in jsonl.read_text().splitlines():
        kind = json.loads(line).get("type")
        nudges += kind == "nudge" and bool(json.loads(line).get("delivered"))
        answers += kind == "answer"
    return nudges, answers


def prepare(folder: Path, messages: int, span_days: int | None = None) -> tuple[Path, Path]:
    """The export and profiles for `messages` over `span_days`, built once per folder, size and span."""
    export_dir, profiles_path = folder / "export", folder / "profiles.json"
    stamp = folder / "messages.txt"
    wanted = str(messages) if span_days is None else f"{messages} over {span_days} days"
    if not (stamp.exists() and stamp.read_text() == wanted and profiles_path.exists()):
        if export_dir.exists():
            shutil.rmtree(export_dir)
        folder.mkdir(parents=True, exist_ok=True)
        build(export_dir, messages, span_days=span_days)
        stamp.write_text(wanted)
    return export_dir, profiles_path


@dataclass
class Case:
    """One export and the replays of it."""

    label: str
    messages: int
    span_days: int | None
    export: Path
    profiles: Path
    runs: list[tuple[float, float, int]] = field(default_factory=list)
    nudges: int = 0
    answers: int = 0

    @property
    def wall(self) -> float:
        return statistics.median(r[0] for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r[1] for r in self.runs)

    @property
    def peak(self) -> int:
        return max(r[2] for r in self.runs)


def replay_argv(case: Case, out: Path, embedder: str) -> list[str]:
    return [
        str(Path(sys.executable).with_name("passiton")), "replay", str(case.export), "--profiles", str(case.profiles),
        "--out", str(out / "report.html"), "--json", str(out / f"{case.label}.jsonl"), "--embedder", embedder,
    ]  # fmt: skip


def single(args: argparse.Namespace, root: Path) -> int:
    """One export: the replay command beside the import + parse baseline."""
    export_dir, profiles_path = prepare(args.keep or root / "data", args.messages, args.span_days)
    case = Case("report", args.messages, args.span_days, export_dir, profiles_path)
    parse = [sys.executable, "-c", f"from bot.replay import load_export; load_export({str(export_dir)!r})"]
    base: list[tuple[float, float, int]] = []
    for _ in range(args.runs):
        base.append(run_child(parse))
        case.runs.append(run_child(replay_argv(case, root, args.embedder)))
    nudges, answers = produced(root / "report.jsonl")
    bw, bc = statistics.median(b[0] for b in base), statistics.median(b[1] for b in base)
    fw, fc = case.wall, case.cpu
    span = f" over {args.span_days} days" if args.span_days else ""
    print(f"export: {args.messages:,} messages{span}, embedder {args.embedder}, {args.runs} runs (medians)")
    print(f"baseline (import + parse):  wall {bw:6.1f} s   cpu {bc:6.1f} s")
    print(
        f"passiton replay (command):  wall {fw:6.1f} s   cpu {fc:6.1f} s   ({fw / bw:.1f}x / {fc / bc:.1f}x the baseline)"
    )
    print(
        f"per message: {fc / max(args.messages, 1) * 1e6:.0f} µs cpu; produced {nudges:,} nudges, {answers:,} answers"
    )
    print(f"peak memory of the replay process: {case.peak:.0f} MB")
    return 0


def compare(args: argparse.Namespace, root: Path) -> int:
    """Two spans in one run, each replay in its own process, interleaved so drift in the machine's speed
    falls on both; the second span's CPU per message as a multiple of the first's."""
    spans = [int(s) for s in args.compare.split(",")]
    if len(spans) != 2 or min(spans) < 1:
        raise SystemExit("--compare takes two spans in days, like 60,1826")
    data = args.keep or root / "data"
    cases: list[Case] = []
    for span in spans:
        n = messages_for(args.per_day, span) if args.per_day else args.messages
        cases.append(Case(f"span{span}", n, span, *prepare(data / f"{n}-{span}d", n, span)))
    fixed: Case | None = None
    if args.per_day:
        # What a replay costs whatever the export's length (start-up, model load, the workspace's setup,
        # the reports): one ordinary day of the same workspace. Subtracted, so a small export's start-up
        # does not make its messages look dear.
        n = messages_for(args.per_day, 1)
        fixed = Case("oneday", n, 1, *prepare(data / f"{n}-1d", n, 1))
    for _ in range(args.runs):
        for case in cases + ([fixed] if fixed else []):
            case.runs.append(run_child(replay_argv(case, root, args.embedder)))
    for case in cases:
        case.nudges, case.answers = produced(root / f"{case.label}.jsonl")
    print(
        f"embedder {args.embedder}, {args.runs} runs each (medians; CPU = user + system of the replay process)"
    )
    if fixed is not None:
        print(
            f"one day ({fixed.messages:,} messages, fixed cost): wall {fixed.wall:6.1f} s   cpu {fixed.cpu:6.1f} s"
        )
    per: list[float] = []
    for case in cases:
        raw = case.cpu / case.messages * 1e3
        line = (
            f"{case.messages:>8,} messages over {case.span_days:>5,} days: wall {case.wall:6.1f} s   "
            f"cpu {case.cpu:6.1f} s   {raw:5.2f} ms cpu per message"
        )
        if fixed is not None:
            net = (case.cpu - fixed.cpu) / max(case.messages - fixed.messages, 1) * 1e3
            line += f" ({net:5.2f} beyond the fixed cost)"
            per.append(net)
        else:
            per.append(raw)
        line += f"; {case.nudges:,} nudges, {case.answers:,} answers; peak {case.peak} MB"
        print(line)
    what = "ms per message beyond the fixed cost" if fixed is not None else "ms per message"
    print(f"ratio, {spans[1]:,} days / {spans[0]:,} days, {what}: {per[1] / per[0]:.2f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--span-days", type=int, help="spread the messages over this many days (default: about 1,700 a day)"
    )
    parser.add_argument("--compare", help="two spans in days, e.g. 60,1826: both replayed in this run")
    parser.add_argument(
        "--per-day",
        type=float,
        help="with --compare: messages on an ordinary day, instead of --messages each",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedder", default="local", choices=("local", "hashing"))
    parser.add_argument("--keep", type=Path, help="build the exports here and reuse them next time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="passiton-bench-replay-") as tmp:
        return compare(args, Path(tmp)) if args.compare else single(args, Path(tmp))


if __name__ == "__main__":
    raise SystemExit(main())
