"""Bad input through the served app: signed requests to a real `passiton serve` (uvicorn) talking to the
Slack emulator. Whatever arrives, the answer is 200 (Slack commands: a friendly ephemeral), a 4xx, or a
200 ack with the bad part ignored and logged; never a 500, which Slack would retry again and again.
"""

# ruff: noqa: F811 - `slack` is both the imported fixture and the parameter that receives it

from __future__ import annotations

import json
import logging
import random
import socket
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.store.models import Item, Member, MemberTopic
from tests.slack.conftest import emu, served, slack  # noqa: F401 - the served app's fixtures
from tests.slack.harness import Slack
from tests.support import signing

CONTROL = ("<!channel>", "<!here>", "<!everyone>", "<@U", "<#C", "<https://evil")


def _member_rows(slack: Slack) -> tuple[int, int]:
    with slack.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Member)) or 0,
            s.scalar(select(func.count()).select_from(MemberTopic)) or 0,
        )


def _assert_no_control(text: str) -> None:
    for bad in CONTROL:
        assert bad not in text, (bad, text)


def _all_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _no_server_errors(caplog: pytest.LogCaptureFixture) -> None:
    crashes = [r for r in caplog.records if "Exception in ASGI application" in r.getMessage()]
    assert not crashes, crashes[0].getMessage()


# -- slash commands --------------------------------------------------------------------------------

MALFORMED_COMMANDS = [
    "<!channel>",
    "<!here> please",
    "<@U0ALICE01> interests add rust",
    "<https://evil.example|click here>",
    "interests <!channel>",
    "interests add ,,,",
    "interests add " + ", ".join(f"t{i}" for i in range(80)),  # more topics than allowed
    "interests add " + "x" * 5000,
    "expertise shout <!channel>",
    "pause <!here>",
    "pause 99999999999999999999d",
    "quiet 25:00-99:99",
    "quiet <@U1>-<@U2>",
    "via <!channel>",
    "digest '; DROP TABLE members; --",
    "'; DROP TABLE members; --",
    '" OR 1=1 --',
    "who knows",
    "who knows " + "x" * 3000,
    "export <!channel>",
    "forget <!here>",
    "\x00\x01\x02\x7f",
    "\u202eemoh",
    "🙂" * 3000,
    "unmute",
    "ask " + "y" * 3000,
]


@pytest.mark.parametrize("text", MALFORMED_COMMANDS)
def test_malformed_commands_get_a_friendly_ephemeral_and_change_nothing(
    slack: Slack, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = _member_rows(slack)
    answer = slack.command(text, "alice")  # asserts HTTP 200
    assert answer.get("response_type") == "ephemeral", answer
    shown = _all_text(answer)
    _assert_no_control(shown)
    assert ":warning:" in shown or "passiton" in shown  # says what to type instead
    slack.quiesce(quiet=0.3)
    assert _member_rows(slack)[1] == before[1]  # no topic written
    assert not slack.emu.calls("chat.postMessage"), "a malformed command posted something"
    _no_server_errors(caplog)


INJECTIONS_THAT_PARSE = [
    "interests add <!channel>, <@U0ALICE01>, <https://evil.example|click>",
    "expertise add <!here>",
    "mute <!everyone>",
    "interests add &lt;!channel&gt;",
    "who knows <!channel>?" + "?" * 50,  # answered after the ack, through response_url
]


@pytest.mark.parametrize("text", INJECTIONS_THAT_PARSE)
def test_injections_that_parse_as_topics_are_stored_as_words_and_echoed_inert(
    slack: Slack, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = slack.command(text, "alice")
    assert answer == {} or answer.get("response_type") == "ephemeral"
    _assert_no_control(_all_text(answer))
    slack.quiesce(quiet=0.3)
    for response in slack.emu.responses():
        _assert_no_control(_all_text(response))
    for view in slack.emu.published_views("alice"):  # the Home tab redrawn with the new topics
        _assert_no_control(_all_text(view))
    listed = slack.command("interests list", "alice")
    _assert_no_control(_all_text(listed))
    _no_server_errors(caplog)


def test_random_command_text_never_breaks_the_served_app(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """A fixed-seed sample of junk (control characters, Slack markup, long runs) through HTTP."""
    rng = random.Random(1010)
    alphabet = "abc <>!@#|&;'\"`\\/\n\t\x00\u202e🙂,-:" + "".join(map(chr, range(0x80, 0x90)))
    words = [
        "interests",
        "expertise",
        "mute",
        "pause",
        "quiet",
        "via",
        "who",
        "knows",
        "add",
        "ask",
        "<!channel>",
    ]
    for _ in range(25):
        parts = [rng.choice(words) if rng.random() < 0.4 else "".join(rng.choices(alphabet, k=rng.randint(0, 30)))
                 for _ in range(rng.randint(0, 6))]  # fmt: skip
        answer = slack.command(" ".join(parts), "bob")
        assert answer == {} or answer.get("response_type") == "ephemeral", (parts, answer)
        _assert_no_control(_all_text(answer))
    slack.quiesce(quiet=0.5)
    for response in slack.emu.responses():  # answers sent after the ack (who knows, ask)
        _assert_no_control(_all_text(response))
    _no_server_errors(caplog)


# -- events ----------------------------------------------------------------------------------------


def _event_body(slack: Slack, event: Any) -> str:
    return json.dumps(signing.envelope(event, team_id=slack.team_id, bot_user_id=slack.bot_user_id))


def _bad_events(slack: Slack) -> list[Any]:
    ch, u = slack.emu.channel("help").id, slack.emu.user("alice").id
    good = signing.message_event(ch, u, "How do I tune autovacuum on Postgres?")
    return [
        {**good, "text": 123},
        {**good, "text": None},
        {**good, "text": ["a"]},
        {**good, "channel": None},
        {**good, "channel": {"id": ch}},
        {**good, "user": {"id": u}},
        {**good, "user": None},
        {**good, "ts": "not-a-ts"},
        {**good, "ts": 17.5},
        {**good, "thread_ts": "x.y"},
        {**good, "attachments": "not a list"},
        {**good, "attachments": [None, 3, {"title": 5, "from_url": ["x"]}]},
        {**good, "blocks": {"type": "rich_text"}},
        {**good, "blocks": [{"type": "rich_text", "elements": "x"}]},
        {**good, "subtype": "mystery_subtype"},
        {**good, "subtype": "message_changed"},  # no `message` inside
        {**good, "subtype": "message_changed", "message": "text"},
        {**good, "subtype": "message_deleted", "previous_message": None},
        {**good, "files": 3},
        {"type": "message"},
        {"type": "app_mention", "channel": ch},
        {"type": "app_mention", "channel": ch, "user": u, "text": None, "ts": "1.2"},
        {"type": "member_joined_channel"},
        {"type": "member_joined_channel", "user": 5, "channel": [ch]},
        {"type": "member_left_channel", "channel": ch},
        {"type": "team_join", "user": "U123"},
        {"type": "team_join"},
        {"type": "user_change", "user": {"name": "no id"}},
        {"type": "user_change", "user": {"id": u, "tz": 42, "profile": "x", "deleted": "yes"}},
        {"type": "reaction_added", "item": "x", "user": u},
        {"type": "reaction_added", "user": u, "item": {"type": "message", "channel": ch, "ts": None}},
        {"type": "app_home_opened"},
        {"type": "app_home_opened", "user": u, "tab": 3},
        {"type": "tokens_revoked", "tokens": "all"},
        {"type": "tokens_revoked", "tokens": {"bot": "xoxb"}},
        {"type": "never_heard_of_it", "x": 1},
        {"type": "message", "channel_type": "im", "channel": "D123", "user": u, "text": "hi", "ts": "1.0"},
    ]


def test_events_with_missing_or_wrong_fields_are_acked_or_refused_never_500(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for event in _bad_events(slack):
        resp = slack.post(_event_body(slack, event))
        assert resp.status_code in (200, 400), (event, resp.status_code, resp.text)
    slack.quiesce(quiet=0.5)
    _no_server_errors(caplog)
    # Still serving: a well-formed question afterwards is stored as usual.
    slack.message("help", "bob", "Does anyone know how to rotate Vault tokens in Kubernetes?")
    slack.wait(lambda: _items(slack) >= 1, what="the good event's item")


def _items(slack: Slack) -> int:
    with slack.db.session() as s:
        return s.scalar(select(func.count()).select_from(Item)) or 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"type": "event_callback", "team_id": "T1", "event": {"type": "message"', "application/json", 400),
        ('{"type": "event_callback", "team_id": 5, "event": {"type": "message"}}', "application/json", 400),
        ('{"type": "event_callback", "team_id": "T1", "event": {"type": 7}}', "application/json", 400),
        (
            '{"type": "event_callback", "team_id": "T1", "event": {"type": "message"}, "authorizations": {}}',
            "application/json",
            400,
        ),
        ('{"type": "url_verification"}', "application/json", 400),
        ('{"type": "url_verification", "challenge": 12}', "application/json", 400),
        ("null", "application/json", 400),
        ('"just a string"', "application/json", 400),
        ('{"type": "event_callback"}', "application/x-www-form-urlencoded", 400),  # wrong content type
        ("command=%2Fpassiton&text=help", "application/json", 400),  # a form sent as JSON
        ("command=%2Fpassiton&text=help&user_id=U1", None, 400),  # no team
        ("payload=" + "%7B" * 2000, None, 400),
        ('{"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1}', "application/json", 200),
    ],
)
def test_malformed_envelopes(slack: Slack, body: str, content_type: str | None, status: int) -> None:
    resp = slack.post(body, content_type=content_type)
    assert resp.status_code == status, (body[:80], resp.status_code, resp.text[:200])


def test_huge_bodies_are_refused_before_parsing(slack: Slack) -> None:
    ch, u = slack.emu.channel("help").id, slack.emu.user("alice").id
    huge = _event_body(slack, signing.message_event(ch, u, "x" * 1_200_000))
    assert slack.post(huge).status_code == 413
    deep = "[" * 200_000 + "]" * 200_000  # nesting bomb, under the size cap
    assert (
        slack.post(
            '{"type": "event_callback", "x": ' + deep + "}", content_type="application/json"
        ).status_code
        == 400
    )


def test_oversized_message_is_acked_stored_and_rendered_inert(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack's own limit is 40,000 characters; such a message is acked fast and stored, not crashed on."""
    text = ("How do I tune Postgres autovacuum? " + "<!channel> <https://evil.example|click> " * 900)[:40_000]
    slack.message("help", "alice", text)
    slack.wait(lambda: _items(slack) >= 1, what="the long message's item")
    slack.quiesce(quiet=0.5)
    for call in slack.emu.calls("chat.postMessage"):
        _assert_no_control(_all_text({k: call.args.get(k) for k in ("text", "blocks")}))
    _no_server_errors(caplog)


# -- interactivity ---------------------------------------------------------------------------------


def _bad_payloads(slack: Slack) -> list[dict[str, Any]]:
    u, team = slack.emu.user("alice").id, slack.team_id
    user, teamj = {"id": u, "username": "alice", "team_id": team}, {"id": team, "domain": "passiton-test"}

    def actions(action_id: str, value: Any, **extra: Any) -> dict[str, Any]:
        return signing.block_actions_payload(
            [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, **extra}],
            user_id=u, team_id=team, channel_id=slack.emu.channel("general").id, message={"ts": "1.0", "text": ""},
        )  # fmt: skip

    def view(callback_id: str, metadata: Any, values: Any = None) -> dict[str, Any]:
        return {"type": "view_submission", "user": user, "team": teamj, "trigger_id": "1.2.3",
                "view": {"id": "V1", "callback_id": callback_id, "private_metadata": metadata,
                         "state": {"values": values if values is not None else {}}}}  # fmt: skip

    return [
        actions("nudge_not_now", "not-a-number"),
        actions("nudge_not_now", "-1"),
        actions("nudge_pass_on", "99999999999999999999999999"),
        actions("nudge_mute_person", None),
        actions("nudge_take_look", "1e9"),
        actions("home_pause_week", {"x": 1}),
        actions("ask_close", "abc"),
        actions("forget_me_confirm", "confirm", block_id=None),
        actions("unknown_action", "x"),
        view("edit_topics", "not json"),
        view("edit_topics", "[1, 2]"),
        view("edit_topics", '{"kind": "interest"}', {"topics": "x"}),
        view("edit_topics", '{"kind": "interest"}', {"topics": {"topics": {"value": 5}}}),
        view("edit_settings", "", {"pause": {"pause": {"selected_option": {"value": "forever"}}}}),
        view("edit_settings", "", {"quiet": {"quiet": {"value": "<!channel>"}}}),
        view("pass_it_on_submit", "{}"),
        view("pass_it_on_submit", '{"channel": "C1", "ts": "1.0", "item_id": "x"}'),
        view(
            "pass_it_on_submit",
            '{"channel": "C1", "ts": "1.0"}',
            {"recipients": {"recipients": {"selected_users": "U1"}}},
        ),
        view("who_knows_nothing", "{}"),
        {
            "type": "view_closed",
            "user": user,
            "team": teamj,
            "view": {"id": "V1", "callback_id": "edit_topics"},
        },
        {
            "type": "shortcut",
            "user": user,
            "team": teamj,
            "callback_id": "no_such_shortcut",
            "trigger_id": "1",
        },
        {
            "type": "message_action",
            "user": user,
            "team": teamj,
            "callback_id": "pass_it_on",
            "message": {"text": 5},
            "channel": {"id": None},
            "trigger_id": "1",
        },
        {
            "type": "message_action",
            "user": user,
            "team": teamj,
            "callback_id": "who_could_help",
            "message": {},
            "channel": {"id": "C404"},
            "trigger_id": "1",
        },
        {"type": "block_suggestion", "user": user, "team": teamj, "action_id": "x", "value": "y"},
        {"type": "interactive_message", "user": user, "team": teamj, "actions": []},
    ]


def test_interactions_with_wrong_fields_are_acked_or_refused_never_500(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    before = _member_rows(slack)
    for payload in _bad_payloads(slack):
        resp = slack.interact(payload)
        assert resp.status_code < 500, (payload, resp.status_code, resp.text[:300])
        if (
            resp.status_code == 200
            and resp.content
            and resp.headers.get("content-type", "").startswith("application/json")
        ):
            _assert_no_control(resp.text)
    slack.quiesce(quiet=0.5)
    _no_server_errors(caplog)
    assert _member_rows(slack)[1] == before[1]
    assert slack.http.get(slack.url + "/healthz").json() == {"ok": True}


# -- raw HTTP: what an HTTP client library would not send -----------------------------------------


def _raw(url: str, head: bytes, chunks: list[bytes] = [], wait: float = 5.0) -> bytes:  # noqa: B006
    """Send `head` (+ `chunks`) over a plain socket and read what the server answers within `wait` s.

    The body is left unfinished on purpose where a test says so: the server must answer without it.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except TimeoutError:
            pass
        return answer


def _status(answer: bytes) -> int | None:
    first = answer.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None


def _request_head(slack: Slack, headers: dict[str, bytes]) -> bytes:
    lines = [b"POST /slack/events HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.mark.parametrize(
    "bad_signature",
    ["v0=" + "é" * 64, "v0=ñandú", "v0=\u00ff", "\u00e9"],
)
def test_non_ascii_signature_is_refused_with_401_not_500(
    slack: Slack, bad_signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Header bytes above 0x7f arrive as non-ASCII str; comparing them as str raised TypeError (500)."""
    body = _event_body(slack, signing.message_event("C1", "U1", "hi"))
    head = _request_head(
        slack,
        {
            "Content-Type": b"application/json",
            "Content-Length": str(len(body)).encode(),
            "X-Slack-Request-Timestamp": str(int(time.time())).encode(),
            "X-Slack-Signature": bad_signature.encode("latin-1"),
        },
    )
    assert _status(_raw(slack.url, head, [body.encode()])) == 401
    _no_server_errors(caplog)


def test_declared_oversized_body_is_refused_before_it_is_sent(slack: Slack) -> None:
    """A Content-Length over the cap gets 413 at once: the server does not wait for (or buffer) the body."""
    head = _request_head(
        slack,
        {
            "Content-Type": b"application/json",
            "Content-Length": b"50000000",
            "X-Slack-Request-Timestamp": str(int(time.time())).encode(),
            "X-Slack-Signature": b"v0=" + b"0" * 64,
        },
    )
    assert _status(_raw(slack.url, head, [b'{"type": "event_callback"'], wait=5.0)) == 413


def test_streamed_body_is_cut_off_at_the_cap(slack: Slack) -> None:
    """Chunked, no Content-Length: 413 as soon as the cap is passed, though the stream never ends."""
    head = _request_head(
        slack,
        {
            "Content-Type": b"application/json",
            "Transfer-Encoding": b"chunked",
            "X-Slack-Request-Timestamp": str(int(time.time())).encode(),
            "X-Slack-Signature": b"v0=" + b"0" * 64,
        },
    )
    piece = b"x" * 100_000
    chunk = f"{len(piece):x}".encode() + b"\r\n" + piece + b"\r\n"
    # 1.2 MB sent, past the 1 MB cap, and no terminating zero-length chunk.
    assert _status(_raw(slack.url, head, [chunk] * 12, wait=5.0)) == 413


def test_streamed_body_under_the_cap_is_read_whole(slack: Slack) -> None:
    """The same chunked framing under the cap reaches the signature check (401 for this fake one)."""
    head = _request_head(
        slack,
        {
            "Content-Type": b"application/json",
            "Transfer-Encoding": b"chunked",
            "X-Slack-Request-Timestamp": str(int(time.time())).encode(),
            "X-Slack-Signature": b"v0=" + b"0" * 64,
        },
    )
    piece = b'{"type": "event_callback"}'
    chunk = f"{len(piece):x}".encode() + b"\r\n" + piece + b"\r\n"
    assert _status(_raw(slack.url, head, [chunk, b"0\r\n\r\n"])) == 401
