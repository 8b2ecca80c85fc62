"""`passiton members import`: email-only members from CSV, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.email.members_import import ImportFileError, import_members, read_members_csv
from bot.store.db import Database
from bot.store.models import Member, MemberTopic, Topic, Workspace
from bot.store.queries.members import add_member_topics

from .conftest import add_member, add_workspace

GOOD = """name,email,interests,expertise,timezone
Ann Example,Ann@Example.org,Postgres; k8s,PostgreSQL,Europe/Paris
"Bob, the builder",bob@example.org,"machine learning;ML",,
"""


def topics(db: Database, email: str, kind: str) -> list[str]:
    with db.session() as s:
        return sorted(
            s.scalars(
                select(Topic.name)
                .join(MemberTopic, MemberTopic.topic_id == Topic.id)
                .join(Member, Member.id == MemberTopic.member_id)
                .where(Member.email == email, MemberTopic.kind == kind)
            )
        )


def count_members(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Member)) or 0


def test_reading_reports_bad_rows_by_line_and_keeps_the_good() -> None:
    text = (
        "\ufeffName , EMAIL,Interests,expertise,timezone,notes\n"  # BOM, odd case, an extra column
        "Ann,ann@example.org,postgres,,UTC,hi\n"  # line 2
        "\n"  # line 3: blank, skipped
        "Bad Mail,not-an-address,,,,\n"  # line 4
        '"Multi\nLine",multi@example.org,,,,\n'  # lines 5-6
        "Zed,zed@example.org,,,Mars/Olympus,\n"  # line 7
        "Dup,ANN@example.org,,,,\n"  # line 8
        f"Long,long@example.org,{'x' * 70},,,\n"  # line 9
        "Empty,,,,,\n"  # line 10
        "Many,many@example.org,,,,,,extra\n"  # line 11
        "Punct,punct@example.org,;;!!!;,,,\n"  # line 12
    )
    rows, errors = read_members_csv(text)
    assert [(r.line, r.email) for r in rows] == [(2, "ann@example.org"), (5, "multi@example.org")]
    assert rows[1].name == "Multi Line"
    assert [e.line for e in errors] == [4, 7, 8, 9, 10, 11, 12]
    messages = dict((e.line, e.message) for e in errors)
    assert "not an email address" in messages[4]
    assert "unknown time zone" in messages[7]
    assert "also on line 2" in messages[8]
    assert messages[9].startswith("interests:") and "too long" in messages[9]
    assert "email is empty" in messages[10]
    assert "fields" in messages[11]
    assert messages[12].startswith("interests:")
    with pytest.raises(ImportFileError):
        read_members_csv("name,mail\nx,y\n")
    with pytest.raises(ImportFileError):
        read_members_csv("")


def test_import_creates_email_members_and_reimport_updates_without_duplicates(db: Database) -> None:
    rows, errors = read_members_csv(GOOD)
    assert errors == []
    with db.session() as s:
        ws = add_workspace(s)
        report = import_members(s, ws, rows)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    with db.session() as s:
        ann = s.scalars(select(Member).where(Member.email == "ann@example.org")).one()
        assert (ann.display_name, ann.tz, ann.delivery, ann.opted_in, ann.slack_user_id) == (
            "Ann Example", "Europe/Paris", "email", True, None
        )  # fmt: skip
    assert topics(db, "ann@example.org", "interest") == ["kubernetes", "postgres"]
    assert topics(db, "ann@example.org", "expertise") == ["postgres"]
    assert topics(db, "bob@example.org", "interest") == ["machine learning"]

    # Ann unsubscribes and states a topic herself; then the admin re-imports an edited file.
    with db.session() as s:
        ws = s.scalars(select(Workspace)).one()
        ann = s.scalars(select(Member).where(Member.email == "ann@example.org")).one()
        ann.delivery = "off"
        add_member_topics(s, ws, ann, "interest", ["rust"])
    edited = GOOD.replace("Postgres; k8s", "Postgres; terraform").replace("Europe/Paris", "Asia/Tokyo")
    rows, _ = read_members_csv(edited)
    with db.session() as s:
        report = import_members(s, s.scalars(select(Workspace)).one(), rows)
        report_again = import_members(s, s.scalars(select(Workspace)).one(), rows)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert (report_again.created, report_again.updated, report_again.unchanged) == (0, 0, 2)
    assert count_members(db) == 2
    assert topics(db, "ann@example.org", "interest") == ["postgres", "rust", "terraform"]
    with db.session() as s:
        ann = s.scalars(select(Member).where(Member.email == "ann@example.org")).one()
        assert ann.delivery == "off"  # a re-import never re-subscribes anyone
        assert ann.tz == "Asia/Tokyo"


def test_slack_members_keep_their_profile_and_consent(db: Database) -> None:
    with db.session() as s:
        ws = add_workspace(s)
        add_member(s, ws, "ann@example.org", slack_user_id="U1", display_name="ann.slack", tz="America/Chicago",
                   delivery="slack", opted_in=False)  # fmt: skip
        rows, _ = read_members_csv(GOOD)
        report = import_members(s, ws, rows)
    assert (report.created, report.updated) == (1, 1)
    with db.session() as s:
        ann = s.scalars(select(Member).where(Member.email == "ann@example.org")).one()
        assert (ann.display_name, ann.tz, ann.delivery, ann.opted_in) == (
            "ann.slack", "America/Chicago", "slack", False
        )  # fmt: skip
    assert topics(db, "ann@example.org", "interest") == ["kubernetes", "postgres"]


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", db_url)
    return tmp_path


def test_cli_reports_line_numbers_saves_good_rows_and_creates_a_local_workspace(
    db: Database, cli_env: Path
) -> None:
    path = cli_env / "members.csv"
    path.write_text(GOOD + "Bad,nope,,,\nTz,tz@example.org,,,Nowhere/Place\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["members", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path} line 4: “nope” is not an email address" in result.stderr
    assert f"{path} line 5: unknown time zone" in result.stderr
    assert "2 created, 0 updated, 0 unchanged, 2 bad row(s) (workspace local)" in result.stdout
    assert count_members(db) == 2

    again = CliRunner().invoke(app, ["members", "import", str(path), "--team", "local"])
    assert again.exit_code == 1 and "0 created, 0 updated, 2 unchanged" in again.stdout
    assert count_members(db) == 2


def test_cli_workspace_choice(db: Database, cli_env: Path) -> None:
    path = cli_env / "members.csv"
    path.write_text(GOOD, encoding="utf-8")
    with db.session() as s:
        add_workspace(s, "T1")
        add_workspace(s, "T2")
    runner = CliRunner()
    several = runner.invoke(app, ["members", "import", str(path)])
    assert several.exit_code == 2 and "choose one with --team" in several.stderr
    unknown = runner.invoke(app, ["members", "import", str(path), "--team", "T9"])
    assert unknown.exit_code == 2 and "no workspace with team id 'T9'" in unknown.stderr
    ok = runner.invoke(app, ["members", "import", str(path), "--team", "T2"])
    assert ok.exit_code == 0, ok.output
    with db.session() as s:
        teams = s.scalars(select(Workspace.team_id).join(Member, Member.workspace_id == Workspace.id)).all()
    assert set(teams) == {"T2"}
    bad_header = cli_env / "bad.csv"
    bad_header.write_text("who,where\n", encoding="utf-8")
    assert runner.invoke(app, ["members", "import", str(bad_header), "--team", "T2"]).exit_code == 2
