"""`passiton match` end to end through the Typer app, on small files, offline (local embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

MEMBERS = [
    {"id": "U1", "name": "Bob", "interests": ["databases", "Postgres"], "expertise": ["PostgreSQL"]},
    {
        "id": "U2",
        "name": "Ann",
        "interests": ["k8s"],
        "expertise": ["kubernetes", "terraform"],
        "helped": ["How do I roll back a helm release?"],
    },
    {"id": 3, "name": "Cy", "interests": ["baking"], "expertise": []},
]
ITEMS = [
    {
        "id": "i1",
        "kind": "article",
        "title": "Tuning autovacuum",
        "text": "<https://ex.example/postgres-vacuum|read>",
        "author": "U2",
    },
    {
        "id": 2,
        "kind": "question",
        "title": "",
        "text": "how do I upgrade my k8s cluster without downtime?",
        "author": "U1",
    },
    {"id": "i3", "title": "", "text": "happy friday all", "author": "U1"},
    {"id": "i4", "kind": "article", "title": "Postgres 17 released", "text": "", "author": "U1"},
]


def write(tmp_path: Path, members: object = MEMBERS, items: list[object] | str = ITEMS) -> tuple[Path, Path]:
    m = tmp_path / "members.json"
    m.write_text(json.dumps(members, indent=2))
    i = tmp_path / "items.jsonl"
    i.write_text(items if isinstance(items, str) else "\n".join(json.dumps(x) for x in items) + "\n")
    return m, i


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["match", *args])
    return result.exit_code, result.stdout, result.stderr


def test_match_prints_one_line_per_item(tmp_path: Path) -> None:
    m, i = write(tmp_path)
    code, out, _ = run("--members", str(m), "--items", str(i))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["i1", 2, "i3", "i4"]
    assert set(lines[0]) == {"id", "ranked", "scores"}
    assert lines[0]["ranked"] == ["U1"]  # the article's author U2 is excluded; Bob's interest is named
    assert lines[1]["ranked"][0] == "U2"  # question -> expertise; the author U1 is excluded
    assert "U1" not in lines[1]["ranked"]
    assert lines[2] == {"id": "i3", "ranked": [], "scores": []}  # chatter: nobody
    assert lines[3]["ranked"] == []  # the only Postgres person wrote it
    assert all(len(x["ranked"]) == len(x["scores"]) for x in lines)


def test_field_and_k_and_explain(tmp_path: Path) -> None:
    m, i = write(
        tmp_path,
        items=[{"id": 1, "kind": "question", "title": "Postgres or k8s?", "text": "", "author": None}],
    )
    code, out, _ = run(
        "--members", str(m), "--items", str(i), "--field", "interests", "--k", "1", "--explain"
    )
    assert code == 0
    line = json.loads(out)
    assert len(line["ranked"]) == 1 and len(line["why"]) == 1
    assert line["why"][0] in {"postgres", "kubernetes", "database"}


@pytest.mark.parametrize(
    ("which", "content", "expected"),
    [
        (
            "items",
            '{"id": "a", "text": "postgres"}\n{"id": "b", "text": \n',
            "items.jsonl line 2: invalid JSON",
        ),
        (
            "items",
            '{"id": "a", "text": "postgres", "kind": "memo"}\n',
            "items.jsonl line 1: 'kind' must be one of",
        ),
        (
            "items",
            '{"id": "a", "title": "", "text": ""}\n',
            "items.jsonl line 1: item has neither title nor text",
        ),
        ("items", '["not", "an", "object"]\n', "items.jsonl line 1: each line must be an object"),
        (
            "members",
            '[\n  {"id": "U1", "interests": []},\n  {"id": "U2", "interests": "k8s"}\n]',
            "members.json line 3: 'interests' must be a list",
        ),
        ("members", '[\n  {"id": "U1"},\n  {"id": "U1"}\n]', "members.json line 3: duplicate member id"),
        ("members", '[{"id": "U1",\n "interests": [}]', "members.json line 2: invalid JSON"),
        ("members", '{"id": "U1"}', "members.json line 1: expected a JSON list"),
    ],
)
def test_bad_files_give_one_clear_line_and_exit_2(
    tmp_path: Path, which: str, content: str, expected: str
) -> None:
    m, i = write(tmp_path)
    (m if which == "members" else i).write_text(content)
    code, out, err = run("--members", str(m), "--items", str(i))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert expected in err
    assert err.startswith("passiton match: ")


def test_missing_file(tmp_path: Path) -> None:
    m, _ = write(tmp_path)
    code, _, err = run("--members", str(m), "--items", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "nope.jsonl: cannot read" in err
