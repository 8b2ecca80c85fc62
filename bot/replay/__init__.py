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
    "Problem",
    "Reaction",
    "Reply",
    "load_export",
    "open_export",
]
