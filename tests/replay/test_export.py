"""The Slack export parser: the committed sample, every real-world message shape, and bad input."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.replay import Export, ExportError, ExportMessage, load_export, open_export
from tests.replay.exports import (
    ALICE,
    BOB,
    CAROL,
    CHANNELS,
    GENERAL,
    GONE,
    SECRET,
    msg,
    ts,
    write_export,
    zip_folder,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = EXAMPLES / "sample-export"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_sample_export", EXAMPLES / "make_sample_export.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample_export"] = module
    spec.loader.exec_module(module)
    return module


def _one(export: Export, **match: Any) -> ExportMessage:
    found = [m for m in export.messages if all(getattr(m, k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def _problems(export: Export) -> dict[str, int]:
    return {f"{p.file}: {p.what}": p.count for p in export.problems}


# -- the committed sample -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> Export:
    return load_export(SAMPLE)


def test_sample_export_parses_cleanly(sample: Export) -> None:
    assert sample.problems == ()
    humans = [u for u in sample.users.values() if not u.is_bot]
    assert 38 <= len(humans) <= 45
    assert {u.tz for u in humans if u.tz} >= {
        "America/Los_Angeles",
        "America/New_York",
        "Europe/London",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Australia/Sydney",
    }
    assert sum(u.deleted for u in humans) == 1
    assert sum(u.is_guest for u in humans) == 1
    assert sum(u.is_bot for u in sample.users.values()) >= 3  # two bots and Slackbot
    names = {c.name: c for c in sample.channels.values()}
    assert {"general", "eng", "infra", "data", "frontend", "help", "random", "leads"} <= set(names)
    assert names["leads"].is_private and not names["general"].is_private
    assert all(c.is_private for c in sample.channels.values() if c.kind in ("im", "mpim"))

    subtypes = Counter(m.subtype for m in sample.messages)
    for expected in (
        "bot_message",
        "channel_join",
        "channel_leave",
        "thread_broadcast",
        "tombstone",
        "file_share",
        "me_message",
        "channel_topic",
        "channel_purpose",
    ):
        assert subtypes[expected] >= 1, expected
    assert sum(1 for m in sample.messages if m.edited) >= 5
    assert (
        sum(1 for m in sample.messages if any(a.is_unfurl and a.title and a.text for a in m.attachments))
        >= 20
    )
    assert sum(1 for m in sample.messages if m.reply_count) >= 40
    assert all(m.posted_at.year == 2026 and m.posted_at.month == 10 for m in sample.messages)
    times = [m.time for m in sample.messages]
    assert times == sorted(times)


def test_sample_threads_are_answered_mostly_by_people_with_that_expertise(sample: Export) -> None:
    """The sample must carry signal for matching: repliers in #help are not random people."""
    by_ts = {(m.channel_id, m.ts): m for m in sample.messages}
    repliers = Counter(
        m.user
        for m in sample.messages
        if m.is_reply and (m.channel_id, m.thread_ts) in by_ts and not m.is_bot
    )
    # Helpers are concentrated: the five busiest repliers give a good share of all replies.
    assert sum(n for _, n in repliers.most_common(5)) / sum(repliers.values()) > 0.2
    assert len(repliers) > 15


def test_sample_generator_is_deterministic_and_matches_the_committed_copy(tmp_path: Path) -> None:
    gen = _generator()
    files = gen.build()
    committed = {p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*.json")}
    assert set(files) == committed
    for rel in ("users.json", "channels.json", "help/2026-10-07.json"):
        assert json.loads((SAMPLE / rel).read_text()) == files[rel]
    zipped = tmp_path / "sample.zip"
    gen.write_zip(files, zipped)
    assert load_export(zipped) == load_export(SAMPLE)


def test_sample_profiles_json_and_csv_agree(sample: Export) -> None:
    from bot.replay import load_profiles

    from_json = load_profiles(EXAMPLES / "profiles.json", sample.users)
    from_csv = load_profiles(EXAMPLES / "profiles.csv", sample.users)
    assert from_json.problems == () and from_csv.problems == ()
    assert from_json.by_user == from_csv.by_user
    humans = [u for u in sample.users.values() if not u.is_bot]
    assert 25 <= len(from_json.by_user) < len(humans)  # some members have no profile


# -- zip and folder --------------------------------------------------------------------------------


def _rich_fixture(root: Path) -> Path:
    parent_ts, reply_ts = ts(1), ts(2, 60)
    return write_export(
        root,
        {
            "general/2026-10-01": [
                msg(
                    ALICE,
                    "How do I vacuum <@U0BOB>?",
                    parent_ts,
                    thread_ts=parent_ts,
                    reply_count=1,
                    reply_users=[BOB],
                    replies=[{"user": BOB, "ts": reply_ts}],
                ),
            ],
            "general/2026-10-02": [
                msg(BOB, "Use autovacuum", reply_ts, thread_ts=parent_ts, parent_user_id=ALICE)
            ],
        },
    )


def test_zip_and_folder_give_the_same_export(tmp_path: Path) -> None:
    folder = _rich_fixture(tmp_path / "export")
    from_folder = load_export(folder)
    from_zip = load_export(zip_folder(folder, tmp_path / "export.zip"))
    wrapped = load_export(zip_folder(folder, tmp_path / "wrapped.zip", prefix="slack-export-Oct/"))
    assert from_folder == from_zip == wrapped
    assert len(from_folder.messages) == 2


# -- real-world message shapes ---------------------------------------------------------------------


def test_threads(tmp_path: Path) -> None:
    export = load_export(_rich_fixture(tmp_path))
    parent = _one(export, user=ALICE)
    reply = _one(export, user=BOB)
    assert parent.is_thread_parent and not parent.is_reply
    assert parent.reply_count == 1 and parent.reply_users == (BOB,)
    assert [(r.user, r.ts) for r in parent.replies] == [(BOB, reply.ts)]
    assert reply.is_reply and reply.thread_ts == parent.ts and reply.parent_user_id == ALICE
    assert parent.mentions == (BOB,)
    assert parent.plain == "How do I vacuum @Bob?"


def test_thread_broadcast_is_a_reply_shown_in_channel(tmp_path: Path) -> None:
    root = ts(1)
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(ALICE, "q", root, thread_ts=root, reply_count=1),
                    msg(
                        BOB,
                        "solved",
                        ts(1, 9),
                        subtype="thread_broadcast",
                        thread_ts=root,
                        root={"text": "q", "user": ALICE, "ts": root},
                    ),
                ]
            },
        )
    )
    broadcast = _one(export, subtype="thread_broadcast")
    assert broadcast.is_reply and broadcast.text == "solved"


def test_edits_and_deletions(tmp_path: Path) -> None:
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(ALICE, "fixed typo", ts(1), edited={"user": ALICE, "ts": ts(1, 30)}),
                    msg(
                        "USLACKBOT",
                        "This message was deleted.",
                        ts(1, 60),
                        subtype="tombstone",
                        hidden=True,
                        thread_ts=ts(1, 60),
                        reply_count=2,
                        replies=[{"user": BOB, "ts": ts(1, 90)}],
                    ),
                    msg(
                        None,
                        "",
                        ts(1, 120),
                        subtype="message_deleted",
                        hidden=True,
                        deleted_ts=ts(1),
                        previous_message={
                            "type": "message",
                            "user": ALICE,
                            "text": "fixed typo",
                            "ts": ts(1),
                        },
                    ),
                    msg(
                        None,
                        "",
                        ts(1, 150),
                        subtype="message_changed",
                        hidden=True,
                        message={
                            "type": "message",
                            "user": BOB,
                            "text": "new words",
                            "ts": ts(1, 90),
                            "edited": {"user": BOB, "ts": ts(1, 150)},
                        },
                    ),
                ]
            },
        )
    )
    edited = _one(export, text="fixed typo")
    assert edited.edited is not None and edited.edited.user == ALICE and edited.edited.ts == ts(1, 30)
    tomb = _one(export, subtype="tombstone")
    assert tomb.is_deleted and tomb.text == "" and tomb.plain == "" and tomb.reply_count == 2
    deleted = _one(export, subtype="message_deleted")
    assert deleted.is_deleted and deleted.target_ts == ts(1) and deleted.user == ALICE and deleted.text == ""
    changed = _one(export, subtype="message_changed")
    assert changed.target_ts == ts(1, 90) and changed.text == "new words" and changed.user == BOB
    assert changed.edited is not None and not changed.is_deleted
    assert export.problems == ()


def test_unknown_subtype_is_counted_and_skipped(tmp_path: Path) -> None:
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(ALICE, "hello", ts(1)),
                    msg(ALICE, "?", ts(1, 1), subtype="hologram_call"),
                    msg(ALICE, "?", ts(1, 2), subtype="hologram_call"),
                    msg(ALICE, "?", ts(1, 3), subtype=["not", "a", "string"]),
                    {"type": "reaction_added", "ts": ts(1, 4)},
                ]
            },
        )
    )
    assert [m.text for m in export.messages] == ["hello"]
    problems = _problems(export)
    assert problems["general/: unknown message subtype 'hologram_call' skipped"] == 2
    assert problems["general/: unknown message subtype <list> skipped"] == 1
    assert problems["general/: entry of type 'reaction_added' skipped"] == 1


RICH_BLOCKS = [
    {
        "type": "rich_text",
        "block_id": "a1",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Hey "},
                    {"type": "user", "user_id": BOB},
                    {"type": "text", "text": " and "},
                    {"type": "broadcast", "range": "here"},
                    {"type": "text", "text": ", see "},
                    {"type": "link", "url": "https://pg.example.org/vacuum", "text": "this post"},
                    {"type": "text", "text": " in "},
                    {"type": "channel", "channel_id": GENERAL},
                    {"type": "text", "text": " "},
                    {"type": "emoji", "name": "tada"},
                    {"type": "text", "text": "\n"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "first"}]},
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "link", "url": "https://b.example.org/"}],
                    },
                ],
            },
            {
                "type": "rich_text_list",
                "style": "ordered",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                ],
            },
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted words"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "VACUUM (VERBOSE) t;"}]},
            {
                "type": "rich_text_section",
                "elements": [{"type": "mystery", "x": 1}, "junk", {"type": "user"}],
            },
        ],
    },
]


def test_rich_text_blocks_give_plain_text_mentions_and_links(tmp_path: Path) -> None:
    text = "Hey <@U0BOB> and <!here>, see <https://pg.example.org/vacuum|this post> in <#C0GENERAL|general> :tada:"
    export = load_export(
        write_export(tmp_path, {"general/2026-10-01": [msg(ALICE, text, ts(1), blocks=RICH_BLOCKS)]})
    )
    m = export.messages[0]
    assert m.plain == (
        "Hey @Bob and @here, see this post in #general :tada:\n"
        "- first\n- https://b.example.org/\n"
        "1. one\n"
        "quoted words\n"
        "VACUUM (VERBOSE) t;"
    )
    assert m.mentions == (BOB,)
    assert m.channel_mentions == (GENERAL,)
    assert m.broadcast == "here"
    assert m.links == ("https://pg.example.org/vacuum", "https://b.example.org/")


def test_mrkdwn_text_without_blocks(tmp_path: Path) -> None:
    text = (
        "cc <@U0CAROL> <@U0NOBODY|ghost> &lt;3 &amp; see <https://a.example.org/x?a=1&amp;b=2|the doc>, "
        "<https://b.example.org/> and <mailto:x@example.org|mail> in <#C0GENERAL> <!subteam^S1|@sre>"
    )
    export = load_export(write_export(tmp_path, {"general/2026-10-01": [msg(ALICE, text, ts(1))]}))
    m = export.messages[0]
    assert m.plain == ("cc @Carol @ghost <3 & see the doc, https://b.example.org/ and mail in #general @sre")
    assert m.mentions == (CAROL, "U0NOBODY")
    assert m.links == ("https://a.example.org/x?a=1&b=2", "https://b.example.org/")
    assert m.text == text  # the raw mrkdwn is kept as exported


def test_link_unfurls_and_bot_attachments(tmp_path: Path) -> None:
    unfurl = {
        "from_url": "https://pg.example.org/vacuum",
        "original_url": "https://pg.example.org/vacuum",
        "title": "Autovacuum tuning",
        "text": "Why defaults fail",
        "service_name": "PG Notes",
        "title_link": "https://pg.example.org/vacuum",
        "fallback": "PG Notes: Autovacuum tuning",
    }
    card = {
        "fallback": "deployed",
        "title": "api v2",
        "title_link": "https://ci.example.org/1",
        "color": "good",
    }
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(
                        ALICE,
                        "good read <https://pg.example.org/vacuum>",
                        ts(1),
                        attachments=[unfurl, "junk"],
                    ),
                    msg(
                        None,
                        "Deployed",
                        ts(1, 5),
                        subtype="bot_message",
                        bot_id="B0DEPLOY",
                        username="deploybot",
                        attachments=[card],
                    ),
                ]
            },
        )
    )
    shared = _one(export, user=ALICE)
    (a,) = shared.attachments
    assert (a.title, a.text, a.url, a.service_name, a.is_unfurl) == (
        "Autovacuum tuning",
        "Why defaults fail",
        "https://pg.example.org/vacuum",
        "PG Notes",
        True,
    )
    bot = _one(export, subtype="bot_message")
    assert bot.is_bot and bot.bot_id == "B0DEPLOY" and bot.username == "deploybot" and bot.user is None
    assert bot.attachments[0].url == "https://ci.example.org/1" and not bot.attachments[0].is_unfurl
    assert export.problems == ()


def test_bots_and_slackbot_are_marked(tmp_path: Path) -> None:
    users = [
        *json.loads(json.dumps(__import__("tests.replay.exports", fromlist=["USERS"]).USERS)),
        {"id": "U0BOTUSER", "name": "standup", "is_bot": True, "profile": {"bot_id": "B0STANDUP"}},
        {"id": "USLACKBOT", "name": "slackbot", "is_bot": False, "profile": {}},
    ]
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg("U0BOTUSER", "standup time", ts(1), bot_id="B0STANDUP"),
                    msg("USLACKBOT", "Reminder: expenses", ts(1, 1)),
                    msg(ALICE, "me", ts(1, 2)),
                ]
            },
            users=users,
        )
    )
    assert [m.is_bot for m in export.messages] == [True, True, False]
    assert export.users["USLACKBOT"].is_bot


def test_files_and_joins(tmp_path: Path) -> None:
    files = [
        {
            "id": "F1",
            "name": "p99.png",
            "title": "p99",
            "mimetype": "image/png",
            "filetype": "png",
            "size": 1234,
            "permalink": "https://x.example.org/F1",
            "mode": "hosted",
        },
        {"id": "F2", "mode": "tombstone"},
    ]
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(BOB, "<@U0BOB> has joined the channel", ts(1), subtype="channel_join"),
                    msg(ALICE, "graph", ts(1, 1), subtype="file_share", files=files, upload=True),
                    msg(ALICE, "/me waves", ts(1, 2), subtype="me_message"),
                ]
            },
        )
    )
    join = _one(export, subtype="channel_join")
    assert join.user == BOB
    share = _one(export, subtype="file_share")
    assert [(f.id, f.name, f.size, f.is_deleted) for f in share.files] == [
        ("F1", "p99.png", 1234, False),
        ("F2", "", None, True),
    ]


def test_deleted_and_unknown_users(tmp_path: Path) -> None:
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(GONE, "I was here", ts(1)),
                    msg("U0STRANGER", "hi from another org", ts(1, 1)),
                    msg("U0STRANGER", "again", ts(1, 2)),
                ]
            },
        )
    )
    gone = export.users[GONE]
    assert gone.deleted and gone.tz is None and gone.tz_offset == 7200
    assert len(export.messages) == 3
    assert _problems(export) == {"general/: messages from a user not in users.json kept": 2}
    assert export.users[CAROL].is_guest


def test_missing_optional_files_are_fine_and_unlisted_folders_are_skipped(tmp_path: Path) -> None:
    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [msg(ALICE, "public", ts(1))],
                "secret/2026-10-01": [msg(ALICE, "private", ts(1, 1))],
            },
        )
    )
    assert [m.text for m in export.messages] == ["public"]
    assert _problems(export) == {
        "secret/: folder not listed in channels.json/groups.json/mpims.json/dms.json; 1 day files skipped": 1
    }


def test_private_channels_dms_and_group_dms(tmp_path: Path) -> None:
    export = load_export(
        write_export(
            tmp_path,
            {
                "secret/2026-10-01": [msg(ALICE, "plans", ts(1))],
                "D0DM/2026-10-01": [msg(ALICE, "psst", ts(1, 1))],
                "mpdm-alice--bob--carol-1/2026-10-01": [msg(BOB, "lunch?", ts(1, 2))],
            },
            extra={
                "groups.json": [{"id": SECRET, "name": "secret", "created": 5, "members": [ALICE, BOB]}],
                "dms.json": [{"id": "D0DM", "created": 6, "members": [ALICE, BOB]}],
                "mpims.json": [
                    {"id": "G0MP", "name": "mpdm-alice--bob--carol-1", "members": [ALICE, BOB, CAROL]}
                ],
                "integration_logs.json": {"logs": []},
            },
        )
    )
    assert export.problems == ()
    kinds = {c.id: (c.kind, c.is_private) for c in export.channels.values()}
    assert kinds == {
        GENERAL: ("channel", False),
        SECRET: ("group", True),
        "D0DM": ("im", True),
        "G0MP": ("mpim", True),
    }
    assert [m.channel_id for m in export.messages] == [SECRET, "D0DM", "G0MP"]


def test_messages_stream_in_time_order_across_channels_and_day_files(tmp_path: Path) -> None:
    # A day file named for a local day can hold messages from the previous UTC day.
    # Here Oct 1 20:00 UTC sits in the Oct 1 file (LA's day) and Oct 1 18:00 in the Oct 2 file (Tokyo's).
    root = write_export(
        tmp_path,
        {
            "general/2026-10-01": [msg(ALICE, "d", ts(1, 8 * 3600)), msg(ALICE, "a", ts(1, 0))],
            "general/2026-10-02": [msg(ALICE, "b", ts(1, 6 * 3600)), msg(ALICE, "e", ts(2, 0))],
            "random/2026-10-02": [msg(BOB, "c", ts(1, 7 * 3600))],
            "general/2026-10-05": [msg(ALICE, "f", ts(5))],
        },
        channels=[*CHANNELS, {"id": "C0RANDOM", "name": "random"}],
    )
    seen: list[str] = []
    with open_export(root) as reader:
        assert reader.day_file_count == 4
        texts = [m.text for m in reader.iter_messages(on_file=seen.append)]
        assert reader.problems == ()
    assert texts == ["a", "b", "c", "d", "e", "f"]
    assert len(seen) == 4


def test_duplicate_messages_are_dropped(tmp_path: Path) -> None:
    export = load_export(
        write_export(tmp_path, {"general/2026-10-01": [msg(ALICE, "x", ts(1)), msg(ALICE, "x", ts(1))]})
    )
    assert len(export.messages) == 1
    assert _problems(export) == {
        "general/2026-10-01.json: duplicate message (same channel and ts) skipped": 1
    }


def test_messages_by_day_groups_in_a_time_zone(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    export = load_export(
        write_export(
            tmp_path,
            {
                "general/2026-10-01": [
                    msg(ALICE, "noon utc", ts(1)),
                    msg(ALICE, "late utc", ts(1, 11 * 3600)),
                ]
            },
        )
    )
    utc = [(d.isoformat(), len(ms)) for d, ms in export.messages_by_day()]
    tokyo = [(d.isoformat(), len(ms)) for d, ms in export.messages_by_day(ZoneInfo("Asia/Tokyo"))]
    assert utc == [("2026-10-01", 2)]
    assert tokyo == [("2026-10-01", 1), ("2026-10-02", 1)]


# -- bad input -------------------------------------------------------------------------------------


def test_missing_users_json_is_fatal_and_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as info:
        load_export(write_export(tmp_path, {"general/2026-10-01": []}, users=None))
    assert info.value.file == "users.json"
    assert "users.json" in str(info.value) and "missing" in str(info.value)


def test_missing_channels_json_is_fatal_and_named(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"channels\.json"):
        load_export(write_export(tmp_path, channels=None))


def test_enterprise_org_users_json_is_accepted(tmp_path: Path) -> None:
    from tests.replay.exports import USERS

    root = write_export(
        tmp_path,
        {"general/2026-10-01": [msg(ALICE, "hi", ts(1))]},
        users=None,
        extra={"org_users.json": USERS},
    )
    assert load_export(root).users[ALICE].real_name == "Alice"


@pytest.mark.parametrize(
    ("users", "reason"),
    [
        (b"{not json", "is not valid JSON (line 1"),
        (b'{"id": "U1"}', "should hold a JSON list of users"),
        (b"\xff\xfe\x00", "is not UTF-8"),
    ],
)
def test_malformed_users_json_is_fatal(tmp_path: Path, users: bytes, reason: str) -> None:
    root = write_export(tmp_path, users=None, raw={"users.json": users})
    with pytest.raises(ExportError) as info:
        load_export(root)
    assert info.value.file == "users.json" and reason in info.value.reason


def test_corrupt_zip_is_fatal_and_named(tmp_path: Path) -> None:
    bogus = tmp_path / "export.zip"
    bogus.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ExportError, match=r"export\.zip: not a readable zip archive"):
        load_export(bogus)
    good = zip_folder(_rich_fixture(tmp_path / "f"), tmp_path / "good.zip")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(ExportError, match=r"truncated\.zip"):
        load_export(truncated)
    with pytest.raises(ExportError, match="no such file"):
        load_export(tmp_path / "nowhere.zip")


def test_zip_with_a_damaged_member_is_fatal_and_names_it(tmp_path: Path) -> None:
    path = zip_folder(_rich_fixture(tmp_path / "f"), tmp_path / "x.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("general/2026-10-01.json")
    # Flip a byte inside the compressed data: the CRC check fails when it is read.
    at = info.header_offset + 30 + len(info.filename) + 5
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ExportError, match=r"x\.zip:general/2026-10-01\.json"):
        load_export(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'[{"type": "message", "ts": "1.0", ', "is not valid JSON (line 1"),
        (b'{"messages": []}', "should hold a JSON list of messages"),
        (b'[{"type": "message", "text": "no ts"}]', "message #0 has no valid ts"),
        (b'[{"type": "message", "ts": "soon"}]', "message #0 has no valid ts"),
        (b'[{"type": "message", "ts": "1.0"}, 42]', "message #1 is not a JSON object"),
    ],
)
def test_malformed_day_file_is_fatal_and_named(tmp_path: Path, content: bytes, reason: str) -> None:
    root = write_export(
        tmp_path,
        {"general/2026-10-02": [msg(ALICE, "fine", ts(2))]},
        raw={"general/2026-10-01.json": content},
    )
    with pytest.raises(ExportError) as info:
        load_export(root)
    assert info.value.file == "general/2026-10-01.json"
    assert reason in str(info.value)
    # Not strict: the bad file is skipped and counted, the rest is read.
    export = load_export(root, strict=False)
    assert [m.text for m in export.messages] == ["fine"]
    ((file, what),) = [(p.file, p.what) for p in export.problems]
    assert file == "general/2026-10-01.json" and "malformed day file skipped" in what


def test_odd_file_names_are_ignored_and_counted(tmp_path: Path) -> None:
    root = write_export(
        tmp_path,
        {"general/2026-10-01": [msg(ALICE, "ok", ts(1))]},
        raw={
            "general/2026-13-45.json": b"[]",
            "general/notes.txt": b"hi",
            "stray.json": b"{}",
            "general/attachments/F1.png": b"\x89PNG",
            "canvases.json": b"[]",
        },
    )
    export = load_export(root)
    assert [m.text for m in export.messages] == ["ok"]
    assert set(_problems(export)) == {
        "general/2026-13-45.json: not a YYYY-MM-DD.json day file; ignored",
        "general/notes.txt: not a YYYY-MM-DD.json day file; ignored",
        "stray.json: unexpected top-level file ignored",
    }


def test_path_traversal_entries_are_ignored(tmp_path: Path) -> None:
    folder = _rich_fixture(tmp_path / "f")
    evil = b'[{"type": "message", "user": "U0ALICE", "text": "evil", "ts": "1790000000.000000"}]'
    path = zip_folder(
        folder,
        tmp_path / "x.zip",
        extra={
            "../general/2026-10-03.json": evil,
            "general/../../2026-10-03.json": evil,
            "/etc/general/2026-10-03.json": evil,
            "C:/general/2026-10-03.json": evil,
            "general\\2026-10-03.json": evil,
            "__MACOSX/general/._2026-10-01.json": b"\x00\x05",
        },
    )
    export = load_export(path)
    assert "evil" not in [m.text for m in export.messages]
    assert export.messages == load_export(folder).messages
    unsafe = [p.file for p in export.problems if p.what == "unsafe path in the export ignored"]
    assert len(unsafe) == 5


def test_symlink_out_of_a_folder_export_is_ignored(tmp_path: Path) -> None:
    folder = _rich_fixture(tmp_path / "f")
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([msg(ALICE, "outside", ts(3))]))
    (folder / "general" / "2026-10-03.json").symlink_to(outside)
    export = load_export(folder)
    assert "outside" not in [m.text for m in export.messages]
    assert _problems(export)["general/2026-10-03.json: symlink leading outside the export ignored"] == 1


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    folder = _rich_fixture(tmp_path / "f")
    big = json.dumps(
        [msg(ALICE, "a" * 1000, ts(3, i)) for i in range(2000)]
    ).encode()  # ~2 MB, compresses 100x
    path = zip_folder(folder, tmp_path / "bomb.zip", extra={"general/2026-10-03.json": big})
    assert path.stat().st_size < 100_000
    with pytest.raises(ExportError, match=r"declares .* bytes uncompressed"):
        load_export(path, max_total_bytes=1_000_000)
    with pytest.raises(ExportError, match=r"general/2026-10-03\.json: larger than 1000000 bytes"):
        load_export(path, max_file_bytes=1_000_000)
    assert len(load_export(path).messages) == 2002


# -- property: junk never escapes as anything but ExportError --------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
_json = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_MESSAGE_KEYS = [
    "type",
    "subtype",
    "ts",
    "user",
    "text",
    "thread_ts",
    "reply_count",
    "replies",
    "reply_users",
    "edited",
    "files",
    "attachments",
    "blocks",
    "reactions",
    "bot_id",
    "message",
    "previous_message",
    "deleted_ts",
    "parent_user_id",
    "username",
    "elements",
    "url",
    "user_id",
    "style",
]
_message_like = st.recursive(
    st.fixed_dictionaries({"ts": st.sampled_from(["1790000000.000100", "12", "x", ""]) | _json_leaf}),
    lambda children: (
        st.dictionaries(st.sampled_from(_MESSAGE_KEYS), children | _json, max_size=6)
        | st.lists(children, max_size=3)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=_json | st.lists(_message_like, max_size=5), users=st.sampled_from(["ok", "junk"]), junk_users=_json
)
def test_junk_day_files_only_ever_raise_export_error(
    tmp_path: Path, day: Any, users: str, junk_users: Any
) -> None:
    root = tmp_path / "junk"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    write_export(root, {"general/2026-10-01": day}, **({"users": junk_users} if users == "junk" else {}))
    for strict in (True, False):
        try:
            export = load_export(root, strict=strict)
        except ExportError as exc:
            assert exc.file in ("users.json", "general/2026-10-01.json")
            assert not (exc.file == "general/2026-10-01.json" and not strict)
        else:
            for m in export.messages:
                assert isinstance(m.text, str) and isinstance(m.plain, str) and isinstance(m.time, float)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_junk_bytes_in_a_day_file_only_raise_export_error(tmp_path: Path, data: bytes) -> None:
    root = write_export(tmp_path / "bytes", raw={"general/2026-10-01.json": data})
    try:
        load_export(root)
    except ExportError as exc:
        assert exc.file == "general/2026-10-01.json"
    assert load_export(root, strict=False).messages is not None
