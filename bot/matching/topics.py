"""Topic normalisation, shared by the slash commands, the App Home and the ranker.

One canonical string per topic, so "Postgres", "PostgreSQL" and "pg" are the same interest, and a stated
topic can be found literally inside an item's text after both went through the same pipeline.

The pipeline is idempotent (normalising a normalised topic changes nothing): Unicode folding, lower case,
punctuation to spaces (keeping the characters that carry meaning in names like c++, c# and .net), naive
singular of each word with a list of words that only look plural, then word and phrase aliases whose
targets are themselves fixed points.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

MAX_TOPIC_CHARS = 60
MAX_TOPICS = 50

# Words that end in "s" but are not plurals (or whose singular would be wrong). Kept as they are.
_NOT_PLURAL = frozenset(
    [
        "kubernetes",
        "postgres",
        "analytics",
        "css",
        "aws",
        "ios",
        "macos",
        "news",
        "physics",
        "mathematics",
        "statistics",
        "economics",
        "ethics",
        "politics",
        "linguistics",
        "logistics",
        "robotics",
        "genetics",
        "electronics",
        "graphics",
        "semantics",
        "devops",
        "mlops",
        "gitops",
        "finops",
        "secops",
        "ops",
        "sales",
        "series",
        "species",
        "jenkins",
        "redis",
        "pandas",
        "canvas",
        "atlas",
        "windows",
        "rails",
        "express",
        "sass",
        "less",
        "grpc",
        "https",
        "dns",
        "cors",
        "saas",
        "paas",
        "iaas",
        "gis",
        "cms",
        "mis",
        "kms",
        "js",
        "ts",
        "nodejs",
        "nextjs",
        "vuejs",
        "reactjs",
        "threejs",
        "d3js",
        "expressjs",
        "nestjs",
        "chess",
        "business",
        "wellness",
        "fitness",
        "diabetes",
        "lens",
        "alias",
        "bias",
        "gas",
        "plus",
        "corpus",
        "status",
        "campus",
        "census",
        "virus",
        "focus",
        "thesis",
        "analysis",
        "basis",
        "crisis",
        "diagnosis",
        "hypothesis",
        "synthesis",
        "emphasis",
        "axis",
        "chaos",
        "cosmos",
        "ethos",
        "kudos",
        "pathos",
        "dos",
        "its",
        "this",
        "yes",
        "always",
        "perhaps",
        "towards",
        "afterwards",
        "sometimes",
        "various",
        "previous",
        "famous",
        "serious",
        "obvious",
        "numerous",
        "jobs",
    ]
)

_IRREGULAR = {
    "people": "person",
    "children": "child",
    "women": "woman",
    "men": "man",
    "cookies": "cookie",
    "buses": "bus",
    "movies": "movie",
    "indices": "index",
    "matrices": "matrix",
    "vertices": "vertex",
    "data": "data",
    "media": "media",
    "criteria": "criterion",
}

# Single words that stand for a canonical topic (applied to each word after singularisation).
WORD_ALIASES: dict[str, str] = {
    "k8s": "kubernetes",
    "kube": "kubernetes",
    "postgresql": "postgres",
    "pg": "postgres",
    "psql": "postgres",
    "js": "javascript",
    "ecmascript": "javascript",
    "ts": "typescript",
    "ml": "machine learning",
    "ai": "artificial intelligence",
    "tf": "terraform",
    "py": "python",
    "golang": "go",
    "nodejs": "node",
    "reactjs": "react",
    "vuejs": "vue",
    "nextjs": "next",
    "gcp": "google cloud",
    "ux": "user experience",
    "ui": "user interface",
    "db": "database",
    "dbs": "database",
    "nlp": "natural language processing",
    "llm": "large language model",
    "ci": "continuous integration",
    "sre": "site reliability engineering",
    "dx": "developer experience",
    "a11y": "accessibility",
    "i18n": "internationalisation",
    "internationalization": "internationalisation",
    "l10n": "localisation",
    "localization": "localisation",
    "optimization": "optimisation",
    "k8": "kubernetes",
}

# Multi-word spellings of one topic (applied to the whole phrase, and to runs of words inside it).
PHRASE_ALIASES: dict[str, str] = {
    "node js": "node",
    "react js": "react",
    "vue js": "vue",
    "next js": "next",
    "postgre sql": "postgres",
    "google cloud platform": "google cloud",
    "amazon web service": "aws",
    "machine-learning": "machine learning",
    "deep-learning": "deep learning",
    "ci cd": "continuous integration",
}

_PHRASE_FIRST_WORDS = frozenset(p.split()[0] for p in PHRASE_ALIASES)
_WORD_RE = re.compile(r"[a-z0-9+#]+")


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _NOT_PLURAL or len(word) <= 3 or not word.endswith("s") or not word.isalpha():
        return word
    if word.endswith(("ss", "us", "is", "ics", "os", "js")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zzes")):
        return word[:-2]
    return word[:-1]


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    # ".net" is a name, not a sentence end: keep its dot as a word, "node.js" splits into "node js".
    text = re.sub(r"(?<![a-z0-9])\.net\b", " dotnet ", text)
    return _WORD_RE.findall(text)


def _phrase_aliases(words: list[str]) -> list[str]:
    if _PHRASE_FIRST_WORDS.isdisjoint(words):
        return words
    joined = " ".join(words)
    for phrase, target in PHRASE_ALIASES.items():
        if phrase in joined:
            joined = re.sub(rf"(?<!\S){re.escape(phrase)}(?!\S)", target, joined)
    return joined.split()


def _apply_aliases(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in _phrase_aliases(words):
        out.extend(WORD_ALIASES.get(word, word).split())
    return _phrase_aliases(out)


def normalised_words(text: str) -> list[str]:
    """The words of any text after the topic pipeline: what a stated topic is looked up in."""
    words = [_singular(w) for w in _words(text)]
    # Aliases may produce words that themselves alias (e.g. "nodejs" after punctuation); two passes settle.
    return _apply_aliases(_apply_aliases(words))


@functools.lru_cache(maxsize=65536)
def normalise_topic(text: str) -> str:
    """The canonical form of one topic: "PostgreSQL " -> "postgres", "K8s" -> "kubernetes"."""
    return " ".join(normalised_words(text))


def topic_label(topic: str) -> str:
    """A topic as shown to people: its canonical form, with well-known names in their usual case."""
    canonical = normalise_topic(topic)
    return " ".join(_LABELS.get(w, w) for w in canonical.split())


_LABELS = {
    "postgres": "Postgres",
    "kubernetes": "Kubernetes",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "python": "Python",
    "terraform": "Terraform",
    "aws": "AWS",
    "css": "CSS",
    "html": "HTML",
    "sql": "SQL",
    "react": "React",
    "node": "Node",
    "go": "Go",
    "rust": "Rust",
    "linux": "Linux",
    "docker": "Docker",
    "graphql": "GraphQL",
    "ios": "iOS",
    "android": "Android",
    "dotnet": ".NET",
    "c#": "C#",
    "c++": "C++",
}


def parse_topic_list(text: str | Iterable[str]) -> list[str]:
    """Parse "Postgres, k8s ,  ML" into ["postgres", "kubernetes", "machine learning"].

    Comma (or newline) separated; order kept, duplicates after normalisation dropped. Raises ValueError
    with a message fit to show the member when an entry is empty, too long or nothing but punctuation.
    """
    raw = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    if not any(entry.strip() for entry in raw) and (len(raw) <= 1 or not isinstance(text, str)):
        raise ValueError(
            "No topics given: list them separated by commas, e.g. `postgres, k8s, machine learning`."
        )
    topics: list[str] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw):
        stripped = entry.strip()
        if not stripped:
            if isinstance(text, str) and len(raw) > 1 and position == len(raw) - 1:
                continue  # a trailing comma is harmless
            raise ValueError("A topic is empty: separate topics with single commas, e.g. `postgres, k8s`.")
        if len(stripped) > MAX_TOPIC_CHARS:
            raise ValueError(
                f"Topic “{stripped[:20]}…” is too long: keep each topic under {MAX_TOPIC_CHARS} characters."
            )
        topic = normalise_topic(stripped)
        if not topic:
            raise ValueError(f"Topic “{stripped}” has no letters or digits in it.")
        if topic not in seen:
            seen.add(topic)
            topics.append(topic)
    if not topics:
        raise ValueError(
            "No topics given: list them separated by commas, e.g. `postgres, k8s, machine learning`."
        )
    if len(topics) > MAX_TOPICS:
        raise ValueError(f"That is {len(topics)} topics: keep it to at most {MAX_TOPICS}.")
    return topics
