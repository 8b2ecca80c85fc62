"""Email-only members from a CSV file: ``name,email,interests,expertise,timezone``.

Topics are ``;``-separated (the comma belongs to CSV) and normalised like everywhere else. Reading is
pure and reports every bad row with its line number; importing applies the good rows, each in its own
savepoint so one row the database refuses does not take the others with it.

Re-import updates, never duplicates (the email is the key within a workspace) and never undoes a
member's own choices: delivery and consent are set when the member is created, not after, so a
re-import never re-subscribes someone who unsubscribed; topics the member stated themselves stay, and
only the topics a previous import gave are replaced. For people who are also on Slack, the name and
time zone from their Slack profile win over the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.matching.topics import parse_topic_list
from bot.store.models import Member, MemberTopic, Topic, Workspace
from bot.store.queries.members import add_member_topics, member_by_email

COLUMNS = ("name", "email", "interests", "expertise", "timezone")
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (no header, no email column)."""


@dataclass(frozen=True)
class MemberRow:
    line: int
    email: str
    name: str = ""
    interests: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    timezone: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _topics(value: str, column: str) -> tuple[str, ...]:
    entries = [e for e in value.split(";") if e.strip()]
    if not entries:
        return ()
    try:
        return tuple(parse_topic_list(entries))
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


def _row(line: int, raw: dict[str, str]) -> MemberRow:
    email = raw.get("email", "").strip().lower()
    if not email:
        raise ValueError("email is empty")
    if len(email) > 320 or not _EMAIL.match(email):
        raise ValueError(f"“{email[:60]}” is not an email address")
    name = " ".join(raw.get("name", "").split())
    if len(name) > 200:
        raise ValueError("name is longer than 200 characters")
    tz = raw.get("timezone", "").strip() or None
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone “{tz[:60]}” (use a name like Europe/Paris)") from None
    return MemberRow(
        line=line,
        email=email,
        name=name,
        interests=_topics(raw.get("interests", ""), "interests"),
        expertise=_topics(raw.get("expertise", ""), "expertise"),
        timezone=tz,
    )


def read_members_csv(text: str) -> tuple[list[MemberRow], list[RowError]]:
    """Parse the file; returns the good rows and the bad ones, both with their line numbers."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty; expected a header: " + ",".join(COLUMNS)) from None
    except csv.Error as exc:
        raise ImportFileError(f"line 1: {exc}") from None
    names = [h.strip().lower() for h in header]
    if "email" not in names:
        raise ImportFileError("the header has no email column; expected: " + ",".join(COLUMNS))
    rows: list[MemberRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, f"unreadable: {exc}"))
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) > len(names):
            errors.append(RowError(start, f"{len(values)} fields but the header has {len(names)}"))
            continue
        raw = {name: value for name, value in zip(names, values, strict=False)}
        try:
            row = _row(start, raw)
        except ValueError as exc:
            errors.append(RowError(start, str(exc)))
            continue
        if row.email in first_line:
            errors.append(RowError(start, f"{row.email} is also on line {first_line[row.email]}"))
            continue
        first_line[row.email] = start
        rows.append(row)
    return rows, errors


def import_members(session: Session, workspace: Workspace, rows: list[MemberRow]) -> ImportReport:
    report = ImportReport()
    for row in rows:
        try:
            with session.begin_nested():
                outcome = _apply(session, workspace, row)
        except SQLAlchemyError as exc:
            report.errors.append(RowError(row.line, f"not saved: {type(exc).__name__}"))
            continue
        except ValueError as exc:
            report.errors.append(RowError(row.line, str(exc)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _apply(session: Session, workspace: Workspace, row: MemberRow) -> str:
    member = member_by_email(session, workspace, row.email)
    created = member is None
    if member is None:
        member = Member(
            workspace_id=workspace.id,
            email=row.email,
            display_name=row.name,
            real_name=row.name,
            tz=row.timezone or "UTC",
            delivery="email",
            digest="daily",
            opted_in=True,
        )
        session.add(member)
        session.flush()
    elif member.is_deleted:
        raise ValueError(f"{row.email} was removed from passiton; not re-created")
    changed = False
    if not created and member.slack_user_id is None:
        if row.name and member.display_name != row.name:
            member.display_name = member.real_name = row.name
            changed = True
        if row.timezone and member.tz != row.timezone:
            member.tz = row.timezone
            changed = True
    opted_in = member.opted_in  # consent is given at creation, never by an admin's re-import
    for kind, names in (("interest", row.interests), ("expertise", row.expertise)):
        changed |= _replace_imported(session, workspace, member, kind, names)
    member.opted_in = opted_in
    session.flush()
    if created:
        return "created"
    return "updated" if changed else "unchanged"


def _replace_imported(
    session: Session, workspace: Workspace, member: Member, kind: str, names: tuple[str, ...]
) -> bool:
    """Make the imported topics of one kind equal `names`; the member's own topics are left alone."""
    links = session.execute(
        select(MemberTopic.id, Topic.name, MemberTopic.source)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id == member.id, MemberTopic.kind == kind)
    ).all()
    stale = [link.id for link in links if link.source == "import" and link.name not in names]
    if stale:
        session.execute(delete(MemberTopic).where(MemberTopic.id.in_(stale)))
    added = add_member_topics(session, workspace, member, kind, names, source="import")
    return bool(stale or added)
