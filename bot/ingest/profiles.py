"""A Slack user object to the member fields we keep."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.store.models import Member, Workspace
from bot.store.queries.members import ensure_member, member_by_email

SLACKBOT_ID = "USLACKBOT"


def is_external(user: dict[str, Any], home_team: str | None, home_enterprise: str | None = None) -> bool:
    """A member of another organisation, seen through a Slack Connect channel: Slack marks them a stranger,
    or their user object belongs to another workspace that is not in our Enterprise Grid org. Such members
    carry none of the guest flags (they are not our guests), yet must be treated as guests."""
    if user.get("is_stranger"):
        return True
    profile = user.get("profile") or {}
    team = user.get("team_id") or profile.get("team")
    if not home_team or not team or team == home_team:
        return False
    grid = user.get("enterprise_user") or {}
    enterprise = (grid.get("enterprise_id") if isinstance(grid, dict) else None) or user.get("enterprise_id")
    return not (home_enterprise and enterprise == home_enterprise)


def profile_fields(
    user: dict[str, Any], home_team: str | None = None, home_enterprise: str | None = None
) -> dict[str, Any]:
    """`home_team`/`home_enterprise`: the installing workspace, against which Slack Connect members of
    other organisations are told apart (they count as guests)."""
    profile = user.get("profile") or {}
    email = profile.get("email")
    external = is_external(user, home_team, home_enterprise)
    return {
        "display_name": str(profile.get("display_name") or "")[:200],
        "real_name": str(user.get("real_name") or profile.get("real_name") or "")[:200],
        "tz": str(user.get("tz") or "UTC")[:64],
        "is_bot": bool(user.get("is_bot") or user.get("is_app_user")) or user.get("id") == SLACKBOT_ID,
        "is_deleted": bool(user.get("deleted")),
        "is_guest": bool(user.get("is_restricted") or user.get("is_ultra_restricted")) or external,
        "is_external": external,
        "email": str(email).strip().lower() if email else None,
    }


def apply_profile(session: Session, workspace: Workspace, user: dict[str, Any]) -> Member:
    """Create or refresh the member for a Slack user object (users.info, team_join, user_change)."""
    fields = profile_fields(user, workspace.team_id, workspace.enterprise_id)
    email = fields.pop("email")
    member = ensure_member(session, workspace, str(user["id"]), **fields)
    if email and member.email != email:
        # An email-only member imported earlier may already hold this address; never steal it.
        holder = member_by_email(session, workspace, email)
        if holder is None or holder.id == member.id:
            member.email = email
    return member


def needs_profile(member: Member) -> bool:
    """A member first seen as an id (channel members, mentions) has no profile yet."""
    return not (member.real_name or member.display_name)
