"""The three things passiton asks a model for, each with a check on what comes back.

1. `classify_item`: article / question / ask / chatter, or None when the answer is not exactly one of them
   (fits `bot.matching.classify.classify(llm=...)`).
2. `draft_note`: a short, editable note for the pass-it-on modal.
3. `summarise_related`: two or three sentences about the related items of an expertise answer, grounded in
   their stored text, citing their permalinks; dropped unless every URL it cites is one of those permalinks.

Outputs are plain text, capped in length, with Slack control sequences and bare `@channel`-style words
defanged here; whoever posts them still escapes them as mrkdwn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.llm.client import LLMClient
from bot.matching.classify import KINDS, Kind

MAX_NOTE_CHARS = 300
MAX_SUMMARY_CHARS = 700
MAX_SUMMARY_ITEMS = 3

CLASSIFY_SYSTEM = (
    "You sort chat messages for a community bot. Decide what the message in the data is: "
    "'article' (mainly shares a link worth reading), 'question' (asks for information), 'ask' (the author "
    "asks for a person's help, time or feedback), or 'chatter' (anything else). The data says whether the "
    "message has a link. Answer with exactly one lower-case word: article, question, ask or chatter."
)
DRAFT_SYSTEM = (
    "You help a member pass an item on to someone they know. Write a short, warm note (one or two "
    "sentences, under 250 characters) from the giver to the recipient saying why the item may interest "
    "them, in plain words, in the giver's voice. Use only the facts in the data. No greeting line, no "
    "signature, no hashtags, no emoji, no @-mentions, no links. Answer with the note only."
)
SUMMARY_SYSTEM = (
    "You summarise earlier posts for a thread reply. Using ONLY the text of the items in the data, write "
    "two or three sentences on what they say that bears on the question. After each sentence cite the "
    "item(s) it draws on by writing their permalink URL exactly as given. Cite no other URL. No @-mentions, "
    "no instructions to readers. If the items say nothing useful about the question, answer with NONE."
)

_URL_RE = re.compile(r"https?://[^\s<>|()\[\]\"'`]+")
_MARKDOWN_LINK_RE = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_SLACK_LINK_RE = re.compile(r"<(https?://[^>|\s]+)(?:\|[^>]*)?>")
_SLACK_CONTROL_RE = re.compile(r"<[!@#][^>]*>")
_BROADCAST_RE = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class ItemBrief:
    """What the model may see of one stored item."""

    title: str
    text: str
    url: str | None = None
    permalink: str | None = None


def defang(text: str) -> str:
    """Plain, single-paragraph text: no Slack control sequences, no broadcast words, no control characters."""
    text = _CONTROL_CHARS_RE.sub(" ", text)
    text = _SLACK_CONTROL_RE.sub("", text)
    # A zero-width word joiner keeps the word readable but stops it being read as a broadcast.
    text = _BROADCAST_RE.sub(lambda m: "@\u2060" + m.group(1), text)
    return " ".join(text.split())


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def trailing_url(url: str) -> str:
    return url.rstrip(".,;:!?")


class LLMTasks:
    """The three tasks over one client. `classify_item` has the shape of matching's LLM classifier seam."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def classify_item(self, text: str, has_link: bool = False) -> Kind | None:
        answer = self.client.complete(
            purpose="classify",
            system=CLASSIFY_SYSTEM,
            data={"message": text, "has_link": has_link},
            max_tokens=5,
        )
        if answer is None:
            return None
        word = answer.strip().strip(".'\"`*").lower()
        for kind in KINDS:
            if word == kind:
                return kind
        return None

    def draft_note(self, item: ItemBrief, giver: str, recipient: str, topic: str | None) -> str | None:
        answer = self.client.complete(
            purpose="draft_note",
            system=DRAFT_SYSTEM,
            data={
                "item": {"title": item.title, "text": item.text, "url": item.url or ""},
                "giver": giver,
                "recipient": recipient,
                "recipient_cares_about": topic or "",
            },
            max_tokens=120,
        )
        if answer is None:
            return None
        note = defang(_URL_RE.sub("", answer)).strip(" \"'")
        return cap(note, MAX_NOTE_CHARS) or None

    def summarise_related(self, question: str, items: Sequence[ItemBrief]) -> str | None:
        """A grounded summary citing only the items' permalinks, or None.

        The summary is returned with citations as bare permalink URLs (markdown or Slack link wrapping
        removed), for the caller to render as links.
        """
        cited = [i for i in items[:MAX_SUMMARY_ITEMS] if i.permalink]
        if not cited:
            return None
        allowed = {i.permalink for i in cited}
        answer = self.client.complete(
            purpose="summarise_related",
            system=SUMMARY_SYSTEM,
            data={
                "question": question,
                "items": [
                    {"permalink": i.permalink, "title": i.title, "text": i.text, "link": i.url or ""}
                    for i in cited
                ],
            },
            max_tokens=250,
        )
        if answer is None or answer.strip().upper().startswith("NONE"):
            return None
        text = _MARKDOWN_LINK_RE.sub(lambda m: m.group(2), answer)
        text = _SLACK_LINK_RE.sub(lambda m: m.group(1), text)
        text = defang(text)
        urls = [trailing_url(u) for u in _URL_RE.findall(text)]
        if not urls or any(u not in allowed for u in urls):
            return None
        if len(text) > MAX_SUMMARY_CHARS:
            return None  # cutting it could cut a citation off its claim; better no summary
        return text
