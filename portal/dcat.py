"""Catalog metadata in the DCAT family: DCAT-AP as JSON-LD (paged with Hydra, as ckanext-dcat pages
it) at ``/catalog.jsonld``, one dataset at ``/dataset/<name>.jsonld``, and DCAT-US ``/data.json``."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from sudata.vocabulary import UPDATE_FREQUENCIES

from .catalog import DATA_FORMATS, DIMENSION_LABELS, DIMENSIONS, Dataset, Snapshot, parse_time
from .errors import SearchQueryError as QueryError
from .errors import error_response
from .ckan import SITE_DESCRIPTION, SITE_TITLE, public_base
from .jsonutil import dumps
from .search import SearchQueryError, search

router = APIRouter(tags=["DCAT"])

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "spdx": "http://spdx.org/rdf/terms#",
    "dqv": "http://www.w3.org/ns/dqv#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "schema": "http://schema.org/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
SITE_PUBLISHER = "苏州市数据局"
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = UPDATE_FREQUENCIES  # 更新频率 → EU frequency vocabulary / ISO 8601 repeating interval (DCAT-US)
ACCESS_RIGHTS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED"}
FILE_TYPES = {"csv": "CSV", "parquet": "PARQUET", "json": "JSON"}


def _dt(value: str | None) -> dict | None:
    dt = parse_time(value)
    return {"@value": dt.isoformat(timespec="seconds"), "@type": "xsd:dateTime"} if dt else None


def _node(iri: str, rdf_type: str) -> dict:
    """A reference typed with the class DCAT-AP 3's shapes expect of it (checked without inference)."""
    return {"@id": iri, "@type": rdf_type}


def _lit(value, lang: str | None = None):
    return {"@value": value, "@language": lang} if lang else value


def dcat_dataset(d: Dataset, base: str, lic: dict | None = None) -> dict:
    uri = f"{base}/dataset/{d.name}"
    titles = [_lit(d.title, "zh")] + ([_lit(d.title_en, "en")] if d.title_en else [])
    dists = []
    for fmt in d.formats:
        f = d.current.file(fmt)
        label, media, ext = DATA_FORMATS[fmt]
        dist = {
            "@id": f"{uri}/resource/{d.resource_ids[fmt]}",
            "@type": "dcat:Distribution",
            "dct:identifier": d.resource_ids[fmt],
            "dct:title": _lit(f"{d.title} ({label})", "zh"),
            "dcat:accessURL": _node(f"{uri}/download.{ext}", "rdfs:Resource"),
            "dcat:downloadURL": _node(f"{uri}/download.{ext}", "rdfs:Resource"),
            "dcat:mediaType": _node(f"http://www.iana.org/assignments/media-types/{f.get('media_type') or media}",
                                    "dct:MediaType"),
            "dct:format": _node(f"{EU}file-type/{FILE_TYPES[fmt]}", "dct:MediaTypeOrExtent"),
            "dct:modified": _dt(d.current.published_at),
        }
        if f.get("size") is not None:
            dist["dcat:byteSize"] = {"@value": str(f["size"]), "@type": "xsd:nonNegativeInteger"}
        if f.get("sha256"):
            dist["spdx:checksum"] = {
                "@type": "spdx:Checksum",
                "spdx:algorithm": _node("http://spdx.org/rdf/terms#checksumAlgorithm_sha256", "spdx:ChecksumAlgorithm"),
                "spdx:checksumValue": {"@value": f["sha256"], "@type": "xsd:hexBinary"},
            }
        dists.append(dist)
    out = {
        "@id": uri,
        "@type": "dcat:Dataset",
        "dct:identifier": d.id,
        "dct:title": titles,
        "dct:description": _lit(d.description or d.title, "zh"),   # mandatory in DCAT-AP
        "dcat:keyword": [_lit(t, "zh") for t in d.tags],
        "dcat:theme": [{"@id": f"{base}/group/{quote(d.domain)}", "@type": "skos:Concept",
                        "skos:prefLabel": _lit(d.domain, "zh")}] if d.domain else [],
        "dct:publisher": {
            "@id": f"{base}/organization/{d.department}", "@type": ["foaf:Organization", "foaf:Agent"],
            "foaf:name": _lit(d.department_name, "zh"),
        },
        "dct:issued": _dt(d.created_at),
        "dct:modified": _dt(d.updated_at),
        "owl:versionInfo": str(d.current_version),
        "dcat:version": str(d.current_version),   # DCAT-AP 3 (owl:versionInfo for DCAT-AP 2 clients)
        "dcat:landingPage": _node(uri, "foaf:Document"),
        "dct:accessRights": _node(f"{EU}access-right/{ACCESS_RIGHTS.get(d.open_type, 'NON_PUBLIC')}",
                                  "dct:RightsStatement"),
        "dct:conformsTo": _node(f"{uri}/datapackage.json", "dct:Standard"),
        "dcat:distribution": dists,
    }
    if d.harvest:
        _harvested(out, d, uri)
        dists = out["dcat:distribution"]
    elif d.directory:
        out.pop("dct:conformsTo", None)
        out.pop("owl:versionInfo", None)
        out.pop("dcat:version", None)
        out["dct:identifier"] = d.directory["code"]
        if d.directory.get("planned_open_date") and not d.directory.get("opened_date"):
            out["dct:issued"] = None
            out["dct:available"] = {"@value": d.directory["planned_open_date"], "@type": "xsd:date"}
        out = {k: v for k, v in out.items() if v is not None}
    if lic and lic.get("url"):
        out["dct:license"] = _node(lic["url"], "dct:LicenseDocument")
        for dist in dists:
            dist["dct:license"] = _node(lic["url"], "dct:LicenseDocument")
    freq = FREQUENCY.get(d.update_frequency)
    if freq:
        out["dct:accrualPeriodicity"] = _node(f"{EU}frequency/{freq[0]}", "dct:Frequency")
    dims = (d.quality or {}).get("dimensions") or {}
    measurements = []
    for dim in DIMENSIONS:
        info = dims.get(dim)
        if isinstance(info, dict) and info.get("score") is not None:
            measurements.append({
                "@type": "dqv:QualityMeasurement",
                "dqv:isMeasurementOf": {"@id": f"{base}/quality#{dim}", "skos:prefLabel": DIMENSION_LABELS[dim]},
                "dqv:value": {"@value": str(info["score"]), "@type": "xsd:decimal"},
            })
    if measurements:
        out["dqv:hasQualityMeasurement"] = measurements
    return {k: v for k, v in out.items() if v is not None}


def _harvested(out: dict, d: Dataset, uri: str) -> None:
    """A harvested entry: its original as landing page and provenance, its distributions at the source."""
    h = d.harvest
    out["dcat:landingPage"] = _node(h["original_url"], "foaf:Document")
    out["prov:wasDerivedFrom"] = {"@id": h["original_url"]}   # the record it was harvested from
    out["adms:identifier"] = {"@type": "adms:Identifier", "skos:notation": h["remote_id"]}
    out.pop("dct:conformsTo", None)
    out.pop("owl:versionInfo", None)
    out.pop("dcat:version", None)
    out["dcat:distribution"] = [{
        "@id": f"{uri}/resource/{i}", "@type": "dcat:Distribution",
        "dct:title": _lit(r.get("name") or r.get("url"), "zh"),
        "dcat:accessURL": _node(r["url"], "rdfs:Resource"),
        **({"dcat:mediaType": _node(f"http://www.iana.org/assignments/media-types/{r['media_type']}", "dct:MediaType")}
           if r.get("media_type") else {}),
    } for i, r in enumerate(h["resources"])]


def _dataset_node(snap: Snapshot, d: Dataset, base: str) -> dict:
    key = ("dcat", base)
    node = d.cache.get(key)
    if node is None:
        node = d.cache[key] = dcat_dataset(d, base, snap.license(d))
    return node


@router.get("/catalog.jsonld", summary="The catalog as DCAT-AP JSON-LD, paged")
async def catalog_jsonld(
    request: Request,
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=1000),
    modified_since: str | None = Query(None, description="ISO time: only datasets modified since"),
) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    base = public_base(request)
    fq = [f"metadata_modified:[{modified_since} TO *]"] if modified_since else []
    try:
        if modified_since and not re.fullmatch(r"[^\s\[\]{}()\"]+", modified_since):
            raise SearchQueryError(f"modified_since: not a time: {modified_since!r}")
        r = search(snap, fq=fq, sort="metadata_modified desc", start=(page - 1) * page_size, rows=page_size)
    except SearchQueryError as exc:
        return error_response(QueryError(f"modified_since: {exc}"))
    last = max(1, -(-r.count // page_size))

    def page_url(n: int) -> str:
        extra = f"&modified_since={modified_since}" if modified_since else ""
        return f"{base}/catalog.jsonld?page={n}&page_size={page_size}{extra}"

    view = {
        "@id": page_url(page), "@type": "hydra:PagedCollection",
        "hydra:totalItems": {"@value": r.count, "@type": "xsd:integer"},
        "hydra:itemsPerPage": {"@value": page_size, "@type": "xsd:integer"},
        "hydra:firstPage": page_url(1), "hydra:lastPage": page_url(last),
    }
    if page < last:
        view["hydra:nextPage"] = page_url(page + 1)
    if page > 1:
        view["hydra:previousPage"] = page_url(page - 1)
    doc = {
        "@context": {**CONTEXT, "skos": "http://www.w3.org/2004/02/skos/core#"},
        "@graph": [
            {
                "@id": f"{base}/catalog.jsonld", "@type": "dcat:Catalog",
                "dct:title": [_lit(SITE_TITLE, "zh"), _lit("Suzhou Public Data Open Catalog", "en")],
                "dct:description": _lit(SITE_DESCRIPTION, "en"),
                "foaf:homepage": _node(f"{base}/", "foaf:Document"),
                "dct:language": _node(f"{EU}language/ZHO", "dct:LinguisticSystem"),
                "dct:publisher": {"@id": f"{base}/#publisher", "@type": ["foaf:Organization", "foaf:Agent"],
                                  "foaf:name": _lit(SITE_PUBLISHER, "zh")},
                "dct:modified": _dt(max((d.updated_at for d in snap.datasets), default=None)),
                "dcat:dataset": [{"@id": f"{base}/dataset/{snap.datasets[i].name}"} for i in r.positions],
            },
            view,
            *(_dataset_node(snap, snap.datasets[i], base) for i in r.positions),
        ],
    }
    return Response(dumps(doc), media_type="application/ld+json")


@router.get("/dataset/{name}.jsonld", summary="One dataset as DCAT-AP JSON-LD")
async def dataset_jsonld(name: str, request: Request) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    d = snap.get(name)
    if d is None or d.name != name:
        return JSONResponse({"error": f"Dataset not found: {name}"}, status_code=404)
    doc = {"@context": {**CONTEXT, "skos": "http://www.w3.org/2004/02/skos/core#"},
           **_dataset_node(snap, d, public_base(request))}
    return Response(dumps(doc), media_type="application/ld+json")


def _contact(d: Dataset) -> dict:
    catalog = d.meta.get("catalog") if isinstance(d.meta.get("catalog"), dict) else {}
    contact = {"@type": "vcard:Contact", "fn": d.department_name}
    email = catalog.get("contact_email") or d.meta.get("contact_email")
    if email:
        contact["hasEmail"] = email if str(email).startswith("mailto:") else f"mailto:{email}"
    return contact


SPDX_SHA256 = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"


def dcat_us_dataset(d: Dataset, base: str, lic: dict | None = None) -> dict:
    uri = f"{base}/dataset/{d.name}"
    out = {
        "@type": "dcat:Dataset",
        "identifier": uri,
        "title": d.title,
        "description": d.description or d.title,
        "keyword": d.tags or [d.domain or d.title],
        "modified": (parse_time(d.updated_at) or parse_time(d.created_at)).isoformat(timespec="seconds"),
        "issued": parse_time(d.created_at).isoformat(timespec="seconds") if parse_time(d.created_at) else None,
        "publisher": {"@type": "org:Organization", "name": d.department_name},
        "contactPoint": _contact(d),
        "accessLevel": "public" if d.open_type == "unconditional" else "restricted public",
        "license": (lic or {}).get("url") or None,
        "landingPage": uri,
        "describedBy": f"{uri}/datapackage.json",
        "describedByType": "application/json",
        "theme": [d.domain] if d.domain else [],
        "language": ["zh-CN"],
        "distribution": [],
    }
    freq = FREQUENCY.get(d.update_frequency)
    if freq:
        out["accrualPeriodicity"] = freq[1]
    if d.versions:  # DCAT-US v3 (dcat:version, adms:versionNotes)
        out["version"] = str(d.current_version)
        out["versionNotes"] = f"第 {d.current_version} 版，{d.current.row_count} 行"
    if d.open_type != "unconditional":
        out["rights"] = "有条件开放：数据行与文件仅向持有该数据集授权密钥的申请单位提供。"
    if d.directory:
        out.pop("describedBy")
        out.pop("describedByType")
    if d.harvest:
        out["landingPage"] = d.harvest["original_url"]
        out.pop("describedBy")
        out.pop("describedByType")
        out["distribution"] = [{"@type": "dcat:Distribution", "title": r.get("name") or r["url"],
                                "accessURL": r["url"], **({"format": r["format"]} if r.get("format") else {}),
                                **({"mediaType": r["media_type"]} if r.get("media_type") else {})}
                               for r in d.harvest["resources"]]
    for fmt in d.formats:
        f = d.current.file(fmt)
        label, media, ext = DATA_FORMATS[fmt]
        dist = {
            "@type": "dcat:Distribution", "title": f"{d.title} ({label})", "format": label,
            "mediaType": f.get("media_type") or media, "downloadURL": f"{uri}/download.{ext}",
        }
        # DCAT-US v3 distribution fields: dcat:byteSize and spdx:checksum of the current version's file
        if f.get("size") is not None:
            dist["byteSize"] = int(f["size"])
        if f.get("sha256"):
            dist["checksum"] = {"algorithm": SPDX_SHA256, "checksumValue": f["sha256"]}
        if d.current.published_at and parse_time(d.current.published_at):
            dist["modified"] = parse_time(d.current.published_at).isoformat(timespec="seconds")
        out["distribution"].append(dist)
    return {k: v for k, v in out.items() if v is not None}


@router.get("/data.json", summary="The catalog in DCAT-US (Project Open Data) form")
async def data_json(request: Request) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    base = public_base(request)
    key = ("data.json", base)
    body = snap.cache.get(key)
    if body is None:
        body = snap.cache[key] = dumps({
            "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
            "@id": f"{base}/data.json",
            "@type": "dcat:Catalog",
            "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
            "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
            "dataset": [dcat_us_dataset(d, base, snap.license(d)) for d in sorted(snap.datasets, key=lambda d: d.name)],
        })
    return Response(body, media_type="application/json")
