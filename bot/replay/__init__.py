"""Offline replay of a Slack export: parsing the export and the stated profiles."""

from bot.replay.export import KNOWN_SUBTYPES, ExportReader, load_export, open_export
from bot.replay.model import (
    Attachment,
    Edited,
    Export,
    ExportChannel,
    ExportError,
    ExportFile,
    ExportMessage,
    ExportUser,
    Problem,
    Reaction,
    Reply,
)
from bot.replay.profiles import LoadedProfiles, Profile, ProfileError, load_profiles

__all__ = [
    "KNOWN_SUBTYPES",
    "Attachment",
    "Edited",
    "Export",
    "ExportChannel",
    "ExportError",
    "ExportFile",
    "ExportMessage",
    "ExportReader",
    "ExportUser",
    "LoadedProfiles",
    "Problem",
    "Profile",
    "ProfileError",
    "Reaction",
    "Reply",
    "load_export",
    "load_profiles",
    "open_export",
]
