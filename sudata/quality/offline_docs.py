"""Great Expectations' Data Docs, readable offline: the CSS, JavaScript and fonts its pages pull from public
CDNs are copied into the site (``static/vendor/``) and every page points at the copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "data_docs_vendor"
SITE_VENDOR = Path("static") / "vendor"

# The CDN addresses in Great Expectations' page templates → the bundled copy (relative to VENDOR).
CDN_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/extensions/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/extensions/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/extensions/bootstrap-table-filter-control.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}


def bundle_offline(site_dir: Path) -> int:
    """Copy the bundled assets into ``site_dir`` and rewrite its pages to use them; returns the pages rewritten."""
    site_dir = Path(site_dir)
    target = site_dir / SITE_VENDOR
    shutil.copytree(VENDOR, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    # Longest first: a bare "vega@5" must not rewrite the start of a longer address.
    urls = sorted(CDN_ASSETS, key=len, reverse=True)
    rewritten = 0
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        prefix = Path(os.path.relpath(target, page.parent)).as_posix()
        new = text
        for url in urls:
            for quote in ('"', "'"):
                new = new.replace(f"{quote}{url}{quote}", f"{quote}{prefix}/{CDN_ASSETS[url]}{quote}")
        if new != text:
            page.write_text(new, encoding="utf-8")
            rewritten += 1
    return rewritten
