"""Slack side of expertise answers and asks: thin calls into `bot.answers.service`.

- `answer_message`: called by the message/app_mention listeners after ingest; replies in the thread
  (never the channel root) when the message is a who-knows question or a question to the bot. One reply per
  message even when Slack delivers it as both `message` and `app_mention`, or retries it.
- `who_knows_blocks` and `ask_command`: the `/passiton who knows` and `/passiton ask` answers.
- `thanks_modal`, `ask_id_of`, `load_own_ask`: what the ask buttons and the thank-you modal
  (bot/slack/listeners/actions/ask_buttons.py, views/ask_thanks.py) need.
- `offer_draft`: puts an LLM draft note into an open pass-it-on modal, when an LLM is configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.answers.compose import Block, Reply
from bot.answers.service import (
    AskError,
    ChannelQuestion,
    answer_in_channel,
    ask_status,
    ask_status_blocks,
    open_ask,
    own_ask,
    who_knows,
)
from bot.context import AppContext
from bot.delivery.outbox import enqueue
from bot.delivery.senders import SendResult
from bot.ingest.messages import action_for
from bot.llm.client import llm_from_settings
from bot.llm.tasks import ItemBrief, LLMTasks
from bot.messages.replies import remove_button
from bot.store.models import Item, Member, OutboxMessage, Workspace, utcnow
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import claim_event, ensure_workspace

log = logging.getLogger(__name__)

ASK_THANKS_MODAL = "ask_thanks_modal"
ANSWER_EVENT_TYPE = "passiton_answer"  # message metadata of an in-channel answer
ANSWER_TIMEOUT = 10  # seconds for the direct post; then the outbox sender takes over
# The outbox row waits this long for the direct post (which holds no lock on it) before a sender may take it.
ANSWER_GRACE = dt.timedelta(seconds=60)
AFTER_FAILURE = dt.timedelta(seconds=5)  # a post that timed out may still land: look for it a bit later
PROFILES_PER_ANSWER = 20  # users.info calls at most before one answer (Slack tier 4: ~100 a minute)
_llms: dict[int, tuple[AppContext, LLMTasks | None]] = {}
_llms_lock = threading.Lock()


def llm_tasks(ctx: AppContext) -> LLMTasks | None:
    """The LLM tasks for this process, or None when OPENAI_API_KEY is not set (then nothing calls a model)."""
    with _llms_lock:
        found = _llms.get(id(ctx))
        if found is None or found[0] is not ctx:
            client = llm_from_settings(ctx.settings)
            found = _llms[id(ctx)] = (ctx, LLMTasks(client) if client is not None else None)
    return found[1]


def permalink_lookup(client: WebClient) -> Callable[[str, str], str | None]:
    def lookup(channel: str, ts: str) -> str | None:
        response = client.chat_getPermalink(channel=channel, message_ts=ts)
        value = response.get("permalink")
        return str(value) if value else None

    return lookup


def _embedder(ctx: AppContext) -> Any | None:
    try:
        return ctx.embedder
    except RuntimeError:
        return None


# -- in-channel answers --------------------------------------------------------------------------------


def answer_message(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, event: dict[str, Any]
) -> Reply | None:
    """Reply in the thread if the message asks who knows about something. Never raises (logged)."""
    try:
        return _answer_message(ctx, client, team_id, bot_user_id, event)
    except Exception:
        log.exception("expertise answer failed", extra={"team_id": team_id})
        return None


def _answer_message(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, event: dict[str, Any]
) -> Reply | None:
    from bot.answers.detect import detect

    action, message = action_for(event, bot_user_id)
    if action != "new" or message is None or event.get("channel_type") == "im" or not message.user:
        return None
    if detect(message.text, bot_user_id) is None:  # cheap: most messages stop here, before the database
        return None
    _profile_audience(ctx, client, team_id, message.channel)
    question = ChannelQuestion(
        channel=message.channel,
        ts=message.ts,
        user=message.user,
        text=message.text,
        thread_ts=message.thread_ts,
    )
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id, bot_user_id=bot_user_id)
        # `message` and `app_mention` for one message, or a retry: one answer.
        if not workspace.active or not claim_event(
            session, f"answer:{message.channel}:{message.ts}", workspace.id
        ):
            return None
        reply = answer_in_channel(
            session, workspace, question, utcnow(), ctx.settings, _embedder(ctx), llm_tasks(ctx),
            permalink_for=permalink_lookup(client), indexes=ctx.member_indexes,
        )  # fmt: skip
        if reply is None:
            return None
        # The outbox row is written with the claim, before anything is posted: if this process dies or
        # the post's answer is lost, the sender finds the row and (looking for its key in the thread
        # first) makes sure the answer is there exactly once.
        key = answer_key(team_id, question)
        payload = answer_payload(question, reply, key)
        row = enqueue(
            session, workspace_id=workspace.id, key=key, kind="slack_post", payload=payload,
            not_before=utcnow() + ANSWER_GRACE,
        )  # fmt: skip
        row.result = {"state": {"maybe_delivered": True}}
        session.flush()
        outbox_id = row.id
    _post(ctx, client, team_id, outbox_id, payload)
    return reply


def answer_key(team_id: str, question: ChannelQuestion) -> str:
    return f"{team_id}:answer:{question.channel}:{question.ts}"


def answer_payload(question: ChannelQuestion, reply: Reply, key: str) -> dict[str, Any]:
    """The thread reply, with metadata naming the question it answers and its idempotency key (what the
    sender looks for in the thread before posting again)."""
    return {
        "channel": question.channel,
        "thread_ts": question.reply_thread,
        "text": reply.text,
        "blocks": [*reply.blocks, remove_button(question.user)] if question.user else reply.blocks,
        # Permalinks to messages unfurl as previews; the answer already says what they are.
        "unfurl_links": False,
        "unfurl_media": False,
        "metadata": {
            "event_type": ANSWER_EVENT_TYPE,
            "event_payload": {"channel": question.channel, "ts": question.ts, "idempotency_key": key},
        },
    }


def _profile_audience(ctx: AppContext, client: WebClient, team_id: str, channel_id: str) -> None:
    """Fetch the profiles (guest or not) of channel members known only by id, a few per answer; the rest
    count as possible guests until known."""
    from bot.ingest import slack_sync
    from bot.ingest.profiles import needs_profile
    from bot.store.models import Channel, ChannelMember

    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        unknown = [
            m.slack_user_id
            for m in session.scalars(
                select(Member)
                .join(ChannelMember, ChannelMember.member_id == Member.id)
                .join(Channel, Channel.id == ChannelMember.channel_id)
                .where(Channel.workspace_id == workspace.id, Channel.slack_channel_id == channel_id)
            )
            if m.slack_user_id and needs_profile(m)
        ]
    for user_id in unknown[:PROFILES_PER_ANSWER]:
        slack_sync.ensure_profile(ctx.db, client, team_id, user_id)


def _post(ctx: AppContext, client: WebClient, team_id: str, outbox_id: int, payload: dict[str, Any]) -> None:
    """Post the queued answer now, once, and mark its outbox row sent.

    No slack_sdk retry handlers: its connection-error retry re-sends a post whose answer was lost, which
    is a second answer in the thread. Any failure leaves the row to the outbox sender a few seconds
    later; the row says the answer may be there already, so the sender looks for it in the thread first.
    """
    once = WebClient(token=client.token, base_url=client.base_url, timeout=ANSWER_TIMEOUT, retry_handlers=[])
    try:
        response = once.chat_postMessage(**payload)
    except Exception as exc:
        log.warning(
            "posting the answer failed; left to the sender",
            extra={"team_id": team_id, "error": type(exc).__name__},
        )
        with ctx.db.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending")
                .values(next_attempt_at=utcnow() + AFTER_FAILURE)
                .execution_options(synchronize_session=False)
            )
        return
    sent = SendResult(channel=str(response.get("channel") or payload["channel"]), ts=str(response.get("ts")))
    with ctx.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending")
            .values(
                status="sent", sent_at=utcnow(), result=sent.to_json(), attempts=OutboxMessage.attempts + 1
            )
            .execution_options(synchronize_session=False)
        )


# -- commands ------------------------------------------------------------------------------------------


def who_knows_blocks(
    ctx: AppContext, client: WebClient, team_id: str, user_id: str, topic: str
) -> list[Block]:
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        member = ensure_member(session, workspace, user_id)
        return who_knows(
            session, workspace, member, topic, utcnow(), embedder=_embedder(ctx),
            permalink_for=permalink_lookup(client),
        )  # fmt: skip


def ask_command(ctx: AppContext, team_id: str, user_id: str, text: str) -> list[Block]:
    """Store and route the ask; the asker's private status with its buttons."""
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        member = ensure_member(session, workspace, user_id)
        item = open_ask(
            session,
            workspace,
            member,
            text,
            utcnow(),
            ctx.settings,
            _embedder(ctx),
            indexes=ctx.member_indexes,
        )
        status = ask_status(session, workspace, item, member)
    intro: Block = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "Got it. I pass your ask privately to a few people who said they can help; they reach out to "
            "you directly if they can. Nobody else sees it.",
        },
    }
    return [intro, *ask_status_blocks(status)]


# -- buttons and the thank-you modal -------------------------------------------------------------------


def ask_id_of(body: dict[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    try:
        return int(actions[0].get("value") or body.get("view", {}).get("private_metadata") or "")
    except (TypeError, ValueError):
        return None


def thanks_modal(item_id: int, helpers: int) -> dict[str, Any]:
    people = "the person" if helpers == 1 else f"the {helpers} people"
    return {
        "type": "modal",
        "callback_id": ASK_THANKS_MODAL,
        "private_metadata": str(item_id),
        "title": {"type": "plain_text", "text": "Say thank you"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Your thanks goes privately to {people} who helped with this ask. Nobody else sees "
                    "it, and nothing is counted.",
                },
            },
            {
                "type": "input",
                "block_id": "thanks",
                "optional": True,
                "label": {"type": "plain_text", "text": "A few words (optional)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "thanks",
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def load_own_ask(
    session: Any, team_id: str, user_id: str, item_id: int | None
) -> tuple[Workspace, Member, Item]:
    workspace = ensure_workspace(session, team_id)
    member = ensure_member(session, workspace, user_id)
    if item_id is None:
        raise AskError("I can't find that ask any more.")
    return workspace, member, own_ask(session, workspace, member, item_id)


# -- the pass-it-on draft -------------------------------------------------------------------------------


def offer_draft(
    ctx: AppContext,
    client: WebClient,
    opened: Any,
    view_builder: Callable[[str], dict[str, Any]],
    item: ItemBrief,
    giver: str,
    recipient: str,
    topic: str | None,
) -> str | None:
    """After the modal is open (a trigger id lasts 3 s; a model may take longer), write a draft note and
    update the modal with it. What the member typed meanwhile is kept by Slack (same block ids)."""
    llm = llm_tasks(ctx)
    if llm is None:
        return None
    try:
        draft = llm.draft_note(item, giver, recipient, topic)
        view = (opened.get("view") or {}) if opened is not None else {}
        if draft is None or not view.get("id"):
            return None
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=view_builder(draft))
        return draft
    except Exception:
        log.warning("adding a draft to the pass-it-on modal failed", exc_info=True)
        return None


def offer_pass_it_on_draft(
    ctx: AppContext,
    client: WebClient,
    opened: Any,
    *,
    nudge_id: int | None,
    prefill: list[str],
    channel_name: str,
) -> str | None:
    """The draft for a share nudge's pass-it-on modal: giver, recipient and topic come from the nudge."""
    if llm_tasks(ctx) is None or nudge_id is None:
        return None  # not configured: no database work, no call
    from bot.slack.blocks.modals import ItemPreview, PassItOnTarget, pass_it_on_modal
    from bot.store.models import Nudge, Topic

    with ctx.db.session() as session:
        nudge = session.get(Nudge, nudge_id)
        item = session.get(Item, nudge.item_id) if nudge is not None else None
        giver = session.get(Member, nudge.recipient_id) if nudge is not None else None
        target = session.get(Member, nudge.target_id) if nudge is not None and nudge.target_id else None
        topic = session.get(Topic, nudge.topic_id) if nudge is not None and nudge.topic_id else None
        if item is None or giver is None or target is None:
            return None
        brief = ItemBrief(title=item.title, text=item.text or item.description, url=item.url)
        channel, _, ts = item.source_key.partition(":")
        modal_target = PassItOnTarget(channel=channel, ts=ts, item_id=item.id, nudge_id=nudge_id)
        preview = ItemPreview(
            title=item.title or "",
            text=item.text or "",
            url=item.url,
            channel_name=channel_name,
            is_private=bool(item.is_private),
        )
        giver_name, target_name = giver.name, target.name
        topic_name = topic.label if topic is not None else None

    def build(draft: str) -> dict[str, Any]:
        return pass_it_on_modal(modal_target, preview, prefill, draft)

    return offer_draft(ctx, client, opened, build, brief, giver_name, target_name, topic_name)
