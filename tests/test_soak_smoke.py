"""The soak's code path (`make soak` runs it with 200 clients for 60 s): a few clients for a few seconds
against the portal on the published sample while the sample is published again."""

from __future__ import annotations

import shutil

import pytest

from bench.soak import sequence_problem, show_problem, soak

pytestmark = pytest.mark.integration


def test_a_short_soak_during_a_publication_sees_one_version_per_reader(sample_nights, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(sample_nights["home"], home, symlinks=True)
    r = soak(home, clients=6, seconds=4, workers=2, publish_datasets=4)
    assert r["errors"] == 0, r.get("error_samples")
    assert r["mixed_versions"] == 0, r.get("mixed_samples")
    assert r["ok"] > 0 and r["checked"]["page_sequences"] > 0 and r["checked"]["shows"] > 0
    assert r["publication"]["rounds"] >= 1 and r["versions_published"] >= r["publication"]["versions"] > 0
    assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] and r["throughput_rps"] > 0


def test_the_checks_see_a_mix_of_versions():
    page = {"version": 2, "records": [{}] * 3, "total": 5}
    assert sequence_problem([page, {**page, "records": [{}] * 2}]) is None
    assert "versions [2, 3]" in sequence_problem([page, {**page, "version": 3, "records": [{}] * 2}])
    assert "4 rows of a 5-row" in sequence_problem([page, {**page, "records": [{}]}])
    package = {"name": "d", "version": 3, "resources": [{"format": "CSV", "hash": __import__("hashlib").sha256(b"a").hexdigest()}]}
    assert show_problem(package, b"a") is None and "not the one" in show_problem(package, b"b")
