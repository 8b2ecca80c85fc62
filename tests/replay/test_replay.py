"""`passiton replay` end to end through the CLI: the committed sample, a real-format export with every
message shape, inferred interests, and bad input (exit 2, the file named, no report left behind)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.matching.topics import normalise_topic
from tests.replay.exports import (
    ALICE,
    BOB,
    CAROL,
    CHANNELS,
    GONE,
    SECRET,
    USERS,
    msg,
    ts,
    user,
    write_export,
    zip_folder,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = EXAMPLES / "sample-export"
runner = CliRunner()


def replay(*args: str) -> Any:
    return runner.invoke(app, ["replay", *args], catch_exceptions=False)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the committed sample ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("sample")
    result = replay(
        str(SAMPLE), "--profiles", str(EXAMPLES / "profiles.json"),
        "--out", str(out / "report.html"), "--json", str(out / "nudges.jsonl"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result, out / "report.html", lines(out / "nudges.jsonl")


def _profiles() -> dict[str, dict[str, set[str]]]:
    """Stated topics by Slack id (emails resolved through users.json), normalised."""
    raw = json.loads((EXAMPLES / "profiles.json").read_text())
    users = json.loads((SAMPLE / "users.json").read_text())
    by_email = {u.get("profile", {}).get("email", "").lower(): u["id"] for u in users}
    out: dict[str, dict[str, set[str]]] = {}
    for key, value in raw.items():
        uid = by_email.get(key.lower(), key) if "@" in key else key
        out[uid] = {k: {normalise_topic(t) for t in value.get(k, [])} for k in ("interests", "expertise")}
    return out


def _conversation(name: str) -> dict[str, Any]:
    for file in ("channels.json", "groups.json"):
        for c in json.loads((SAMPLE / file).read_text()):
            if c["name"] == name:
                return dict(c)
    raise KeyError(name)


def _acted_on(folder: str, posted_at: str, before: str) -> set[str]:
    """Who reacted to (the export has no time for that: any) or replied under (before `before`) the message
    posted at `posted_at` in the channel's folder."""
    import datetime as dt

    ts = f"{dt.datetime.fromisoformat(posted_at).timestamp():.6f}"
    until = dt.datetime.fromisoformat(before).timestamp()
    out: set[str] = set()
    for day in sorted((SAMPLE / folder).iterdir()):
        for m in json.loads(day.read_text()):
            if m.get("ts") == ts:
                out |= {u for reaction in m.get("reactions", []) for u in reaction.get("users", [])}
            if m.get("thread_ts") == ts and m.get("ts") != ts and m.get("user") and float(m["ts"]) < until:
                out.add(m["user"])
    return out


def _joined_at(folder: str, user_id: str) -> str | None:
    import datetime as dt

    for day in sorted((SAMPLE / folder).iterdir()):
        for m in json.loads(day.read_text()):
            if m.get("subtype") == "channel_join" and m.get("user") == user_id:
                return dt.datetime.fromtimestamp(float(m["ts"]), dt.UTC).isoformat()
    return None


def test_sample_replays_and_prints_the_summary(sample_run: tuple[Any, Path, list[dict[str, Any]]]) -> None:
    result, report, records = sample_run
    assert (
        "help nudges" in result.output and "share nudges" in result.output and "top reasons" in result.output
    )
    kinds = {r["kind"] for r in records if r["type"] == "nudge" and r["delivered"]}
    assert kinds == {"help", "share"}
    assert report.exists()


def test_postgres_questions_reach_awake_people_with_postgres_expertise(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    _, _, records = sample_run
    profiles = _profiles()
    help_pg = [
        r for r in records if r["type"] == "nudge" and r["kind"] == "help" and r["topic"] == "postgres"
    ]
    assert help_pg, "a postgres question should reach someone who listed postgres"
    for r in help_pg:
        assert "postgres" in profiles[r["recipient"]["id"]]["expertise"]
        if r["delivered"]:
            hour = int(r["send_at_local"][11:13])
            assert 8 <= hour < 21, r  # sent in their waking hours, in their own time zone
        assert r["recipient"]["id"] != (r["item"]["author"] or {}).get("id")


def test_shares_target_people_with_the_interest_outside_the_channel(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    _, _, records = sample_run
    profiles = _profiles()
    shares = [r for r in records if r["type"] == "nudge" and r["kind"] == "share"]
    assert shares
    for r in shares:
        target = r["target"]["id"]
        assert target in profiles and r["topic"] is not None
        assert normalise_topic(r["topic"]) in profiles[target]["interests"] | profiles[target]["expertise"], r
        channel = _conversation(r["item"]["channel"])
        # Had not seen it: "seen" is an act (reacted to it, replied under it) or a small channel's membership
        # (at most 12 members); merely being one of a large channel's members is not having seen it.
        joined = _joined_at(channel["name"], target)
        member = target in channel["members"] and not (joined and joined > r["send_at"])
        assert not member or len(channel["members"]) > 12, r
        assert target not in _acted_on(channel["name"], r["item"]["posted_at"], r["send_at"]), r
        assert not r["item"]["private"]


def test_nobody_without_a_profile_gets_or_is_named_in_a_nudge(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    _, _, records = sample_run
    profiles = _profiles()
    for r in records:
        if r["type"] == "nudge":
            assert r["recipient"]["id"] in profiles
            assert r["target"] is None or r["target"]["id"] in profiles
            assert r["topic_source"] in ("stated", None)


def test_private_channel_content_stays_with_its_members(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    _, _, records = sample_run
    leads = _conversation("leads")
    about_leads = [r for r in records if r["type"] == "nudge" and r["item"]["channel"] == "leads"]
    for r in about_leads:
        assert r["kind"] == "help" and r["item"]["private"]
        assert r["recipient"]["id"] in leads["members"]
    leads_texts = [
        m["text"][:60]
        for day in sorted((SAMPLE / "leads").iterdir())
        for m in json.loads(day.read_text())
        if len(m.get("text", "")) > 40
    ]
    for r in records:
        if r["type"] == "answer" and r["channel"] != "leads":
            assert not any(t in json.dumps(r) for t in leads_texts)
        if r["type"] == "nudge" and r["item"]["channel"] != "leads":
            assert not any(t in r["dm"]["text"] + json.dumps(r["dm"]["blocks"]) for t in leads_texts)


def test_who_knows_questions_get_answers_naming_only_consenting_experts(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    """The sample's "who knows about X?" questions are answered in their threads; only members whose profile
    says `public` are named, and earlier posts are linked the way chat.getPermalink links them."""
    _result, _report, records = sample_run
    answers = [r for r in records if r["type"] == "answer"]
    asked = {r["question"] for r in answers}
    assert any(q.startswith("Does anyone know Postgres partitioning") for q in asked)
    assert any(q.startswith("Who here knows about public speaking") for q in asked)
    raw = json.loads((EXAMPLES / "profiles.json").read_text())
    users = {u["id"]: u for u in json.loads((SAMPLE / "users.json").read_text())}
    by_email = {u.get("profile", {}).get("email", "").lower(): uid for uid, u in users.items()}
    public = {by_email.get(k.lower(), k) for k, v in raw.items() if v.get("public")}
    for answer in answers:
        assert answer["experts_named"] or "/archives/" in answer["text"], answer
        assert {e["id"] for e in answer["experts_named"]} <= public, answer
    links = re.findall(r"<(https://[^|>]+)\|", " ".join(a["text"] for a in answers))
    assert links and all(
        # An answered question is linked on its thread (where the answer is): thread_ts and cid.
        re.fullmatch(
            r"https://your-workspace\.slack\.com/archives/(C\w+)/p(\d{16})(\?thread_ts=\d{10}\.\d{6}&amp;cid=\1)?",
            u,
        )
        for u in links
    )


def test_report_is_self_contained_and_escaped(sample_run: tuple[Any, Path, list[dict[str, Any]]]) -> None:
    _, report, records = sample_run
    page = report.read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for external in ("<script", "<link", " src=", "@import", "url("):
        assert external not in page
    assert "By day" in page and "By member" in page and "Problems skipped" in page
    nudge = next(r for r in records if r["type"] == "nudge" and r["delivered"])
    assert nudge["recipient"]["name"] in page
    # Text from the export is escaped: no raw Slack markup like <https://...|label> survives as a tag.
    assert not re.search(r"<https?://", page)
    assert not list(report.parent.glob(".*.part"))


# -- a real-format export with every case -----------------------------------------------------------

DAVE = "U0DAVE"
QUESTION = "How do I tune postgres autovacuum on a big table? it falls behind every night &lt;script&gt;x&lt;/script&gt;"


def _everything(root: Path) -> Path:
    parent = ts(2, 3600)
    edited = ts(3)
    deleted_q = ts(4)
    rich = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "Anyone know why our "}, {"type": "text", "text": "Terraform", "style": {"bold": True}},
        {"type": "text", "text": " plan shows drift on every run? "}, {"type": "user", "user_id": BOB}]}]}]  # fmt: skip
    days = {
        "general/2026-10-02": [
            msg(ALICE, QUESTION, parent, thread_ts=parent, reply_count=2, reply_users=[CAROL, BOB],
                replies=[{"user": CAROL, "ts": ts(2, 7200)}, {"user": BOB, "ts": ts(2, 9000)}],
                reactions=[{"name": "eyes", "users": [BOB, CAROL], "count": 2}]),
            msg(CAROL, "check the scale factor first", ts(2, 7200), thread_ts=parent, parent_user_id=ALICE),
            msg(BOB, "and cost limits <@U0ALICE>", ts(2, 9000), thread_ts=parent, parent_user_id=ALICE,
                subtype="thread_broadcast"),
            msg(None, "deployed build 42", ts(2, 100), subtype="bot_message", bot_id="B0CI", username="ci",
                attachments=[{"fallback": "build ok", "title": "build ok"}]),
            msg(DAVE, "<@U0DAVE> has joined the channel", ts(2, 200), subtype="channel_join"),
            msg(GONE, "old message from someone who left", ts(2, 300)),
        ],
        "general/2026-10-03": [
            msg(CAROL, "nice read on indexes <https://pg.example.org/indexes|Postgres indexes explained>", ts(3, 60),
                attachments=[{"from_url": "https://pg.example.org/indexes", "title": "Postgres indexes explained",
                              "text": "B-tree, GIN and BRIN in practice", "service_name": "pg blog"}]),
            msg(ALICE, "lunch?", edited, edited={"user": ALICE, "ts": ts(3, 30)}),
            {"type": "message", "subtype": "message_changed", "ts": ts(3, 40), "hidden": True,
             "message": {"type": "message", "user": ALICE, "ts": edited,
                         "text": "lunch? also how do I read a postgres EXPLAIN ANALYZE output properly?"}},
            msg(BOB, "", ts(3, 90), subtype="file_share", files=[{"id": "F1", "name": "plan.txt", "title": "plan",
                "filetype": "text", "mimetype": "text/plain", "size": 10}, {"id": "F2", "mode": "tombstone"}]),
            msg(ALICE, "", ts(3, 120), blocks=rich),
            msg(BOB, "is testing /me", ts(3, 150), subtype="me_message"),
        ],
        "general/2026-10-04": [
            msg(ALICE, "Why does postgres replication lag spike at midnight?", deleted_q),
            {"type": "message", "subtype": "message_deleted", "ts": ts(4, 60), "deleted_ts": deleted_q, "hidden": True,
             "previous_message": {"type": "message", "user": ALICE, "ts": deleted_q, "text": "Why..."}},
            msg(None, "This message was deleted.", ts(4, 100), subtype="tombstone", user="USLACKBOT",
                thread_ts=ts(4, 100), reply_count=1),
            msg(DAVE, "<@U0DAVE> has left the channel", ts(4, 200), subtype="channel_leave"),
        ],
        "secret/2026-10-02": [msg(ALICE, "How do we budget postgres hosting for next year? any advice", ts(2, 500))],
    }  # fmt: skip
    users = [*USERS, user(DAVE, "Dave", tz="Asia/Tokyo", tz_offset=32400),
             {"id": "U0CIBOT", "name": "ci", "is_bot": True, "profile": {"bot_id": "B0CI"}}]  # fmt: skip
    channels = [{**CHANNELS[0], "members": [ALICE, BOB, CAROL]}]
    groups = [{"id": SECRET, "name": "secret", "created": 1, "members": [ALICE, CAROL]}]
    write_export(root, days, users=users, channels=channels, extra={"groups.json": groups})
    return root


def _everything_profiles(path: Path) -> Path:
    path.write_text(json.dumps({
        BOB: {"interests": ["databases"], "expertise": ["Postgres", "Terraform"]},
        CAROL: {"interests": ["postgres"], "expertise": ["PostgreSQL"]},
        DAVE: {"interests": ["PostgreSQL"]},
        "alice@example.org": {"interests": ["cooking"]},
    }))  # fmt: skip
    return path


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_real_format_export_with_every_case_replays_cleanly(tmp_path: Path, as_zip: bool) -> None:
    folder = _everything(tmp_path / "export")
    export = zip_folder(folder, tmp_path / "export.zip", prefix="Acme Slack export/") if as_zip else folder
    profiles = _everything_profiles(tmp_path / "profiles.json")
    out, jsonl = tmp_path / "r.html", tmp_path / "r.jsonl"
    result = replay(
        str(export), "--profiles", str(profiles), "--out", str(out), "--json", str(jsonl), "--strict"
    )
    assert result.exit_code == 0, result.output
    records = lines(jsonl)
    nudges = [r for r in records if r["type"] == "nudge"]
    help_to = {r["recipient"]["id"] for r in nudges if r["kind"] == "help"}
    assert BOB in help_to  # the postgres question reached Bob, who listed it
    for r in nudges:
        assert r["recipient"]["id"] != GONE
        if r["item"]["channel"] == "secret":
            assert r["recipient"]["id"] in (ALICE, CAROL)
    # The deleted question took its nudges with it; the edit that turned chatter into a question counted.
    assert not any("replication lag" in r["item"]["text"] for r in nudges)
    page = out.read_text()
    assert "Problems skipped" in page
    assert "<script" not in page and "&lt;script&gt;" in page  # member text is escaped, never markup


def test_infer_interests_marks_inferred_topics(tmp_path: Path) -> None:
    folder = _everything(tmp_path / "export")
    out, jsonl = tmp_path / "r.html", tmp_path / "r.jsonl"
    result = replay(str(folder), "--infer-interests", "--out", str(out), "--json", str(jsonl))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Inferred topics" in page and "inferred" in page
    for r in lines(jsonl):
        if r["type"] == "nudge":
            assert r["topic_source"] in ("inferred", None)


def test_without_profiles_or_inference_nobody_is_nudged(tmp_path: Path) -> None:
    folder = _everything(tmp_path / "export")
    jsonl = tmp_path / "r.jsonl"
    result = replay(
        str(folder), "--out", str(tmp_path / "r.html"), "--json", str(jsonl), "--embedder", "hashing"
    )
    assert result.exit_code == 0, result.output
    assert [r for r in lines(jsonl) if r["type"] == "nudge"] == []


def test_from_to_limit_the_days(tmp_path: Path) -> None:
    folder = _everything(tmp_path / "export")
    profiles = _everything_profiles(tmp_path / "p.json")
    jsonl = tmp_path / "r.jsonl"
    result = replay(str(folder), "--profiles", str(profiles), "--from", "2026-10-03", "--to", "2026-10-03",
                    "--out", str(tmp_path / "r.html"), "--json", str(jsonl))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert all(r["item"]["posted_at"].startswith("2026-10-03") for r in lines(jsonl) if r["type"] == "nudge")


# -- bad input ------------------------------------------------------------------------------------


def _bad(tmp_path: Path, export: Path, *extra: str) -> str:
    out = tmp_path / "report.html"
    result = replay(str(export), "--out", str(out), "--json", str(tmp_path / "r.jsonl"), "--embedder", "hashing",
                    *extra)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "r.jsonl").exists()
    assert not list(tmp_path.glob(".*.part"))
    return str(result.output)


def test_corrupt_zip(tmp_path: Path) -> None:
    bad = tmp_path / "export.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "export.zip" in _bad(tmp_path, bad)


def test_missing_users_json(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", {"general/2026-10-02": [msg(ALICE, "hi", ts(2))]}, users=None)
    assert "users.json" in _bad(tmp_path, folder)


def test_malformed_day_file(tmp_path: Path) -> None:
    folder = write_export(
        tmp_path / "export", raw={"general/2026-10-02.json": b'[{"type": "message", "ts": '}
    )
    assert "general/2026-10-02.json" in _bad(tmp_path, folder)


def test_unknown_subtype_is_skipped_and_listed_or_fatal_when_strict(tmp_path: Path) -> None:
    days = {
        "general/2026-10-02": [msg(ALICE, "hi", ts(2)), msg(ALICE, "x", ts(2, 5), subtype="future_thing")]
    }
    folder = write_export(tmp_path / "export", days)
    assert "future_thing" in _bad(tmp_path, folder, "--strict")
    out = tmp_path / "ok.html"
    result = replay(str(folder), "--out", str(out), "--embedder", "hashing")
    assert result.exit_code == 0, result.output
    assert "future_thing" in out.read_text() and "general/" in out.read_text()


def test_profile_helped_questions_count_as_observed_help(tmp_path: Path) -> None:
    """A member who states no expertise but answered a question like this one before the export (`helped`
    in the profile) is asked to help; without that history nobody is."""
    question = "How do I stop the nightly vacuum job from locking the ledger table?"
    folder = write_export(tmp_path / "export", {"general/2026-10-05": [msg(ALICE, question, ts(5, 10))]})
    out = tmp_path / "r.jsonl"
    profiles = tmp_path / "profiles.json"
    for helped, expected in (([], set()), (["Why does the nightly vacuum lock the ledger table?"], {BOB})):
        profiles.write_text(json.dumps({BOB: {"interests": ["cooking"], "helped": helped}}))
        result = replay(
            str(folder), "--profiles", str(profiles), "--out", str(tmp_path / "r.html"), "--json", str(out)
        )
        assert result.exit_code == 0, result.output
        helpers = {r["recipient"]["id"] for r in lines(out) if r["type"] == "nudge" and r["kind"] == "help"}
        assert helpers == expected, (helped, helpers)


def test_bad_profiles_and_bad_options(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", {"general/2026-10-02": [msg(ALICE, "hi", ts(2))]})
    profiles = tmp_path / "profiles.json"
    profiles.write_text('{"U0ALICE": {"interests": 5}}')
    assert "profiles.json" in _bad(tmp_path, folder, "--profiles", str(profiles))
    assert "--from" in _bad(tmp_path, folder, "--from", "yesterday")
    assert "nowhere" in _bad(tmp_path, tmp_path / "nowhere")
    assert "--slack-url" in _bad(tmp_path, folder, "--slack-url", "acme.slack.com")
    result = replay(str(folder), "--out", str(tmp_path / "missing" / "r.html"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_collecting_less_restores_the_collector_even_on_failure() -> None:
    import gc

    from bot.replay.cli import collecting_less

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    kept = [object() for _ in range(10)]
    with pytest.raises(RuntimeError), collecting_less():
        assert gc.get_threshold()[0] > before[0] and gc.get_freeze_count() > frozen
        raise RuntimeError("the replay failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0 and kept


def test_every_help_dm_links_to_its_question_and_names_asker_and_channel(
    sample_run: tuple[Any, Path, list[dict[str, Any]]],
) -> None:
    _, _, records = sample_run
    helps = [r for r in records if r["type"] == "nudge" and r["kind"] == "help" and r["delivered"]]
    assert helps
    for r in helps:
        blob = json.dumps(r["dm"]["blocks"], ensure_ascii=False)
        channel_id = _conversation(r["item"]["channel"])["id"]
        posted = dt.datetime.fromisoformat(r["item"]["posted_at"])
        ts = f"{posted.timestamp():.6f}"
        assert f"https://your-workspace.slack.com/archives/{channel_id}/p{ts.replace('.', '')}" in blob, r
        assert f"{r['item']['author']['name']} asked in #{r['item']['channel']}" in blob, r
        # The channel had the grace period to answer first.
        assert dt.datetime.fromisoformat(r["send_at"]) >= posted + dt.timedelta(minutes=45), r
