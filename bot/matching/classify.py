"""Is a message an article, a question, an ask or chatter? Clear heuristics, with a seam for an LLM.

- ask: the author states a need for a person ("looking for someone to", "I need help with", "can anyone
  help", "does anyone have time to") — routed like a question, to helpers.
- question: a question mark on a real sentence, or a sentence that opens like a question (how do I,
  does anyone know, what's the best way...).
- article: a link with little text of its own besides it.
- chatter: everything else, including short thanks and greetings with or without a question mark.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

Kind = Literal["article", "question", "ask", "chatter"]
KINDS: tuple[Kind, ...] = ("article", "question", "ask", "chatter")
LLMClassifier = Callable[[str, bool], "Kind | None"]

_ASK_RE = re.compile(
    r"\b(looking for (someone|somebody|anyone|a person|people|help|advice|a mentor|feedback)"
    r"|(need|want|would love|would like|could use) (some )?(help|advice|feedback|a hand|a review|input|pointers)"
    r"|(need|want) (someone|somebody|a mentor) to"
    r"|can (anyone|someone|somebody) (help|review|take a look|pair|mentor)"
    r"|(could|would) (anyone|someone|somebody) (help|review|take a look|be up for|have time|be willing)"
    r"|does (anyone|someone|somebody) have (time|a few minutes|bandwidth) to"
    r"|is (anyone|someone|somebody) (able|willing|free) to"
    r"|anyone (up for|willing to|free to|able to) (help|review|pair|look)"
    r"|happy to buy (a )?coffee for"
    r"|who (could|can|would) (help me|review|mentor))\b",
    re.IGNORECASE,
)
_QUESTION_OPEN_RE = re.compile(
    r"(^|[.!?]\s+|\n)\s*(how (do|does|can|should|would|to|come)|what('s| is| are| does| do| should| would)"
    r"|why (is|are|does|do|did|would|can't|won't|doesn't)|which|where (is|are|do|can|should)"
    r"|when (should|do|does|is|will)|who (knows|has|can|is|uses|else)|is (it|there|this|that)"
    r"|are (there|you|we|they)|does (anyone|anybody|someone|this|it)|do (you|we|i|people|they)"
    r"|can (i|we|you|anyone|someone)|could (i|we|you)|should (i|we)|has (anyone|anybody)"
    r"|have (you|we) (ever|tried|seen|used)|any (idea|ideas|tips|advice|suggestions|recommendations|thoughts)"
    r"|anyone (know|knows|tried|seen|using|used|have|has|familiar|ever|else))\b",
    re.IGNORECASE,
)
# Help requests worded as statements: "I am trying to ... and get ...", "I would like to understand ...",
# "Confusion regarding ...". Real Q&A posts often carry no "?" (a fifth of the answered questions of a
# Stack Exchange site, bench/help_diagnosis.py), nor do many Slack messages from someone stuck.
_STUCK_RE = re.compile(
    r"\b(i('m| am) (trying|struggling|stuck|confused|unable|not able|new to"
    r"|having (trouble|difficulty|a hard time))"
    r"|i (can't|cannot|can not|couldn't|don't|do not|fail to) (understand|figure|get|see|find|work out|make)"
    r"|i('d| would) like to (know|understand|learn|find out|represent|construct|implement|compute|show|prove)"
    r"|i wish to (know|understand|learn)|i('m| am) (wondering|not sure|unsure|curious)|i (was )?wonder(ing)?"
    r"|(^|\n)\s*(confusion|question|query|doubt|help|clarification( needed)?) (regarding|about|on|with|of)"
    r"|not sure (how|why|what|whether|if|where)"
    r"|i('m| am) (looking|searching) for (a |an |some )?(way|method|reference|explanation|algorithm|example))\b",
    re.IGNORECASE,
)
_CHATTER_RE = re.compile(
    r"^\W*(thanks?( you)?( so much| all| everyone| a lot)?|thx|ty|cheers|lol|haha\w*|nice|great|cool|awesome|"
    r"\+1|congrats\w*|congratulations|welcome\w*|good (morning|night|luck)|morning|hi( all| everyone| team)?|"
    r"hello( all| everyone)?|hey( all| everyone)?|ok(ay)?|yes|no|yep|nope|sure|done|same|agreed?|"
    r"happy \w+day|have a (good|great|nice) \w+|how are (you|things)|how was (your|the) \w+|what's up|sup)"
    r"\b[\s\W]*$",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"<https?://[^>]+>|https?://\S+")


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9']+", text)


def heuristic_kind(text: str, has_link: bool) -> Kind:
    """The kind from wording alone; `text` is the message with Slack markup already cleaned or not."""
    own = _URL_RE.sub(" ", text).strip()
    words = _words(own)
    if _CHATTER_RE.match(own) or (not has_link and len(words) < 3 and "?" not in own):
        return "chatter"
    if _ASK_RE.search(own):
        return "ask"
    looks_like_question = bool(_QUESTION_OPEN_RE.search(own) or _STUCK_RE.search(own)) or (
        "?" in own and len(words) >= 3 and not own.rstrip().endswith(("?)", ":)?"))
    )
    if looks_like_question and not (has_link and "?" not in own and len(words) <= 12):
        return "question"
    if has_link and len(words) <= 40:
        return "article"
    return "chatter"


def classify(text: str, has_link: bool, llm: LLMClassifier | None = None) -> Kind:
    """Heuristics, or `llm(text, has_link)` when one is configured; an LLM answer of None (failure, timeout,
    unparseable) or outside the four kinds falls back to the heuristics, so a flaky LLM never blocks an item."""
    if llm is not None:
        try:
            answer = llm(text, has_link)
        except Exception:
            answer = None
        if answer in KINDS:
            return answer
    return heuristic_kind(text, has_link)
