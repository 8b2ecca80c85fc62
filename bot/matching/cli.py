"""`passiton match`: rank members for items from plain files, offline (the matching core, end to end)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from bot.matching.classify import KINDS, Kind, classify
from bot.matching.embedders import CachedEmbedder, make_embedder
from bot.matching.items import understand_message
from bot.matching.rank import MemberProfile, RankConfig, build_member_index, rank_items


class InputError(Exception):
    """A problem in an input file, with where it is."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}" + (f" line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


class Field(StrEnum):
    interests = "interests"
    expertise = "expertise"
    both = "both"


@dataclass(frozen=True)
class MemberRecord:
    id: Any
    name: str
    interests: tuple[str, ...]
    expertise: tuple[str, ...]
    helped: tuple[str, ...]
    muted: tuple[str, ...]


@dataclass(frozen=True)
class ItemRecord:
    id: Any
    kind: Kind
    text: str
    author: Any


def _strings(value: Any, key: str, path: Path, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, line, f"'{key}' must be a list of strings")
    return tuple(value)


def _plain_id(value: Any, key: str, path: Path, line: int) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise InputError(path, line, f"'{key}' must be a non-empty string or an integer")
    return value


def _array_elements(text: str, path: Path) -> list[tuple[int, Any]]:
    """Parse a top-level JSON array, keeping the line each element starts on (for error messages)."""
    decoder = json.JSONDecoder()
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        raise InputError(path, text.count("\n", 0, pos) + 1, "expected a JSON list of members")
    pos += 1
    out: list[tuple[int, Any]] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return out
        value, end = decoder.raw_decode(text, pos)
        out.append((text.count("\n", 0, pos) + 1, value))
        pos = end


def load_members(path: Path) -> list[MemberRecord]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"cannot read ({exc.__class__.__name__}: {exc})") from None
    members: list[MemberRecord] = []
    seen: set[str] = set()
    for line, entry in _array_elements(text, path):
        if not isinstance(entry, dict):
            raise InputError(path, line, "each member must be an object with id, name, interests, expertise")
        member_id = _plain_id(entry.get("id"), "id", path, line)
        if str(member_id) in seen:
            raise InputError(path, line, f"duplicate member id {member_id!r}")
        seen.add(str(member_id))
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise InputError(path, line, "'name' must be a string")
        members.append(
            MemberRecord(
                id=member_id,
                name=name,
                interests=_strings(entry.get("interests"), "interests", path, line),
                expertise=_strings(entry.get("expertise"), "expertise", path, line),
                helped=_strings(entry.get("helped"), "helped", path, line),
                muted=_strings(entry.get("muted"), "muted", path, line),
            )
        )
    return members


def load_items(path: Path) -> list[ItemRecord]:
    items: list[ItemRecord] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, None, f"cannot read ({exc.__class__.__name__}: {exc})") from None
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise InputError(path, number, f"invalid JSON ({exc.msg})") from None
                if not isinstance(entry, dict):
                    raise InputError(
                        path, number, "each line must be an object with id, kind, title, text, author"
                    )
                item_id = _plain_id(entry.get("id"), "id", path, number)
                title, body = entry.get("title") or "", entry.get("text") or ""
                if not isinstance(title, str) or not isinstance(body, str):
                    raise InputError(path, number, "'title' and 'text' must be strings")
                if not (title.strip() or body.strip()):
                    raise InputError(path, number, "item has neither title nor text")
                author = entry.get("author")
                if author is not None:
                    author = _plain_id(author, "author", path, number)
                understood = understand_message(body)
                full = ". ".join(p for p in (title.strip(), understood.for_embedding()) if p)
                kind = entry.get("kind")
                if kind is None:
                    kind = classify(f"{title} {body}".strip(), understood.has_link)
                elif kind not in KINDS:
                    raise InputError(path, number, f"'kind' must be one of {', '.join(KINDS)}")
                items.append(ItemRecord(item_id, kind, full, author))
        except UnicodeDecodeError as exc:
            raise InputError(path, None, f"not UTF-8 text ({exc.reason})") from None
    return items


def field_for(kind: Kind, field: Field | None) -> Field | None:
    """Questions and asks go to expertise, articles to interests; chatter goes nowhere unless forced."""
    if field is not None:
        return field
    if kind in ("question", "ask"):
        return Field.expertise
    if kind == "article":
        return Field.interests
    return None


def _topics(member: MemberRecord, field: Field) -> tuple[str, ...]:
    if field is Field.interests:
        return member.interests
    if field is Field.expertise:
        return member.expertise
    return member.interests + member.expertise


def run_match(
    members: list[MemberRecord],
    items: list[ItemRecord],
    embedder: CachedEmbedder,
    *,
    field: Field | None = None,
    k: int = 10,
    config: RankConfig | None = None,
) -> list[dict[str, Any]]:
    """One result dict per item, in input order: id, ranked member ids, scores, and the why (topic)."""
    by_key = {str(m.id): m for m in members}
    vectors = embedder.embed([i.text for i in items]) if items else None
    out: dict[int, dict[str, Any]] = {}
    for chosen in Field:
        rows = [n for n, item in enumerate(items) if field_for(item.kind, field) is chosen]
        if not rows or vectors is None:
            continue
        profiles = [
            MemberProfile(str(m.id), _topics(m, chosen), m.helped, float(len(m.helped)), m.muted)
            for m in members
        ]
        index = build_member_index(profiles, embedder, config)
        ranked = rank_items(
            index,
            [str(items[n].id) for n in rows],
            [items[n].text for n in rows],
            vectors[rows],
            authors=[None if items[n].author is None else str(items[n].author) for n in rows],
            k=k,
            config=config,
        )
        for n, result in zip(rows, ranked, strict=True):
            out[n] = {
                "id": items[n].id,
                "ranked": [by_key[m.member_id].id for m in result.matches],
                "scores": [m.score for m in result.matches],
                "why": [m.topic for m in result.matches],
            }
    return [
        out.get(n, {"id": item.id, "ranked": [], "scores": [], "why": []}) for n, item in enumerate(items)
    ]


def match_command(
    members: Path = typer.Option(
        ..., "--members", help="JSON list of {id, name, interests, expertise[, helped]}"
    ),
    items: Path = typer.Option(..., "--items", help="JSONL, one {id, kind, title, text, author} per line"),
    field: Field | None = typer.Option(
        None,
        "--field",
        help="Match against this field; default: expertise for questions/asks, interests for articles",
    ),
    k: int = typer.Option(10, "--k", min=1, max=1000, help="At most this many members per item"),
    embedder: str = typer.Option("local", "--embedder", help="local (default, offline), hashing, or openai"),
    explain: bool = typer.Option(False, "--explain", help="Add the topic that drove each match ('why')"),
) -> None:
    """Rank members for each item; prints one JSON line per item: {"id", "ranked", "scores"}."""
    try:
        member_records = load_members(members)
        item_records = load_items(items)
    except InputError as exc:
        typer.echo(f"passiton match: {exc}", err=True)
        raise typer.Exit(2) from None
    if embedder == "openai":
        from bot.config import load_settings
        from bot.matching.embedders import embedder_from_settings

        built = embedder_from_settings(load_settings())
    elif embedder in ("local", "hashing"):
        built = make_embedder(embedder)
    else:
        typer.echo(
            f"passiton match: unknown --embedder {embedder!r} (use local, hashing or openai)", err=True
        )
        raise typer.Exit(2)
    for result in run_match(member_records, item_records, built, field=field, k=k):
        if not explain:
            result.pop("why")
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
