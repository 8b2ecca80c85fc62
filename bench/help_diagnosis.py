"""Where do help nudges miss the people who really answer? A diagnosis of one replay, printed as numbers.

    nice -n 5 python bench/help_diagnosis.py /tmp/passiton-se-replay/coffee-<key> [...]

Each argument is a folder `bench/se_replay.py` made (an `export/` and a `profiles.json`). The export is replayed
in this process exactly as `passiton replay --profiles` does (the same `Replayer`, settings and embedder), while
the planner's calls are watched: for every question planned, the ranker's full ordering (also below its
threshold, read by a second ranking of the same index with no threshold: diagnosis only) and the policy's
verdict on each candidate (`bot.policy.help.screen_helper`, the function `plan_help` itself uses). Nothing the
replay decides is changed.

Then, per answered question (the score's definitions, bot/replay/score.py), the best thing that happened for
any of its real answerers, in this order:

- reached: a help nudge went to an answerer and they answered after it;
- cancelled: an answerer was picked, but the question was answered (by anyone) before the nudge went out;
- picked_late: an answerer was nudged after they had already answered (not a reach);
- outranked: an answerer passed the policy but others ranked higher within the K helpers;
- filtered:<reason>: an answerer was a candidate but the policy turned them down (why);
- below_threshold: an answerer is in the index (opted in, something to match on) but not a candidate;
- no_profile: opted in but nothing to match on yet (not in the index);
- not_opted_in: no answerer ever opted in (a Stack Exchange member with no post before the export);
- not_planned: the planner never ran for the question (not classified as one, or nobody ready to ask).

And the same for the questions the top-3 baseline reached, so the gap can be read by cause.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

import bot.ingest.pipeline as pipeline  # noqa: E402
import bot.nudges.planner as planner  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.matching.classify import heuristic_kind  # noqa: E402
from bot.matching.embedders import make_embedder  # noqa: E402
from bot.matching.rank import RankConfig  # noqa: E402
from bot.policy.help import Screened, screen_helper  # noqa: E402
from bot.replay.export import open_export  # noqa: E402
from bot.replay.model import Export  # noqa: E402
from bot.replay.profiles import load_profiles  # noqa: E402
from bot.replay.runner import Replayer, ReplayOptions, temporary_database  # noqa: E402
from bot.replay.score import QUESTION_KINDS, READ_KINDS, _baseline, _is_reply, _is_top_level  # noqa: E402
from bot.store.models import Item, Member, Nudge  # noqa: E402

ORDER = [
    "reached", "cancelled", "picked_late", "outranked", "filtered", "below_threshold", "no_profile",
    "not_opted_in", "not_planned",
]  # fmt: skip


@dataclass
class Watch:
    """What the planner saw, per item id (database ids; mapped to Slack ids after the run)."""

    order: dict[int, list[tuple[int, float]]] = field(
        default_factory=dict
    )  # item -> (member, order) best first
    candidates: dict[int, set[int]] = field(default_factory=dict)
    verdicts: dict[int, dict[int, str]] = field(default_factory=dict)  # item -> member -> ok | reason
    checked: set[int] = field(default_factory=set)  # anyone_to_ask was asked
    in_index: dict[int, set[int]] = field(default_factory=dict)


def watch_planner(w: Watch) -> None:
    orig_rank, orig_plan, orig_any = planner.rank_items, planner.plan_help, pipeline.anyone_to_ask
    free = replace(RankConfig(), threshold=-1e9)

    def rank_items(index: Any, ids: Sequence[str], texts: Any, vectors: Any, **kw: Any) -> Any:
        out = orig_rank(index, ids, texts, vectors, **kw)
        if (
            kw.get("config") is planner.HELP_RANKING
            and kw.get("k") == planner.HELP_CANDIDATES
            and len(ids) == 1
        ):
            item = int(ids[0])
            everyone = orig_rank(index, ids, texts, vectors, **{**kw, "k": 10_000, "config": free})
            w.order[item] = [(int(m.member_id), m.score - free.threshold) for m in everyone[0].matches]
            w.candidates[item] = {int(m.member_id) for m in out[0].matches}
        return out

    def plan_help(item: Any, candidates: Any, state: Any, now: dt.datetime, **kw: Any) -> Any:
        grace = kw.get("grace", planner.dt.timedelta(minutes=45))
        w.verdicts[item.id] = {
            c.member_id: (lambda g: "ok" if isinstance(g, Screened) else g)(
                screen_helper(item, c, state, now, grace=grace)
            )
            for c in candidates
        }
        return orig_plan(item, candidates, state, now, **kw)

    def anyone_to_ask(session: Any, workspace: Any, item: Any, *a: Any, **kw: Any) -> bool:
        w.checked.add(item.id)
        return orig_any(session, workspace, item, *a, **kw)

    planner.rank_items = rank_items  # type: ignore[assignment]
    planner.plan_help = plan_help  # type: ignore[assignment]
    pipeline.anyone_to_ask = anyone_to_ask  # type: ignore[assignment]


def capped_baseline(folder: Path, per_week: int) -> tuple[int, int, int]:
    """(answered, top-3 reached, top-3 reached when each member gets at most `per_week` of its DMs per ISO
    week: the 3 most active repliers so far who still have budget). The caps passiton keeps, applied to the
    baseline, show how much of its reach comes from asking the same few people about everything."""
    with open_export(folder / "export", strict=True) as reader:
        export = Export(reader.users, reader.channels, tuple(reader.iter_messages()), reader.problems)
    read = {c.id for c in export.channels.values() if c.kind in READ_KINDS}
    msgs = sorted((m for m in export.messages if m.channel_id in read), key=lambda m: m.time)
    replies = [m for m in msgs if _is_reply(m)]
    answers: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for r in replies:
        assert r.thread_ts and r.user
        t = answers[(r.channel_id, r.thread_ts)]
        t[r.user] = min(t.get(r.user, r.time), r.time)
    authors = {(m.channel_id, m.ts): m.user for m in msgs if not m.is_reply}
    tops = [m for m in msgs if _is_top_level(m)]
    questions = [
        m for m in tops
        if heuristic_kind(m.plain or m.text, bool(m.links)) in QUESTION_KINDS
        or (set(answers.get((m.channel_id, m.ts), {})) - {m.user} and not m.links)
    ]  # fmt: skip
    lo = questions[0].time if questions else 0.0
    counts: Counter[str] = Counter()
    used: Counter[tuple[str, int, int]] = Counter()
    events = sorted([(r.time, 0, i) for i, r in enumerate(replies) if r.time >= lo]
                    + [(q.time, 1, i) for i, q in enumerate(questions)])  # fmt: skip
    answered = hit = hit_capped = 0
    for _t, what, i in events:
        if what == 0:
            r = replies[i]
            if r.user != authors.get((r.channel_id, r.thread_ts or ""), r.parent_user_id):
                counts[str(r.user)] += 1
            continue
        q = questions[i]
        who = {u: t for u, t in answers.get((q.channel_id, q.ts), {}).items() if u != q.user}
        week = q.posted_at.isocalendar()
        ranked = [u for u, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if u != q.user]
        top = ranked[:3]
        capped = [u for u in ranked if used[(u, week[0], week[1])] < per_week][:3]
        for u in capped:
            used[(u, week[0], week[1])] += 1
        if not who:
            continue
        answered += 1
        hit += any(u in who and who[u] >= q.time for u in top)
        hit_capped += any(u in who and who[u] >= q.time for u in capped)
    return answered, hit, hit_capped


def diagnose(folder: Path, grace_minutes: float) -> dict[str, Any]:
    settings = load_settings(database_url="sqlite://")
    with open_export(folder / "export", strict=True) as reader:
        export = Export(reader.users, reader.channels, tuple(reader.iter_messages()), reader.problems)
    profiles = load_profiles(folder / "profiles.json", export.users)
    w = Watch()
    watch_planner(w)
    emb = make_embedder("local")
    with temporary_database() as db:
        rp = Replayer(export, db, settings, emb, profiles=profiles, options=ReplayOptions())
        run = rp.run()
        s = rp.session
        slack_of = {m.id: m.slack_user_id for m in s.scalars(select(Member))}
        opted = {m.slack_user_id for m in s.scalars(select(Member).where(Member.opted_in.is_(True)))}
        key_of = {i.id: i.source_key for i in s.scalars(select(Item))}
        nudges = [
            (n.item_id, slack_of[n.recipient_id], n.status, n.sent_at, n.send_after)
            for n in s.scalars(select(Nudge).where(Nudge.kind == "help"))
        ]
    first, last = run.stats.first, run.stats.last
    assert first is not None and last is not None
    by_key: dict[str, Any] = {}
    for item_id, k in key_of.items():
        by_key[k] = item_id

    read = {c.id for c in export.channels.values() if c.kind in READ_KINDS}
    msgs = [m for m in export.messages if m.channel_id in read]
    replies = [m for m in msgs if _is_reply(m)]
    answers: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for r in replies:
        assert r.thread_ts and r.user
        t = answers[(r.channel_id, r.thread_ts)]
        t[r.user] = min(t.get(r.user, r.time), r.time)
    authors = {(m.channel_id, m.ts): m.user for m in msgs if not m.is_reply}
    lo, hi = first.timestamp(), last.timestamp()
    questions = []
    for m in msgs:
        if not _is_top_level(m) or not lo <= m.time <= hi:
            continue
        helpers = set(answers.get((m.channel_id, m.ts), {})) - {m.user}
        if heuristic_kind(m.plain or m.text, bool(m.links)) in QUESTION_KINDS or (helpers and not m.links):
            questions.append(m)
    base = _baseline(questions, replies, authors, lo)
    quarter = lo + (hi - lo) / 4
    nudges_of: dict[int, list[tuple[str, str, dt.datetime | None, dt.datetime]]] = defaultdict(list)
    for item_id, who, status, sent, after in nudges:
        nudges_of[item_id].append((who, status, sent, after))

    cats: dict[str, Counter[str]] = {"all": Counter(), "later": Counter(), "base_hit": Counter()}
    reasons: Counter[str] = Counter()
    ranks: list[int] = []
    first_delay: list[float] = []
    within_grace = within_grace_base = 0
    n_answered = 0
    for q in questions:
        key = (q.channel_id, q.ts)
        who = {u: t for u, t in answers.get(key, {}).items() if u != q.user}
        if not who:
            continue
        n_answered += 1
        delay = (min(who.values()) - q.time) / 60
        first_delay.append(delay)
        base_hit = any(u in who and who[u] >= q.time for u in base.get(key, ()))
        if delay <= grace_minutes:
            within_grace += 1
            within_grace_base += base_hit
        item_id = by_key.get(f"{q.channel_id}:{q.ts}")
        cat, why = _category(item_id, who, q.time, w, nudges_of, slack_of, opted)
        if cat == "filtered":
            reasons[why] += 1
        if item_id in w.order:
            pos = [i for i, (mid, _o) in enumerate(w.order[item_id]) if slack_of.get(mid) in who]
            if pos:
                ranks.append(pos[0] + 1)
        label = f"{cat}:{why}" if why else cat
        cats["all"][label] += 1
        if q.time >= quarter:
            cats["later"][label] += 1
        if base_hit:
            cats["base_hit"][label] += 1
    return {
        "site": folder.name.rsplit("-", 1)[0],
        "answered": n_answered,
        "cats": cats,
        "filter_reasons": reasons,
        "answerer_rank_median": statistics.median(ranks) if ranks else None,
        "answerer_rank_le3": sum(r <= 3 for r in ranks),
        "answerer_ranked": len(ranks),
        "first_answer_min_median": statistics.median(first_delay) if first_delay else None,
        "answered_within_grace": within_grace,
        "answered_within_grace_base_hit": within_grace_base,
        "base_hits": sum(cats["base_hit"].values()),
        "help_nudge_statuses": Counter(st for _i, _w, st, _s, _a in nudges),
    }


def _category(
    item_id: int | None, who: dict[str, float], asked: float, w: Watch,
    nudges_of: dict[int, list[tuple[str, str, dt.datetime | None, dt.datetime]]], slack_of: dict[int, str],
    opted: set[str],
) -> tuple[str, str]:  # fmt: skip
    if item_id is None:
        return ("not_planned", "not_an_item")  # the classifier called it chatter (no "?")
    if item_id not in w.checked:
        return ("not_planned", "not_checked")
    best = "not_planned"
    why = ""

    def better(c: str) -> bool:
        return ORDER.index(c) < ORDER.index(best)

    for recipient, status, sent, _after in nudges_of.get(item_id, ()):
        if recipient not in who:
            continue
        if sent is not None and who[recipient] >= sent.timestamp():
            c = "reached"
        elif sent is not None:
            c = "picked_late"
        else:
            c = "cancelled" if status == "cancelled" else "picked_late"
        if better(c):
            best = c
    if best in ("reached", "cancelled", "picked_late"):
        return best, ""
    for mid, verdict in w.verdicts.get(item_id, {}).items():
        if slack_of.get(mid) not in who:
            continue
        c = "outranked" if verdict == "ok" else "filtered"
        if better(c):
            best, why = c, verdict
        elif c == "filtered" and best == "filtered" and why != verdict:
            why = min(why, verdict)
    if best in ("outranked", "filtered"):
        return best, why
    if not set(who) & opted:
        return "not_opted_in", ""
    if item_id not in w.order:
        return (
            "not_planned",
            "nobody_ready",
        )  # the planner stopped before ranking: nobody it could ask was ready
    if {slack_of.get(mid) for mid, _o in w.order[item_id]} & set(who):
        return "below_threshold", ""
    return "no_profile", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--grace", type=float, default=45.0, help="minutes, for the 'answered within' count")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--baseline-caps", type=int, default=0, help="only print the top-3 baseline with at most N DMs a week"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the replay's per-message logs would bury the numbers
    for folder in args.folders:
        if args.baseline_caps:
            n, hit, capped = capped_baseline(folder, args.baseline_caps)
            print(f"{folder.name.rsplit('-', 1)[0]}: answered {n}; top-3 reached {hit} ({100 * hit / n:.1f}%), "
                  f"with at most {args.baseline_caps} DMs a week each {capped} ({100 * capped / n:.1f}%)")  # fmt: skip
            continue
        d = diagnose(folder, args.grace)
        if args.json:
            print(json.dumps(d, default=dict))
            continue
        n = d["answered"]
        print(f"== {d['site']}: {n} answered questions; top-3 reached {d['base_hits']}")
        print(f"   first answer after (median) {d['first_answer_min_median']:.0f} min; "
              f"answered within {args.grace:.0f} min: {d['answered_within_grace']} "
              f"({d['answered_within_grace_base_hit']} of them reached by top-3)")  # fmt: skip
        print(f"   first real answerer's place in the full fused order: median {d['answerer_rank_median']}, "
              f"top-3 in {d['answerer_rank_le3']} of {d['answerer_ranked']} ranked")  # fmt: skip
        print(f"   help nudges by status: {dict(d['help_nudge_statuses'])}")
        labels = sorted(
            set().union(*[set(c) for c in d["cats"].values()]),
            key=lambda x: (ORDER.index(x.split(":")[0]), x),
        )
        print(f"   {'outcome':32} {'all':>6} {'after Q1':>9} {'top-3 hit':>10}")
        for label in labels:
            row = [d["cats"][c][label] for c in ("all", "later", "base_hit")]
            print(f"   {label:32} {row[0]:6d} {row[1]:9d} {row[2]:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
