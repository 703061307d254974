"""Gathering from a CKAN Action API: the datasets modified since the last job (``package_search`` with
``fq=metadata_modified:[since TO *]``, oldest first, paged), and every dataset's name (``package_list``)
to withdraw here the ones removed at the source."""

from __future__ import annotations

from urllib.parse import urlencode

from .http import Deadline, SourceError
from .records import Record, iso_utc
from .sources import HarvestSource


def _action(source: HarvestSource, deadline: Deadline, name: str, **params):
    url = f"{source.url.rstrip('/')}/api/3/action/{name}?{urlencode(params)}"
    body = deadline.get_json(url)
    if not isinstance(body, dict) or not body.get("success"):
        raise SourceError(f"{url}: {(body or {}).get('error') if isinstance(body, dict) else 'not a CKAN answer'}")
    return body["result"]


def _solr_time(iso: str) -> str:
    return iso.replace("+00:00", "Z")


def gather(source: HarvestSource, deadline: Deadline, since: str | None):
    """(changed records as CKAN package dicts, every remote name at the source)."""
    changed: list[dict] = []
    fq = f"metadata_modified:[{_solr_time(since)} TO *]" if since else ""
    start = 0
    while True:
        params = {"q": "*:*", "rows": source.page_size, "start": start, "sort": "metadata_modified asc"}
        if fq:
            params["fq"] = fq
        page = _action(source, deadline, "package_search", **params)
        results = page.get("results") or []
        changed.extend(r for r in results if isinstance(r, dict))
        start += len(results)
        if not results or start >= int(page.get("count") or 0):
            break
    names: set[str] = set()
    offset = 0
    while True:
        batch = _action(source, deadline, "package_list", limit=1000, offset=offset)
        names.update(str(n) for n in batch)
        offset += len(batch)
        if len(batch) < 1000:
            break
    return changed, names


def _extras(pkg: dict) -> dict:
    return {str(e.get("key")): e.get("value") for e in pkg.get("extras") or [] if isinstance(e, dict)}


def record(source: HarvestSource, pkg: dict) -> Record:
    extras = _extras(pkg)
    org = pkg.get("organization") if isinstance(pkg.get("organization"), dict) else {}
    return Record(
        remote_id=str(pkg.get("id") or ""),
        remote_name=str(pkg.get("name") or ""),
        title=str(pkg.get("title") or ""),
        modified=iso_utc(pkg.get("metadata_modified")),
        original_url=f"{source.url.rstrip('/')}/dataset/{pkg.get('name') or pkg.get('id')}",
        description=str(pkg.get("notes") or ""),
        tags=[t.get("name") if isinstance(t, dict) else t for t in pkg.get("tags") or []],
        domain=str(extras.get("domain") or ""),
        open_type=str(extras.get("open_type") or "unconditional"),
        update_frequency=str(extras.get("update_frequency") or ""),
        publisher=str(org.get("title") or org.get("name") or extras.get("department") or ""),
        license_id=str(pkg.get("license_id") or ""), license_title=str(pkg.get("license_title") or ""),
        license_url=str(pkg.get("license_url") or ""),
        resources=[{"name": str(r.get("name") or ""), "url": str(r.get("url") or ""),
                    "format": str(r.get("format") or ""), "media_type": str(r.get("mimetype") or "")}
                   for r in pkg.get("resources") or [] if isinstance(r, dict)],
    )
