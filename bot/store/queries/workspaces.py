"""Workspaces (Slack teams) and processed-event bookkeeping."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import ProcessedEvent, Workspace, utcnow


def get_workspace(session: Session, team_id: str) -> Workspace | None:
    return session.scalars(select(Workspace).where(Workspace.team_id == team_id)).first()


def ensure_workspace(
    session: Session, team_id: str, *, name: str | None = None, bot_user_id: str | None = None
) -> Workspace:
    """The workspace for a team, created on first sight; reactivated if it was uninstalled."""
    workspace = get_workspace(session, team_id)
    if workspace is None:
        workspace = Workspace(team_id=team_id, name=name or "", bot_user_id=bot_user_id)
        try:
            with session.begin_nested():
                session.add(workspace)
        except IntegrityError:  # another replica created it a moment ago
            workspace = get_workspace(session, team_id)
            assert workspace is not None
    if name and workspace.name != name:
        workspace.name = name
    if bot_user_id and workspace.bot_user_id != bot_user_id:
        workspace.bot_user_id = bot_user_id
    return workspace


def reactivate(workspace: Workspace) -> None:
    workspace.active = True
    workspace.deactivated_at = None


def deactivate(workspace: Workspace) -> None:
    """Mark the workspace uninstalled. The first stamp counts: app_uninstalled and tokens_revoked both
    arrive, and Slack retries them, which must not push the retention job's purge date back."""
    if workspace.active or workspace.deactivated_at is None:
        workspace.deactivated_at = utcnow()
    workspace.active = False


def claim_event(session: Session, event_id: str, workspace_id: int | None) -> bool:
    """Record a Slack event id; False when it was already recorded (a retry or a second replica)."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(event_id=event_id, workspace_id=workspace_id))
        return True
    except IntegrityError:
        return False
