"""Property tests over the pure parsers that read what strangers send: each either returns its result or
raises its own typed error, never anything else, whatever the input."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
import json
from email.message import EmailMessage
from urllib.parse import quote as urlquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.email.mime import ParsedMail, html_to_text, parse_mail
from bot.matching.items import clean_slack_text, extract_links, parse_html_meta
from bot.slack import commands_parse as cp
from bot.web.slack_requests import BadRequest, check_body

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a member could type: any unicode (control characters, RTL marks, emoji, NUL) plus Slack's control
# sequences and SQL-ish fragments mixed in, so they appear far more often than chance would give.
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0123ABC>",
    "<#C0123|general>",
    "<https://evil.example|click>",
    "<!subteam^S123>",
    "'; DROP TABLE members; --",
    '" OR 1=1 --',
    "&lt;!channel&gt;",
    "`",
    "```",
    "\u202e",
    "\x00",
    "\r\n",
    "%s%s%n",
    "{0}",
    "interests",
    "add",
    "who knows",
    ",",
]
member_text = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE)), max_size=12).map("".join)
COMMAND_WORDS = [
    "", "help", "interests", "expertise", "mute", "unmute", "pause", "resume", "quiet", "via", "digest",
    "who", "ask", "export", "forget-me", "forget", "stop", "off", "unsubscribe", "snooze",
]  # fmt: skip


def _no_control_sequences(text: str) -> None:
    for bad in ("<!", "<@", "<#", "<http"):
        assert bad not in text, (bad, text)


@FUZZ
@given(word=st.sampled_from(COMMAND_WORDS), rest=member_text)
@example(word="who", rest="knows " + "x" * 10_000)
@example(word="interests", rest="add " + "<!channel>, " * 60)
@example(word="quiet", rest="\x00-\x00")
def test_command_parser_returns_a_command_or_its_own_error(word: str, rest: str) -> None:
    try:
        parsed = cp.parse_command(f"{word} {rest}")
    except cp.ParseError as exc:
        message = str(exc)
        assert message and len(message) < 600
        _no_control_sequences(message)  # the error is shown as mrkdwn and may echo what was typed
        return
    assert isinstance(parsed, cp.Command)  # type: ignore[arg-type]
    if isinstance(parsed, cp.ChangeTopics | cp.ExpertiseVisibility):
        assert 1 <= len(parsed.topics) <= 50
        for topic in parsed.topics:
            assert topic and len(topic) <= 60 and "<" not in topic and ">" not in topic
    if isinstance(parsed, cp.Mute):
        assert 1 <= len(parsed.words) + len(parsed.user_ids) <= 100
        for word in parsed.words:
            assert word and len(word) <= 60 and "<" not in word and ">" not in word
    if isinstance(parsed, cp.WhoKnows):
        assert parsed.topic and len(parsed.topic) <= 60 and "<" not in parsed.topic
    if isinstance(parsed, cp.Ask):
        assert len(parsed.text) <= cp.MAX_ASK_CHARS


@FUZZ
@given(text=st.text(max_size=300))
def test_command_parser_on_any_unicode(text: str) -> None:
    with contextlib.suppress(cp.ParseError):
        cp.parse_command(text)


# -- the body check in front of Bolt ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ENVELOPE_KEYS = ["type", "event", "team_id", "enterprise_id", "authorizations", "challenge", "event_id"]
PAYLOAD_KEYS = ["type", "user", "team", "view", "actions", "callback_id", "message", "channel", "trigger_id"]
envelopes = st.dictionaries(st.sampled_from(ENVELOPE_KEYS), json_values | st.sampled_from(
    ["event_callback", "url_verification", "app_rate_limited", "block_actions"]), max_size=6)  # fmt: skip
payloads = st.dictionaries(st.sampled_from(PAYLOAD_KEYS), json_values | st.sampled_from(
    ["view_submission", "block_actions", "shortcut", "message_action", "view_closed"]), max_size=8)  # fmt: skip


@FUZZ
@given(body=st.binary(max_size=400), content_type=st.sampled_from([None, "application/json", "text/plain",
       "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]))  # fmt: skip
def test_check_body_on_bytes(body: bytes, content_type: str | None) -> None:
    with contextlib.suppress(BadRequest):
        check_body(body, content_type)


@FUZZ
@given(envelope=envelopes)
def test_check_body_on_envelopes(envelope: dict[str, object]) -> None:
    try:
        check_body(json.dumps(envelope).encode(), "application/json")
    except BadRequest:
        return
    # Accepted: Bolt will read these without a KeyError or AttributeError.
    if envelope.get("type") == "event_callback":
        event = envelope["event"]
        assert isinstance(event, dict) and isinstance(event.get("type"), str)


@FUZZ
@given(payload=payloads, truncate=st.integers(min_value=0, max_value=3))
def test_check_body_on_interaction_payloads(payload: dict[str, object], truncate: int) -> None:
    raw = json.dumps(payload)
    raw = raw[: len(raw) - truncate]  # truncated JSON must be a BadRequest, not a crash further in
    try:
        check_body(("payload=" + urlquote(raw)).encode(), "application/x-www-form-urlencoded")
    except BadRequest:
        return
    assert isinstance(payload.get("type"), str)


# -- shared mail -------------------------------------------------------------------------------------


def _check_parsed(mail: ParsedMail) -> None:
    assert len(mail.text) <= 4000 and len(mail.note) <= 1000
    for url in mail.links:
        assert url.lower().startswith(("http://", "https://"))


@FUZZ
@given(data=st.binary(max_size=2000))
def test_parse_mail_on_bytes(data: bytes) -> None:
    _check_parsed(parse_mail(data))


HEADER_JUNK = st.sampled_from(
    [
        'Content-Type: multipart/mixed; boundary="b"',
        "Content-Type: multipart/alternative",
        "Content-Type: multipart/mixed; boundary=",
        "Content-Type: message/rfc822",
        'Content-Type: text/html; charset="x-unknown"',
        "Content-Type: text/plain; charset=utf-7",
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Transfer-Encoding: x-uuencode",
        "Content-Disposition: attachment; filename*=utf-8''%FF%FE",
        "Subject: =?utf-8?b?////?=",
        "Subject: =?x-bogus?q?=FF?=",
        'From: "<!channel>" <a@b.example>',
        "From: <<<@@@>>>",
        "From: =?utf-8?q?=00?= <x@y>",
        "Message-ID: <" + "a" * 2000 + ">",
        "Date: yesterday",
        "To: undisclosed-recipients:;",
    ]
)
BODY_JUNK = st.sampled_from(
    [
        "--b\r\nContent-Type: text/plain\r\n\r\nhello https://x.example/a\r\n--b--",
        "--b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b--",
        "--b",
        "////==== not base64 ====",
        "=XX=YY=\r\n",
        "<html><a href='https://x.example/<!channel>'>x</a><script>",
        "---------- Forwarded message ---------\r\nFrom: a\r\nSubject: Fwd: Fwd:\r\n",
        "<" * 500,
        "\x00\xff",
    ]
)


@FUZZ
@given(
    headers=st.lists(HEADER_JUNK, max_size=6),
    body=st.lists(BODY_JUNK | st.text(max_size=60), max_size=5),
    nest=st.integers(min_value=0, max_value=30),
)
def test_parse_mail_on_structured_junk(headers: list[str], body: list[str], nest: int) -> None:
    text = "\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body)
    # A message nested `nest` levels deep (mail loops and forward-of-forward chains).
    wrapped = text
    for _ in range(nest):
        wrapped = "Content-Type: message/rfc822\r\n\r\n" + wrapped
    _check_parsed(parse_mail(wrapped.encode("utf-8", "surrogatepass")))


def test_parse_mail_on_deeply_nested_multipart() -> None:
    """A bomb of nested multiparts is read to a fixed depth, without recursion errors."""
    inner = EmailMessage(policy=email.policy.default)
    inner.set_content("deep https://deep.example/x")
    for _ in range(200):
        outer = EmailMessage(policy=email.policy.default)
        outer.make_mixed()
        outer.attach(inner)
        inner = outer
    inner["From"] = "a@b.example"
    mail = parse_mail(inner.as_bytes())
    assert mail.from_address == "a@b.example"


@FUZZ
@given(html=st.lists(st.sampled_from(["<a href=", "'", "\"", ">", "</", "<script>", "<!--", "<![CDATA[",
       "&#x110000;", "&#0;", "<title>", "<meta name=description content=", "https://x.example/"])
       | st.text(max_size=20), max_size=30).map("".join))  # fmt: skip
def test_html_readers_never_raise(html: str) -> None:
    text, links = html_to_text(html)
    assert isinstance(text, str) and all(link.lower().startswith("http") for link in links)
    meta = parse_html_meta(html)
    assert isinstance(meta.title, str) and len(meta.title) <= 300


@FUZZ
@given(text=member_text)
def test_slack_text_cleaning_never_raises(text: str) -> None:
    assert isinstance(clean_slack_text(text), str)
    for found in extract_links(text):
        assert found.url.lower().startswith(("http://", "https://")), found


@pytest.mark.parametrize("size", [0, 1, 64 * 1024])
def test_parse_mail_sizes(size: int) -> None:
    data = b"From: a@b.example\r\nSubject: s\r\n\r\n" + b"x" * size
    assert parse_mail(data).from_address == "a@b.example"


# -- files an admin hands over (profiles for replay, members to import) ----------------------------

FILE_JUNK = st.sampled_from(
    ['{"U1": {"interests": ', "[", "]", "{", "}", '"', ",", "\n", "user,interests,expertise", "U1;x|y", "\x00",
     "\ufeff", '{"U1": {"interests": 5}}', '[{"user": null}]', '{"a@b.example": {"helped": [1, {}]}}',
     "email,interests\n", "a@b.example,\"unterminated", "[" * 3000, ",".join(["x"] * 300)]
)  # fmt: skip
file_text = st.lists(FILE_JUNK | st.text(max_size=20), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=file_text, suffix=st.sampled_from([".json", ".csv", ".txt"]))
def test_profiles_loader_raises_only_its_own_error(text: str, suffix: str) -> None:
    import tempfile
    from pathlib import Path

    from bot.replay.profiles import ProfileError, load_profiles

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"profiles{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(ProfileError):
            load_profiles(path)


@settings(max_examples=150, deadline=None)
@given(text=file_text)
def test_members_csv_reader_raises_only_its_own_error(text: str) -> None:
    from bot.email.members_import import ImportFileError, read_members_csv

    with contextlib.suppress(ImportFileError):
        rows, problems = read_members_csv(text)
        assert isinstance(rows, list) and isinstance(problems, list)


# -- signed email links ------------------------------------------------------------------------------

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SECRET = "k" * 32


@FUZZ
@given(
    token=st.text(max_size=200)
    | st.from_regex(r"v1\.[A-Za-z0-9_\-=]{0,80}\.[A-Za-z0-9_\-=]{0,60}", fullmatch=True)
)
def test_link_tokens_from_strangers_only_raise_token_errors(token: str) -> None:
    from bot.email.tokens import TokenError, verify

    with contextlib.suppress(TokenError):
        verify(SECRET, token, now=NOW)


@FUZZ
@given(body=json_values | st.fixed_dictionaries(
    {"w": json_values, "m": json_values, "a": st.sampled_from(["unsubscribe", "not_now", "x"]) | json_values,
     "n": json_values, "e": st.integers(min_value=-(10**30), max_value=10**30) | json_values}))  # fmt: skip
@example(body={"w": 1, "m": 1, "a": "unsubscribe", "n": None, "e": 10**30})
def test_correctly_signed_but_odd_claims_only_raise_token_errors(body: object) -> None:
    """Belt and braces: a token we would never mint (old version, bug), signed with the real key."""
    import base64
    import hashlib
    import hmac

    from bot.email import tokens

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    version = tokens._VERSION
    payload = b64(json.dumps(body).encode())
    signature = b64(hmac.new(tokens._key(SECRET), f"{version}.{payload}".encode(), hashlib.sha256).digest())
    with contextlib.suppress(tokens.TokenError):
        tokens.verify(SECRET, f"{version}.{payload}.{signature}", now=NOW)
