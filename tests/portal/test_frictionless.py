"""Each version's datapackage.json validates with Frictionless, data and all, fetched from a live portal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from frictionless import Package, validate


def test_datapackage_points_at_versioned_downloads(client):
    pkg = client.get("/dataset/bus_routes/datapackage.json").json()
    assert pkg["name"] == "bus_routes" and pkg["version"] == "2"
    res, = pkg["resources"]
    assert res["path"] == "http://testserver/dataset/bus_routes/version/2/download.csv"
    v1 = client.get("/dataset/bus_routes/version/1/datapackage.json").json()
    assert v1["resources"][0]["path"].endswith("/version/1/download.csv")
    assert client.get("/dataset/bus_routes/version/7/datapackage.json").status_code == 404


def test_frictionless_python_api_validates_the_served_package(live_server):
    report = validate(f"{live_server}/dataset/enterprise_registry/datapackage.json")
    assert report.valid, report.flatten(["type", "note"])[:5]
    task, = report.tasks
    assert task.stats["rows"] == 5020
    pkg = Package(f"{live_server}/dataset/enterprise_registry/version/1/datapackage.json")
    rows = pkg.resources[0].read_rows()
    assert len(rows) == 5000 and rows[0]["name"] == "吴中区企业00001"


def test_frictionless_cli_validates_the_served_package(live_server, tmp_path: Path):
    url = f"{live_server}/dataset/air_quality_daily/datapackage.json"
    cli = Path(sys.executable).with_name("frictionless")
    out = subprocess.run([str(cli), "validate", url, "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert json.loads(out.stdout)["valid"] is True
    # and a broken copy is caught: the check is real
    pkg = httpx.get(url).json()
    pkg["resources"][0]["schema"]["fields"][0]["type"] = "date"  # "id" is not a date
    broken = tmp_path / "datapackage.json"
    broken.write_text(json.dumps(pkg, ensure_ascii=False), "utf-8")
    out = subprocess.run([str(cli), "validate", str(broken), "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and json.loads(out.stdout)["valid"] is False
