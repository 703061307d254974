"""Loading the Dagster definitions with a registry of 1,000 sources (synthetic).

The synthetic registry keeps the project's real sources and adds clones of them with new ids
(``<id>_x0001`` …) in the same department files until there are ``n`` sources, so every source
format and schema shape is represented in proportion. ``SUDATA_REGISTRY`` points the definitions at it.

The dbt manifest is prepared once beforehand (``ensure_manifest``); the measurement checks that no
load re-parsed it. Each repetition is a fresh interpreter:

- ``import``: ``python -c "import orchestration.definitions"`` — wall time of the whole process
  (interpreter start, imports, building the ingestion assets, the dbt assets from the manifest, the
  checks and publication assets);
- ``import + resolve``: the same, then ``defs.get_repository_def()``, which builds the asset graph and
  jobs the way a code server or ``sudata run`` does before it can launch anything.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

from bench.measure import run_measured
from bench.pipeline import with_venv_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DIR = PROJECT_ROOT / "registry"

IMPORT = "import orchestration.definitions"
RESOLVE = "from orchestration.definitions import defs; defs.get_repository_def()"


def synthetic_registry(n: int, out: Path, registry_dir: Path = REGISTRY_DIR) -> int:
    """Write a registry of ``n`` sources into ``out``: the real ones plus clones with new ids."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    docs = []
    for path in sorted(Path(registry_dir).glob("*.yml")):
        docs.append((path.name, yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    originals = [(i, s) for i, (_, d) in enumerate(docs) for s in (d.get("sources") or [])]
    if not originals:
        raise RuntimeError(f"no sources in {registry_dir}")
    total, k = len(originals), 0
    while total < n:
        doc_index, src = originals[k % len(originals)]
        clone = dict(src)
        clone["id"] = f"{src['id']}_x{k // len(originals) + 1:04d}"
        clone["title"] = f"{src['title']}（{k // len(originals) + 1}）"
        docs[doc_index][1].setdefault("sources", []).append(clone)
        total += 1
        k += 1
    for name, doc in docs:
        (out / name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return total


def _env(registry: Path | None, home: Path) -> dict:
    env = dict(os.environ)
    env.pop("DBT_TARGET_PATH", None)
    env.update(SUDATA_HOME=str(home), SUDATA_RAW=str(home / "raw"), DAGSTER_HOME=str(home / "dagster"),
               DAGSTER_DISABLE_TELEMETRY="1")
    if registry is None:
        env.pop("SUDATA_REGISTRY", None)
    else:
        env["SUDATA_REGISTRY"] = str(registry)
    return with_venv_path(env)


def _time(code: str, env: dict, reps: int, label: str, logdir: Path) -> dict:
    walls, peaks = [], []
    for i in range(reps):
        m = run_measured(f"{label} #{i + 1}", [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT,
                         log_path=logdir / f"{label.replace(' ', '_')}_{i + 1}.log")
        walls.append(m.wall_s)
        peaks.append(m.peak_rss_mb)
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "runs_s": [round(w, 3) for w in walls],
            "peak_rss_mb": round(max(peaks), 1)}


def measure_defs_load(n_sources: int = 1000, reps: int = 5, baseline_reps: int = 3, workdir: Path | None = None) -> dict:
    from bench.pipeline import prepare_manifest

    prep = prepare_manifest()
    manifest = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
    before = manifest.stat().st_mtime if manifest.exists() else None
    with tempfile.TemporaryDirectory(prefix="sudata-bench-defs-", dir=workdir) as tmp:
        tmp = Path(tmp)
        reg = tmp / "registry"
        count = synthetic_registry(n_sources, reg)
        home = tmp / "home"
        (home / "raw").mkdir(parents=True)
        (home / "dagster").mkdir(parents=True)
        logs = tmp / "logs"
        real = sum(len((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("sources") or [])
                   for p in REGISTRY_DIR.glob("*.yml"))
        result = {
            "sources": count,
            "manifest_prepared_s": prep["seconds"],
            "import": _time(IMPORT, _env(reg, home), reps, "import", logs),
            "import_and_resolve": _time(RESOLVE, _env(reg, home), reps, "resolve", logs),
            "baseline": {
                "sources": real,
                "import": _time(IMPORT, _env(None, home), baseline_reps, "baseline import", logs),
                "import_and_resolve": _time(RESOLVE, _env(None, home), baseline_reps, "baseline resolve", logs),
            },
        }
    after = manifest.stat().st_mtime if manifest.exists() else None
    result["manifest_parsed_during_load"] = before != after
    return result
