"""Stated profiles for replay: CSV and JSON, keyed by user id or email, with errors naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.replay import ExportUser, Profile, ProfileError, load_profiles


def _user(uid: str, email: str | None) -> ExportUser:
    return ExportUser(uid, uid.lower(), uid, uid, email, "UTC", 0, False, False, False)


USERS = {"U1": _user("U1", "ada@example.org"), "U2": _user("U2", "Bo@Example.org"), "U3": _user("U3", None)}


def test_json_keyed_by_id_and_email_normalises_topics(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "U1": {
                    "interests": ["PostgreSQL", "k8s"],
                    "expertise": "Terraform; Postgres",
                    "helped": ["How to vacuum?"],
                },
                "bo@example.org": {"interests": "machine learning, ML"},
            }
        )
    )
    loaded = load_profiles(path, USERS)
    assert loaded.problems == ()
    assert loaded.by_user == {
        "U1": Profile(("postgres", "kubernetes"), ("terraform", "postgres"), ("How to vacuum?",)),
        "U2": Profile(("machine learning",), (), ()),
    }


def test_json_list_form(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            [{"user": "U1", "interests": ["css"]}, {"email": "ada@example.org", "expertise": ["react"]}]
        )
    )
    loaded = load_profiles(path, USERS)
    assert loaded.by_user == {"U1": Profile(("css",), ("react",), ())}
    assert [(p.file, p.what) for p in loaded.problems] == [("p.json:1", "second profile for U1; merged")]


def test_csv_matches_json(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        "\ufeffUser,Email,Interests,Expertise,helped\n"
        "U1,,PostgreSQL; k8s,Terraform;Postgres,How to vacuum? | Why is it slow?\n"
        "\n"
        ',bo@example.org,"machine learning, ML",,\n'
    )
    loaded = load_profiles(csv_path, USERS)
    assert loaded.problems == ()
    assert loaded.by_user == {
        "U1": Profile(
            ("postgres", "kubernetes"), ("terraform", "postgres"), ("How to vacuum?", "Why is it slow?")
        ),
        "U2": Profile(("machine learning",), (), ()),
    }


def test_entries_not_in_the_export_are_skipped_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("user,email,interests,expertise\nU9,,css,\n,nobody@example.org,css,\nU1,,css,\n")
    loaded = load_profiles(path, USERS)
    assert list(loaded.by_user) == ["U1"]
    assert [(p.file, p.what) for p in loaded.problems] == [
        ("p.csv:2", "user U9 not in users.json; skipped"),
        ("p.csv:3", "email not found in users.json; skipped"),
    ]
    # Without an export, ids are taken as given and emails cannot be resolved.
    alone = load_profiles(path)
    assert set(alone.by_user) == {"U9", "U1"}
    assert [p.what for p in alone.problems] == ["email keys need the export"]


@pytest.mark.parametrize(
    ("name", "content", "where", "reason"),
    [
        (
            "p.json",
            '{\n  "U1": {"interests": ["css"]},\n  "U2": {"interests": 5}\n}',
            "p.json:3",
            "'interests' must be",
        ),
        ("p.json", '{\n  "U1": {"interests": ["css"],\n}', "p.json:3", "invalid JSON"),
        ("p.json", '[\n  {"user": "U1"},\n  "U2"\n]', "p.json:3", "each profile must be an object"),
        ("p.json", '[\n  {"interests": ["css"]}\n]', "p.json:2", "neither 'user' nor 'email'"),
        ("p.json", '"just a string"', "p.json:1", "expected an object"),
        ("p.json", '{"U1": {"expertise": ["' + "x" * 80 + '"]}}', "p.json:1", "too long"),
        (
            "p.csv",
            "user,email,interests,expertise\nU1,,css,\n,,css,react\n",
            "p.csv:3",
            "neither a user id nor an email",
        ),
        (
            "p.csv",
            "user,email,interests,expertise\nU1,,css,react,extra\n",
            "p.csv:2",
            "more fields than the header",
        ),
        ("p.csv", "name,topics\nada,css\n", "p.csv:1", "needs a 'user' or an 'email' column"),
        ("p.csv", "user,email,interests\nU1,,!!!\n", "p.csv:2", "no letters or digits"),
    ],
)
def test_malformed_profiles_name_file_and_line(
    tmp_path: Path, name: str, content: str, where: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, USERS)
    assert str(info.value).startswith(where + ": ")
    assert reason in info.value.reason


def test_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such file"):
        load_profiles(tmp_path / "missing.csv")
    path = tmp_path / "p.csv"
    path.write_bytes(b"user,interests\n\xff\xfe,css\n")
    with pytest.raises(ProfileError, match="cannot be read"):
        load_profiles(path)


def test_public_consent_from_json_and_csv(tmp_path: Path) -> None:
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"U1": {"expertise": ["css"], "public": True}, "U2": {"expertise": ["react"]}}))
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("user,expertise,public\nU1,css,yes\nU2,react,\n")
    for path in (js, csv_path):
        by_user = load_profiles(path, USERS).by_user
        assert by_user["U1"].public and not by_user["U2"].public, path.name


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("p.json", '{"U1": {"expertise": ["css"], "public": "sometimes"}}', "p.json:1"),
        ("p.json", '{"U1": {"expertise": ["css"], "public": 1}}', "p.json:1"),
        ("p.csv", "user,expertise,public\nU1,css,maybe\n", "p.csv:2"),
    ],
)
def test_public_must_be_yes_or_no(tmp_path: Path, name: str, content: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, USERS)
    assert str(info.value).startswith(where + ": ") and "'public'" in info.value.reason


def test_opted_in_without_topics(tmp_path: Path) -> None:
    """A "count me in" with nothing stated: consent alone, in JSON and CSV; a bad value names its field."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"U1": {"opted_in": True}, "U2": {"interests": ["css"]}}))
    loaded = load_profiles(path, USERS)
    assert loaded.by_user == {"U1": Profile(opted_in=True), "U2": Profile(("css",))}
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("user,interests,opted_in\nU1,,yes\nU2,css,\n")
    assert load_profiles(csv_path, USERS).by_user == loaded.by_user
    path.write_text(json.dumps({"U1": {"opted_in": "maybe"}}))
    with pytest.raises(ProfileError, match="'opted_in' must be true or false"):
        load_profiles(path, USERS)
