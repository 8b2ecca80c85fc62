"""Read files out of an export given as a .zip or a folder, without trusting it.

Nothing is extracted to disk. Entry names that could escape the export (`..`, absolute paths,
drive letters, backslashes) are ignored, symlinks leading outside a folder export are ignored, and
every read is capped so a zip bomb cannot exhaust memory: per file, and in total.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Protocol

from bot.replay.model import ExportError

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024

# Names of the metadata files that mark the export's root folder.
ROOT_MARKERS = ("users.json", "org_users.json", "channels.json")
# Clutter that archivers add; never part of an export.
_JUNK_PARTS = ("__MACOSX",)


class ProblemSink(Protocol):
    def add(self, file: str, what: str, count: int = 1) -> None: ...


def is_safe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    if any(part == ".." for part in parts):
        return False
    # A drive letter ("C:") in the first part would be absolute on Windows.
    return not (len(parts[0]) == 2 and parts[0][1] == ":")


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    return any(p in _JUNK_PARTS or p.startswith("._") or p == ".DS_Store" for p in parts)


class ExportSource:
    """Relative POSIX names of the export's files (below its root) and a capped `read`."""

    def __init__(self, label: str, max_file_bytes: int, max_total_bytes: int) -> None:
        self.label = label
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._read_total = 0
        self.names: list[str] = []
        self.prefix = ""

    def read(self, name: str) -> bytes:
        data = self._read(name)
        self._read_total += len(data)
        if self._read_total > self.max_total_bytes:
            raise ExportError(
                self.label,
                f"the export expands to more than {self.max_total_bytes} bytes; refusing to read on",
            )
        return data

    def _read(self, name: str) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying file, if any."""

    def _set_names(self, names: list[str], problems: ProblemSink) -> None:
        """Keep safe names, strip the folder that wraps the export if it was zipped with one."""
        safe: list[str] = []
        for name in names:
            if not is_safe_name(name):
                problems.add(name, "unsafe path in the export ignored")
            elif not _is_junk(name):
                safe.append(name)
        roots = [
            n.rsplit("/", 1)[0] if "/" in n else "" for n in safe if n.rsplit("/", 1)[-1] in ROOT_MARKERS
        ]
        root = min(roots, key=lambda r: (r.count("/"), r)) if roots else ""
        prefix = root + "/" if root else ""
        self.prefix = prefix
        self.names = sorted(n[len(prefix) :] for n in safe if n.startswith(prefix))


class ZipSource(ExportSource):
    def __init__(self, path: Path, problems: ProblemSink, max_file_bytes: int, max_total_bytes: int) -> None:
        super().__init__(path.name, max_file_bytes, max_total_bytes)
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ExportError(path.name, f"not a readable zip archive ({exc})") from None
        declared = 0
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            declared += info.file_size
            self._infos[info.filename] = info
        if declared > max_total_bytes:
            self._zip.close()
            raise ExportError(
                path.name,
                f"the archive declares {declared} bytes uncompressed; the limit is {max_total_bytes}",
            )
        self._set_names(list(self._infos), problems)

    def _read(self, name: str) -> bytes:
        info = self._infos[self.prefix + name]
        try:
            with self._zip.open(info) as fh:
                # Read one byte past the cap: sizes in the zip header can lie.
                data = fh.read(self.max_file_bytes + 1)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            NotImplementedError,
            RuntimeError,
            ValueError,
        ) as exc:
            raise ExportError(f"{self.label}:{name}", f"cannot be read from the archive ({exc})") from None
        if len(data) > self.max_file_bytes:
            raise ExportError(f"{self.label}:{name}", f"larger than {self.max_file_bytes} bytes uncompressed")
        return data

    def close(self) -> None:
        self._zip.close()


class DirSource(ExportSource):
    def __init__(self, path: Path, problems: ProblemSink, max_file_bytes: int, max_total_bytes: int) -> None:
        super().__init__(path.name, max_file_bytes, max_total_bytes)
        self._root = path.resolve()
        names: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self._root, followlinks=False):
            dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
            rel_dir = Path(dirpath).relative_to(self._root)
            for filename in filenames:
                rel = PurePosixPath(*rel_dir.parts, filename).as_posix()
                full = Path(dirpath) / filename
                if full.is_symlink() and not full.resolve().is_relative_to(self._root):
                    problems.add(rel, "symlink leading outside the export ignored")
                    continue
                names.append(rel)
        self._set_names(names, problems)

    def _read(self, name: str) -> bytes:
        full = self._root / (self.prefix + name)
        try:
            if not stat.S_ISREG(full.stat().st_mode):
                raise ExportError(name, "not a regular file")
            with full.open("rb") as fh:
                data = fh.read(self.max_file_bytes + 1)
        except OSError as exc:
            raise ExportError(name, f"cannot be read ({exc.strerror or exc})") from None
        if len(data) > self.max_file_bytes:
            raise ExportError(name, f"larger than {self.max_file_bytes} bytes")
        return data


def open_source(
    path: str | os.PathLike[str],
    problems: ProblemSink,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> ExportSource:
    p = Path(path)
    if p.is_dir():
        return DirSource(p, problems, max_file_bytes, max_total_bytes)
    if p.is_file():
        return ZipSource(p, problems, max_file_bytes, max_total_bytes)
    raise ExportError(str(p), "no such file or folder")
