"""``make soak``: 200 concurrent clients for 60 s against the portal serving the published sample while the
sample is published again and again, checking that no reader sees a mix of versions.

- the home is the bundled sample's first night (``sudata run --date``) unless ``--home`` names a published one;
- a publisher process publishes every dataset of the sample anew from the warehouse during the whole soak,
  through the store's own publication (export, ``.staging/``, rename, one index transaction), as the
  nightly publication assets do;
- the clients (bench.portal's lean keep-alive connections) search, show, page and download. Two checks:
  a datastore page sequence followed through its ``next_cursor`` stays on one version and returns exactly
  its ``total`` rows; the CSV of the version a ``package_show`` names has the checksum that answer gives.

Figures: p50/p95/p99, requests/s and errors per worker count (``--workers 1 --workers 4``).
``python -m bench.soak --help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.portal import Connection, _free_port, _rss_mb, _summary, start_server, stop_server  # noqa: E402

FIRST_NIGHT = "2026-11-23"


# -- the publication running during the soak ---------------------------------------------------------
def publish_sample(home: Path, seconds: float, datasets: int | None = None) -> dict:
    """Publish every dataset of the sample (or its first ``datasets``) anew, a new version each even with the
    same data, round after round until ``seconds`` have passed (at least one round)."""
    from orchestration.project import ensure_manifest
    from sudata.datasets import load_datasets
    from sudata.publish import export_version
    from sudata.settings import Paths, duckdb_connect
    from sudata.store import PublishedStore

    paths = Paths(home=home, raw=home / "raw")
    store = PublishedStore(paths.published)
    specs = list(load_datasets(ensure_manifest()).values())[:datasets]
    deadline, rounds, versions = time.monotonic() + seconds, 0, 0
    with closing(duckdb_connect(paths.warehouse, read_only=True, paths=paths)) as con:
        while rounds == 0 or time.monotonic() < deadline:
            for spec in specs:
                current = store.current_version(spec.name)
                if current is None:
                    continue
                store.publish(spec.entry(), lambda d, spec=spec: export_version(con, spec, d), run_id="soak",
                              drop_date=current["drop_date"], quality=current["quality"], skip_if_unchanged=False)
                versions += 1
            rounds += 1
    return {"rounds": rounds, "versions": versions}


def start_publisher(home: Path, seconds: float, datasets: int | None) -> subprocess.Popen:
    env = dict(os.environ, SUDATA_HOME=str(home), SUDATA_RAW=str(home / "raw"))
    return subprocess.Popen([sys.executable, "-m", "bench.soak", "publish", "--home", str(home), "--seconds",
                             str(seconds), *(["--datasets", str(datasets)] if datasets else [])],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def prepare_home(home: Path) -> None:
    """The sample's first night published into ``home`` (skipped when it already holds a store)."""
    if (home / "published" / "catalog.sqlite").exists():
        return
    raw = home / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw, dirs_exist_ok=True)
    env = dict(os.environ, SUDATA_HOME=str(home), SUDATA_RAW=str(raw), DAGSTER_HOME=str(home / "dagster"))
    env.pop("SUDATA_CRASH_AT", None)
    done = subprocess.run([sys.executable, "-m", "cli", "run", "--date", FIRST_NIGHT], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("sudata run failed: " + done.stdout[-2000:] + done.stderr[-2000:])


# -- what a reader must never see ------------------------------------------------------------------
def sequence_problem(pages: list[dict]) -> str | None:
    """A datastore page sequence (first page, then its next_cursor pages): one version, exactly its rows."""
    versions = {p["version"] for p in pages}
    if len(versions) > 1:
        return f"one page sequence read versions {sorted(versions)}"
    rows = sum(len(p["records"]) for p in pages)
    if rows != pages[0]["total"]:
        return f"a page sequence returned {rows} rows of a {pages[0]['total']}-row version"
    return None


def show_problem(package: dict, csv_body: bytes) -> str | None:
    """The CSV of the version a package_show names must be the file that answer describes."""
    res = next(r for r in package["resources"] if r["format"] == "CSV")
    if hashlib.sha256(csv_body).hexdigest() != res["hash"]:
        return f"{package['name']} v{package['version']}: the CSV is not the one package_show describes"
    return None


# -- the clients -----------------------------------------------------------------------------------
class Soak:
    def __init__(self, base: str, names: list[str], open_names: list[str], seed: int = 3):
        self.base, self.names, self.open = base, names, open_names
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.per_kind: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.mixed: list[str] = []
        self.checked = {"page_sequences": 0, "shows": 0}
        self.resources: dict[str, str] = {}

    async def get(self, conn: Connection, kind: str, path: str, params: dict | None = None) -> bytes | None:
        target = f"{path}?{urlencode(params)}" if params else path
        t = time.perf_counter()
        try:
            status, body = await conn.fetch(target)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"{type(exc).__name__} {path}")
            await conn.close()
            return None
        if status != 200:
            self.errors.append(f"{status} {path}")
            return None
        dt = time.perf_counter() - t
        self.latencies.append(dt)
        self.per_kind.setdefault(kind, []).append(dt)
        return body

    async def action(self, conn, kind: str, name: str, **params) -> dict | None:
        body = await self.get(conn, kind, f"/api/3/action/{name}", params)
        return json.loads(body)["result"] if body is not None else None

    async def show(self, conn) -> None:
        pkg = await self.action(conn, "package_show", "package_show", id=self.rng.choice(self.open))
        if pkg is None:
            return
        body = await self.get(conn, "download", f"/dataset/{pkg['name']}/version/{pkg['version']}/download.csv")
        if body is not None:
            self.checked["shows"] += 1
            if problem := show_problem(pkg, body):
                self.mixed.append(problem)

    async def pages(self, conn) -> None:
        name = self.rng.choice(self.open)
        params = {"resource_id": name, "limit": 40}
        page = await self.action(conn, "datastore_search", "datastore_search", **params)
        pages = [page] if page is not None else []
        while page is not None and page.get("next_cursor"):
            page = await self.action(conn, "datastore_search", "datastore_search", **params, cursor=page["next_cursor"])
            if page is None:
                return
            pages.append(page)
        if pages:
            self.checked["page_sequences"] += 1
            if problem := sequence_problem(pages):
                self.mixed.append(f"{name}: {problem}")

    async def other(self, conn) -> None:
        r = self.rng.random()
        if r < 0.4:
            await self.action(conn, "package_search", "package_search", q=self.rng.choice(["公交", "学校", "企业", "医疗"]))
        elif r < 0.6:
            await self.get(conn, "page", "/")
        elif r < 0.8:
            await self.get(conn, "page", f"/dataset/{self.rng.choice(self.names)}")
        else:
            await self.get(conn, "download", f"/dataset/{self.rng.choice(self.open)}/download.parquet")

    async def client(self, deadline: float) -> None:
        url = urlsplit(self.base)
        conn = Connection(url.hostname, url.port, 60.0)
        try:
            while time.perf_counter() < deadline:
                r = self.rng.random()
                await (self.show(conn) if r < 0.35 else self.pages(conn) if r < 0.6 else self.other(conn))
        finally:
            await conn.close()

    async def run(self, clients: int, seconds: float) -> dict:
        t0 = time.perf_counter()
        await asyncio.gather(*(self.client(t0 + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
        out = _summary(self.latencies, len(self.errors), elapsed, clients)
        out.update(mixed_versions=len(self.mixed), checked=dict(self.checked),
                   by_kind={k: _summary(v, 0, elapsed, clients) for k, v in self.per_kind.items()})
        if self.errors:
            out["error_samples"] = sorted(set(self.errors))[:5]
        if self.mixed:
            out["mixed_samples"] = self.mixed[:5]
        return out


def soak(home: Path, *, clients: int = 200, seconds: float = 60.0, workers: int = 1,
         publish_datasets: int | None = None) -> dict:
    """One soak: a server with ``workers`` processes, the publisher (of every dataset, or of the first
    ``publish_datasets``), the clients. Returns the figures."""
    from sudata.store import PublishedStore

    store = PublishedStore(home / "published")
    datasets = store.datasets(include_closed=False)
    names = [d["name"] for d in datasets]
    open_names = [d["name"] for d in datasets if d["open_type"] == "unconditional"]
    every = [d["name"] for d in store.datasets()]
    versions_before = sum(len(store.versions(n)) for n in every)
    port = _free_port()
    proc, startup = start_server(home, port, workers)
    publisher = None
    try:
        publisher = start_publisher(home, seconds, publish_datasets)
        result = asyncio.run(Soak(f"http://127.0.0.1:{port}", names, open_names).run(clients, seconds))
        out, err = publisher.communicate(timeout=600)
        if publisher.returncode != 0:
            raise RuntimeError("the publication failed: " + err.decode(errors="replace")[-2000:])
        result["publication"] = json.loads(out.decode().strip().splitlines()[-1])
        result["server_rss_mb"] = _rss_mb(proc.pid)
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
        stop_server(proc)
    result.update(workers=workers, server_startup_s=round(startup, 2),
                  versions_published=sum(len(store.versions(n)) for n in every) - versions_before)
    return result


def markdown(results: list[dict]) -> str:
    lines = ["| workers | clients | s | requests | errors | mixed versions | p50 ms | p95 ms | p99 ms | req/s "
             "| page sequences / shows checked | versions published meanwhile |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        lines.append(f"| {r['workers']} | {r['concurrency']} | {r['seconds']:.0f} | {r['requests']:,} | {r['errors']} "
                     f"| {r['mixed_versions']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['throughput_rps']} "
                     f"| {r['checked']['page_sequences']:,} / {r['checked']['shows']:,} | {r['versions_published']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command")
    pub = sub.add_parser("publish", help="(internal) publish the sample anew for SECONDS")
    pub.add_argument("--home", type=Path, required=True)
    pub.add_argument("--seconds", type=float, required=True)
    pub.add_argument("--datasets", type=int)
    ap.add_argument("--home", type=Path, help="a home with the published sample (default: a fresh one)")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, action="append", help="portal worker processes (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.command == "publish":
        print(json.dumps(publish_sample(args.home, args.seconds, args.datasets)))
        return 0
    home = args.home or Path(tempfile.mkdtemp(prefix="sudata-soak-")) / "home"
    prepare_home(home)
    results = [soak(home, clients=args.clients, seconds=args.seconds, workers=w) for w in args.workers or [1]]
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else markdown(results))
    return 0 if all(r["errors"] == 0 and r["mixed_versions"] == 0 and r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
