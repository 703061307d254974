"""Targets, and the report: ``report.json``, ``report.md``, ``stages.png`` and a summary on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from bench.pipeline import STAGE_LABELS, STAGES

GB = 1024.0  # MiB per GiB: memory figures are binary (RSS in MiB)
TARGETS = {
    "full_vs_floor": {"title": "Full nightly run ≤ 1.25× the floor (b)", "limit": 1.25, "unit": "×"},
    "gate_vs_transformation": {"title": "Quality gate ≤ 25% of the transformation time", "limit": 0.25, "unit": "%"},
    "incremental_vs_rebuild": {"title": "Incremental next-night run ≤ 20% of a full rebuild", "limit": 0.20, "unit": "%"},
    "peak_memory": {"title": "Peak memory ≤ 4 GB (as 4 GiB of RSS)", "limit": 4 * GB, "unit": "MiB"},
    "defs_load": {"title": "Definitions with 1,000 sources load in ≤ 3 s", "limit": 3.0, "unit": "s"},
    "next_night_vs_alone": {"title": "Growing history: the next night ≤ 1.5× the new date alone on an empty home",
                            "limit": 1.5, "unit": "×"},
    "growing_peak_memory": {"title": "Growing history: peak memory ≤ 2 GiB", "limit": 2 * GB, "unit": "MiB"},
}
TARGET_SCALE = 10_000_000


def _get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return default
        d = d[p]
    return d


def human_rows(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


# --- figures --------------------------------------------------------------------------------------------

def ratios(scale: dict) -> dict:
    a = _get(scale, "full_run", "measurement", "wall_s")
    b = _get(scale, "floor", "measurement", "wall_s")
    c = _get(scale, "scan", "measurement", "wall_s")
    a_cpu = _get(scale, "full_run", "measurement", "cpu_s")
    b_cpu = _get(scale, "floor", "measurement", "cpu_s")
    c_cpu = _get(scale, "scan", "measurement", "cpu_s")
    inc = _get(scale, "incremental", "measurement", "wall_s")
    reb = _get(scale, "rebuild", "measurement", "wall_s")
    st = _get(scale, "full_run", "stages") or {}
    out = {
        "a_over_b": a / b if a and b else None,
        "a_over_c": a / c if a and c else None,
        "a_over_b_plus_c": a / (b + c) if a and b and c else None,
        "a_over_b_cpu": a_cpu / b_cpu if a_cpu and b_cpu else None,
        "a_over_c_cpu": a_cpu / c_cpu if a_cpu and c_cpu else None,
        "incremental_over_rebuild": inc / reb if inc and reb else None,
        "gate_over_transformation": (st["gate_s"] / st["transformation_s"]) if st.get("transformation_s") else None,
        "dbt_step_over_floor": (st["dbt_step_s"] / b) if st.get("dbt_step_s") and b else None,
    }
    return {k: (round(v, 4) if v is not None else None) for k, v in out.items()}


def peak_memory_mb(scale: dict, parts=("full_run", "incremental", "rebuild")) -> float | None:
    """The largest peak of the pipeline's own runs (the floor and the scan are references, not the pipeline)."""
    peaks = [_get(scale, k, "measurement", "peak_rss_mb") for k in parts]
    peaks = [p for p in peaks if p is not None]
    return max(peaks) if peaks else None


def evaluate_targets(report: dict) -> list[dict]:
    scales = [s for s in report.get("scales", []) if s.get("full_run")]
    target_scale = next((s for s in scales if s["rows"] == TARGET_SCALE), scales[-1] if scales else None)
    rows = target_scale["rows"] if target_scale else None
    r = target_scale.get("ratios", {}) if target_scale else {}
    out = []

    incomplete = [k for k in ("full_run", "incremental", "rebuild")
                  if target_scale and _get(target_scale, k, "outcome") and not _get(target_scale, k, "outcome", "complete")]

    def add(key, figure, shown, note=""):
        t = TARGETS[key]
        uses = {"full_vs_floor": ["full_run"], "gate_vs_transformation": ["full_run"],
                "incremental_vs_rebuild": ["incremental", "rebuild"], "peak_memory": ["full_run", "incremental", "rebuild"]}
        bad = [k for k in uses.get(key, []) if k in incomplete]
        if bad and figure is not None:
            note = f"⚠ {', '.join(bad)} did not complete (failed steps): the figure covers less than a full night. " + note
        met = None if figure is None else figure <= t["limit"]
        out.append({"target": key, "title": t["title"], "limit": t["limit"], "figure": figure, "shown": shown,
                    "status": "not measured" if met is None else ("met" if met else "not met"),
                    "rows": rows if key != "defs_load" and key not in GROWING_TARGETS else None, "note": note})

    x = r.get("a_over_b")
    add("full_vs_floor", x, f"{x:.2f}×" if x is not None else "–",
        f"(a) {_fmt_s(_get(target_scale, 'full_run', 'measurement', 'wall_s'))} vs (b) "
        f"{_fmt_s(_get(target_scale, 'floor', 'measurement', 'wall_s'))}" if target_scale else "")
    x = r.get("gate_over_transformation")
    st = _get(target_scale, "full_run", "stages") or {}
    add("gate_vs_transformation", x, f"{x:.0%}" if x is not None else "–",
        f"gate {_fmt_s(st.get('gate_s'))} (dbt tests {_fmt_s(_get(st, 'stages_s', 'dbt_tests'))} + quality_gate checks "
        f"{_fmt_s(_get(st, 'stages_s', 'quality_gate'))}) vs transformation {_fmt_s(st.get('transformation_s'))}" if st else "")
    x = r.get("incremental_over_rebuild")
    add("incremental_vs_rebuild", x, f"{x:.0%}" if x is not None else "–",
        f"incremental {_fmt_s(_get(target_scale, 'incremental', 'measurement', 'wall_s'))} vs rebuild "
        f"{_fmt_s(_get(target_scale, 'rebuild', 'measurement', 'wall_s'))}" if target_scale else "")
    x = peak_memory_mb(target_scale) if target_scale else None
    add("peak_memory", x, f"{x / GB:.2f} GiB" if x is not None else "–",
        "largest of the pipeline's runs: (a), incremental and rebuild (sum of RSS over each process tree)")
    d = report.get("defs_load") or {}
    x = _get(d, "import", "median_s")
    add("defs_load", x, f"{x:.2f} s" if x is not None else "–",
        f"median of {len(_get(d, 'import', 'runs_s', default=[]))} fresh interpreters; with the asset graph "
        f"resolved: {_fmt_s(_get(d, 'import_and_resolve', 'median_s'))}"
        + (f"; {d['over_target']:.2f}× the target, {d['over_before']:.2f}× the "
           f"{d['before_s']['import_median_s']:.1f} s measured before ({d['before_s']['commit']})" if "over_target" in d else "")
        if d.get("import") else "")
    g = report.get("growing") or {}
    size = f"at {human_rows(g['rows'])} rows over {g['days']} dates of history" if g.get("rows") else ""
    x = g.get("next_vs_alone")
    add("next_night_vs_alone", x, f"{x:.2f}×" if x is not None else "–",
        f"{size}: next night {_fmt_s(_get(g, 'next_night', 'wall_s'))} vs the new date alone "
        f"{_fmt_s(_get(g, 'alone', 'wall_s'))}" if x is not None else g.get("error", ""))
    x = g.get("peak_rss_mb")
    add("growing_peak_memory", x, f"{x / GB:.2f} GiB" if x is not None else "–",
        f"{size}: largest of the catch-ups and nights" if x is not None else "")
    return out


GROWING_TARGETS = ("next_night_vs_alone", "growing_peak_memory")


def render_growing(g: dict) -> list[str]:
    """The growing-history section: each measured night's stages against the history it ran on."""
    if not g.get("checkpoints"):
        return []
    stages = STAGES
    lines = ["## Growing history", "",
             f"{human_rows(g['rows'])} raw rows over {g['days']} drop dates, then one new date "
             f"({g['new_drop_date']}); the new date alone on an empty home: {_fmt_s(_get(g, 'alone', 'wall_s'))}. "
             "Seconds per stage of each single night:", "",
             "| history (dates) | night | " + " | ".join(STAGE_LABELS.get(k, k) for k in stages) + " | peak |",
             "|---:|---:|" + "---:|" * len(stages) + "---:|"]
    for c in g["checkpoints"]:
        lines.append(f"| {c['history_days']} | {_fmt_s(c['wall_s'])} | "
                     + " | ".join(_fmt_s(c['stages_s'].get(k)) for k in stages) + f" | {_fmt_mb(c['peak_rss_mb'])} |")
    loads = [c["load_average"][0] for c in g["checkpoints"] if c.get("load_average")]
    if loads:
        lines += ["", f"Load average (1 min) at the end of each night: {min(loads):.1f}–{max(loads):.1f} on this machine."]
    slowest = _get(g, "next_night", "dbt_slowest_nodes")
    if slowest:
        lines += ["", "Slowest dbt nodes of the next night (dbt's own seconds): "
                  + ", ".join(f"`{n['node']}` {n['seconds']:.1f}" for n in slowest[:8]) + "."]
    b = g.get("published_bytes")
    if b:
        lines += ["", f"Published store after the last night: {b['apparent'] / 2**20:.1f} MiB as readers see every "
                      f"version, {b['stored'] / 2**20:.1f} MiB stored (unchanged Su Online slices shared)."]
    if g.get("chart"):
        lines += ["", f"![stages against history]({g['chart']})"]
    return lines + [""]


def analysis(report: dict) -> list[str]:
    """What stands in the way of each target, read off the figures of the target scale."""
    scales = [s for s in report.get("scales", []) if _get(s, "full_run", "stages")]
    if not scales:
        return []
    s = next((x for x in scales if x["rows"] == TARGET_SCALE), scales[-1])
    st = s["full_run"]["stages"]
    out = []
    b = _get(s, "floor", "measurement", "wall_s")
    a = s["full_run"]["measurement"]["wall_s"]
    dbt_steps = sorted((x for x in st.get("steps", []) if x["stage"] == "dbt"), key=lambda x: x.get("drop_date") or "")
    if b and dbt_steps:
        last = dbt_steps[-1]["seconds"]
        repeated = sum(x["seconds"] for x in dbt_steps[:-1])
        outside = st["stages_s"]["ingestion"] + st["stages_s"]["publication"]
        text = (f"**(a) against the floor:** the dbt step is {st['dbt_step_s']:.0f} s of (a)'s {a:.0f} s, against "
                f"{b:.0f} s for the same SQL run once in (b).")
        if len(dbt_steps) > 1:
            text += (f" `sudata run` ran the nightly job once per pending drop date ({len(dbt_steps)} runs) and each "
                     f"`dbt build` rebuilt every model over all drop dates landed so far: the last night's build alone took "
                     f"{last:.0f} s ({last / b:.2f}× the floor), the earlier ones {repeated:.0f} s of work the last one "
                     f"redid. Without them (a) would be {a - repeated:.0f} s, {(a - repeated) / b:.2f}× the floor.")
        text += (f" Ingestion ({st['stages_s']['ingestion']:.0f} s) and publication ({st['stages_s']['publication']:.0f} s) "
                 f"are outside the floor by definition and add {outside / b:.2f}× of it.")
        out.append(text)
    r = s.get("ratios") or {}
    if r.get("gate_over_transformation") is not None:
        out.append(f"**Quality gate:** dbt tests {st['stages_s']['dbt_tests']:.0f} s plus the `quality_gate` checks "
                   f"{st['stages_s']['quality_gate']:.0f} s against {st['transformation_s']:.0f} s of transformation "
                   f"({r['gate_over_transformation']:.0%}).")
    inc = _get(s, "incremental", "stages")
    reb = _get(s, "rebuild", "measurement", "wall_s")
    if inc and reb:
        inc_dbt = inc["dbt_step_s"]
        layers = inc.get("dbt_layer_seconds") or {}
        before = _get(s, "data", "landing_zone", "bytes")
        after = _get(s, "incremental_data", "landing_zone", "bytes")
        text = (f"**Incremental night:** {inc['wall_s']:.0f} s against {reb:.0f} s for the rebuild "
                f"({inc['wall_s'] / reb:.0%}). Its dbt step took {inc_dbt:.0f} s")
        if layers:
            text += (" (dbt's node time: " + ", ".join(f"{k} {v:.0f} s" for k, v in layers.items())
                     + f"; tests {inc['stages_s']['dbt_tests']:.0f} s): staging takes only the new date, intermediate "
                       "models and marts are rebuilt over every date")
        text += (f". Ingestion of the new date took {inc['stages_s']['ingestion']:.0f} s and publication "
                 f"{inc['stages_s']['publication']:.0f} s (every dataset changed, so each is exported again).")
        if before and after and after > before:
            share = (after - before) / after
            text += (f" The new date is {share:.0%} of the bytes the rebuild reads: work proportional to the new rows "
                     f"alone costs that share of a rebuild, so with {len(_get(s, 'data', 'landing_zone', 'drop_dates', default=[]))} "
                     f"earlier dates the ratio cannot fall below ~{share:.0%}.")
        out.append(text)
    peak = peak_memory_mb(s)
    if peak:
        where = []
        for key in ("full_run", "incremental", "rebuild"):
            at = _get(s, key, "measurement", "extra", "at_peak_mb")
            during = _get(s, key, "stages", "peak_memory_during") or {}
            if at:
                where.append(f"{key.replace('_', ' ')} {_fmt_mb(_get(s, key, 'measurement', 'peak_rss_mb'))}"
                             + (f" during `{during['step']}`" if during.get("step") else "")
                             + ": " + ", ".join(f"`{n}` {_fmt_mb(mb)}" for n, mb in at[:3]))
        fl = _get(s, "floor", "measurement", "peak_rss_mb")
        out.append(f"**Memory:** the pipeline peaked at {_fmt_mb(peak)}"
                   + (f"; DuckDB alone needed {_fmt_mb(fl)} for the same SQL in (b)" if fl else "")
                   + (" (" + "; ".join(where) + ")" if where else "") + ".")
    return out


def dominant_stage(scale: dict) -> tuple[str, float, float] | None:
    st = _get(scale, "full_run", "stages")
    if not st:
        return None
    k = max(st["stages_s"], key=lambda s: st["stages_s"][s])
    return k, st["stages_s"][k], st["shares"][k]


def _fmt_s(x) -> str:
    if x is None:
        return "–"
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s"


def _fmt_mb(x) -> str:
    if x is None:
        return "–"
    return f"{x / GB:.2f} GiB" if x >= GB else f"{x:.0f} MiB"


# --- Markdown -------------------------------------------------------------------------------------------

MEASUREMENTS = (
    ("full_run", "(a) full nightly job: `sudata run`, 2 drop dates"),
    ("floor", "(b) floor: compiled dbt SQL in one DuckDB process"),
    ("scan", "(c) raw scan: DuckDB reads every drop once"),
    ("incremental", "next night: `sudata run` with a 3rd drop date"),
    ("rebuild", "full rebuild: `sudata run` of the 3 dates from scratch"),
)

WHAT_IS_MEASURED = """\
- **(a) full nightly job**: `sudata run` as a user runs it, in a subprocess, on a fresh `SUDATA_HOME`
  (and Dagster instance) over a landing zone of 2 drop dates; the CLI runs the `nightly` job once over
  the pending drop dates (ingestion lands each date, dbt and publication run once). Includes interpreter start,
  loading the definitions, finding pending drops, ingestion, `dbt build` (models and tests), the quality gates, publication and Dagster's bookkeeping.
- **(b) floor**: one DuckDB process (`python -m bench.floor`) over the Parquet lake that (a)'s ingestion
  wrote: the raw views as the project's `on-run-start` macro registers them, the seeds, then every model's
  compiled SQL (`dbt compile` against an empty warehouse, so incremental models take their full-refresh SQL)
  in dependency order with its materialisation (views stay views, tables are `create table … as`).
  No dbt process, no tests, no checks, no publication. Reading the drops is not in (b): it is (a)'s
  ingestion stage, and (c) shows what DuckDB alone needs to read them.
- **(c) raw scan**: one DuckDB process reading every delivered file of the same landing zone once, every
  column hashed: CSV with `read_csv` (GBK tokenised as Latin-1: DuckDB has no GBK decoder here), JSON with
  `read_json`; XLSX has no DuckDB reader here (no `excel` extension), so its rows are read from the
  Parquet partition ingestion wrote for them.
- **incremental**: after (a), drops of a 3rd date arrive for every source; `sudata run` on the same home
  picks that pending date. **rebuild**: `sudata run` of the same 3 dates on a fresh home.
- **wall** is the subprocess's elapsed time; **CPU** is user + system time of the process and every child
  it waited for (dbt included); **peak memory** is the largest sum of RSS over the process tree, sampled
  every 0.2 s (never below the largest single-process RSS the kernel recorded). The machine has 2 cores,
  so CPU/wall tops out at 2.0.
- **stages** of (a) come from the Dagster runs' own step events (STEP_START → STEP_SUCCESS/FAILURE).
  dbt tests run inside the dbt step; their share is dbt's per-node timing, scaled to the step if threads
  overlap. *Transformation* = dbt step − dbt tests; *quality gate* = dbt tests + the `quality_gate`
  checks; *orchestration overhead* = wall time − the sum of step durations.
"""


def render_markdown(report: dict) -> str:
    meta = report.get("meta", {})
    lines = ["# Su Data Foundation benchmark", ""]
    lines.append(
        f"Run {meta.get('started', '')} → {meta.get('finished', '')} on {meta.get('machine', {}).get('cpus', '?')} cores, "
        f"{meta.get('machine', {}).get('memory_gb', '?')} GB RAM (load average at start {meta.get('loadavg_start', '?')}, "
        f"at end {meta.get('loadavg_end', '?')}); commit {meta.get('git', {}).get('commit', '?')}"
        f"{' (uncommitted changes)' if meta.get('git', {}).get('dirty') else ''}. "
        f"Versions: {', '.join(f'{k} {v}' for k, v in meta.get('versions', {}).items())}.")
    lines.append(f"Command: `{meta.get('command', 'python -m bench')}`.")
    lines.append("")
    lines += ["## Targets", ""]
    targets = report.get("targets") or []
    t_scale = next((t["rows"] for t in targets if t.get("rows")), None)
    if t_scale:
        lines.append(f"Evaluated at {human_rows(t_scale)} raw rows" +
                     ("" if t_scale == TARGET_SCALE else f" (the issue's targets are set at {human_rows(TARGET_SCALE)}; "
                      "that scale was not part of this run)") + ".")
        lines.append("")
    lines += ["| target | figure | status | detail |", "|---|---|---|---|"]
    for t in targets:
        mark = {"met": "✅ met", "not met": "❌ not met"}.get(t["status"], t["status"])
        lines.append(f"| {t['title']} | {t['shown']} | {mark} | {t['note']} |")
    lines.append("")
    lines += render_growing(report.get("growing") or {})
    dom = report.get("dominant")
    if dom:
        lines.append(f"**Where the time goes:** {dom}")
        lines.append("")
    for item in report.get("analysis") or []:
        lines.append(f"- {item}")
    if report.get("analysis"):
        lines.append("")

    for scale in report.get("scales", []):
        n = scale["rows"]
        lines += [f"## {human_rows(n)} raw rows", ""]
        data = scale.get("data") or {}
        lz = data.get("landing_zone") or {}
        scanned = _get(scale, "scan", "result", "rows")
        lines.append(
            f"Landing zone: {lz.get('files', '?')} files, {(lz.get('bytes') or 0) / 2**20:,.0f} MB, drop dates "
            f"{', '.join(lz.get('drop_dates', []))}; {scanned:,} rows read by the raw scan. "
            if scanned is not None else
            f"Landing zone: {lz.get('files', '?')} files, {(lz.get('bytes') or 0) / 2**20:,.0f} MB. ")
        if data.get("generate"):
            lines[-1] += f"Generating it took {_fmt_s(data['generate'].get('wall_s'))} (not measured further)."
        lines.append("")
        lines += ["| measurement | wall | CPU | CPU/wall | peak memory | notes |", "|---|---:|---:|---:|---:|---|"]
        for key, title in MEASUREMENTS:
            part = scale.get(key) or {}
            m = part.get("measurement")
            note = _measurement_note(key, part)
            if m:
                lines.append(f"| {title} | {_fmt_s(m['wall_s'])} | {_fmt_s(m['cpu_s'])} | "
                             f"{m.get('cpu_utilisation') or '–'} | {_fmt_mb(m['peak_rss_mb'])} | {note} |")
            elif part.get("error") or (scale.get("errors") or {}).get(key):
                err = part.get("error") or scale["errors"][key]
                lines.append(f"| {title} | – | – | – | – | failed: {_one_line(err)} |")
        lines.append("")
        peaks = []
        for key, title in MEASUREMENTS:
            at = _get(scale, key, "measurement", "extra", "at_peak_mb")
            if at:
                during = _get(scale, key, "stages", "peak_memory_during") or {}
                where = (f" — during step `{during['step']}` ({during.get('drop_date') or ''})" if during.get("step")
                         else " — outside any step" if during else "")
                peaks.append(f"{title.split(':')[0]} ({_fmt_mb(_get(scale, key, 'measurement', 'peak_rss_mb'))}): "
                             + ", ".join(f"`{n}` {_fmt_mb(mb)}" for n, mb in at[:3]) + where)
        if peaks:
            lines += ["Largest processes at each peak of memory:", ""] + [f"- {p}" for p in peaks] + [""]
        r = scale.get("ratios") or {}
        if any(v is not None for v in r.values()):
            lines += ["| ratio | wall | CPU |", "|---|---:|---:|"]
            lines.append(f"| (a) / (b) full run over floor | {_x(r.get('a_over_b'))} | {_x(r.get('a_over_b_cpu'))} |")
            lines.append(f"| (a) / (c) full run over raw scan | {_x(r.get('a_over_c'))} | {_x(r.get('a_over_c_cpu'))} |")
            lines.append(f"| (a) / ((b) + (c)) full run over floor with reading the drops | {_x(r.get('a_over_b_plus_c'))} | |")
            lines.append(f"| dbt step of (a) / (b) | {_x(r.get('dbt_step_over_floor'))} | |")
            lines.append(f"| quality gate / transformation | {_pct(r.get('gate_over_transformation'))} | |")
            lines.append(f"| incremental / rebuild | {_pct(r.get('incremental_over_rebuild'))} | |")
            lines.append("")
        st = _get(scale, "full_run", "stages")
        if st:
            inc = _get(scale, "incremental", "stages") or {}
            reb = _get(scale, "rebuild", "stages") or {}
            lines += ["Time per stage (seconds; share of (a) in brackets):", "",
                      "| stage | (a) full run, 2 dates | incremental, 1 new date | rebuild, 3 dates |", "|---|---:|---:|---:|"]
            for k in STAGES:
                lines.append(f"| {STAGE_LABELS[k]} | {st['stages_s'][k]:.1f} ({st['shares'][k]:.0%}) | "
                             f"{_num(_get(inc, 'stages_s', k))} | {_num(_get(reb, 'stages_s', k))} |")
            lines.append(f"| **total (wall)** | **{st['wall_s']:.1f}** | **{_num(inc.get('wall_s'))}** | "
                         f"**{_num(reb.get('wall_s'))}** |")
            od = st.get("overhead_detail_s") or {}
            lines.append("")
            lines.append(
                f"Overhead detail: {_fmt_s(od.get('startup_before_first_run'))} from process start to the first run "
                f"(imports, definitions, pending drops), {_fmt_s(od.get('inside_runs_between_steps'))} inside runs between "
                f"steps, {_fmt_s(od.get('between_and_after_runs'))} between and after runs. "
                f"{st.get('step_count', 0)} steps in {len(st.get('runs', []))} runs"
                f"{', ' + str(st['steps_retried']) + ' retried' if st.get('steps_retried') else ''}; dbt's own node time: "
                f"{_get(st, 'dbt_node_seconds', 'model_nodes', default='?')} model builds "
                f"{_fmt_s(_get(st, 'dbt_node_seconds', 'models'))}, {_get(st, 'dbt_node_seconds', 'test_nodes', default='?')} "
                f"tests {_fmt_s(_get(st, 'dbt_node_seconds', 'tests'))} (2 dbt threads: node times overlap).")
            lines.append("")
            slow = st.get("steps", [])[:8]
            if slow:
                lines += ["Slowest steps of (a):", "", "| step | drop date | stage | seconds |", "|---|---|---|---:|"]
                lines += [f"| `{s['step']}` | {s.get('drop_date') or ''} | {s['stage']} | {s['seconds']:.1f} |" for s in slow]
                lines.append("")
        fl = _get(scale, "floor", "result")
        if fl:
            models = sorted(fl.get("models", []), key=lambda m: -m["seconds"])[:8]
            lines.append(f"Floor: {len(fl.get('models', []))} models in {_fmt_s(fl.get('models_s'))} "
                         f"(raw views {_fmt_s(fl.get('raw_views_s'))}, seeds {_fmt_s(fl.get('seeds_s'))}); "
                         f"compiling the manifest beforehand took {_fmt_s(_get(scale, 'floor', 'compile_s'))}. Slowest models:")
            lines += ["", "| model | materialised | seconds | rows |", "|---|---|---:|---:|"]
            for m in models:
                rows = f"{m['rows']:,}" if m.get("rows") is not None else ""
                lines.append(f"| `{m['model']}` | {m['materialized']} | {m['seconds']:.2f} | {rows} |")
            lines.append("")
        if scale.get("errors"):
            lines.append("Errors: " + "; ".join(f"{k}: {_one_line(v)}" for k, v in scale["errors"].items()))
            lines.append("")

    d = report.get("defs_load")
    if d:
        lines += ["## Loading the Dagster definitions", ""]
        if d.get("error"):
            lines.append(f"Failed: {_one_line(d['error'])}")
        else:
            lines += ["| registry | load | median | min | max | peak memory |", "|---|---|---:|---:|---:|---:|"]
            for label, part in ((f"{d['sources']:,} sources (synthetic)", d),
                                (f"{_get(d, 'baseline', 'sources')} sources (the project's)", d.get("baseline") or {})):
                for key, what in (("import", "`import orchestration.definitions`"),
                                  ("import_and_resolve", "import + `defs.get_repository_def()`")):
                    x = part.get(key)
                    if x:
                        lines.append(f"| {label} | {what} | {_fmt_s(x['median_s'])} | {_fmt_s(x['min_s'])} | "
                                     f"{_fmt_s(x['max_s'])} | {_fmt_mb(x['peak_rss_mb'])} |")
            lines.append("")
            lines.append(f"Each figure is a fresh interpreter; the dbt manifest was prepared beforehand "
                         f"({'and was re-parsed during a load!' if d.get('manifest_parsed_during_load') else 'and no load re-parsed it'}).")
            if "over_target" in d:
                from bench.defs_load import summary

                lines += ["", summary(d) + (f"; the synthetic project's manifest is {d['synthetic_manifest_mb']} MB "
                                            f"(dbt parse {_fmt_s(d['synthetic_manifest_prepared_s'])})."
                                            if d.get("synthetic_manifest_mb") else ".")]
        lines.append("")

    for key, heading in (("portal", "Portal"), ("credit", "Credit checks")):
        lines += _section(report.get(key), heading)

    lines += ["## What each measurement includes", "", WHAT_IS_MEASURED]
    if report.get("stages_png"):
        lines += ["![time per stage](stages.png)", ""]
    return "\n".join(lines)


def _section(p, heading: str) -> list[str]:
    lines: list[str] = []
    if p:
        lines += [f"## {heading}", ""]
        if isinstance(p, dict) and p.get("markdown"):
            lines.append(p["markdown"].rstrip())
        elif isinstance(p, dict) and p.get("error"):
            lines.append(f"Failed: {_one_line(p['error'])}")
        else:
            lines += ["| figure | value |", "|---|---|"]
            for k, v in _flatten(p):
                lines.append(f"| {k} | {v} |")
        lines.append("")
    return lines


def _measurement_note(key: str, part: dict) -> str:
    if key in ("full_run", "incremental", "rebuild"):
        o = part.get("outcome") or {}
        if not o:
            return ""
        launched = o.get("launched", len(o.get("drop_dates", [])))
        note = (f"{launched} run(s) for {len(o.get('drop_dates', []))} drop date(s) "
                f"({', '.join(o.get('drop_dates', []))}): {o.get('published', 0)} published")
        if not o.get("complete", True):
            note = (f"⚠ exit {o.get('exit_code')}: {o.get('failed_steps', 0)} failed steps, "
                    f"{o.get('runs', 0)} of {launched} runs finished; ") + note
        if o.get("blocked"):
            note += f", {o['blocked']} blocked ({', '.join(o.get('blocked_datasets', [])[:6])})"
        if o.get("failed_steps"):
            note += f", {o['failed_steps']} failed steps"
        return note
    if key == "floor":
        r = part.get("result") or {}
        return f"{len(r.get('models', []))} models" if r else ""
    if key == "scan":
        r = part.get("result") or {}
        if not r:
            return ""
        by = r.get("by_reader", {})
        return f"{r.get('files', 0)} files, {r.get('rows', 0):,} rows; " + ", ".join(
            f"{k}: {v['files']} files/{v['seconds']:.1f} s" for k, v in by.items())
    return ""


def _num(v) -> str:
    return f"{v:.1f}" if v is not None else "–"


def _x(v) -> str:
    return f"{v:.2f}×" if v is not None else "–"


def _pct(v) -> str:
    return f"{v:.0%}" if v is not None else "–"


def _one_line(s) -> str:
    s = str(s).strip().splitlines()
    return (s[-1] if s else "")[:300].replace("|", "\\|")


def _flatten(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten(v, key + ".")
        elif isinstance(v, (list, tuple)):
            yield key, ", ".join(str(x) for x in v[:10]) + (" …" if len(v) > 10 else "")
        else:
            yield key, (f"{v:.3f}" if isinstance(v, float) else v)


# --- chart ----------------------------------------------------------------------------------------------

COLOURS = {"ingestion": "#4C72B0", "dbt_models": "#55A868", "dbt_tests": "#8FD19E", "quality_gate": "#C44E52",
           "publication": "#8172B2", "overhead": "#937860"}


def render_chart(report: dict, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = [s for s in report.get("scales", []) if _get(s, "full_run", "stages")]
    if not scales:
        return False
    labels = [human_rows(s["rows"]) for s in scales]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 6), gridspec_kw={"width_ratios": [3, 2]})
    x = list(range(len(scales)))
    w = 0.26
    bottom = [0.0] * len(scales)
    for k in STAGES:
        vals = [s["full_run"]["stages"]["stages_s"][k] for s in scales]
        ax.bar([i - w for i in x], vals, w, bottom=bottom, color=COLOURS[k], label=STAGE_LABELS[k])
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    floor = [_get(s, "floor", "measurement", "wall_s") or 0 for s in scales]
    scan = [_get(s, "scan", "measurement", "wall_s") or 0 for s in scales]
    ax.bar(x, floor, w, color="#333333", label="(b) floor: compiled SQL in DuckDB")
    ax.bar([i + w for i in x], scan, w, color="#AAAAAA", label="(c) raw scan")
    for i in range(len(scales)):
        ax.text(i - w, bottom[i], f"{bottom[i]:.0f} s", ha="center", va="bottom", fontsize=8)
        if floor[i]:
            ax.text(i, floor[i], f"{floor[i]:.0f} s", ha="center", va="bottom", fontsize=8)
        if scan[i]:
            ax.text(i + w, scan[i], f"{scan[i]:.0f} s", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{lab} rows\n(a) | (b) | (c)" for lab in labels])
    ax.set_ylabel("wall time (s)")
    ax.set_title("Full nightly run (a) by stage, against the floor (b) and the raw scan (c)", fontsize=10)
    ax.set_ylim(0, max(bottom + floor + scan) * 1.12 or 1)
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()

    bottom = [0.0] * len(scales)
    for k in STAGES:
        vals = [100 * s["full_run"]["stages"]["shares"][k] for s in scales]
        ax2.bar(x, vals, 0.5, bottom=bottom, color=COLOURS[k], label=STAGE_LABELS[k])
        for i, v in enumerate(vals):
            if v >= 6:
                ax2.text(i, bottom[i] + v / 2, f"{v:.0f}%", ha="center", va="center", fontsize=8, color="white")
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax2.set_xticks(x, [f"{lab} rows" for lab in labels])
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("share of (a) wall time (%)")
    ax2.set_title("Share of (a) per stage", fontsize=10)
    fig.legend(handles, names, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --- writing --------------------------------------------------------------------------------------------

def finalise(report: dict) -> None:
    """Ratios per scale, targets and the dominant stage (in place)."""
    for s in report.get("scales", []):
        s["ratios"] = ratios(s)
    report["targets"] = evaluate_targets(report)
    scales = [s for s in report.get("scales", []) if _get(s, "full_run", "stages")]
    if scales:
        s = scales[-1]
        k, secs, share = dominant_stage(s)
        report["dominant"] = (f"at {human_rows(s['rows'])} rows the largest stage of (a) is {STAGE_LABELS[k]}: "
                              f"{secs:.1f} s, {share:.0%} of the wall time.")
    report["analysis"] = analysis(report)


def write_report(report: dict, out: Path) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    finalise(report)
    png = out / "stages.png"
    report["stages_png"] = "stages.png" if render_chart(report, png) else None
    if (report.get("growing") or {}).get("checkpoints"):
        from bench.growing import render_chart as render_growing_chart

        report["growing"]["chart"] = "growing.png" if render_growing_chart(report["growing"], out / "growing.png") else None
    if not report["stages_png"] and png.exists():
        png.unlink()
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return {"json": out / "report.json", "markdown": out / "report.md", "chart": png if report["stages_png"] else None}


def summary(report: dict) -> str:
    lines = []
    for s in report.get("scales", []):
        r = s.get("ratios") or {}
        a = _get(s, "full_run", "measurement")
        b = _get(s, "floor", "measurement")
        c = _get(s, "scan", "measurement")
        lines.append(f"{human_rows(s['rows'])} rows: (a) {_fmt_s(a and a['wall_s'])}  (b) {_fmt_s(b and b['wall_s'])}  "
                     f"(c) {_fmt_s(c and c['wall_s'])}  a/b {_x(r.get('a_over_b'))}  a/c {_x(r.get('a_over_c'))}  "
                     f"incremental/rebuild {_pct(r.get('incremental_over_rebuild'))}  peak {_fmt_mb(peak_memory_mb(s))}")
        st = _get(s, "full_run", "stages")
        if st:
            lines.append("    stages: " + ", ".join(f"{STAGE_LABELS[k]} {st['stages_s'][k]:.1f} s ({st['shares'][k]:.0%})"
                                                   for k in STAGES))
        for k, v in (s.get("errors") or {}).items():
            lines.append(f"    {k} failed: {_one_line(v)}")
    d = report.get("defs_load") or {}
    if d.get("import") and "over_target" in d:
        from bench.defs_load import summary

        lines.append(summary(d))
    elif d.get("import"):
        lines.append(f"definitions with {d['sources']:,} sources: import {_fmt_s(d['import']['median_s'])} (median), "
                     f"with resolve {_fmt_s(_get(d, 'import_and_resolve', 'median_s'))}")
    elif d.get("error"):
        lines.append(f"definitions load failed: {_one_line(d['error'])}")
    for t in report.get("targets", []):
        lines.append(f"[{t['status']:>12}] {t['title']}: {t['shown']}")
    if report.get("dominant"):
        lines.append(report["dominant"])
    return "\n".join(lines)
