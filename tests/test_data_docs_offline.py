"""Great Expectations' Data Docs read offline: every stylesheet, script and font a page loads is in the site."""

from __future__ import annotations

import re
from pathlib import Path

ASSET = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)=[\"']([^\"']+)[\"']")


def test_data_docs_pages_load_nothing_from_the_network(tmp_path):
    import shutil

    from sudata.quality import build_data_docs
    from sudata.settings import EXPECTATIONS_DIR

    suites = tmp_path / "suites"  # one suite is enough to render every kind of page template
    suites.mkdir()
    shutil.copy(EXPECTATIONS_DIR / "enterprise_registry.json", suites)
    index = build_data_docs(tmp_path / "validations", tmp_path / "site", suites_dir=suites)
    site = index.parent
    pages = sorted(site.rglob("*.html"))
    assert index in pages and len(pages) > 1, "the index and a page per suite"
    loaded = set()
    for page in pages:
        for ref in ASSET.findall(page.read_text(encoding="utf-8")):
            if ref.startswith(("http://", "https://", "//")):
                assert "greatexpectations.io" in ref, f"{page.relative_to(site)} loads {ref}"
                continue
            path = (page.parent / ref.split("?")[0]).resolve()
            assert path.is_file(), f"{page.relative_to(site)}: {ref} is not in the site"
            loaded.add(path.relative_to(site.resolve()).as_posix())
    assert {"static/vendor/bootstrap/bootstrap.min.css", "static/vendor/jquery/jquery.min.js"} <= loaded
    fonts = re.findall(r"url\(([^)]+\.woff2)\)", (site / "static/vendor/fontawesome/css/all.min.css").read_text())
    assert fonts and all((site / "static/vendor/fontawesome/css" / Path(f)).resolve().is_file() for f in fonts)
