"""The declared harvest sources (``harvest/sources.yml``; ``SUDATA_HARVEST_SOURCES`` names another file)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from sudata.settings import PROJECT_ROOT

SOURCES_FILE = PROJECT_ROOT / "harvest" / "sources.yml"
KINDS = ("ckan", "dcat", "datajson")
_ID = re.compile(r"[a-z][a-z0-9_]{1,40}")


class HarvestConfigError(ValueError):
    """A harvest source declared wrongly; the message names the source and the field."""


@dataclass(frozen=True)
class HarvestSource:
    id: str
    title: str
    kind: str                      # ckan | dcat | datajson
    url: str                       # the API root, the document's URL, or a local path
    organization: str              # the organisation (CKAN organization name) its entries are listed under
    organization_title: str
    schedule: str = "0 3 * * *"    # cron, Asia/Shanghai
    timeout_s: float = 600.0       # the whole job; it stops and withdraws nothing past it
    request_timeout_s: float = 30.0
    page_size: int = 500


def load_sources(path: Path | None = None) -> dict[str, HarvestSource]:
    path = Path(path or os.environ.get("SUDATA_HARVEST_SOURCES", SOURCES_FILE))
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text("utf-8")) or {}
    out: dict[str, HarvestSource] = {}
    for i, raw in enumerate(doc.get("sources") or []):
        where = f"{path.name}: source {raw.get('id') or i + 1}"
        if not isinstance(raw, dict):
            raise HarvestConfigError(f"{where}: a mapping expected")
        for key in ("id", "title", "kind", "url", "organization"):
            if not raw.get(key):
                raise HarvestConfigError(f"{where}: field '{key}' is required")
        if not _ID.fullmatch(str(raw["id"])):
            raise HarvestConfigError(f"{where}: field 'id' must be snake_case (a-z, 0-9, _)")
        if raw["kind"] not in KINDS:
            raise HarvestConfigError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}")
        org = raw["organization"]
        if not isinstance(org, dict) or not org.get("id") or not org.get("name"):
            raise HarvestConfigError(f"{where}: field 'organization' needs 'id' and 'name'")
        if raw["id"] in out:
            raise HarvestConfigError(f"{where}: declared twice")
        out[raw["id"]] = HarvestSource(
            id=raw["id"], title=str(raw["title"]), kind=raw["kind"], url=str(raw["url"]),
            organization=str(org["id"]), organization_title=str(org["name"]),
            schedule=str(raw.get("schedule") or HarvestSource.schedule),
            timeout_s=float(raw.get("timeout_s") or HarvestSource.timeout_s),
            request_timeout_s=float(raw.get("request_timeout_s") or HarvestSource.request_timeout_s),
            page_size=int(raw.get("page_size") or HarvestSource.page_size),
        )
    return out
