"""``python -m bench`` (``make bench``): every measurement, then the report in bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from datetime import datetime
from importlib import metadata
from pathlib import Path

import psutil

from bench import RESULTS_DIR_NAME, WORK_DIR_NAME
from bench import pipeline
from bench.measure import run_measured
from bench.report import human_rows, summary, write_report

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DEFAULT_SCALES = "1000000,10000000"
QUICK_SCALES = "100000"


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench", description="Su Data Foundation benchmark: the nightly "
                                 "pipeline against the floor, the incremental night and the definitions load.")
    ap.add_argument("--scales", default=os.environ.get("SUDATA_BENCH_SCALES", DEFAULT_SCALES),
                    help="raw rows in total per scale, comma-separated (default %(default)s; env SUDATA_BENCH_SCALES)")
    ap.add_argument("--quick", action="store_true", help=f"development run: scales {QUICK_SCALES}, fewer repetitions")
    ap.add_argument("--days", type=int, default=2, help="drop dates of the full run (default %(default)s)")
    ap.add_argument("--sources", type=int, default=1000, help="sources of the synthetic registry (default %(default)s)")
    ap.add_argument("--defs-reps", type=int, default=5, help="repetitions of the definitions load (default %(default)s)")
    ap.add_argument("--growing-rows", type=int, default=10_000_000,
                    help="growing-history case: raw rows of the history (default %(default)s)")
    ap.add_argument("--growing-days", type=int, default=30,
                    help="growing-history case: drop dates of the history (default %(default)s)")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["floor", "scan", "incremental", "rebuild", "growing", "defs", "portal", "credit"],
                    help="leave a part out (repeatable)")
    ap.add_argument("--workdir", type=Path, default=BENCH_DIR / WORK_DIR_NAME, help="scratch space (default bench/work)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / RESULTS_DIR_NAME, help="report directory (default bench/results)")
    ap.add_argument("--keep", action="store_true", help="keep the generated drops and homes in the work directory")
    args = ap.parse_args(argv)
    if args.quick:
        args.scales = QUICK_SCALES if "--scales" not in (argv or sys.argv) else args.scales
        args.defs_reps = min(args.defs_reps, 3)
        args.growing_rows, args.growing_days = min(args.growing_rows, 100_000), min(args.growing_days, 4)
    args.scales = [int(float(s)) for s in str(args.scales).replace("_", "").split(",") if s.strip()]
    return args


def say(msg: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {msg}", flush=True)


def _m(m) -> dict:
    d = m.to_dict()
    if m.returncode == 0:
        d.pop("log", None)
    return d


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:4000]


def _meta(args, argv) -> dict:
    versions = {}
    for pkg in ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations", "pandas", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "started": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *argv]),
        "scales": args.scales, "days": args.days,
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": sys.version.split()[0]},
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "git": pipeline.git_revision(),
    }


def measure_scale(n: int, args, work: Path) -> dict:
    sdir = work / f"rows-{n}"
    if sdir.exists():
        shutil.rmtree(sdir)
    sdir.mkdir(parents=True)
    logs = sdir / "logs"
    raw = sdir / "raw"
    home = sdir / "home_full"
    scale: dict = {"rows": n, "days": args.days, "errors": {}, "paths": {"raw": str(raw), "home": str(home)}}
    errors = scale["errors"]

    say(f"{human_rows(n)}: generating {n:,} rows over {args.days} drop dates")
    try:
        g = pipeline.generate(raw, n, args.days, logs / "generate.log")
        scale["data"] = {"generate": _m(g), "landing_zone": pipeline.landing_zone_stats(raw)}
    except Exception as exc:  # noqa: BLE001
        errors["generate"] = _err(exc)
        say(f"  generate failed: {errors['generate'][:300]}")
        return scale
    try:
        scale["manifest"] = pipeline.prepare_manifest()
    except Exception as exc:  # noqa: BLE001
        errors["manifest"] = _err(exc)

    run_ids: list[str] = []

    def night(key: str, label: str, on_home: Path) -> None:
        say(f"{human_rows(n)}: {label}")
        try:
            r = pipeline.nightly(label, on_home, raw, logs / f"{key}.log")
            scale[key] = r
            o = r["outcome"]
            run_ids.extend(x["run_id"] for x in (r.get("stages") or {}).get("runs", []))
            say(f"  {r['measurement']['wall_s']:.1f} s wall, {r['measurement']['cpu_s']:.1f} s CPU, "
                f"peak {r['measurement']['peak_rss_mb']:.0f} MB; exit {o['exit_code']}: {o['runs']} run(s), "
                f"{o['published']} published, {o['blocked']} blocked, {o['failed_steps']} failed steps")
            if r.get("stages_error"):
                say(f"  stage breakdown failed: {r['stages_error']}")
        except Exception as exc:  # noqa: BLE001
            errors[key] = _err(exc)
            say(f"  failed: {errors[key][-600:]}")

    night("full_run", f"(a) sudata run on {args.days} drop dates", home)
    lake = home / "lake"

    if "floor" not in args.skip:
        say(f"{human_rows(n)}: (b) floor")
        try:
            fdir = sdir / "floor"
            manifest, compile_s = _compile(lake, fdir)
            m = run_measured("(b) floor", [sys.executable, "-m", "bench.floor", "--manifest", str(manifest),
                                           "--lake", str(lake), "--db", str(fdir / "db" / "warehouse.duckdb"),
                                           "--out", str(fdir / "result.json")],
                             cwd=PROJECT_ROOT, log_path=logs / "floor.log")
            scale["floor"] = {"measurement": _m(m), "compile_s": round(compile_s, 2),
                              "result": json.loads((fdir / "result.json").read_text(encoding="utf-8"))}
            say(f"  {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, peak {m.peak_rss_mb:.0f} MB")
            shutil.rmtree(fdir / "db", ignore_errors=True)
        except Exception as exc:  # noqa: BLE001
            errors["floor"] = _err(exc)
            say(f"  failed: {errors['floor'][-600:]}")

    if "scan" not in args.skip:
        say(f"{human_rows(n)}: (c) raw scan")
        try:
            out = sdir / "scan.json"
            m = run_measured("(c) raw scan", [sys.executable, "-m", "bench.scan", "--raw", str(raw), "--lake", str(lake),
                                              "--out", str(out)], cwd=PROJECT_ROOT, log_path=logs / "scan.log")
            result = json.loads(out.read_text(encoding="utf-8"))
            result["detail"] = result.get("detail", [])[:60]
            scale["scan"] = {"measurement": _m(m), "result": result}
            say(f"  {m.wall_s:.1f} s wall, {result['rows']:,} rows in {result['files']} files")
        except Exception as exc:  # noqa: BLE001
            errors["scan"] = _err(exc)
            say(f"  failed: {errors['scan'][-600:]}")

    if "incremental" not in args.skip and scale.get("full_run"):
        say(f"{human_rows(n)}: a new drop date arrives for every source")
        try:
            before = pipeline.drop_dates_in(raw)
            more = sdir / "raw_next"
            extra = ["--start", min(before)] if before and _generate_has_start() else []
            rows3 = n * (args.days + 1) // args.days  # the same volume per drop date
            g = pipeline.generate(more, rows3, args.days + 1, logs / "generate_next.log", extra)
            new = sorted(pipeline.drop_dates_in(more) - before)
            if not new:
                raise RuntimeError(f"generating {args.days + 1} days produced no drop date beyond {sorted(before)}")
            new = new[-1:]
            pipeline.add_drop_dates(more, raw, set(new))
            shutil.rmtree(more, ignore_errors=True)
            scale["incremental_data"] = {"new_drop_dates": new, "generate": _m(g),
                                         "landing_zone": pipeline.landing_zone_stats(raw)}
        except Exception as exc:  # noqa: BLE001
            errors["incremental_data"] = _err(exc)
            say(f"  failed: {errors['incremental_data'][-600:]}")
        else:
            night("incremental", "incremental: sudata run with the new drop date", home)
            if "rebuild" not in args.skip:
                rhome = sdir / "home_rebuild"
                night("rebuild", f"rebuild: sudata run of all {args.days + 1} drop dates on a fresh home", rhome)
                if not args.keep:
                    shutil.rmtree(rhome, ignore_errors=True)
    pipeline.remove_dbt_run_targets(run_ids)
    if not errors:
        scale.pop("errors")
    return scale


def _compile(lake: Path, fdir: Path):
    from bench.floor import compile_manifest

    if fdir.exists():
        shutil.rmtree(fdir)
    return compile_manifest(lake, fdir)


def _generate_has_start() -> bool:
    """Whether ``sudata generate`` takes --start (so the next night follows the first ones)."""
    try:
        out = subprocess.run(pipeline.sudata_command("generate", "--help"), cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120).stdout
    except Exception:  # noqa: BLE001
        return False
    return "--start" in out


def run_portal(report: dict) -> dict | None:
    try:
        from bench import portal
    except ImportError:
        return None
    say("portal")
    try:
        return portal.run(report)
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return {"error": _err(exc)}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"meta": _meta(args, argv), "scales": []}
    t0 = time.perf_counter()
    for n in args.scales:
        report["scales"].append(measure_scale(n, args, work))
    if "growing" not in args.skip:
        from bench.growing import measure_growing

        say(f"growing history: {args.growing_rows:,} rows over {args.growing_days} dates, then one new date")
        try:
            report["growing"] = measure_growing(args.growing_rows, args.growing_days, work, say=say, keep=args.keep)
        except Exception as exc:  # noqa: BLE001
            report["growing"] = {"rows": args.growing_rows, "days": args.growing_days, "error": _err(exc)}
    if "defs" not in args.skip:
        say(f"definitions load with {args.sources:,} sources × {args.defs_reps}")
        from bench.defs_load import measure_defs_load

        try:
            report["defs_load"] = measure_defs_load(args.sources, reps=args.defs_reps,
                                                    baseline_reps=min(3, args.defs_reps), workdir=work)
        except Exception as exc:  # noqa: BLE001
            report["defs_load"] = {"sources": args.sources, "error": _err(exc)}
    if "portal" not in args.skip:
        p = run_portal(report)
        if p is not None:
            report["portal"] = p
    if "credit" not in args.skip:
        say("credit checks: 1,000 codes per lookup against 1M enterprises")
        from bench import credit

        try:
            report["credit"] = credit.run()
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            report["credit"] = {"error": _err(exc)}
    report["meta"]["finished"] = datetime.now().isoformat(timespec="seconds")
    report["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    files = write_report(report, args.out)
    if not args.keep:
        for s in report["scales"]:
            shutil.rmtree(Path(s["paths"]["raw"]).parent, ignore_errors=True)
    print()
    print(summary(report))
    print(f"\nreport: {files['markdown']}  {files['json']}" + (f"  {files['chart']}" if files["chart"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
