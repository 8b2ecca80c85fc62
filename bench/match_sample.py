"""Cold-start matching on the sample export: stated expertise only, short realistic Slack questions.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/match_sample.py [--embedder local] [--thresholds 7 5 3]

The live bot and `passiton replay` start with members' stated topics only; observed help accumulates later.
This ranks every distinct top-level message of `examples/sample-export` against the stated EXPERTISE of
`examples/profiles.json` (no helped questions, no activity) and prints, per configuration:

- on-topic: questions and asks the sample was written around (`TOPICS[...]["questions"]` and `ASKS` in
  `examples/sample_content.py`, each with the topic it is about) that get any suggestion;
- off-topic: messages from the sample's chatter lists (lunch, podcasts, polls, "Happy Monday" ...), which
  should match nobody, whatever kind they are classified as;
- precision of the top suggestion among on-topic questions that got one and have thread replies: the share
  whose top suggestion is someone who actually replied in the thread, and the share whose top suggestion
  has the question's topic in their expertise in `sample_content.py` (what the sample's authors meant).

Every configuration is measured in the same run on the same embedder. The sample is small (tens of
questions) and was written by hand: use it as a development check, never as the only evidence.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sample_content  # the hand-written content the sample export was generated from

from bot.matching.classify import classify
from bot.matching.embedders import Embedder, make_embedder
from bot.matching.rank import ItemMatches, MemberProfile, RankConfig, build_member_index, rank_items
from bot.replay.export import load_export
from bot.replay.profiles import load_profiles

ROOT = Path(__file__).resolve().parents[1]
HAPPY_MONDAY = "Happy Monday! What are you focusing on this week?"


def _key(text: str) -> str:
    """Compare texts the way they survive the export: no code ticks, first 60 characters."""
    return " ".join(text.replace("`", "").split())[:60].lower()


def labelled_messages(
    export_dir: Path,
) -> tuple[list[tuple[str, str, str | None, str, tuple[str, ...]]], list[tuple[str, str, str | None, bool]]]:
    """(on-topic: id, text, author, topic, repliers) and (off-topic: id, text, author, is a question or ask)
    top-level messages."""
    topic_of = {_key(q[0]): key for key, t in sample_content.TOPICS.items() for q in t["questions"]}
    topic_of.update({_key(a[0]): a[2] for a in sample_content.ASKS})
    chatter = {_key(t) for texts in sample_content.CHATTER.values() for t in texts} | {_key(HAPPY_MONDAY)}
    export = load_export(export_dir)
    on: dict[str, tuple[str, str, str | None, str, tuple[str, ...]]] = {}
    off: dict[str, tuple[str, str, str | None, bool]] = {}
    for m in export.messages:
        if m.is_reply or m.is_bot or not m.user or not m.plain.strip():
            continue
        key = _key(m.plain)
        # Mention-prefixed copies ("@Kev you might know this one? ...") carry the question after the prefix.
        topic = next((t for k, t in topic_of.items() if k in _key(m.plain.replace("`", "")[:400])), None)
        repliers = tuple(dict.fromkeys(r.user for r in m.replies if r.user and r.user != m.user))
        if topic is not None and classify(m.plain, bool(m.links)) in ("question", "ask"):
            on.setdefault(m.plain, (f"{m.channel_id}/{m.ts}", m.plain, m.user, topic, repliers))
        elif key in chatter:
            asked = classify(m.plain, bool(m.links)) in ("question", "ask")
            off.setdefault(m.plain, (f"{m.channel_id}/{m.ts}", m.plain, m.user, asked))
    return list(on.values()), list(off.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", default="local", help="local, hashing, or minilm (bench venv only)")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[5.0, 3.0])
    args = parser.parse_args()
    export_dir = ROOT / "examples" / "sample-export"
    on, off = labelled_messages(export_dir)
    export = load_export(export_dir)
    profiles = load_profiles(ROOT / "examples" / "profiles.json", export.users)
    members = [MemberProfile(user, p.expertise) for user, p in profiles.by_user.items()]
    by_name = {u.name: u.id for u in export.users.values()}
    meant = {
        by_name[m["handle"]]: set(m.get("expertise", []))
        for m in sample_content.MEMBERS
        if m["handle"] in by_name
    }
    if args.embedder == "minilm":
        from embedders import MiniLMEmbedder  # bench-only: needs sentence-transformers + torch

        embedder: Embedder = MiniLMEmbedder()
    else:
        embedder = make_embedder(args.embedder).inner
    print(
        f"sample export: {len(members)} profiles ({sum(1 for m in members if m.topics)} with expertise), "
        f"{len(on)} on-topic questions, {len(off)} off-topic messages "
        f"({sum(1 for o in off if o[3])} of them questions or asks); embedder {embedder.name}"
    )
    configs = [("default", RankConfig())] + [
        (f"threshold {t:g}", replace(RankConfig(), threshold=t)) for t in args.thresholds
    ]
    texts = [t for _, t, *_ in on] + [t for _, t, _, _ in off]
    vectors = embedder.embed(texts)
    authors = [a for _, _, a, *_ in on] + [a for _, _, a, _ in off]
    ids = [i for i, *_ in on] + [i for i, *_ in off]
    n_off_q = sum(1 for o in off if o[3])
    print(
        f"{'config':<16} {'on-topic':>9} {'off-topic questions':>20} {'off-topic all':>14} {'top replied':>12}"
        f" {'top has topic':>14}"
    )
    for name, config in configs:
        index = build_member_index(members, embedder, config)
        result: list[ItemMatches] = rank_items(
            index, ids, texts, vectors, authors=authors, k=5, config=config
        )
        on_res, off_res = result[: len(on)], result[len(on) :]
        matched = sum(1 for r in on_res if r.matches)
        false = sum(1 for r in off_res if r.matches)
        false_q = sum(1 for r, o in zip(off_res, off, strict=True) if r.matches and o[3])
        answered = [(r, q) for r, q in zip(on_res, on, strict=True) if r.matches and q[4]]
        replied = sum(1 for r, q in answered if r.matches[0].member_id in q[4])
        with_topic = [(r, q) for r, q in zip(on_res, on, strict=True) if r.matches]
        right = sum(1 for r, q in with_topic if q[3] in meant.get(r.matches[0].member_id, set()))
        print(
            f"{name:<16} {matched:>4}/{len(on):<4} {false_q:>15}/{n_off_q:<4} {false:>9}/{len(off):<4}"
            f" {replied:>5}/{len(answered):<6}"
            f" {right:>6}/{len(with_topic):<7}"
        )


if __name__ == "__main__":
    main()
