"""A harvested record as every kind of source yields it, and the checks it must pass to be imported."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sudata.vocabulary import OPEN_TYPES, UPDATE_FREQUENCIES


class InvalidRecord(ValueError):
    """A record that cannot be imported; the job reports it and goes on."""


@dataclass
class Record:
    remote_id: str                         # the source's own identifier: the stable key of the entry
    title: str
    modified: str | None                   # ISO 8601 UTC, as the source states it
    original_url: str                      # the entry's page (or document) at the source
    remote_name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    domain: str = ""
    open_type: str = "unconditional"
    update_frequency: str = ""
    publisher: str = ""
    license_id: str = ""
    license_title: str = ""
    license_url: str = ""
    resources: list[dict] = field(default_factory=list)   # {name, url, format, media_type}


def iso_utc(value) -> str | None:
    """A source's timestamp as ISO 8601 UTC; naive times (CKAN's) are UTC. Raises InvalidRecord."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00"
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"modified time {text!r} is not ISO 8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def checked(record: Record) -> Record:
    """The record with its texts trimmed, or InvalidRecord saying what is wrong."""
    if not str(record.remote_id or "").strip():
        raise InvalidRecord("no identifier")
    record.remote_id = str(record.remote_id).strip()
    record.title = str(record.title or "").strip()
    if not record.title:
        raise InvalidRecord("no title")
    if len(record.title) > 500:
        raise InvalidRecord("title longer than 500 characters")
    if not re.match(r"https?://", record.original_url or ""):
        raise InvalidRecord(f"no http(s) link to the original ({record.original_url!r})")
    if record.open_type not in OPEN_TYPES:
        record.open_type = "unconditional"
    if record.update_frequency not in UPDATE_FREQUENCIES:
        record.update_frequency = ""
    record.tags = [t for t in dict.fromkeys(str(t).strip() for t in record.tags) if t]
    record.resources = [r for r in record.resources if isinstance(r, dict) and re.match(r"https?://", r.get("url") or "")]
    return record


def entry_name(source_id: str, record: Record) -> str:
    """The entry's CKAN name here: the source's id and the remote name (or a digest of the identifier)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", (record.remote_name or "").lower()).strip("-")
    if not slug or len(slug) > 60:
        slug = hashlib.sha1(record.remote_id.encode("utf-8")).hexdigest()[:16]
    return f"{source_id.replace('_', '-')}--{slug}"
