"""The real ckanapi command-line client against a live portal (``sudata serve`` on a loopback port)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .synthetic import SPECS

VISIBLE = sorted(s.name for s in SPECS if s.open_type != "closed")
CKANAPI = str(Path(sys.executable).with_name("ckanapi"))
# ckanapi's dump starts its workers as "ckanapi" from PATH, as in an activated virtualenv
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def ckanapi(*args: str, timeout: int = 180) -> str:
    out = subprocess.run([CKANAPI, *args], capture_output=True, text=True, timeout=timeout, env=ENV)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


def test_action_package_search(live_server):
    result = json.loads(ckanapi("action", "package_search", "q=公交", "rows=5", "-r", live_server))
    assert result["count"] == 2
    assert {p["name"] for p in result["results"]} == {"bus_routes", "bus_stops"}
    result = json.loads(ckanapi("action", "package_search", "fq=organization:sthjj",
                                'facet.field:["open_type"]', "-r", live_server))
    assert result["facets"]["open_type"] == {"unconditional": 2, "conditional": 1}


def test_action_package_show_and_a_ckan_error(live_server):
    pkg = json.loads(ckanapi("action", "package_show", "id=hospitals", "-r", live_server))
    assert pkg["title"] == "医疗机构名录"
    out = subprocess.run([CKANAPI, "action", "package_show", "id=resident_register", "-r", live_server],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert out.returncode != 0 and "NotFound" in out.stdout + out.stderr


def test_search_datasets_pages_through_everything(live_server):
    lines = ckanapi("search", "datasets", "-r", live_server).splitlines()
    assert sorted(json.loads(line)["name"] for line in lines) == VISIBLE
    lines = ckanapi("search", "datasets", "q=教育", "-r", live_server).splitlines()
    assert {json.loads(line)["name"] for line in lines} == {"schools", "kindergartens"}


def test_dump_datasets_all(live_server, tmp_path):
    out = tmp_path / "datasets.jsonl"
    ckanapi("dump", "datasets", "--all", "-q", "-O", str(out), "-r", live_server)
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert sorted(r["name"] for r in records) == VISIBLE
    assert all(r["resources"] and r["organization"]["name"] for r in records)


def test_datastore_search_with_a_key(live_server, access):
    token = access.issue("dataset", "patient_visits", "ckanapi 用户")
    result = json.loads(ckanapi("action", "datastore_search", "resource_id=patient_visits", "limit=3",
                                "-a", token, "-r", live_server))
    assert len(result["records"]) == 3
    out = subprocess.run([CKANAPI, "action", "datastore_search", "resource_id=patient_visits", "-r", live_server],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert out.returncode != 0 and "NotAuthorized" in out.stdout + out.stderr
