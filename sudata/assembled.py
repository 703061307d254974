"""A version's file stored as pieces: the file a consumer gets is its pieces read one after the other.

A version's CSV and JSON are kept as one part per drop date (see :mod:`sudata.publish`), so that a part
whose rows did not change is shared with the version before instead of written again. The index records
the file as ``segments``, in order::

    [{"text": "\\ufeffa,b\\n"},                                          literal bytes (UTF-8)
     {"path": "parts/csv/2026-11-23.csv", "offset": 0, "size": 1234},   a byte range of a file of the version
     ...]

Every path is inside the version's own directory (a shared part is a hard link there), so a version stays
complete on its own. A file entry without ``segments`` is one plain file at ``path``.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO


def is_assembled(entry: dict) -> bool:
    return isinstance(entry.get("segments"), list)


def piece_paths(entry: dict) -> list[str]:
    """The files of a version's directory that a file entry reads (one per segment that is not text)."""
    return [s["path"] for s in entry["segments"] if "path" in s] if is_assembled(entry) else [entry["path"]]


def segment_size(segment: dict) -> int:
    return len(segment["text"].encode()) if "text" in segment else int(segment["size"])


def assembled_size(segments: list[dict]) -> int:
    return sum(segment_size(s) for s in segments)


class AssembledFile(io.RawIOBase):
    """The concatenation of ``segments`` as one read-only, seekable binary file."""

    def __init__(self, directory: Path, segments: list[dict]):
        super().__init__()
        self._directory = Path(directory)
        self._segments = segments
        self._sizes = [segment_size(s) for s in segments]
        self._size = sum(self._sizes)
        self._pos = 0
        self._open: tuple[int, BinaryIO] | None = None  # the part file read last, kept open for the next read

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        """Fills ``buffer`` across segments; short only at the end of the file."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            n = self._read_segment(view[filled:])
            if not n:
                break
            filled += n
        return filled

    def _read_segment(self, view: memoryview) -> int:
        start, index = 0, 0
        while index < len(self._sizes) and start + self._sizes[index] <= self._pos:
            start += self._sizes[index]
            index += 1
        if index == len(self._sizes):
            return 0
        within = self._pos - start
        n = min(len(view), self._sizes[index] - within)
        segment = self._segments[index]
        if "text" in segment:
            view[:n] = segment["text"].encode()[within:within + n]
        else:
            f = self._part(index)
            f.seek(int(segment.get("offset", 0)) + within)
            if f.readinto(view[:n]) != n:
                raise OSError(f"{self._directory / segment['path']} is shorter than the index records")
        self._pos += n
        return n

    def _part(self, index: int) -> BinaryIO:
        if self._open is None or self._open[0] != index:
            if self._open is not None:
                self._open[1].close()
            self._open = (index, open(self._directory / self._segments[index]["path"], "rb"))
        return self._open[1]

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None
        super().close()


def open_version_file(directory: Path, entry: dict) -> BinaryIO:
    """One format's file of a version (``versions.files[fmt]``) as a binary file, whatever its storage."""
    if is_assembled(entry):
        return io.BufferedReader(AssembledFile(directory, entry["segments"]), buffer_size=1 << 20)
    return open(Path(directory) / entry["path"], "rb")


def sha256_of(directory: Path, entry: dict) -> str:
    h = hashlib.sha256()
    with open_version_file(directory, entry) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def missing_pieces(directory: Path, entry: dict) -> list[str]:
    """The pieces of a version's file that are not in its directory, or shorter than the index records."""
    directory = Path(directory)
    if not is_assembled(entry):
        return [] if (directory / entry["path"]).is_file() else [entry["path"]]
    return [s["path"] for s in entry["segments"] if "path" in s and (
        not (directory / s["path"]).is_file()
        or (directory / s["path"]).stat().st_size < int(s.get("offset", 0)) + int(s["size"]))]
