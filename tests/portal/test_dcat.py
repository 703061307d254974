"""DCAT-AP JSON-LD (paged), one dataset's JSON-LD, and DCAT-US data.json."""

from __future__ import annotations

import json
from pathlib import Path

from .synthetic import SPECS

VISIBLE = sorted(s.name for s in SPECS if s.open_type != "closed")


def _nodes(doc: dict, type_: str) -> list[dict]:
    return [n for n in doc["@graph"] if n.get("@type") == type_]


def test_catalog_jsonld_structure(client):
    r = client.get("/catalog.jsonld?page_size=100")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert doc["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert doc["@context"]["dct"] == "http://purl.org/dc/terms/"
    catalog, = _nodes(doc, "dcat:Catalog")
    datasets = _nodes(doc, "dcat:Dataset")
    assert len(datasets) == len(VISIBLE) == len(catalog["dcat:dataset"])
    assert {d["@id"] for d in datasets} == {x["@id"] for x in catalog["dcat:dataset"]}
    ent = next(d for d in datasets if d["@id"].endswith("/dataset/enterprise_registry"))
    assert {"@value": "企业登记信息", "@language": "zh"} in ent["dct:title"]
    assert {"@value": "Enterprise registrations", "@language": "en"} in ent["dct:title"]
    assert ent["dct:publisher"]["foaf:name"]["@value"] == "苏州市市场监督管理局"
    assert ent["dct:accessRights"]["@id"].endswith("/access-right/PUBLIC")
    assert ent["dct:accrualPeriodicity"]["@id"].endswith("/frequency/DAILY")
    assert ent["dct:modified"]["@type"] == "xsd:dateTime"
    assert ent["dcat:version"] == ent["owl:versionInfo"] == "3"     # DCAT-AP 3 and 2
    assert len(ent["dqv:hasQualityMeasurement"]) == 5
    assert ent["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
    dists = ent["dcat:distribution"]
    assert {d["dct:format"]["@id"].rsplit("/", 1)[1] for d in dists} == {"CSV", "PARQUET", "JSON"}
    for dist in dists:
        assert dist["@type"] == "dcat:Distribution"
        assert dist["dcat:downloadURL"]["@id"].startswith("http")
        assert dist["spdx:checksum"]["spdx:checksumValue"]["@value"]
    taxi = next(d for d in datasets if d["@id"].endswith("/dataset/taxi_operations"))
    assert taxi["dct:accessRights"]["@id"].endswith("/access-right/RESTRICTED")


def test_catalog_jsonld_is_paged_with_hydra(client):
    seen = []
    url = "/catalog.jsonld?page=1&page_size=7"
    pages = 0
    while url:
        doc = client.get(url).json()
        view, = _nodes(doc, "hydra:PagedCollection")
        assert view["hydra:totalItems"]["@value"] == len(VISIBLE)
        assert view["hydra:itemsPerPage"]["@value"] == 7
        seen += [d["@id"] for d in _nodes(doc, "dcat:Dataset")]
        pages += 1
        nxt = view.get("hydra:nextPage")
        url = nxt.split("testserver", 1)[1] if nxt else None
        if pages > 1:
            assert "hydra:previousPage" in view
    assert pages == 3 and len(seen) == len(set(seen)) == len(VISIBLE)
    assert view["hydra:lastPage"].endswith("page=3&page_size=7")


def test_every_compact_iri_has_its_prefix_in_the_context(client):
    doc = client.get("/catalog.jsonld?page_size=3").json()
    prefixes = set(doc["@context"])
    used = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if ":" in k and not k.startswith("@"):
                    used.add(k.split(":", 1)[0])
                if k == "@type" and isinstance(v, str) and ":" in v and not v.startswith("http"):
                    used.add(v.split(":", 1)[0])
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc["@graph"])
    assert used and used <= prefixes, used - prefixes


def test_one_dataset_jsonld(client):
    doc = client.get("/dataset/water_quality.jsonld").json()
    assert doc["@type"] == "dcat:Dataset" and doc["@id"].endswith("/dataset/water_quality")
    assert client.get("/dataset/resident_register.jsonld").status_code == 404


def test_dcat_us_data_json(client):
    doc = client.get("/data.json").json()
    assert doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert [d["identifier"].rsplit("/", 1)[1] for d in doc["dataset"]] == VISIBLE
    for d in doc["dataset"]:
        for key in ("title", "description", "keyword", "modified", "publisher", "contactPoint", "identifier",
                    "accessLevel", "distribution"):
            assert key in d, key
        assert d["accessLevel"] in ("public", "restricted public")
        assert d["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert all(x["downloadURL"].startswith("http") and x["mediaType"] for x in d["distribution"])
    taxi = next(d for d in doc["dataset"] if d["identifier"].endswith("taxi_operations"))
    assert taxi["accessLevel"] == "restricted public"


SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "dcat" / "dcat-ap-3.0.0-SHACL.ttl"


def shacl_report(body: str, base: str = "http://testserver/") -> tuple[bool, str]:
    """The DCAT-AP 3.0.0 SHACL shapes (SEMIC's release) over a JSON-LD document, without inference."""
    from pyshacl import validate
    from rdflib import Graph

    data = Graph().parse(data=body, format="json-ld", publicID=base)
    conforms, _, text = validate(data, shacl_graph=Graph().parse(SHAPES), inference="none")
    return conforms, text


def test_the_catalog_conforms_to_the_dcat_ap_3_shapes(client):
    body = client.get("/catalog.jsonld?page_size=100").text
    conforms, text = shacl_report(body)
    assert conforms, text[:3000]
    # and the shapes do catch a dataset without its mandatory parts
    doc = json.loads(body)
    for node in doc["@graph"]:
        if node.get("@type") == "dcat:Dataset":
            node.pop("dct:description", None)
            node.pop("dct:title", None)
            break
    conforms, text = shacl_report(json.dumps(doc))
    assert not conforms and "dct:description" in text.replace("dc1:", "dct:")
