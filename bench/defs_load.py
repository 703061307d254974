"""Loading the Dagster definitions with a registry of 1,000 sources (synthetic).

The synthetic registry keeps the project's real sources and adds clones of them with new ids
(``<id>_x0001`` …) in the same department files until there are ``n`` sources, so every source
format and schema shape is represented in proportion; a clone of a published source is published too
(as ``<dataset>_x0001`` …). A clone has no ``rules:`` (those need the source's own staging SQL), so a clone
of a source with rules is not published. The dbt project is copied beside it and its generated models are
rendered from that registry, as a city with 1,000 sources would have them: ``SUDATA_REGISTRY`` and
``SUDATA_DBT_PROJECT_DIR`` point the definitions at both.

The copy's dbt manifest is parsed once beforehand (``ensure_manifest``, timed as ``manifest_prepared_s``);
the measurement checks that no load re-parsed it. Each repetition is a fresh interpreter:

- ``import``: ``python -c "import orchestration.definitions"`` — wall time of the whole process
  (interpreter start, imports, building the ingestion assets, the dbt assets from the manifest, the
  checks and publication assets);
- ``import + resolve``: the same, then ``defs.get_repository_def()``, which builds the asset graph and
  jobs the way a code server or ``sudata run`` does before it can launch anything.

The result compares the median import with the target (``TARGET_S``) and with the figure measured before
the ingestion assets became one subsettable multi-asset (``BASELINE_S``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

from bench.measure import run_measured
from bench.pipeline import with_venv_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DIR = PROJECT_ROOT / "registry"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

IMPORT = "import orchestration.definitions"
RESOLVE = "from orchestration.definitions import defs; defs.get_repository_def()"
PREPARE = "from orchestration.project import ensure_manifest; print(ensure_manifest())"
TARGET_S = 3.0  # issue 11: definitions with 1,000 sources load in ≤ 3 s on the 2-core reference machine
# The same load before the registry was rendered only when it changed, the manifest parsed once and ingestion
# made one multi-asset: commit c9a4a67 on this synthetic project, median of 3 fresh interpreters (53.6, 67.1,
# 73.7 s wall; 31.8 s CPU) on the shared 2-core machine at load average 7.3–8.2.
BEFORE_S = {"import_median_s": 67.1, "cpu_median_s": 31.8, "commit": "c9a4a67", "load_average": [7.3, 8.2]}


def _clone(src: dict, n: int) -> dict:
    clone = {**src, "id": f"{src['id']}_x{n:04d}", "title": f"{src['title']}（{n}）"}
    rules = clone.pop("rules", None)
    publish = clone.pop("publish", None)
    if publish and not rules:
        clone["publish"] = {**publish, **({"name": f"{publish['name']}_x{n:04d}"} if publish.get("name") else {})}
    return clone


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
        docs[doc_index][1].setdefault("sources", []).append(_clone(src, k // len(originals) + 1))
        total += 1
        k += 1
    for name, doc in docs:
        (out / name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return total


def synthetic_project(registry: Path, out: Path) -> Path:
    """A copy of the dbt project (without its generated folders and build output) for ``registry``."""
    shutil.copytree(DBT_PROJECT_DIR, out, ignore=shutil.ignore_patterns(
        "target", "logs", "_generated", "dbt_packages", ".user.yml"))
    return Path(out)


def _env(registry: Path | None, project: Path | None, home: Path) -> dict:
    env = dict(os.environ)
    env.pop("DBT_TARGET_PATH", None)
    env.update(SUDATA_HOME=str(home), SUDATA_RAW=str(home / "raw"), DAGSTER_HOME=str(home / "dagster"),
               DAGSTER_DISABLE_TELEMETRY="1")
    for var, value in (("SUDATA_REGISTRY", registry), ("SUDATA_DBT_PROJECT_DIR", project)):
        if value is None:
            env.pop(var, None)
        else:
            env[var] = str(value)
    return with_venv_path(env)


def _time(code: str, env: dict, reps: int, label: str, logdir: Path) -> dict:
    walls, cpus, peaks = [], [], []
    for i in range(reps):
        m = run_measured(f"{label} #{i + 1}", [sys.executable, "-W", "ignore", "-c", code], env=env,
                         cwd=PROJECT_ROOT, log_path=logdir / f"{label.replace(' ', '_')}_{i + 1}.log")
        walls.append(m.wall_s)
        cpus.append(m.cpu_user_s + m.cpu_sys_s)
        peaks.append(m.peak_rss_mb)
    # CPU time beside the wall time: on a shared machine the wall time also measures the neighbours
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "runs_s": [round(w, 3) for w in walls],
            "cpu_median_s": round(statistics.median(cpus), 3), "peak_rss_mb": round(max(peaks), 1)}


def _mtime(path: Path) -> float | None:
    return path.stat().st_mtime if path.exists() else None


def measure_defs_load(n_sources: int = 1000, reps: int = 5, baseline_reps: int = 3, workdir: Path | None = None) -> dict:
    from bench.pipeline import prepare_manifest

    prep = prepare_manifest()
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    with tempfile.TemporaryDirectory(prefix="sudata-bench-defs-", dir=workdir) as tmp:
        tmp = Path(tmp)
        reg, project, home, logs = tmp / "registry", tmp / "dbt_project", tmp / "home", tmp / "logs"
        count = synthetic_registry(n_sources, reg)
        synthetic_project(reg, project)
        (home / "raw").mkdir(parents=True)
        (home / "dagster").mkdir(parents=True)
        synthetic = _env(reg, project, home)
        parse = run_measured(f"prepare the manifest of {count:,} sources", [sys.executable, "-c", PREPARE],
                             env=synthetic, cwd=PROJECT_ROOT, log_path=logs / "prepare.log")
        big = project / "target" / "manifest.json"
        before = (_mtime(manifest), _mtime(big))
        real = sum(len((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("sources") or [])
                   for p in REGISTRY_DIR.glob("*.yml"))
        result = {
            "sources": count,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "manifest_prepared_s": prep["seconds"],
            "synthetic_manifest_prepared_s": round(parse.wall_s, 2),
            "synthetic_manifest_mb": round(big.stat().st_size / 2**20, 1),
            "import": _time(IMPORT, synthetic, reps, "import", logs),
            "import_and_resolve": _time(RESOLVE, synthetic, reps, "resolve", logs),
            "baseline": {
                "sources": real,
                "import": _time(IMPORT, _env(None, None, home), baseline_reps, "baseline import", logs),
                "import_and_resolve": _time(RESOLVE, _env(None, None, home), baseline_reps, "baseline resolve", logs),
            },
        }
        result["manifest_parsed_during_load"] = before != (_mtime(manifest), _mtime(big))
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["target_s"] = TARGET_S
    result["before_s"] = BEFORE_S
    result["over_target"] = round(result["import"]["median_s"] / TARGET_S, 2)
    result["over_before"] = round(result["import"]["median_s"] / BEFORE_S["import_median_s"], 2)
    return result


def summary(d: dict) -> str:
    """One line: the median load against the target and against the figure before."""
    x = d["import"]
    return (f"definitions with {d['sources']:,} sources: import {x['median_s']:.2f} s median wall "
            f"({x['cpu_median_s']:.2f} s CPU), {d['over_target']:.2f}× the {d['target_s']:.0f} s target, "
            f"{d['over_before']:.2f}× the {d['before_s']['import_median_s']:.1f} s before ({d['before_s']['commit']}"
            + (f", {d['before_s']['cpu_median_s']:.1f} s CPU" if d["before_s"].get("cpu_median_s") else "") + "); "
            f"with the asset graph resolved {d['import_and_resolve']['median_s']:.2f} s; "
            f"the project's {d['baseline']['sources']} sources {d['baseline']['import']['median_s']:.2f} s; "
            f"load average {d['loadavg_start'][0]:.1f} → {d['loadavg_end'][0]:.1f} (2 cores)")


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="Time loading the Dagster definitions with a synthetic registry.")
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--baseline-reps", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = ap.parse_args(argv)
    result = measure_defs_load(args.sources, reps=args.reps, baseline_reps=args.baseline_reps, workdir=args.workdir)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(summary(result))


if __name__ == "__main__":
    main()
