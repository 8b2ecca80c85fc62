"""Who asked to be forgotten: collection stops for them until they opt in again.

Kept as a SHA-256 of team and Slack user id (`ForgottenUser.user_hash`): the row can answer "is this
user forgotten?" for an id in hand, but does not name anyone to someone reading the table. Looked up
once per session and workspace (`session.info`), since every ingested message asks.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.models import ForgottenUser, Workspace, utcnow
from bot.store.queries.conflicts import insert_row_ignoring_conflict

_CACHE = "passiton.forgotten"


def user_hash(team_id: str, slack_user_id: str) -> str:
    return hashlib.sha256(f"passiton-forgotten:{team_id}:{slack_user_id}".encode()).hexdigest()


def _hashes(session: Session, workspace: Workspace) -> set[str]:
    cache: dict[int, set[str]] = session.info.setdefault(_CACHE, {})
    found = cache.get(workspace.id)
    if found is None:
        found = cache[workspace.id] = set(
            session.scalars(select(ForgottenUser.user_hash).where(ForgottenUser.workspace_id == workspace.id))
        )
    return found


def is_forgotten(session: Session, workspace: Workspace, slack_user_id: str | None) -> bool:
    if not slack_user_id:
        return False
    hashes = _hashes(session, workspace)
    return bool(hashes) and user_hash(workspace.team_id, slack_user_id) in hashes


def mark_forgotten(session: Session, workspace: Workspace, slack_user_id: str) -> None:
    key = user_hash(workspace.team_id, slack_user_id)
    insert_row_ignoring_conflict(
        session,
        ForgottenUser,
        ("workspace_id", "user_hash"),
        {"workspace_id": workspace.id, "user_hash": key, "forgotten_at": utcnow()},
    )
    _hashes(session, workspace).add(key)


def clear_forgotten(session: Session, workspace: Workspace, slack_user_id: str | None) -> None:
    """They opted in again: collect as for anyone else."""
    if not slack_user_id or not is_forgotten(session, workspace, slack_user_id):
        return
    key = user_hash(workspace.team_id, slack_user_id)
    session.execute(
        delete(ForgottenUser).where(
            ForgottenUser.workspace_id == workspace.id, ForgottenUser.user_hash == key
        )
    )
    _hashes(session, workspace).discard(key)
