"""The growing-history case: what a night costs once the history is long.

Departmental drops of ``rows`` raw rows in total over ``days`` drop dates (the history) plus one new date of
the same volume are generated once. The history lands night by night in one home: the first dates in one
catch-up run, then single nights at a few history lengths (``checkpoints``), each measured with its stage
breakdown, so the report shows how each stage's cost grows with history. The last night is the new date.
That night is compared with a run of the new date alone on an empty home: the floor of a night's work.

    python -m bench.growing --rows 1000000 --days 10 --out bench/results/growing.json

``python -m bench`` runs it too (``--growing-rows`` / ``--growing-days``; ``--skip growing``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from bench import emit_json, pipeline
from bench.report import human_rows

# A night at most this many times the new date alone on an empty home.
NEXT_NIGHT_TARGET = 1.5


def checkpoints(days: int, measured: int = 4) -> list[int]:
    """The history lengths (dates already landed) at which a single night is measured, the last one the
    full history: e.g. 30 days → [7, 15, 22, 30]."""
    return sorted({max(1, round(days * (i + 1) / measured)) for i in range(measured)})


def _link_dates(source: Path, target: Path, dates: list[str]) -> None:
    pipeline.add_drop_dates(source, target, set(dates))


def _summary(night: dict) -> dict:
    m = night["measurement"]
    breakdown = night.get("stages") or {}
    stages = breakdown.get("stages_s") or {}
    run_ids = [r["run_id"] for r in breakdown.get("runs") or []]
    slowest = dbt_slowest_nodes(run_ids)
    pipeline.remove_dbt_run_targets(run_ids)  # one target folder per dbt invocation: read, then removed
    return {"wall_s": m["wall_s"], "cpu_s": m.get("cpu_s"), "peak_rss_mb": m["peak_rss_mb"],
            # which step and which processes held the memory at the peak (the 2 GiB target is on their sum)
            "peak_memory_during": breakdown.get("peak_memory_during"),
            "at_peak_mb": (m.get("extra") or {}).get("at_peak_mb"), "stages_s": stages,
            "dbt_layer_seconds": breakdown.get("dbt_layer_seconds"),
            "dbt_slowest_nodes": slowest,
            "slowest_steps": [{k: s[k] for k in ("step", "stage", "seconds")} for s in (breakdown.get("steps") or [])[:8]],
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "outcome": night["outcome"]}


def dbt_slowest_nodes(run_ids: list[str], top: int = 10, target: Path | None = None) -> list[dict]:
    """dbt's own time of the slowest models and tests of these runs, from the run_results.json each dbt
    invocation leaves in its target folder (dbt_project/target/<step>-<run id>-<invocation>/)."""
    target = target or pipeline.PROJECT_ROOT / "dbt_project" / "target"
    nodes = []
    for rid in run_ids:
        for path in target.glob(f"*-{rid[:7]}-*/run_results.json"):
            for r in json.loads(path.read_text(encoding="utf-8")).get("results", []):
                kind, _, name = r["unique_id"].split(".")[:3]  # model.sudata.<name>, test.sudata.<name>.<hash>
                nodes.append({"node": name, "kind": kind, "seconds": round(r["execution_time"], 2)})
    return sorted(nodes, key=lambda n: -n["seconds"])[:top]


def stage_line(summary: dict) -> str:
    """One line of seconds per stage, the way the bench prints each measured night."""
    stages = summary.get("stages_s") or {}
    return "    " + ", ".join(f"{pipeline.STAGE_LABELS.get(k, k)} {stages[k]:.1f} s" for k in pipeline.STAGES if k in stages)


def published_bytes(home: Path) -> dict:
    """Bytes of the published store as readers see them (every file of every version) and as stored
    (each file once: a slice a version shares with the previous one is a hard link)."""
    apparent, inodes = 0, {}
    for p in (home / "published" / "datasets").rglob("*"):
        if p.is_file():
            st = p.stat()
            apparent += st.st_size
            inodes[(st.st_dev, st.st_ino)] = st.st_size
    return {"apparent": apparent, "stored": sum(inodes.values())}


def measure_growing(rows: int, days: int, work: Path, say=print, keep: bool = False, save=None) -> dict:
    """``save(result)``, when given, is called after every night with what has been measured so far: a run of
    this size takes hours, and an interrupted one keeps its figures."""
    save = save or (lambda _result: None)
    work = Path(work) / f"growing-{rows}-{days}"
    if work.exists():
        shutil.rmtree(work)
    logs, generated, raw = work / "logs", work / "generated", work / "raw"
    total = rows * (days + 1) // days  # the new date has the volume of a history date
    say(f"growing history: generating {total:,} rows over {days} + 1 drop dates")
    g = pipeline.generate(generated, total, days + 1, logs / "generate.log")
    dates = sorted(pipeline.drop_dates_in(generated))
    if len(dates) < days + 1:
        raise RuntimeError(f"generated {len(dates)} drop dates, expected {days + 1}")
    history, new = dates[:days], dates[days]
    result: dict = {"rows": rows, "days": days, "new_drop_date": new, "generate": g.to_dict(),
                    "checkpoints": [], "errors": {}}
    result["generate"].pop("log", None)

    home = work / "home"
    points = checkpoints(days)
    landed = 0
    for point in points:
        first, last = history[landed:point - 1], history[point - 1]
        if first:
            _link_dates(generated, raw, first)
            say(f"  catch-up of {len(first)} date(s) up to {first[-1]}")
            catch = pipeline.nightly(f"catch-up to {first[-1]}", home, raw, logs / f"catchup-{first[-1]}.log")
            result.setdefault("catch_ups", []).append({"dates": len(first), **_summary(catch)})
            say(stage_line(result["catch_ups"][-1]))
            save(result)
        _link_dates(generated, raw, [last])
        night = pipeline.nightly(f"night {last} with {point - 1} dates of history", home, raw,
                                 logs / f"night-{last}.log")
        result["checkpoints"].append({"history_days": point - 1, "drop_date": last, **_summary(night)})
        say(f"  night {last} after {point - 1} dates: {night['measurement']['wall_s']:.1f} s, "
            f"peak {night['measurement']['peak_rss_mb']:.0f} MB")
        say(stage_line(result["checkpoints"][-1]))
        save(result)
        landed = point

    _link_dates(generated, raw, [new])
    nxt = pipeline.nightly(f"next night {new} with {days} dates of history", home, raw, logs / "next-night.log")
    result["next_night"] = {"history_days": days, "drop_date": new, **_summary(nxt)}
    result["checkpoints"].append(result["next_night"])
    result["published_bytes"] = published_bytes(home)
    say(f"  next night: {nxt['measurement']['wall_s']:.1f} s, peak {nxt['measurement']['peak_rss_mb']:.0f} MB")
    say(stage_line(result["next_night"]))
    save(result)

    alone_raw, alone_home = work / "raw_alone", work / "home_alone"
    _link_dates(generated, alone_raw, [new])
    alone = pipeline.nightly(f"the new date {new} alone on an empty home", alone_home, alone_raw, logs / "alone.log")
    result["alone"] = _summary(alone)
    say(f"  the new date alone: {alone['measurement']['wall_s']:.1f} s")
    say(stage_line(result["alone"]))
    result["next_vs_alone"] = round(nxt["measurement"]["wall_s"] / alone["measurement"]["wall_s"], 3)
    result["target_next_vs_alone"] = NEXT_NIGHT_TARGET
    result["peak_rss_mb"] = max(c["peak_rss_mb"] for c in [*result["checkpoints"], *result.get("catch_ups", [])])
    if not result["errors"]:
        result.pop("errors")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def render_chart(growing: dict, path: Path) -> bool:
    """Seconds per stage of each measured night against the history it ran on."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    points = growing.get("checkpoints") or []
    if not points:
        return False
    x = [p["history_days"] for p in points]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for stage in pipeline.STAGES:
        ax.plot(x, [p["stages_s"].get(stage, 0) for p in points], marker="o",
                label=pipeline.STAGE_LABELS.get(stage, stage))
    ax.plot(x, [p["wall_s"] for p in points], marker="s", color="black", label="night (wall)")
    alone = growing.get("alone")
    if alone:
        ax.axhline(alone["wall_s"], color="grey", linestyle="--", label="the new date alone")
    ax.set_xlabel("dates of history already landed")
    ax.set_ylabel("seconds")
    ax.set_title(f"A night's cost as history grows ({human_rows(growing['rows'])} rows over {growing['days']} dates)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.growing", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="raw rows of the history (default %(default)s)")
    ap.add_argument("--days", type=int, default=30, help="drop dates of the history (default %(default)s)")
    ap.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parent / "work")
    ap.add_argument("--out", type=Path, help="write the result as JSON here (default: standard output)")
    ap.add_argument("--chart", type=Path, help="write the chart here (PNG)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    result = measure_growing(args.rows, args.days, args.workdir, say=lambda m: print(m, file=sys.stderr, flush=True),
                             keep=args.keep, save=(lambda r: emit_json(r, args.out)) if args.out else None)
    if args.chart:
        render_chart(result, args.chart)
    emit_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

