"""``generate``: departmental drops for every registered source, at any scale, deterministically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from samplegen import DEFAULT_SEED, DEFAULT_START
from samplegen import dirt as dirt_mod
from samplegen import reference as ref
from samplegen import sources as src
from samplegen import writers
from sudata.registry import Source, load_registry

XLSX_CAP = 100_000             # rows per Excel file: departments' workbooks are small, openpyxl is slow

# Share of the requested rows per source. Events carry the volume; master data stays small.
# Excel sources (penalties, medical institutions, scenic spots, elderly care) are kept small.
SHARES: dict[str, float] = {
    "air_quality_hourly": 0.30,
    "administrative_licences": 0.16,
    "job_postings": 0.14,
    "service_hall_transactions": 0.10,
    "enterprise_changes": 0.07,
    "scenic": 0.02,                      # scenic_spots + scenic_visitors_daily (one visitors row per spot and day)
    "enterprise_registrations": 0.08,
    "bus_stops": 0.04,
    "public_parking": 0.03,
    "administrative_penalties": 0.01,
    "schools": 0.02,
    "medical_institutions": 0.005,
    "communities": 0.02,
    "elderly_care_facilities": 0.005,
}
# Sources that absorb what capped sources cannot take (CSV/JSON events without a natural ceiling).
ELASTIC = ("air_quality_hourly", "administrative_licences", "job_postings", "enterprise_changes")
MASTER_MIN = {"enterprise_registrations": 30, "medical_institutions": 60, "elderly_care_facilities": 30, "scenic_spots": 42}

# Excel sources first, so that their workbooks are written while the rest is generated.
MASTERS: dict[str, src.Master] = {
    "medical_institutions": src.MEDICAL,
    "scenic_spots": src.SPOTS,
    "elderly_care_facilities": src.ELDERLY,
    "enterprise_registrations": src.ENTERPRISES,
    "schools": src.SCHOOLS,
    "bus_stops": src.BUS_STOPS,
    "public_parking": src.PARKING,
    "communities": src.COMMUNITIES,
}
EVENTS = (
    "enterprise_changes", "administrative_licences", "administrative_penalties", "job_postings",
    "air_quality_hourly", "scenic_visitors_daily", "service_hall_transactions",
)
SOURCE_IDS = tuple(MASTERS) + EVENTS

# How typed formats carry values: JSON numbers, Excel number and date cells (other values stay text).
JSON_NUMERIC = {
    "job_postings": {"openings", "salary_min", "salary_max"},
    "public_parking": {"spaces", "longitude", "latitude"},
}
XLSX_KINDS = {
    "administrative_penalties": {"fine_amount": "num", "decision_date": "date"},
    "medical_institutions": {"beds": "num"},
    "scenic_spots": {"ticket_price": "num"},
    "elderly_care_facilities": {"beds": "num", "residents": "num"},
}
# Files exported on Windows end lines with CRLF; one office exports "CSV UTF-8" from Excel, with a BOM.
CRLF = {"enterprise_registrations", "schools", "communities", "scenic_visitors_daily", "service_hall_transactions"}
BOM = {"service_hall_transactions"}
REDELIVERED = "administrative_licences"   # its first file arrives again in the second date's folder
# Excel files at least this large are written by a second process while the CSV/JSON volume is generated
# (openpyxl manages about 5,000 rows a second).
BACKGROUND_XLSX_ROWS = 20_000


@dataclass(frozen=True)
class Plan:
    masters: dict[str, int]       # first snapshot size
    per_day: dict[str, int]       # events per drop date
    stations: int
    categories: int

    def expected(self, days: int) -> dict[str, int]:
        """Rows per source before dirt (duplicates) and re-sent corrections."""
        out = {s: master_total(n, days) for s, n in self.masters.items()}
        spots = self.masters["scenic_spots"]
        out["scenic_visitors_daily"] = sum(spots + d * _new(spots) for d in range(days))
        for s, n in self.per_day.items():
            out[s] = n * days
        out["air_quality_hourly"] = self.stations * 24 * days
        out["service_hall_transactions"] = int(ref.load_streets().hall.sum()) * self.categories * days
        return out


def _new(n0: int) -> int:
    return max(1, round(n0 * src.MASTER_NEW_RATE))


def master_total(n0: int, days: int) -> int:
    return n0 + (days - 1) * (_new(n0) + max(1, round(n0 * src.MASTER_CORR_RATE)))


def plan(rows: int, days: int) -> Plan:
    halls = int(ref.load_streets().hall.sum())
    target = {s: rows * share for s, share in SHARES.items()}
    growth = 1 + (days - 1) * (src.MASTER_NEW_RATE + src.MASTER_CORR_RATE)
    masters: dict[str, int] = {}
    actual: dict[str, float] = {}
    for s in MASTERS:
        if s == "scenic_spots":
            continue
        n0 = max(MASTER_MIN.get(s, 5), round(target[s] / growth))
        if s in XLSX_KINDS:
            n0 = min(n0, XLSX_CAP)
        if s == "communities":
            n0 = min(n0, halls * src.COMMUNITIES_PER_STREET)
        masters[s] = n0
        actual[s] = master_total(n0, days)
    spots = min(XLSX_CAP, max(MASTER_MIN["scenic_spots"], round(target["scenic"] / (growth + days))))
    masters["scenic_spots"] = spots
    actual["scenic"] = master_total(spots, days) + sum(spots + d * _new(spots) for d in range(days))
    per_day = {"administrative_penalties": min(XLSX_CAP, max(1, round(target["administrative_penalties"] / days)))}
    actual["administrative_penalties"] = per_day["administrative_penalties"] * days
    categories = min(len(ref.SERVICE_CATEGORIES), max(1, round(target["service_hall_transactions"] / days / halls)))
    actual["service_hall_transactions"] = halls * categories * days
    overflow = sum(target[s] - actual[s] for s in actual)
    elastic_share = sum(SHARES[s] for s in ELASTIC)
    budget = {s: max(0.0, target[s] + overflow * SHARES[s] / elastic_share) for s in ELASTIC}
    stations = max(1, round(budget["air_quality_hourly"] / days / 24))
    for s in ("administrative_licences", "job_postings", "enterprise_changes"):
        per_day[s] = max(1, round(budget[s] / days))
    return Plan(masters=masters, per_day=per_day, stations=stations, categories=categories)


class _Drops:
    """Adds dirt, writes files in the landing-zone layout, and keeps the summary."""

    def __init__(self, out: Path, registry: dict[str, Source], ctx: src.Ctx) -> None:
        self.out = out
        self.registry = registry
        self.ctx = ctx
        self.files: list[str] = []
        self.rows: dict[str, int] = {}
        self.dirt: dict[str, dict[str, int]] = {}
        self.first_file: dict[str, Path] = {}
        self._tmp: Path | None = None
        self._queue: list[Path] = []
        self._running: list[tuple[subprocess.Popen, Path]] = []

    def write(self, source_id: str, d: int, t: pa.Table) -> None:
        self._pump(limit=1)
        source = self.registry[source_id]
        columns = source.column_names
        produced = [c for c in t.column_names if not c.startswith("_")]
        if sorted(produced) != sorted(columns):
            raise ValueError(f"{source_id}: generated columns {produced} do not match the registry {columns}")
        t = t.select(columns)
        t, counts = dirt_mod.apply(source_id, t, self.ctx.rng(source_id, "dirt", d))
        for k, n in counts.items():
            self.dirt.setdefault(source_id, {})[k] = self.dirt.get(source_id, {}).get(k, 0) + n
        day = self.ctx.dates[d]
        folder = self.out / source.folder / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{source_id}_{day:%Y%m%d}.{source.format}"
        headers = [c.header for c in source.columns]
        rng = self.ctx.rng(source_id, "export", d)
        stamp = datetime(day.year, day.month, day.day, int(rng.integers(1, 6)), int(rng.integers(0, 60)), int(rng.integers(0, 60)))
        if source.format == "csv":
            writers.write_csv(path, t, columns, headers, source.encoding,
                              newline="\r\n" if source_id in CRLF else "\n", bom=source_id in BOM)
        elif source.format == "json":
            writers.write_json(path, t, columns, headers, JSON_NUMERIC.get(source_id, set()), f"{stamp:%Y-%m-%d %H:%M:%S}")
        elif source.format == "xlsx":
            job = (path, t, columns, headers, XLSX_KINDS.get(source_id, {}), source.title, stamp)
            if t.num_rows >= BACKGROUND_XLSX_ROWS:
                self._background(*job)
            else:
                writers.write_xlsx(*job)
        else:  # pragma: no cover - the registry only allows the three formats
            raise ValueError(source.format)
        self.files.append(path.relative_to(self.out).as_posix())
        self.rows[source_id] = self.rows.get(source_id, 0) + t.num_rows
        self.first_file.setdefault(source_id, path)

    def _background(self, path: Path, t: pa.Table, columns: list[str], headers: list[str], kinds: dict[str, str],
                    sheet: str, stamp: datetime) -> None:
        """Queue a workbook for a separate Python process (openpyxl is pure Python: a second core helps)."""
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="sudata-generate-"))
        job = self._tmp / f"job{len(self._queue) + len(self._running)}-{path.stem}"
        with pa.OSFile(str(job.with_suffix(".arrow")), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
        spec = {"rows": str(job.with_suffix(".arrow")), "path": str(path), "columns": columns, "headers": headers,
                "kinds": kinds, "sheet": sheet, "stamp": stamp.isoformat()}
        job.with_suffix(".json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        self._queue.append(job)
        self._pump(limit=1)

    def _pump(self, limit: int) -> None:
        still = []
        for proc, job in self._running:
            if proc.poll() is None:
                still.append((proc, job))
            elif proc.returncode != 0:
                raise RuntimeError(f"writing {job.name} failed: {job.with_suffix('.log').read_text(errors='replace')}")
        self._running = still
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])  # the checkout, for the worker process
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        while self._queue and len(self._running) < limit:
            job = self._queue.pop(0)
            log = open(job.with_suffix(".log"), "wb")
            proc = subprocess.Popen([sys.executable, "-m", "samplegen.xlsx_job", str(job.with_suffix(".json"))],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            log.close()
            self._running.append((proc, job))

    def finish(self, ok: bool = True) -> None:
        """Wait for the workbooks written in the background (two at a time now that nothing else runs)."""
        try:
            while ok and (self._queue or self._running):
                self._pump(limit=2)
                if self._running:
                    self._running[0][0].wait()
            self._pump(limit=0)
        finally:
            for proc, _ in self._running:
                proc.kill()
                proc.wait()
            self._running = []
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def redeliver(self, source_id: str) -> str | None:
        """The first date's file of ``source_id`` delivered again, unchanged, in the second date's folder."""
        if len(self.ctx.dates) < 2 or source_id not in self.first_file:
            return None
        first = self.first_file[source_id]
        target = self.out / self.registry[source_id].folder / self.ctx.dates[1].isoformat() / first.name
        shutil.copyfile(first, target)
        rel = target.relative_to(self.out).as_posix()
        self.files.append(rel)
        return rel


def generate(out: Path | str, rows: int, days: int, seed: int = DEFAULT_SEED, start: date = DEFAULT_START) -> dict:
    """Write ``days`` drop dates of all registered sources under ``out`` (about ``rows`` data rows in total).

    Layout: ``<out>/<department>/<source>/<YYYY-MM-DD>/<source>_<YYYYMMDD>.<csv|json|xlsx>``. The folders of the
    generated sources are replaced. Same arguments, same bytes. Returns a summary (files, rows per source,
    dirt counts, the re-delivered file).
    """
    if rows < 1 or days < 1:
        raise ValueError("rows and days must be positive")
    began = time.perf_counter()
    out = Path(out)
    registry = load_registry()
    missing = [s for s in SOURCE_IDS if s not in registry]
    if missing:
        raise ValueError(f"sources not in the registry: {missing}")
    ctx = src.Ctx(seed=seed, dates=src.dates_for(start, days))
    p = plan(rows, days)
    for s in SOURCE_IDS:
        shutil.rmtree(out / registry[s].folder, ignore_errors=True)
    drops = _Drops(out, registry, ctx)

    ok = False
    try:
        populations: dict[str, tuple[list[pa.Table], list[int]]] = {}
        for s, master in MASTERS.items():
            tables, states, exists = master.run(ctx, p.masters[s])
            for d, t in enumerate(tables):
                drops.write(s, d, t)
            populations[s] = (states, exists)

        ent_states, ent_exists = populations["enterprise_registrations"]
        spot_states, spot_exists = populations["scenic_spots"]
        stations = src.make_stations(ctx, p.stations)
        delivered_district, outdated = _station_districts(ctx, stations)
        drops.dirt.setdefault("air_quality_hourly", {})["outdated_district:district_code (stations)"] = outdated
        # document numbers run through the year: start where this year's earlier days would have left them
        day_of_year = ctx.dates[0].timetuple().tm_yday - 1
        licence_seq = day_of_year * 2 * p.per_day["administrative_licences"] % 900_000
        penalty_seq = day_of_year * 2 * p.per_day["administrative_penalties"] % 900_000
        previous_licences = previous_postings = None
        for d in range(days):
            ent, exists = ent_states[d], ent_exists[d]
            drops.write("enterprise_changes", d, src.enterprise_changes(ctx, d, p.per_day["enterprise_changes"], ent, exists))

            lic = src.administrative_licences(ctx, d, p.per_day["administrative_licences"], ent, exists, licence_seq)
            licence_seq = int(lic["_seq"][-1].as_py()) if lic.num_rows else licence_seq
            late = [src.correct_licences(ctx, d, previous_licences)] if previous_licences is not None else []
            drops.write("administrative_licences", d, pa.concat_tables([lic, *late]))
            previous_licences = lic

            pen = src.administrative_penalties(ctx, d, p.per_day["administrative_penalties"], ent, exists, penalty_seq)
            penalty_seq = int(pen["_seq"][-1].as_py()) if pen.num_rows else penalty_seq
            drops.write("administrative_penalties", d, pen)

            jobs = src.job_postings(ctx, d, p.per_day["job_postings"], ent, exists)
            late = [src.correct_postings(ctx, d, previous_postings)] if previous_postings is not None else []
            drops.write("job_postings", d, pa.concat_tables([jobs, *late]))
            previous_postings = jobs

            drops.write("air_quality_hourly", d, src.air_quality(ctx, d, stations, delivered_district))
            drops.write("scenic_visitors_daily", d, src.scenic_visitors(ctx, d, spot_states[d], spot_exists[d]))
            drops.write("service_hall_transactions", d, src.service_hall(ctx, d, p.categories))
        ok = True
    finally:
        drops.finish(ok)
    redelivered = drops.redeliver(REDELIVERED)
    return {
        "out": str(out),
        "seed": seed,
        "start": ctx.dates[0].isoformat(),
        "days": days,
        "requested_rows": rows,
        "total_rows": sum(drops.rows.values()),
        "rows": dict(sorted(drops.rows.items())),
        "files": sorted(drops.files),
        "redelivered": redelivered,
        "not_generated": sorted(set(registry) - set(SOURCE_IDS)),   # registered sources this generator does not know
        "dirt": drops.dirt,
        "plan": {"masters": p.masters, "per_day": p.per_day, "stations": p.stations, "service_categories": p.categories},
        "seconds": round(time.perf_counter() - began, 2),
    }


def _station_districts(ctx: src.Ctx, st: src.Stations) -> tuple[pa.Array, int]:
    """District codes as the stations' metadata has them: a few Gusu and Wujiang stations still carry pre-2012 codes."""
    rng = ctx.rng("air_quality_hourly", "station-dirt")
    codes = st.district_code.to_pylist()
    eligible = np.flatnonzero([c in ("320508", "320509") for c in codes])
    k = min(len(eligible), max(1, dirt_mod.count(rng, len(codes), dirt_mod.OUTDATED_STATION_RATE)))
    for i in rng.choice(eligible, size=k, replace=False) if k else []:
        codes[i] = ref.WUJIANG_OLD_DISTRICT if codes[i] == "320509" else ("320502", "320503", "320504")[i % 3]
    return pa.array(codes, type=pa.string()), k
