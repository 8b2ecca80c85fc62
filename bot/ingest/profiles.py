"""A Slack user object to the member fields we keep."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.store.models import Member, Workspace
from bot.store.queries.members import ensure_member, member_by_email

SLACKBOT_ID = "USLACKBOT"


def profile_fields(user: dict[str, Any]) -> dict[str, Any]:
    profile = user.get("profile") or {}
    email = profile.get("email")
    return {
        "display_name": str(profile.get("display_name") or "")[:200],
        "real_name": str(user.get("real_name") or profile.get("real_name") or "")[:200],
        "tz": str(user.get("tz") or "UTC")[:64],
        "is_bot": bool(user.get("is_bot") or user.get("is_app_user")) or user.get("id") == SLACKBOT_ID,
        "is_deleted": bool(user.get("deleted")),
        "is_guest": bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        "email": str(email).strip().lower() if email else None,
    }


def apply_profile(session: Session, workspace: Workspace, user: dict[str, Any]) -> Member:
    """Create or refresh the member for a Slack user object (users.info, team_join, user_change)."""
    fields = profile_fields(user)
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
