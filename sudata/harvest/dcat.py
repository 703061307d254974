"""Reading DCAT catalogs: DCAT-AP in any RDF syntax rdflib reads (JSON-LD, Turtle, RDF/XML), following
Hydra paging, and DCAT-US ``data.json``. A document is read whole each time (the list of what the source
holds is what withdraws entries here); unchanged records are skipped at import by their modified time."""

from __future__ import annotations

import json

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from sudata.vocabulary import UPDATE_FREQUENCIES

from .http import Deadline, SourceError
from .records import InvalidRecord, Record, iso_utc
from .sources import HarvestSource

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU_FREQUENCY = {v[0]: k for k, v in UPDATE_FREQUENCIES.items() if v and v[0]}
ISO_FREQUENCY = {v[1]: k for k, v in UPDATE_FREQUENCIES.items() if v and v[1]}
LANGUAGES = ("zh", "zh-cn", "zh-hans", None, "en")
RDF_FORMATS = {"application/ld+json": "json-ld", "text/turtle": "turtle", "application/rdf+xml": "xml",
               "application/n-triples": "nt"}
SUFFIXES = {".jsonld": "json-ld", ".json": "json-ld", ".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".nt": "nt"}
MAX_PAGES = 10_000


def _rdf_format(url: str, media_type: str) -> str:
    if media_type in RDF_FORMATS:
        return RDF_FORMATS[media_type]
    for suffix, fmt in SUFFIXES.items():
        if url.split("?", 1)[0].endswith(suffix):
            return fmt
    return "json-ld"


def gather_dcat(source: HarvestSource, deadline: Deadline) -> Graph:
    """The whole catalog as one graph, every Hydra page of it."""
    graph = Graph()
    url: str | None = source.url
    seen: set[str] = set()
    while url and url not in seen and len(seen) < MAX_PAGES:
        seen.add(url)
        body, media_type = deadline.get(url, accept="application/ld+json, text/turtle;q=0.9")
        page = Graph()
        try:
            page.parse(data=body, format=_rdf_format(url, media_type), publicID=url)
        except Exception as exc:  # rdflib raises many kinds for a document it cannot read
            raise SourceError(f"{url}: not a DCAT document ({type(exc).__name__}: {exc})") from exc
        graph += page
        nxt = next((o for p in (HYDRA.nextPage, HYDRA.next) for o in page.objects(None, p)), None)
        url = str(nxt) if nxt is not None else None
    return graph


def _text(g: Graph, s, p) -> str:
    values = [o for o in g.objects(s, p) if isinstance(o, Literal)]
    for lang in LANGUAGES:
        for o in values:
            if (o.language or None) == lang or (lang and (o.language or "").lower() == lang):
                return str(o).strip()
    return str(values[0]).strip() if values else ""


def _texts(g: Graph, s, p) -> list[str]:
    values = [o for o in g.objects(s, p) if isinstance(o, Literal)]
    preferred = [o for o in values if (o.language or "").lower().startswith("zh")] or \
        [o for o in values if not o.language] or [o for o in values if (o.language or "") == "en"] or values
    return [str(o) for o in preferred]


def _ref(g: Graph, s, p) -> str:
    for o in g.objects(s, p):
        return str(o)
    return ""


def dcat_records(g: Graph):
    """(identifier, a Record or the InvalidRecord it raised) per dcat:Dataset of the graph."""
    for s in sorted(set(g.subjects(RDF.type, DCAT.Dataset)), key=str):
        ident = _text(g, s, DCTERMS.identifier) or (str(s) if isinstance(s, URIRef) else "")
        try:
            yield ident, _dcat_record(g, s, ident)
        except InvalidRecord as exc:
            yield ident, exc


def _dcat_record(g: Graph, s, ident: str) -> Record:
    landing = _ref(g, s, DCAT.landingPage) or (str(s) if isinstance(s, URIRef) else "")
    access = _ref(g, s, DCTERMS.accessRights).rsplit("/", 1)[-1]
    if access == "NON_PUBLIC":
        raise InvalidRecord("not public (dct:accessRights NON_PUBLIC)")
    publisher = next(iter(g.objects(s, DCTERMS.publisher)), None)
    resources = []
    for dist in g.objects(s, DCAT.distribution):
        url = _ref(g, dist, DCAT.downloadURL) or _ref(g, dist, DCAT.accessURL)
        fmt = _text(g, dist, DCTERMS["format"]) or _ref(g, dist, DCTERMS["format"]).rsplit("/", 1)[-1]
        media = _text(g, dist, DCAT.mediaType) or _ref(g, dist, DCAT.mediaType).split("media-types/")[-1]
        resources.append({"name": _text(g, dist, DCTERMS.title) or fmt or url, "url": url, "format": fmt,
                          "media_type": media if "/" in media else ""})
    themes = [_text(g, t, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")) or str(t)
              for t in g.objects(s, DCAT.theme)]
    return Record(
        remote_id=ident, title=_text(g, s, DCTERMS.title),
        modified=iso_utc(_text(g, s, DCTERMS.modified) or _text(g, s, DCTERMS.issued) or None),
        original_url=landing, description=_text(g, s, DCTERMS.description),
        tags=_texts(g, s, DCAT.keyword),
        domain=next((t for t in themes if t and not t.startswith("http")), ""),
        open_type="conditional" if access == "RESTRICTED" else "unconditional",
        update_frequency=EU_FREQUENCY.get(_ref(g, s, DCTERMS.accrualPeriodicity).rsplit("/", 1)[-1], ""),
        publisher=_text(g, publisher, FOAF.name) if publisher is not None else "",
        license_url=_ref(g, s, DCTERMS.license), resources=resources,
    )


def gather_datajson(source: HarvestSource, deadline: Deadline) -> list:
    body, _ = deadline.get(source.url)
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise SourceError(f"{source.url}: not JSON ({exc})") from exc
    datasets = doc.get("dataset") if isinstance(doc, dict) else None
    if not isinstance(datasets, list):
        raise SourceError(f"{source.url}: no 'dataset' list (not a DCAT-US data.json)")
    return datasets


def datajson_records(datasets: list):
    for raw in datasets:
        if not isinstance(raw, dict):
            yield "", InvalidRecord("a dataset that is not a JSON object")
            continue
        ident = str(raw.get("identifier") or "").strip()
        try:
            yield ident, _datajson_record(raw, ident)
        except InvalidRecord as exc:
            yield ident, exc


def _datajson_record(raw: dict, ident: str) -> Record:
    level = str(raw.get("accessLevel") or "public")
    if level == "non-public":
        raise InvalidRecord("not public (accessLevel non-public)")
    publisher = raw.get("publisher") if isinstance(raw.get("publisher"), dict) else {}
    resources = [{"name": str(d.get("title") or d.get("format") or ""),
                  "url": str(d.get("downloadURL") or d.get("accessURL") or ""),
                  "format": str(d.get("format") or ""), "media_type": str(d.get("mediaType") or "")}
                 for d in raw.get("distribution") or [] if isinstance(d, dict)]
    keywords = raw.get("keyword") or []
    themes = raw.get("theme") or []
    landing = str(raw.get("landingPage") or (ident if ident.startswith("http") else ""))
    return Record(
        remote_id=ident, title=str(raw.get("title") or ""), modified=iso_utc(raw.get("modified")),
        original_url=landing, description=str(raw.get("description") or ""),
        tags=[str(k) for k in (keywords if isinstance(keywords, list) else [keywords])],
        domain=str(themes[0]) if isinstance(themes, list) and themes else "",
        open_type="conditional" if level == "restricted public" else "unconditional",
        update_frequency=ISO_FREQUENCY.get(str(raw.get("accrualPeriodicity") or ""), ""),
        publisher=str(publisher.get("name") or ""), license_url=str(raw.get("license") or ""),
        resources=resources,
    )
