"""Reading the landing zone: which drops a source delivered, and what in its folders cannot be a drop.

Nothing a department puts under its source folder is ignored in silence: a folder that is not a drop date,
a hidden or unsafe file name, a symbolic link out of the landing zone or a file of another format is
refused with a reason the quarantine ledger keeps (see ``land``), so ``sudata status`` shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sudata.registry import Source
from sudata.settings import Paths

_DATE_SHAPE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Refused:
    file: str       # relative to the landing zone
    reason: str


def is_date(name: str) -> bool:
    try:
        datetime.strptime(name, "%Y-%m-%d")
        return _DATE_SHAPE.match(name) is not None
    except ValueError:
        return False


def drop_dates(paths: Paths, source: Source) -> list[str]:
    folder = paths.raw / source.folder
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if is_date(p.name) and _is_safe_dir(paths, p))


def _inside(paths: Paths, p: Path) -> bool:
    return p.resolve().is_relative_to(paths.raw.resolve())


def _is_safe_dir(paths: Paths, p: Path) -> bool:
    return p.is_dir() and _inside(paths, p)


def misplaced(paths: Paths, source: Source) -> list[Refused]:
    """Entries of the source folder that are not drop-date folders."""
    folder = paths.raw / source.folder
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        rel = str(p.relative_to(paths.raw))
        if is_date(p.name):
            if p.is_symlink() and not _inside(paths, p):
                out.append(Refused(rel + "/", f"the drop folder is a symbolic link out of the landing zone "
                                              f"(to {p.resolve()}): refused, nothing in it is read"))
            continue
        if p.is_dir():
            out.append(Refused(rel + "/", f"'{p.name}' is not a valid drop date folder ({_why_not_a_date(p.name)}): "
                                          f"nothing in it was loaded; rename it to the drop's date, YYYY-MM-DD"))
        elif p.is_file() and p.match(source.files):
            out.append(Refused(rel, f"file outside a drop date folder: not loaded; move it into "
                                    f"{source.folder}/YYYY-MM-DD/"))
    return out


def _why_not_a_date(name: str) -> str:
    m = _DATE_SHAPE.match(name)
    if not m:
        return "expected YYYY-MM-DD"
    year, month, day = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    return f"{year}-{month:02d} has no day {day}"


def scan_drop(paths: Paths, source: Source, drop_date: str) -> tuple[list[Path], list[Refused]]:
    """The files of one drop to read, and the entries of its folder refused, each with its reason."""
    folder = paths.raw / source.folder / drop_date
    if not _is_safe_dir(paths, folder):
        return [], []  # not a drop, or a link out of the zone (refused in ``misplaced``)
    files, refused = [], []
    for p in sorted(folder.iterdir()):
        rel = str(p.relative_to(paths.raw))
        reason = _refusal(paths, source, p)
        if reason:
            refused.append(Refused(rel, reason))
        else:
            files.append(p)
    return files, refused


def _refusal(paths: Paths, source: Source, p: Path) -> str | None:
    name = p.name
    if p.is_symlink() and not _inside(paths, p):
        return (f"symbolic link to {p.resolve()}, outside the landing zone: refused, nothing read; "
                f"deliver the file itself")
    if name.startswith(".."):
        return (f"unsafe file name '{name}' (a leading '..' reads as the parent folder in paths): not loaded; "
                f"ask the department to redeliver it under a plain name")
    if name.startswith("."):
        if not p.match(source.files):
            return None  # the sync tools' and editors' own hidden files (.DS_Store, .~lock…): not a delivery
        return (f"hidden file name '{name}' (leading dot: temporary and partial uploads are named like this): "
                f"not loaded; rename it without the dot if it is the drop")
    if p.is_dir():
        return "a folder inside the drop folder: not read (drops are flat); move its files up a level"
    if not p.is_file():
        return "not a regular file (broken link, pipe or device): not read"
    if not p.match(source.files):
        return (f"file name does not match the source's pattern '{source.files}': not loaded (another format?); "
                f"deliver it as {source.files}, or correct 'files' in the registry")
    return None
