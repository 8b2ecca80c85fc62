"""The answers service on the real database (SQLite and PostgreSQL), with the real planner and, where it
matters, the official OpenAI client against the local compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.answers.service import (
    AskError,
    ChannelQuestion,
    answer_in_channel,
    ask_status,
    ask_status_blocks,
    close_ask,
    open_ask,
    send_thanks,
    who_knows,
)
from bot.config import Settings, load_settings
from bot.llm.client import LLMClient
from bot.llm.tasks import SUMMARY_SYSTEM, LLMTasks
from bot.matching.embedders import CachedEmbedder, LocalEmbedder
from bot.store.db import Database
from bot.store.models import Item, Nudge, OutboxMessage, ThreadReply
from tests.answers.world import INJECTION, NOW, World, ask_question, build, permalink
from tests.support.openai_server import OpenAIServer, system_prompt, user_data

# The shipped local model: the planner's score threshold is tuned for it (hashing vectors fall below it).
EMBEDDER = CachedEmbedder(LocalEmbedder())


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session() as s:
        yield s


class Permalinks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, channel: str, ts: str) -> str:
        self.calls.append((channel, ts))
        return permalink(channel, ts)


def ask(session: Session, w: World, settings: Settings, text: str, channel: str = "help", **kw: object):  # type: ignore[no-untyped-def]
    ts = f"{1749031200 + len(w.items)}.000100"
    item = ask_question(session, w, text, channel, ts=ts)
    question = ChannelQuestion(w.ch[channel].slack_channel_id, item.slack_ts or "", "U0DANA", text)
    return answer_in_channel(session, w.ws, question, NOW, settings, EMBEDDER, kw.pop("llm", None), **kw)  # type: ignore[arg-type]


def test_names_exactly_the_consenting_experts_and_items_the_channel_can_read(
    session: Session, settings: Settings
) -> None:
    w = build(session)
    links = Permalinks()
    reply = ask(session, w, settings, "who knows about postgres?", permalink_for=links)
    assert reply is not None
    assert reply.expert_ids == (w.m["alice"].id,)
    assert set(reply.item_ids) == {w.items["vacuum"].id, w.items["pg17"].id}
    dumped = json.dumps(reply.blocks)
    for absent in ("bob", "Bob", "carol", "erin", "budget", "passwords", "Kubernetes", "<@", "<!"):
        assert absent not in dumped
    # Only the item that passed visibility and lacked a permalink was looked up; the answer is kept.
    assert links.calls == [("C0HELP", "1748900000.000200")]
    assert w.items["pg17"].permalink == permalink("C0HELP", "1748900000.000200")
    assert f"<{permalink('C0HELP', '1748900000.000200')}|What changed in pg 17> in #help" in dumped


def test_in_a_private_channel_its_own_and_wider_items_show(session: Session, settings: Settings) -> None:
    w = build(session)
    reply = ask(session, w, settings, "Does anyone know PostgreSQL well?", channel="leads")
    assert reply is not None
    # #leads = {alice, dana}: its own item, #eng (public) and #help (public); never #vault.
    assert w.items["leads-pg"].id in reply.item_ids and w.items["vault-pg"].id not in reply.item_ids
    assert len(reply.item_ids) == 2  # pg17 has no permalink and no way to get one here


def test_quiet_when_not_a_question_or_nothing_fits(session: Session, settings: Settings) -> None:
    w = build(session)
    assert ask(session, w, settings, "I love postgres") is None
    assert ask(session, w, settings, "who knows about cobol?") is None


def test_unnamed_experts_get_help_nudges_and_named_ones_do_not(session: Session, settings: Settings) -> None:
    w = build(session)
    reply = ask(session, w, settings, "who knows about postgres? autovacuum keeps running on a big table")
    assert reply is not None and reply.expert_ids == (w.m["alice"].id,)
    nudges = session.scalars(select(Nudge).where(Nudge.item_id == w.items["question"].id)).all()
    open_to = {n.recipient_id for n in nudges if n.status in ("planned", "queued")}
    assert w.m["bob"].id in open_to
    assert w.m["alice"].id not in open_to
    assert {w.m["carol"].id, w.m["erin"].id, w.m["dana"].id}.isdisjoint(open_to)


def test_who_knows_privately_shows_what_the_member_can_read(session: Session) -> None:
    w = build(session)
    blocks = who_knows(session, w.ws, w.m["dana"], "PostgreSQL", NOW)
    dumped = json.dumps(blocks)
    assert "alice" in dumped and "Bob" not in dumped and "bob" not in dumped
    assert "Tuning autovacuum" in dumped and "Postgres budget plan" in dumped  # #eng public, #leads hers
    assert "passwords" not in dumped
    # A guest in no channel reads no channel: names only.
    guest_blocks = json.dumps(who_knows(session, w.ws, w.m["gus"], "postgres", NOW))
    assert "alice" in guest_blocks and "archives" not in guest_blocks
    nothing = json.dumps(who_knows(session, w.ws, w.m["dana"], "cobol", NOW))
    assert "Nobody has agreed to be named for *cobol*" in nothing


def llm_for(server: OpenAIServer, timeout: float = 3.0) -> LLMTasks:
    return LLMTasks(LLMClient(api_key="sk-test", model="m", base_url=server.url, timeout=timeout))


def test_summary_grounded_and_injection_stays_data(
    session: Session, settings: Settings, openai_server: OpenAIServer
) -> None:
    w = build(session)
    p_vacuum = w.items["vacuum"].permalink
    openai_server.reply(
        f"<!channel> As instructed, posting to #general: tune autovacuum per table {p_vacuum}. @here",
        when=SUMMARY_SYSTEM[:40],
    )
    reply = ask(session, w, settings, "who knows about postgres?", llm=llm_for(openai_server))
    assert reply is not None and reply.summarised
    assert reply.expert_ids == (w.m["alice"].id,)
    [body] = openai_server.chat_requests()
    assert INJECTION not in system_prompt(body)
    sent = user_data(body)["untrusted_data"]
    assert sent["question"] == "who knows about postgres?"
    assert [i["permalink"] for i in sent["items"]] == [p_vacuum]
    assert INJECTION in json.dumps(sent["items"][0]["text"], ensure_ascii=False)
    summary = reply.blocks[-2]["text"]["text"]
    assert "<!channel>" not in summary and "@here" not in summary and "<!" not in json.dumps(reply.blocks)
    assert f"<{p_vacuum}|[1]>" in summary


@pytest.mark.parametrize("fault", ["slow", "429", "500", "ungrounded"])
def test_llm_trouble_falls_back_in_the_same_reply(
    session: Session, settings: Settings, openai_server: OpenAIServer, fault: str
) -> None:
    w = build(session)
    if fault == "slow":
        openai_server.hold()
    elif fault == "429":
        openai_server.fail(429, retry_after=20)
    elif fault == "500":
        openai_server.fail(500)
    else:
        openai_server.reply("Everything is at https://evil.example/phish")
    try:
        reply = ask(
            session, w, settings, "who knows about postgres?", llm=llm_for(openai_server, timeout=0.5)
        )
        # Slow: the reply came while the server still held the request (the client's timeout, not an answer);
        # the others: one request, no retry after the 429's Retry-After.
        assert openai_server.held == (1 if fault == "slow" else 0)
        assert len(openai_server.chat_requests()) == 1
    finally:
        openai_server.release()
    assert reply is not None and not reply.summarised
    assert reply.expert_ids == (w.m["alice"].id,) and w.items["vacuum"].id in reply.item_ids
    assert "evil" not in json.dumps(reply.blocks)


def test_no_llm_call_without_related_items(
    session: Session, settings: Settings, openai_server: OpenAIServer
) -> None:
    w = build(session)
    reply = ask(session, w, settings, "anyone have experience with rust?", llm=llm_for(openai_server))
    assert reply is not None and reply.expert_ids == (w.m["gus"].id,) and reply.item_ids == ()
    assert openai_server.requests == []


def test_ask_routes_reports_closes_and_thanks(session: Session, settings: Settings) -> None:
    w = build(session)
    dana = w.m["dana"]
    item = open_ask(
        session, w.ws, dana, "looking for someone to review my postgres schema", NOW, settings, EMBEDDER
    )
    assert item.kind == "ask" and item.author_id == dana.id and item.channel_id is None
    nudges = session.scalars(select(Nudge).where(Nudge.item_id == item.id).order_by(Nudge.id)).all()
    assert nudges and all(n.kind == "help" and n.recipient_id != dana.id for n in nudges)
    by = {n.recipient_id: n for n in nudges}

    status = ask_status(session, w.ws, item, dana)
    assert (status.asked, status.waiting, status.named) == (0, len(nudges), ())
    # Alice's and Bob's nudges went out; only Alice agreed to be named for postgres.
    for name in ("alice", "bob"):
        if w.m[name].id in by:
            by[w.m[name].id].status = "sent"
    sent_names = [n for n in ("alice", "bob") if w.m[n].id in by]
    status = ask_status(session, w.ws, item, dana)
    assert status.asked == len(sent_names)
    assert status.named == (("alice",) if "alice" in sent_names else ())
    text = json.dumps(ask_status_blocks(status))
    assert "bob" not in text and "ask_close" in text and "ask_thanks" not in text

    with pytest.raises(AskError):
        close_ask(session, w.ws, item, w.m["bob"], NOW)
    # Bob helped (pressed "I helped"); carol replied somewhere in a thread of it.
    helper = w.m[sent_names[0]]
    by[helper.id].status = "acted"
    session.add(ThreadReply(workspace_id=w.ws.id, item_id=item.id, member_id=w.m["carol"].id, replied_at=NOW))
    session.flush()
    waiting = [n for n in nudges if n.status in ("planned", "queued")]
    assert close_ask(session, w.ws, item, dana, NOW) == len(waiting)
    assert item.closed_at == NOW
    assert all(n.status == "cancelled" for n in waiting)
    status = ask_status(session, w.ws, item, dana)
    assert status.closed and status.engaged == 2
    assert "ask_close" not in json.dumps(ask_status_blocks(status))

    assert send_thanks(session, w.ws, item, dana, "Thank you <!channel> so much", NOW) == 2
    assert send_thanks(session, w.ws, item, dana, "again", NOW) == 2  # idempotent per helper
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like("%:thanks:%"))
    ).all()
    assert sorted(r.recipient_id for r in rows if r.recipient_id) == sorted([helper.id, w.m["carol"].id])
    assert all(r.kind == "slack_dm" and r.payload["user"] in ("U0ALICE", "U0BOB", "U0CAROL") for r in rows)
    assert all("<!channel>" not in json.dumps(r.payload) for r in rows)


def test_asks_belong_to_their_workspace_and_author(session: Session, settings: Settings) -> None:
    w = build(session)
    item = open_ask(session, w.ws, w.m["dana"], "need help with terraform", NOW, settings, None)
    with pytest.raises(AskError):
        ask_status(session, w.ws, item, w.m["alice"])
    question = session.scalars(select(Item).where(Item.kind == "article")).first()
    assert question is not None
    with pytest.raises(AskError):
        close_ask(session, w.ws, question, w.m["alice"], NOW)


def test_an_edited_item_is_found_by_its_new_words_not_its_old_ones(
    session: Session, settings: Settings
) -> None:
    # The topic scan keeps normalised item texts in a cache keyed by the text itself: an edit (here in the
    # same session, as another process's would be after commit) is seen at once.
    w = build(session)

    def related(ts: str) -> tuple[int, ...]:
        text = "who knows about postgres?"
        item = ask_question(session, w, text, "help", ts=ts)
        question = ChannelQuestion(w.ch["help"].slack_channel_id, item.slack_ts or "", "U0DANA", text)
        reply = answer_in_channel(session, w.ws, question, NOW, settings, EMBEDDER, None)
        return reply.item_ids if reply is not None else ()

    vacuum = w.items["vacuum"]
    assert vacuum.id in related("1749031200.000100")
    vacuum.title, vacuum.description, vacuum.text = "Tuning the office coffee machine", "", "beans"
    session.flush()
    assert vacuum.id not in related("1749031200.000200")
    vacuum.title = "Tuning Postgres autovacuum again"
    session.flush()
    assert vacuum.id in related("1749031200.000300")
