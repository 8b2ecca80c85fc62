"""How fast the Slack export parser reads a large export (default 100,000 messages).

    .venv/bin/python bench/export_parse.py [--messages 100000] [--runs 5]

Writes a synthetic export (folder and .zip) in a temporary directory — messages shaped like real
ones: rich-text blocks, mentions, links with unfurls, threads, reactions, edits, bot messages — then
prints the median time of `load_export` on each, of streaming with `iter_messages`, and of a
baseline measured in the same run: reading and `json.loads`-ing the same day files and nothing else.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.replay import load_export, open_export

WORDS = [
    "postgres",
    "vacuum",
    "index",
    "query",
    "plan",
    "kubernetes",
    "pod",
    "node",
    "deploy",
    "terraform",
    "state",
    "module",
    "react",
    "hook",
    "render",
    "css",
    "grid",
    "layout",
    "python",
    "wheel",
    "package",
    "model",
    "training",
    "pipeline",
    "backfill",
    "metric",
    "alert",
    "trace",
    "token",
    "secret",
    "review",
]


def _message(rng: random.Random, users: list[str], t: float, n: int) -> dict[str, Any]:
    words = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
    mention = rng.choice(users)
    url = f"https://blog{n % 50}.example.org/post/{n}"
    kind = rng.random()
    ts = f"{t:.6f}"
    if kind < 0.05:
        return {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0BENCH",
            "username": "ci",
            "text": words,
            "ts": ts,
            "attachments": [{"fallback": "build", "color": "good", "title": "build ok"}],
        }
    text = f"{words} <@{mention}>" if kind < 0.4 else words
    elements: list[dict[str, Any]] = [{"type": "text", "text": words}]
    msg: dict[str, Any] = {
        "client_msg_id": f"{n:032x}",
        "type": "message",
        "user": rng.choice(users),
        "ts": ts,
    }
    if kind < 0.4:
        elements.append({"type": "user", "user_id": mention})
    if 0.4 <= kind < 0.55:
        text = f"{words} <{url}>"
        elements.append({"type": "link", "url": url})
        msg["attachments"] = [
            {
                "from_url": url,
                "original_url": url,
                "title": words[:40],
                "text": words,
                "service_name": "Example",
                "title_link": url,
                "fallback": words[:40],
            }
        ]
    msg["text"] = text
    msg["blocks"] = [
        {
            "type": "rich_text",
            "block_id": "b",
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]
    if rng.random() < 0.1:
        msg["reactions"] = [{"name": "+1", "users": rng.sample(users, 3), "count": 3}]
    if rng.random() < 0.05:
        msg["edited"] = {"user": msg["user"], "ts": f"{t + 60:.6f}"}
    return msg


def write_export(root: Path, total: int, channels: int = 10, seed: int = 1) -> None:
    rng = random.Random(seed)
    users = [f"U{i:08d}" for i in range(200)]
    (root / "users.json").write_text(
        json.dumps(
            [
                {
                    "id": u,
                    "name": u.lower(),
                    "real_name": u,
                    "tz": "UTC",
                    "tz_offset": 0,
                    "profile": {"display_name": u},
                }
                for u in users
            ]
        )
    )
    names = [f"chan{i}" for i in range(channels)]
    (root / "channels.json").write_text(
        json.dumps(
            [{"id": f"C{i:08d}", "name": n, "created": 0, "members": users} for i, n in enumerate(names)]
        )
    )
    per_day = 100
    days = total // (channels * per_day)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    n = 0
    for name in names:
        (root / name).mkdir()
        for d in range(days):
            day = date(2026, 1, 1) + timedelta(days=d)
            base = (start + timedelta(days=d)).timestamp()
            msgs = [_message(rng, users, base + i * 800 + rng.random(), n + i) for i in range(per_day)]
            for i in range(10, per_day, 10):  # a thread reply on every tenth message
                msgs[i]["thread_ts"] = msgs[i - 1]["ts"]
                msgs[i]["parent_user_id"] = msgs[i - 1].get("user")
            n += per_day
            (root / name / f"{day.isoformat()}.json").write_text(json.dumps(msgs, indent=4))


def zip_export(root: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*.json")):
            zf.write(path, path.relative_to(root).as_posix())


def median_seconds(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds; CPU time is the steadier figure on a shared machine."""
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "export"
        root.mkdir()
        write_export(root, args.messages)
        zipped = Path(tmp) / "export.zip"
        zip_export(root, zipped)
        size = sum(p.stat().st_size for p in root.rglob("*.json"))
        day_files = sorted(root.glob("*/*.json"))

        def baseline() -> int:
            return sum(len(json.loads(p.read_bytes())) for p in day_files)

        def stream() -> int:
            with open_export(root) as reader:
                return sum(1 for _ in reader.iter_messages())

        count = len(load_export(root).messages)
        assert count == baseline(), "every synthetic message must parse"
        base = median_seconds(baseline, args.runs)
        folder = median_seconds(lambda: load_export(root), args.runs)
        zip_time = median_seconds(lambda: load_export(zipped), args.runs)
        streamed = median_seconds(stream, args.runs)
        zipped_mb = zipped.stat().st_size / 1e6

    print(
        f"export: {count} messages in {len(day_files)} day files, {size / 1e6:.1f} MB of JSON ({zipped_mb:.1f} MB zipped)"
    )
    print(f"median of {args.runs} runs (wall / CPU seconds):")
    rows = [
        ("baseline: read + json.loads only", base),
        ("load_export(folder)", folder),
        ("load_export(zip)", zip_time),
        ("iter_messages (streaming)", streamed),
    ]
    for label, (wall, cpu) in rows:
        ratio = (
            ""
            if label.startswith("baseline")
            else f"  {cpu / base[1]:.1f}x baseline CPU, {count / cpu:,.0f} msg/s"
        )
        print(f"  {label:34} {wall:6.2f} / {cpu:5.2f}{ratio}")


if __name__ == "__main__":
    main()
