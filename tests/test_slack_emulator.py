"""The Slack emulator answers slack_sdk's real WebClient like Slack does (shapes, errors, faults)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.support import signing
from tests.support.emulator_client import start_standalone, stop_standalone
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
HOME = {"type": "home", "blocks": SECTION}
MODAL = {
    "type": "modal",
    "callback_id": "pass_it_on",
    "title": {"type": "plain_text", "text": "Pass it on"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "v"},
        }
    ],
}


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(trigger_ttl=1.0) as e:
        small(e)
        yield e


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.url, timeout=5)


def error_of(fn: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(SlackApiError) as info:
        fn(**kwargs)
    return info.value.response.status_code, dict(info.value.response.data)


# -- auth and dispatch ------------------------------------------------------------------------


def test_auth_test_answers_with_the_bot_identity(emu: SlackEmulator, client: WebClient) -> None:
    r = client.auth_test()
    assert r["team_id"] == emu.team.id and r["user_id"] == emu.bot_user.id
    assert r["bot_id"] == emu.bot_user.bot_id and r["url"] == "https://passiton-test.slack.com/"


def test_unknown_method_is_200_unknown_method(client: WebClient) -> None:
    status, body = error_of(client.api_call, api_method="chat.postMassage")
    assert (status, body["error"]) == (200, "unknown_method")


def test_tokens_missing_invalid_revoked(emu: SlackEmulator) -> None:
    assert error_of(WebClient(base_url=emu.url).auth_test)[1]["error"] == "not_authed"
    assert error_of(WebClient(token="xoxb-nope", base_url=emu.url).auth_test)[1]["error"] == "invalid_auth"
    emu.revoke_token(emu.bot_token)
    token = next(iter(emu.workspace.tokens))
    assert error_of(WebClient(token=token, base_url=emu.url).auth_test)[1]["error"] == "token_revoked"


def test_token_as_form_param_and_json_body_without_header(emu: SlackEmulator) -> None:
    r = httpx.post(emu.url + "auth.test", data={"token": emu.bot_token})
    assert r.json()["ok"] is True
    # Slack does not read a token from a JSON body: it must come in the Authorization header.
    r = httpx.post(emu.url + "auth.test", json={"token": emu.bot_token})
    assert r.json() == {"ok": False, "error": "not_authed"}
    r = httpx.post(emu.url + "auth.test", content=b"{", headers={"Content-Type": "application/json"})
    assert r.json()["error"] == "invalid_json"


# -- chat -------------------------------------------------------------------------------------


def test_post_message_shape_and_recording(emu: SlackEmulator, client: WebClient) -> None:
    eng = emu.channel("eng")
    r = client.chat_postMessage(channel=eng.id, text="hello", blocks=SECTION)
    assert r["channel"] == eng.id and r["message"]["ts"] == r["ts"]
    assert r["message"]["bot_id"] == emu.bot_user.bot_id and r["message"]["blocks"] == SECTION
    assert [m["text"] for m in emu.messages("eng")] == ["hello"]
    call = emu.calls("chat.postMessage")[0]
    assert call.args["channel"] == eng.id and call.token == emu.bot_token and call.team_id == emu.team.id


def test_post_message_strict_errors(emu: SlackEmulator, client: WebClient) -> None:
    post = client.chat_postMessage
    assert error_of(post, channel="", text="x")[1]["error"] == "channel_not_found"
    assert error_of(post, channel="C404", text="x")[1]["error"] == "channel_not_found"
    no_text = error_of(
        client.api_call, api_method="chat.postMessage", json={"channel": emu.channel("eng").id}
    )
    assert no_text[1]["error"] == "no_text"
    assert error_of(post, channel="random", text="x")[1]["error"] == "not_in_channel"
    bad = [{"type": "section", "text": {"type": "plain_text"}}]
    _, body = error_of(post, channel="eng", text="x", blocks=bad)
    assert (
        body["error"] == "invalid_blocks"
        and "/blocks/0/text/text" in body["response_metadata"]["messages"][0]
    )
    button = [{"type": "actions", "elements": [{"type": "button", "text": {"type": "mrkdwn", "text": "x"}}]}]
    assert error_of(post, channel="eng", text="x", blocks=button)[1]["error"] == "invalid_blocks"
    assert error_of(post, channel="eng", text="x" * 40_001)[1]["error"] == "msg_too_long"
    assert emu.messages("eng") == [] and emu.messages("random") == []


def test_private_channel_is_invisible_to_non_member_bot(emu: SlackEmulator, client: WebClient) -> None:
    secret = emu.add_channel("secret", private=True, members=["alice"], bot_member=False)
    assert error_of(client.conversations_info, channel=secret.id)[1]["error"] == "channel_not_found"
    assert error_of(client.chat_postMessage, channel=secret.id, text="x")[1]["error"] == "channel_not_found"


def test_post_to_user_id_lands_in_the_dm(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.user("alice")
    r = client.chat_postMessage(channel=alice.id, text="a nudge")
    assert r["channel"].startswith("D")
    assert [m["text"] for m in emu.dms_to("alice")] == ["a nudge"]


def test_threads_update_delete_permalink_reactions(emu: SlackEmulator, client: WebClient) -> None:
    parent = emu.post_as_user("help", "dana", "how do I tune autovacuum?")
    reply = client.chat_postMessage(channel="help", text="see the docs", thread_ts=parent["ts"])
    replies = client.conversations_replies(channel=emu.channel("help").id, ts=parent["ts"])["messages"]
    assert [m["text"] for m in replies] == ["how do I tune autovacuum?", "see the docs"]
    assert replies[0]["reply_count"] == 1 and replies[1]["parent_user_id"] == emu.user("dana").id
    history = client.conversations_history(channel=emu.channel("help").id)["messages"]
    assert [m["text"] for m in history] == ["how do I tune autovacuum?"]  # replies are not in history

    upd = client.chat_update(channel=reply["channel"], ts=reply["ts"], text="edited")
    assert upd["text"] == "edited" and emu.messages("help")[1]["edited"]["user"] == emu.bot_user.id
    assert error_of(client.chat_update, channel=reply["channel"], ts=parent["ts"], text="x")[1]["error"] == (
        "cant_update_message"
    )
    link = client.chat_getPermalink(channel=reply["channel"], message_ts=reply["ts"])["permalink"]
    assert link.startswith(f"https://passiton-test.slack.com/archives/{reply['channel']}/p")
    client.reactions_add(channel=reply["channel"], timestamp=parent["ts"], name="eyes")
    assert error_of(client.reactions_add, channel=reply["channel"], timestamp=parent["ts"], name="eyes")[1][
        "error"
    ] == ("already_reacted")
    client.chat_delete(channel=reply["channel"], ts=reply["ts"])
    assert (
        error_of(client.chat_delete, channel=reply["channel"], ts=reply["ts"])[1]["error"]
        == "message_not_found"
    )
    assert len(emu.messages("help")) == 1


def test_post_ephemeral(emu: SlackEmulator, client: WebClient) -> None:
    ch = emu.channel("help")
    r = client.chat_postEphemeral(channel=ch.id, user=emu.user("bob").id, text="only you")
    assert r["message_ts"]
    assert emu.ephemerals(user="bob")[0]["text"] == "only you" and emu.messages("help") == []
    gus = emu.user("gus").id
    assert error_of(client.chat_postEphemeral, channel=ch.id, user=gus, text="x")[1]["error"] == (
        "user_not_in_channel"
    )


# -- conversations and users ------------------------------------------------------------------------


def test_history_pagination_range_and_metadata(emu: SlackEmulator, client: WebClient) -> None:
    ch = emu.channel("eng").id
    tss = [client.chat_postMessage(channel=ch, text=f"m{i}")["ts"] for i in range(5)]
    client.chat_postMessage(
        channel=ch, text="tagged", metadata={"event_type": "nudge_sent", "event_payload": {"nudge_id": 7}}
    )
    page1 = client.conversations_history(channel=ch, limit=4)
    assert [m["text"] for m in page1["messages"]] == ["tagged", "m4", "m3", "m2"] and page1["has_more"]
    assert "metadata" not in page1["messages"][0]
    page2 = client.conversations_history(
        channel=ch, limit=4, cursor=page1["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in page2["messages"]] == ["m1", "m0"] and not page2["has_more"]
    ranged = client.conversations_history(channel=ch, oldest=tss[1], latest=tss[3])["messages"]
    assert [m["text"] for m in ranged] == ["m2"]
    meta = client.conversations_history(channel=ch, limit=1, include_all_metadata=True)["messages"][0]
    assert meta["metadata"] == {"event_type": "nudge_sent", "event_payload": {"nudge_id": 7}}
    assert (
        error_of(client.conversations_history, channel=ch, cursor="garbage")[1]["error"] == "invalid_cursor"
    )
    assert error_of(client.conversations_history, channel="random")[1]["error"] == "not_in_channel"


def test_history_cursor_is_a_timestamp_so_new_messages_shift_no_page(
    emu: SlackEmulator, client: WebClient
) -> None:
    """Slack's history cursor names the next page's first message (`next_ts`), not an offset: a message
    posted while a reader pages backwards neither repeats nor hides one."""
    ch = emu.channel("help").id
    for i in range(5):
        emu.post_as_user(ch, "alice", f"h{i}")
    page1 = client.conversations_history(channel=ch, limit=2)
    cursor = page1["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode().startswith("next_ts:")
    emu.post_as_user(ch, "bob", "posted meanwhile")
    page2 = client.conversations_history(channel=ch, limit=2, cursor=cursor)
    page3 = client.conversations_history(
        channel=ch, limit=2, cursor=page2["response_metadata"]["next_cursor"]
    )
    seen = [m["text"] for p in (page1, page2, page3) for m in p["messages"]]
    assert seen == ["h4", "h3", "h2", "h1", "h0"] and not page3["has_more"]
    assert "response_metadata" not in page3
    # The range arguments still bound every page; bounds are excluded unless `inclusive`.
    tss = [m["ts"] for m in reversed(page1["messages"] + page2["messages"] + page3["messages"])]
    ranged = client.conversations_history(channel=ch, oldest=tss[0], latest=tss[3], limit=1)
    nxt = client.conversations_history(
        channel=ch, oldest=tss[0], latest=tss[3], limit=1, cursor=ranged["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in ranged["messages"] + nxt["messages"]] == ["h2", "h1"] and not nxt["has_more"]
    both = client.conversations_history(channel=ch, oldest=tss[0], latest=tss[1], inclusive=True)
    assert [m["text"] for m in both["messages"]] == ["h1", "h0"]
    other_kind = base64.b64encode(b"next_member:2").decode()
    assert (
        error_of(client.conversations_history, channel=ch, cursor=other_kind)[1]["error"] == "invalid_cursor"
    )


def test_replies_paginate_oldest_first_with_the_parent_on_the_first_page_only(
    emu: SlackEmulator, client: WebClient
) -> None:
    ch = emu.channel("help").id
    parent = emu.post_as_user(ch, "dana", "question?")
    for i in range(5):
        emu.post_as_user(ch, "alice", f"r{i}", thread_ts=parent["ts"])
    first = client.conversations_replies(channel=ch, ts=parent["ts"], limit=3)
    assert [m["text"] for m in first["messages"]] == ["question?", "r0", "r1"] and first["has_more"]
    rest = client.conversations_replies(
        channel=ch, ts=parent["ts"], limit=3, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["r2", "r3", "r4"] and not rest["has_more"]
    r2_ts = rest["messages"][0]["ts"]
    upto = client.conversations_replies(channel=ch, ts=parent["ts"], latest=r2_ts, inclusive=True)
    assert [m["text"] for m in upto["messages"]] == ["question?", "r0", "r1", "r2"]
    assert error_of(client.conversations_replies, channel=ch, ts="1.000001")[1]["error"] == "thread_not_found"


def test_users_conversations_lists_the_callers_channels(emu: SlackEmulator, client: WebClient) -> None:
    public = client.users_conversations()["channels"]
    assert {c["name"] for c in public} == {"general", "eng", "help"}  # not #random: the bot is not in it
    both = client.users_conversations(types="public_channel,private_channel", limit=2)
    names = [c["name"] for c in both["channels"]]
    more = client.users_conversations(
        types="public_channel,private_channel", limit=2, cursor=both["response_metadata"]["next_cursor"]
    )
    names += [c["name"] for c in more["channels"]]
    assert sorted(names) == ["eng", "general", "help", "leads"] and all(
        c["is_member"] for c in more["channels"]
    )
    assert error_of(client.users_conversations, types="channels")[1]["error"] == "invalid_types"


def test_open_dm_mpim_and_refusals(emu: SlackEmulator, client: WebClient) -> None:
    alice, bob = emu.user("alice").id, emu.user("bob").id
    first = client.conversations_open(users=alice)
    again = client.conversations_open(users=alice)
    assert first["channel"]["id"] == again["channel"]["id"] and again["already_open"] is True
    group = client.conversations_open(users=f"{alice},{bob}")["channel"]["id"]
    assert emu.conversation_between("alice", "bob") is not None
    assert emu.conversation_between("alice", "bob").id == group  # type: ignore[union-attr]
    assert error_of(client.conversations_open, users=emu.user("olga").id)[1]["error"] == "user_disabled"
    assert error_of(client.conversations_open, users="U404")[1]["error"] == "user_not_found"
    assert error_of(client.api_call, api_method="conversations.open")[1]["error"] == "users_list_not_supplied"
    info = client.conversations_info(channel=first["channel"]["id"])["channel"]
    assert info["is_im"] is True and info["user"] == alice


def test_members_users_list_pagination_and_lookup(emu: SlackEmulator, client: WebClient) -> None:
    members = client.conversations_members(channel=emu.channel("general").id, limit=2)
    assert len(members["members"]) == 2 and members["response_metadata"]["next_cursor"]
    seen: list[str] = []
    for page in client.users_list(limit=3):
        seen += [m["id"] for m in page["members"]]
    assert len(seen) == len(set(seen)) == len(emu.team.users)
    alice = client.users_lookupByEmail(email="alice@example.com")["user"]
    assert alice["name"] == "alice" and alice["tz"] == "America/Los_Angeles" and "tz_offset" in alice
    assert error_of(client.users_lookupByEmail, email="no@x.y")[1]["error"] == "users_not_found"
    assert error_of(client.users_info, user="U404")[1]["error"] == "user_not_found"
    gus = client.users_info(user=emu.user("gus").id)["user"]
    assert gus["is_restricted"] is True and gus["profile"]["email"] == "gus@example.com"
    assert client.team_info()["team"]["domain"] == "passiton-test"
    assert client.bots_info(bot=emu.bot_user.bot_id)["bot"]["user_id"] == emu.bot_user.id


# -- views ------------------------------------------------------------------------------------


def test_views_publish_and_errors(emu: SlackEmulator, client: WebClient) -> None:
    alice = emu.user("alice").id
    r = client.views_publish(user_id=alice, view=HOME)
    client.views_publish(user_id=alice, view={**HOME, "private_metadata": "v2"})
    views = emu.published_views("alice")
    assert len(views) == 2 and views[-1]["private_metadata"] == "v2" and views[0]["id"] == r["view"]["id"]
    body = error_of(client.views_publish, user_id="", view=HOME)[1]
    assert body["error"] == "invalid_arguments" and "user_id" in body["response_metadata"]["messages"][0]
    assert error_of(client.views_publish, user_id=alice, view=MODAL)[1]["error"] == "invalid_arguments"


def test_views_open_trigger_ids_are_single_use_and_expire(emu: SlackEmulator, client: WebClient) -> None:
    trig = emu.issue_trigger_id("alice")
    view = client.views_open(trigger_id=trig, view=MODAL)["view"]
    assert emu.opened_views("alice")[0]["callback_id"] == "pass_it_on" and view["root_view_id"] == view["id"]
    assert error_of(client.views_open, trigger_id=trig, view=MODAL)[1]["error"] == "exchanged_trigger_id"
    assert error_of(client.views_open, trigger_id="1.2.bad", view=MODAL)[1]["error"] == "invalid_trigger_id"
    pushed = client.views_push(trigger_id=emu.issue_trigger_id("alice"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"]
    updated = client.views_update(view_id=view["id"], view={**MODAL, "private_metadata": "u"})["view"]
    assert updated["private_metadata"] == "u"
    emu.workspace.trigger_ttl = 0.05
    late = emu.issue_trigger_id("alice")
    time.sleep(0.1)
    assert error_of(client.views_open, trigger_id=late, view=MODAL)[1]["error"] == "expired_trigger_id"
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    trig = emu.issue_trigger_id("alice")
    assert error_of(client.views_open, trigger_id=trig, view=no_submit)[1]["error"] == "invalid_arguments"


# -- faults -----------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_by_slack_sdk(emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", "ratelimited", retry_after=1, times=1)
    bare = WebClient(token=emu.bot_token, base_url=emu.url)
    status, body = error_of(bare.chat_postMessage, channel="eng", text="x")
    assert (status, body["error"]) == (429, "ratelimited") and emu.messages("eng") == []  # nothing posted
    assert emu.calls("chat.postMessage")[0].status == 429

    emu.fail_next("chat.postMessage", "ratelimited", retry_after=1, times=1)
    client = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[RateLimitErrorRetryHandler(1)])
    started = time.monotonic()
    assert client.chat_postMessage(channel="eng", text="after retry")["ok"]
    assert time.monotonic() - started >= 0.9  # it honoured Retry-After
    assert [m["text"] for m in emu.messages("eng")] == ["after retry"]
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 429, 200]


def test_server_errors_and_arbitrary_error_codes(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_next("chat.postMessage", "service_unavailable", status=503, times=2)
    assert error_of(client.chat_postMessage, channel="eng", text="x")[0] == 503
    retrying = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[ServerErrorRetryHandler(1)])
    assert retrying.chat_postMessage(channel="eng", text="ok")["ok"]
    emu.fail_next("users.info", "account_inactive", match={"user": emu.user("bob").id})
    assert client.users_info(user=emu.user("alice").id)["ok"]
    assert error_of(client.users_info, user=emu.user("bob").id)[1]["error"] == "account_inactive"
    emu.fail_next("*", "fatal_error", times=-1)
    assert error_of(client.auth_test)[1]["error"] == "fatal_error"
    emu.clear_faults()
    assert client.auth_test()["ok"]


def test_delay_makes_the_client_time_out_but_slack_committed(emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", None, delay=0.6)
    client = WebClient(token=emu.bot_token, base_url=emu.url, timeout=0.2)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        client.chat_postMessage(channel="eng", text="slow")
    emu.wait_for_calls("chat.postMessage", timeout=3)
    assert [m["text"] for m in emu.messages("eng")] == ["slow"]


def test_drop_response_after_commit(emu: SlackEmulator) -> None:
    emu.drop_response_after_commit("chat.postMessage")
    client = WebClient(token=emu.bot_token, base_url=emu.url, retry_handlers=[])
    with pytest.raises(Exception) as info:
        client.chat_postMessage(channel="eng", text="once")
    assert not isinstance(info.value, SlackApiError)  # no answer at all, only a broken connection
    assert [m["text"] for m in emu.messages("eng")] == ["once"]  # ...but Slack accepted it
    assert emu.calls("chat.postMessage")[0].fault == "dropped_after_commit"
    assert client.chat_postMessage(channel="eng", text="next")["ok"]


def test_default_slack_sdk_retry_after_a_dropped_answer_posts_twice(emu: SlackEmulator) -> None:
    # The hazard exactly-once delivery must handle: WebClient's default connection-error retry
    # re-sends a post Slack already accepted.
    emu.drop_response_after_commit("chat.postMessage")
    WebClient(token=emu.bot_token, base_url=emu.url).chat_postMessage(channel="eng", text="dup")
    assert [m["text"] for m in emu.messages("eng")] == ["dup", "dup"]


def test_rate_limit_mode_per_channel(emu: SlackEmulator, client: WebClient) -> None:
    emu.enable_rate_limits(per_channel_per_second=1.0, burst=1)
    assert client.chat_postMessage(channel="eng", text="1")["ok"]
    status, body = error_of(client.chat_postMessage, channel="eng", text="2")
    assert (status, body["error"]) == (429, "ratelimited")
    assert client.chat_postMessage(channel="help", text="other channel")["ok"]
    assert emu.calls("chat.postMessage")[1].fault == "rate_limited"


# -- response_url, OAuth, concurrency --------------------------------------------------------------------


def test_response_url_records_and_in_channel_posts(emu: SlackEmulator) -> None:
    url = emu.issue_response_url("help", "alice")
    assert httpx.post(url, json={"text": "just you"}).text == "ok"
    assert httpx.post(url, json={"text": "everyone", "response_type": "in_channel"}).status_code == 200
    assert [r["text"] for r in emu.responses()] == ["just you", "everyone"]
    assert [m["text"] for m in emu.messages("help")] == ["everyone"]
    assert httpx.post(url, json={}).status_code == 400


def test_oauth_v2_access_issues_a_working_bot_token(emu: SlackEmulator) -> None:
    other = emu.add_team(id="T0OTHER01", name="Other", domain="other", install=False)
    installer = emu.add_user("owner", team_id=other.id)
    code = emu.issue_oauth_code(other.id, installer.id, redirect_uri="http://localhost/slack/oauth_redirect")
    anon = WebClient(base_url=emu.url)
    cid, secret = emu.oauth_client
    assert error_of(anon.oauth_v2_access, client_id=cid, client_secret="bad", code=code)[1]["error"] == (
        "bad_client_secret"
    )
    r = anon.oauth_v2_access(
        client_id=cid, client_secret=secret, code=code, redirect_uri="http://localhost/slack/oauth_redirect"
    )
    assert r["team"]["id"] == other.id and r["authed_user"]["id"] == installer.id and r["token_type"] == "bot"
    assert WebClient(token=r["access_token"], base_url=emu.url).auth_test()["team_id"] == other.id
    again = error_of(anon.oauth_v2_access, client_id=cid, client_secret=secret, code=code)
    assert again[1]["error"] == "invalid_code"


def test_concurrent_posts_get_unique_increasing_ts(emu: SlackEmulator) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.url)
    results: list[str] = []

    def post(i: int) -> None:
        results.append(client.chat_postMessage(channel="eng", text=str(i))["ts"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 20 and len(emu.messages("eng")) == 20
    tss = [m["ts"] for m in emu.messages("eng")]
    assert tss == sorted(tss, key=float)


def test_two_teams_do_not_see_each_other(emu: SlackEmulator, client: WebClient) -> None:
    other = emu.add_team(id="T0OTHER02", domain="other2")
    zed = emu.add_user("zed", team_id=other.id)
    assert error_of(client.users_info, user=zed.id)[1]["error"] == "user_not_found"
    theirs = emu.add_channel("eng", team_id=other.id)
    assert error_of(client.conversations_info, channel=theirs.id)[1]["error"] == "channel_not_found"


# -- signing helpers ----------------------------------------------------------------------------


def test_signed_requests_verify_with_slack_sdk() -> None:
    secret = "s3cret"
    ev = signing.message_event("C1", "U1", "hello <https://example.com|x>")
    body = json.dumps(signing.envelope(ev, team_id="T1", bot_user_id="U9"))
    headers = signing.signed_headers(body, secret, retry_num=1)
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(body, headers)
    assert headers["X-Slack-Retry-Num"] == "1" and headers["Content-Type"] == "application/json"
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = signing.signed_headers(body, secret, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)
    form = signing.slash_command_body("interests add k8s", user_id="U1", team_id="T1", channel_id="C1")
    assert verifier.is_valid_request(form, signing.signed_headers(form, secret))
    assert signing.guess_content_type(form) == "application/x-www-form-urlencoded"
    payload = signing.block_actions_payload(
        [{"action_id": "a", "block_id": "b", "type": "button", "value": "v"}], user_id="U1", team_id="T1"
    )
    assert json.loads(httpx.QueryParams(signing.payload_body(payload))["payload"])["type"] == "block_actions"


def test_signature_matches_slacks_published_example() -> None:
    # Slack's documented example: secret, timestamp, body and expected signature.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    sig = signing.signature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body)
    assert sig == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_post_signed_delivers_exact_bytes() -> None:
    seen: dict[str, Any] = {}

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            seen["headers"] = dict(self.headers)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        body = json.dumps(
            signing.envelope(signing.app_mention_event("C1", "U1", "hi"), team_id="T", bot_user_id="B")
        )
        r = signing.post_signed(
            f"http://127.0.0.1:{srv.server_address[1]}/slack/events", body, "k", retry_num=2
        )
        assert r.status_code == 200 and seen["body"] == body.encode()
        assert SignatureVerifier("k").is_valid_request(seen["body"], seen["headers"])
        assert seen["headers"]["X-Slack-Retry-Num"] == "2"
    finally:
        srv.shutdown()
        srv.server_close()


# -- cross-process -----------------------------------------------------------------------------


def test_standalone_process_with_admin_api(tmp_path: Any) -> None:
    desc = {
        "teams": [
            {
                "id": "T0FILE001",
                "bot_token": "xoxb-file-token",
                "users": [{"name": "ann", "tz": "Europe/Berlin", "tz_offset": 3600}],
                "channels": [{"name": "eng", "members": ["ann"]}],
            }
        ]
    }
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(desc))
    proc, admin, info = start_standalone(workspace_file=str(path))
    try:
        assert info["teams"][0]["bot_token"] == "xoxb-file-token"
        client = WebClient(token="xoxb-file-token", base_url=admin.api_url)
        admin.fail_next("chat.postMessage", "ratelimited")
        assert error_of(client.chat_postMessage, channel="eng", text="x")[0] == 429
        client.chat_postMessage(channel="eng", text="delivered")
        assert admin.count("chat.postMessage", ok=True) == 1 and admin.count("chat.postMessage") == 2
        bob = admin.add_user("bob")
        assert client.users_info(user=bob["id"])["user"]["name"] == "bob"
        assert [m["text"] for m in admin.messages("eng")] == ["delivered"]
    finally:
        stop_standalone(proc, admin)


def test_fixtures_start_in_milliseconds(slack_workspace: SlackEmulator) -> None:
    started = time.perf_counter()
    with SlackEmulator() as fresh:
        assert WebClient(token=fresh.bot_token, base_url=fresh.url).auth_test()["ok"]
    assert time.perf_counter() - started < 1.0
    assert {c.name for c in slack_workspace.team.channels.values()} >= {"general", "eng", "help", "leads"}


def test_user_message_event_agrees_with_history(emu: SlackEmulator, client: WebClient) -> None:
    env = emu.user_message_event("eng", "alice", "read this https://example.com/vacuum")
    assert env["type"] == "event_callback" and env["team_id"] == emu.team.id
    assert env["authorizations"][0]["user_id"] == emu.bot_user.id and env["api_app_id"] == emu.app_id
    ev = env["event"]
    history = client.conversations_history(channel=ev["channel"])["messages"]
    assert history[0]["ts"] == ev["ts"] and history[0]["user"] == ev["user"] == emu.user("alice").id
    reply = emu.user_message_event("eng", "bob", "thanks", thread_ts=ev["ts"])["event"]
    assert reply["thread_ts"] == ev["ts"] and reply["parent_user_id"] == emu.user("alice").id


def test_form_encoded_blocks_and_metadata_strings(emu: SlackEmulator) -> None:
    form = {
        "channel": emu.channel("eng").id,
        "text": "x",
        "blocks": json.dumps(SECTION),
        "metadata": json.dumps({"event_type": "t", "event_payload": {"k": 1}}),
    }
    headers = {"Authorization": f"Bearer {emu.bot_token}"}
    assert httpx.post(emu.url + "chat.postMessage", data=form, headers=headers).json()["ok"]
    assert emu.messages("eng")[0]["blocks"] == SECTION and emu.messages("eng")[0]["metadata"]["event_payload"]
    bad = httpx.post(emu.url + "chat.postMessage", data={**form, "blocks": "[{"}, headers=headers).json()
    assert bad["error"] == "invalid_blocks_format"
