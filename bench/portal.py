"""The portal section of ``make bench``: a 10,000-entry synthetic catalog served on loopback.

It writes a synthetic published store (the store's own SQL schema, filled in bulk; data files are
shared by many entries, since the portal reads them in place whatever entry points at them), starts
``sudata serve`` on a free loopback port in a subprocess, and drives it with concurrent asyncio
clients (lean HTTP/1.1 keep-alive connections on asyncio streams):

- ``package_search``: a mix of Chinese full-text queries, ``fq`` filters, facets and sorts;
- ``package_show``: random datasets;
- ``datastore_search``: 1,000-row pages at random offsets of 20,000-row tables;
- a soak: 100 clients for 60 s (``soak_s``) on a mix of all of the above, the HTML pages and downloads.

Each figure is p50/p95/p99 latency, throughput and errors (a non-200 answer or a failed request).
Then it harvests the whole catalog from the server as a remote CKAN, and once more (a re-harvest).
Targets on the 2-core reference machine: search p95 ≤ 20 ms, show p95 ≤ 20 ms, 1,000-row datastore
page p95 ≤ 50 ms, the soak with zero errors. ``python -m bench.portal --help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

AREAS = ["姑苏区", "虎丘区", "吴中区", "相城区", "吴江区", "工业园区", "常熟市", "张家港市", "昆山市", "太仓市"]
TOPICS = [
    "企业登记", "个体工商户", "食品经营许可", "药品零售企业", "公交线路", "公交站点", "出租车运营", "公共停车场",
    "充电桩", "共享单车停放点", "空气质量", "地表水水质", "噪声监测", "排污许可", "医疗机构", "预防接种门诊",
    "药店", "中小学校", "幼儿园", "职业培训机构", "养老机构", "社区服务中心", "婚姻登记处", "殡葬服务机构",
    "保障性住房", "施工许可", "物业服务企业", "公共厕所", "垃圾分类投放点", "农贸市场", "旅游景点", "星级酒店",
    "文物保护单位", "博物馆", "图书馆", "体育场馆", "公园绿地", "古树名木", "河道", "桥梁", "路灯",
    "消防站", "应急避难场所", "人才公寓", "就业岗位", "社会保险经办网点", "政务服务网点", "法律援助机构",
    "公证机构", "律师事务所", "税务登记", "专利授权", "商标注册", "进出口企业", "农业合作社", "家庭农场",
    "水利工程", "气象观测站", "地名地址", "门牌地址",
]
WORD_QUERIES = ["养老院", "公交车站", "停车位", "景点", "招聘信息", "企业变更", "医院", "空气", "学校名录", "居委会"]
KINDS = ["名录", "统计", "信息", "分布", "月报", "年报", "明细", "汇总"]
DOMAINS = ["经济建设", "市场监管", "交通出行", "生态环境", "医疗卫生", "教育文化", "社会民生", "城建住房",
           "公共安全", "农业农村", "文化旅游", "机构团体"]
FREQUENCIES = ["实时", "每日", "每周", "每月", "每季度", "每年", "不定期"]
BUREAUS = [
    "发展和改革委员会", "工业和信息化局", "教育局", "科学技术局", "公安局", "民政局", "司法局", "财政局",
    "人力资源和社会保障局", "自然资源和规划局", "生态环境局", "住房和城乡建设局", "城市管理局", "交通运输局",
    "水务局", "农业农村局", "商务局", "文化广电和旅游局", "卫生健康委员会", "退役军人事务局", "应急管理局",
    "审计局", "国有资产监督管理委员会", "市场监督管理局", "体育局", "统计局", "医疗保障局", "园林和绿化管理局",
    "机关事务管理局", "地方金融监督管理局", "数据局", "信访局", "档案馆", "气象局", "税务局", "邮政管理局",
    "消防救援支队", "住房公积金管理中心", "公共资源交易中心", "大数据集团",
]
TEMPLATES = 20
TABLE_ROWS = 20_000


# -- the synthetic catalog ---------------------------------------------------------------------------
def _write_template(directory: Path, k: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(k)
    n = TABLE_ROWS
    cols = {
        "id": list(range(1, n + 1)),
        "name": [f"{AREAS[i % 10]}{TOPICS[(i + k) % len(TOPICS)]}{i:06d}" for i in range(n)],
        "district_code": [f"3205{(i % 9) + 5:02d}" for i in range(n)],
        "street_code": [f"3205{(i % 9) + 5:02d}{(i % 20) + 1:03d}" for i in range(n)],
        "category": [KINDS[i % len(KINDS)] for i in range(n)],
        "amount": [None if i % 23 == 0 else round(rng.uniform(0, 10_000), 2) for i in range(n)],
        "count": [rng.randint(0, 500) for _ in range(n)],
        "record_date": [date(2024, 1, 1) + timedelta(days=i % 365) for i in range(n)],
    }
    table = pa.table(cols)
    pq.write_table(table, directory / "data.parquet", row_group_size=10_000)
    with open(directory / "data.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(cols))
        for row in zip(*cols.values(), strict=True):
            w.writerow(["" if v is None else v for v in row])
    with open(directory / "data.json", "w", encoding="utf-8") as f:
        json.dump([{k2: (v.isoformat() if isinstance(v, date) else v) for k2, v in zip(cols, row, strict=True)}
                   for row in zip(*cols.values(), strict=True)], f, ensure_ascii=False)
    (directory / "datapackage.json").write_text(json.dumps({
        "profile": "tabular-data-package", "name": f"template-{k:02d}",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0"}],
        "resources": [{"name": "data", "path": "data.csv", "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8-sig",
                       "schema": {"fields": [{"name": n, "type": t, "title": ti} for n, t, ti, _ in COLUMNS]}}],
    }, ensure_ascii=False), "utf-8")
    from sudata.files import sha256_file

    media = {"csv": ("data.csv", "text/csv"), "parquet": ("data.parquet", "application/vnd.apache.parquet"),
             "json": ("data.json", "application/json"), "datapackage": ("datapackage.json", "application/json")}
    return {fmt: {"path": p, "size": (directory / p).stat().st_size, "sha256": sha256_file(directory / p), "media_type": m}
            for fmt, (p, m) in media.items()}


COLUMNS = [
    ("id", "integer", "编号", "一般"), ("name", "string", "名称", "一般"), ("district_code", "string", "区县代码", "一般"),
    ("street_code", "string", "街道代码", "一般"), ("category", "string", "类别", "一般"),
    ("amount", "number", "金额", "重要"), ("count", "integer", "数量", "一般"), ("record_date", "date", "日期", "一般"),
]


def build_catalog(root: Path, entries: int = 10_000, versions: int = 3, seed: int = 7) -> dict:
    """Write a published store of ``entries`` datasets (``versions`` each) under ``root``."""
    from sudata.store import PublishedStore

    t0 = time.perf_counter()
    store = PublishedStore(root)
    files = [_write_template(root / "pool" / f"t{k:02d}", k) for k in range(TEMPLATES)]
    schema = {"fields": [{"name": n, "type": t, "title": ti} for n, t, ti, _ in COLUMNS], "primaryKey": ["id"]}
    columns = [{"name": n, "type": t, "title": ti, "description": f"{ti}（{n}）", "grade": g} for n, t, ti, g in COLUMNS]
    rng = random.Random(seed)
    base = datetime(2023, 1, 1, tzinfo=timezone.utc)
    ds_rows, v_rows = [], []
    names = []
    for i in range(entries):
        dept = rng.randrange(len(BUREAUS))
        topic = TOPICS[rng.randrange(len(TOPICS))]
        area = AREAS[rng.randrange(len(AREAS))]
        kind = KINDS[rng.randrange(len(KINDS))]
        domain = DOMAINS[(TOPICS.index(topic) // 5) % len(DOMAINS)]
        r = rng.random()
        open_type = "closed" if r < 0.05 else "conditional" if r < 0.15 else "unconditional"
        name = f"d{dept:02d}_{i:05d}"
        names.append((name, open_type, i % TEMPLATES))
        title = f"{area}{topic}{kind}"
        desc = (f"{BUREAUS[dept]}提供的{area}{topic}{kind}数据，涵盖名称、所属区县和街道、类别、金额、数量和日期，"
                f"{FREQUENCIES[i % 7]}更新。")
        created = base + timedelta(minutes=37 * i)
        meta = {"catalog": {"title": title, "department": f"d{dept:02d}", "domain": domain, "open_type": open_type,
                            "update_frequency": FREQUENCIES[i % 7], "tags": [topic, area, kind]}}
        updated = created + timedelta(days=7 * (versions - 1), hours=i % 24)
        ds_rows.append((
            name, title, f"{topic} {kind} ({i})", desc, f"d{dept:02d}", f"苏州市{BUREAUS[dept]}", domain, open_type,
            "一般" if open_type == "unconditional" else "重要", FREQUENCIES[i % 7], "street_code",
            json.dumps([topic, area, kind], ensure_ascii=False), json.dumps(columns, ensure_ascii=False),
            json.dumps(meta, ensure_ascii=False), versions, created.isoformat(timespec="seconds"),
            updated.isoformat(timespec="seconds"),
        ))
        for v in range(1, versions + 1):
            score = round(0.8 + 0.2 * rng.random(), 4)
            quality = {"passed": True, "score": score, "row_count": TABLE_ROWS, "previous_row_count": TABLE_ROWS,
                       "quarantined_rows": 0,
                       "dimensions": {d: {"score": score, "passed": 9, "failed": 1} for d in
                                      ("conformity", "completeness", "accuracy", "consistency", "timeliness")},
                       "checks": []}
            v_rows.append((
                name, v, (created + timedelta(days=7 * (v - 1), hours=i % 24)).isoformat(timespec="seconds"),
                f"run-{v}", None, TABLE_ROWS, f"pool/t{i % TEMPLATES:02d}",
                json.dumps(files[i % TEMPLATES]), json.dumps(schema, ensure_ascii=False), json.dumps(quality),
            ))
    with closing(store.connect()) as con:
        con.execute("begin immediate")
        con.executemany("insert into datasets values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ds_rows)
        con.executemany("insert into versions values (?,?,?,?,?,?,?,?,?,?)", v_rows)
        con.execute("commit")
        con.execute("pragma wal_checkpoint(truncate)")
    return {"entries": entries, "versions": entries * versions, "names": names, "seconds": time.perf_counter() - t0}


# -- the server ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, workers: int = 1) -> tuple[subprocess.Popen, float]:
    import httpx

    env = dict(os.environ, SUDATA_HOME=str(home), SUDATA_RAW=str(home / "raw"))
    env.pop("SUDATA_PORTAL_URL", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("sudata serve exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/3/action/status_show", timeout=5).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sudata serve did not answer within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the portal; kill it if it has not stopped within 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _rss_mb(pid: int) -> float | None:
    try:
        import psutil

        p = psutil.Process(pid)
        return round(sum(x.memory_info().rss for x in [p, *p.children(recursive=True)]) / 2**20, 1)
    except Exception:  # noqa: BLE001
        return None


# -- the load --------------------------------------------------------------------------------------
class Workload:
    def __init__(self, names: list[tuple[str, str, int]], seed: int = 11):
        self.rng = random.Random(seed)
        self.visible = [n for n, t, _ in names if t != "closed"]
        self.open = [n for n, t, _ in names if t == "unconditional"]

    def search(self) -> tuple[str, dict]:
        rng = self.rng
        r = rng.random()
        p: dict = {}
        if r < 0.35:
            p["q"] = rng.choice(TOPICS)
        elif r < 0.45:  # what citizens type: synonyms and words the titles spell otherwise
            p["q"] = rng.choice(WORD_QUERIES)
        elif r < 0.6:
            p["q"] = rng.choice(AREAS) + rng.choice(TOPICS)
        elif r < 0.75:
            p["q"] = rng.choice(TOPICS)
            p["fq"] = f"organization:d{rng.randrange(len(BUREAUS)):02d}"
        elif r < 0.9:
            p["fq"] = f"res_format:CSV AND open_type:unconditional AND tags:\"{rng.choice(AREAS)}\""
            p["sort"] = "metadata_modified desc"
        else:
            p["q"] = rng.choice(KINDS)
            p["facet.field"] = '["organization","tags","res_format","open_type"]'
            p["start"] = rng.randrange(0, 200)
        return "/api/3/action/package_search", p

    def show(self) -> tuple[str, dict]:
        return "/api/3/action/package_show", {"id": self.rng.choice(self.visible)}

    def datastore(self) -> tuple[str, dict]:
        return "/api/3/action/datastore_search", {
            "resource_id": self.rng.choice(self.open), "limit": 1000,
            "offset": 1000 * self.rng.randrange(TABLE_ROWS // 1000)}

    def page(self) -> tuple[str, dict]:
        if self.rng.random() < 0.5:
            return "/", {"q": self.rng.choice(TOPICS)}
        return f"/dataset/{self.rng.choice(self.visible)}", {}

    def download(self) -> tuple[str, dict]:
        return f"/dataset/{self.rng.choice(self.open)}/download.parquet", {}

    def mixed(self) -> tuple[str, str, dict]:
        r = self.rng.random()
        for share, kind in ((0.35, "search"), (0.35, "show"), (0.15, "datastore"), (0.10, "page"), (0.05, "download")):
            if r < share:
                return (kind, *getattr(self, kind)())
            r -= share
        return ("show", *self.show())


def _summary(latencies: list[float], errors: int, seconds: float, concurrency: int) -> dict:
    lat = sorted(latencies)

    def q(p: float) -> float | None:
        if not lat:
            return None
        return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2)

    return {"requests": len(lat) + errors, "ok": len(lat), "errors": errors, "concurrency": concurrency,
            "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": q(1.0),
            "throughput_rps": round((len(lat) + errors) / seconds, 1) if seconds else None,
            "seconds": round(seconds, 2)}


class Connection:
    """A lean HTTP/1.1 keep-alive client connection (asyncio streams).

    The clients share the machine's two cores with the server, so they are kept cheap: a request is
    one pre-formatted write, a response one header read and one body read (Content-Length or chunked).
    """

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except Exception:  # noqa: BLE001
                pass
        self.reader = self.writer = None

    async def get(self, target: str) -> tuple[int, int]:
        status, body = await asyncio.wait_for(self._get(target), self.timeout)
        return status, len(body)

    async def fetch(self, target: str) -> tuple[int, bytes]:
        """The status and the body (the soak checks what readers get)."""
        return await asyncio.wait_for(self._get(target), self.timeout)

    async def _get(self, target: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          "Accept-Encoding: identity\r\n\r\n".encode("ascii"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                n = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append((await self.reader.readexactly(n + 2))[:-2])
                if n == 0:
                    break
            body = b"".join(parts)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


async def _drive(base: str, make, concurrency: int, total: int | None = None, duration: float | None = None,
                 timeout: float = 60.0) -> tuple[dict, dict]:
    """Run ``concurrency`` clients until ``total`` requests are done or ``duration`` has passed."""
    from urllib.parse import urlencode, urlsplit

    url = urlsplit(base)
    latencies: list[float] = []
    per_kind: dict[str, list[float]] = {}
    errors: list[str] = []
    issued = 0
    deadline = time.perf_counter() + duration if duration else None

    async def client():
        nonlocal issued
        conn = Connection(url.hostname, url.port, timeout)
        try:
            while True:
                if total is not None and issued >= total:
                    return
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                issued += 1
                item = make()
                kind, path, params = item if len(item) == 3 else ("-", *item)
                target = f"{path}?{urlencode(params)}" if params else path
                t = time.perf_counter()
                try:
                    status, _ = await conn.get(target)
                    ok = status == 200
                    if not ok:
                        errors.append(f"{status} {path}")
                except Exception as exc:  # noqa: BLE001
                    ok = False
                    errors.append(f"{type(exc).__name__} {path}")
                    await conn.close()
                if ok:
                    dt = time.perf_counter() - t
                    latencies.append(dt)
                    per_kind.setdefault(kind, []).append(dt)
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - t0
    out = _summary(latencies, len(errors), seconds, concurrency)
    if errors:
        out["error_samples"] = sorted(set(errors))[:5]
    kinds = {k: _summary(v, 0, seconds, concurrency) for k, v in per_kind.items()} if len(per_kind) > 1 else {}
    return out, kinds


def run(report: dict | None = None, *, entries: int = 10_000, concurrency: int = 8, requests: int = 2000,
        datastore_requests: int = 1000, soak_clients: int = 100, soak_s: float = 60.0, workers: int = 1,
        keep: Path | None = None) -> dict:
    """Build the catalog, serve it, measure. Returns the portal section of the bench report."""
    tmp = Path(tempfile.mkdtemp(prefix="sudata-portal-bench-")) if keep is None else keep
    result: dict = {"entries": entries, "workers": workers, "cpu_count": os.cpu_count(),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    proc = None
    try:
        home = tmp / "home"
        built = build_catalog(home / "published", entries)
        names = built["names"]
        result["catalog_build_s"] = round(built["seconds"], 1)
        result["visible_entries"] = sum(1 for _, t, _ in names if t != "closed")

        from portal.catalog import load_snapshot
        from sudata.store import PublishedStore

        t0 = time.perf_counter()
        snap = load_snapshot(PublishedStore(home / "published"))
        result["index_build_s"] = round(time.perf_counter() - t0, 2)
        result["index_tokens"] = len(snap.text)
        del snap

        port = _free_port()
        proc, startup = start_server(home, port, workers)
        result["server_startup_s"] = round(startup, 2)
        base = f"http://127.0.0.1:{port}"
        w = Workload(names)

        def server_cpu() -> float | None:
            try:
                import psutil

                p = psutil.Process(proc.pid)
                return sum(sum(x.cpu_times()[:2]) for x in [p, *p.children(recursive=True)])
            except Exception:  # noqa: BLE001
                return None

        async def phase(key: str, make, clients: int, **kw) -> dict:
            # the server's own CPU time per request does not depend on what else the machine runs
            c0 = server_cpu()
            out, kinds = await _drive(base, make, clients, **kw)
            c1 = server_cpu()
            if c0 is not None and c1 is not None and out["requests"]:
                out["server_cpu_ms_per_request"] = round(1000 * (c1 - c0) / out["requests"], 2)
            if kinds:
                out["by_kind"] = kinds
            result[key] = out
            return out

        async def measure():
            await _drive(base, w.mixed, concurrency, total=300)  # warm-up
            await phase("package_search", w.search, concurrency, total=requests)
            await phase("package_show", w.show, concurrency, total=requests)
            await phase("datastore_search_1000_rows", w.datastore, concurrency, total=datastore_requests)
            await phase("soak", w.mixed, soak_clients, duration=soak_s)

        asyncio.run(measure())
        result["harvest"] = harvest(base, tmp / "harvester")
        result["server_rss_mb"] = _rss_mb(proc.pid)
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        result["targets_met"] = {
            "package_search_p95_le_20ms": (result["package_search"]["p95_ms"] or 1e9) <= 20,
            "package_show_p95_le_20ms": (result["package_show"]["p95_ms"] or 1e9) <= 20,
            "datastore_1000_rows_p95_le_50ms": (result["datastore_search_1000_rows"]["p95_ms"] or 1e9) <= 50,
            "soak_zero_errors": result["soak"]["errors"] == 0 and result["soak"]["ok"] > 0,
        }
        result["markdown"] = markdown(result)
    finally:
        if proc is not None:
            stop_server(proc)
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def markdown(r: dict) -> str:
    lines = [
        f"Synthetic catalog: {r['entries']:,} entries ({r['visible_entries']:,} visible; closed ones are never "
        f"loaded), 3 versions each, {TABLE_ROWS:,}-row tables. Catalog index built in {r['index_build_s']} s; "
        f"server up in {r['server_startup_s']} s; {r['workers']} worker process(es); "
        f"server memory after the run {r.get('server_rss_mb')} MB. Load average (1/5/15 min) at the start "
        f"{r.get('loadavg_start')}, at the end {r.get('loadavg_end')}: the clients run on the same 2 cores.",
        "",
        "| workload | clients | requests | errors | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/req | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    targets = {"package_search": "p95 ≤ 20 ms", "package_show": "p95 ≤ 20 ms",
               "datastore_search_1000_rows": "p95 ≤ 50 ms", "soak": "0 errors"}
    met = r.get("targets_met", {})
    flags = {"package_search": met.get("package_search_p95_le_20ms"),
             "package_show": met.get("package_show_p95_le_20ms"),
             "datastore_search_1000_rows": met.get("datastore_1000_rows_p95_le_50ms"),
             "soak": met.get("soak_zero_errors")}
    for key in ("package_search", "package_show", "datastore_search_1000_rows", "soak"):
        x = r[key]
        label = key if key != "soak" else f"soak, {x['seconds']:.0f} s mixed"
        lines.append(f"| {label} | {x['concurrency']} | {x['requests']:,} | {x['errors']} | {x['p50_ms']} | "
                     f"{x['p95_ms']} | {x['p99_ms']} | {x['throughput_rps']} | {x.get('server_cpu_ms_per_request')} | "
                     f"{targets[key]} "
                     f"{'✓' if flags[key] else '✗'} |")
    kinds = r["soak"].get("by_kind") or {}
    if kinds:
        lines += ["", "Soak by kind (latency under 100 concurrent clients): " + "; ".join(
            f"{k} p50 {v['p50_ms']} / p95 {v['p95_ms']} ms ({v['ok']:,})" for k, v in sorted(kinds.items()))]
    h = r.get("harvest")
    if h:
        lines += ["", f"Harvest of the whole catalog from the server as a remote CKAN ({h['first']['added']:,} entries "
                  f"added) in {h['first_s']} s; the re-harvest ({h['again']['added']} added, "
                  f"{h['again']['updated']} updated) in {h['again_s']} s."]
    return "\n".join(lines)


def harvest(base: str, home: Path) -> dict:
    """Harvest every entry of the served catalog as a remote CKAN, then once more (nothing changed)."""
    from sudata.harvest.job import run_job
    from sudata.harvest.sources import HarvestSource
    from sudata.settings import Paths

    paths = Paths(home=home, raw=home / "raw")
    src = HarvestSource(id="bench", title="bench", kind="ckan", url=base, organization="bench",
                        organization_title="bench", page_size=1000, timeout_s=1800)
    t0 = time.perf_counter()
    first = run_job(src, paths)
    t1 = time.perf_counter()
    again = run_job(src, paths)
    t2 = time.perf_counter()
    return {"first": first.counts, "first_s": round(t1 - t0, 1), "again": again.counts, "again_s": round(t2 - t1, 1),
            "status": [first.status, again.status], "invalid": len(first.errors)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=8, help="clients for the per-action figures")
    ap.add_argument("--requests", type=int, default=2000, help="requests for package_search and package_show")
    ap.add_argument("--datastore-requests", type=int, default=1000)
    ap.add_argument("--soak-clients", type=int, default=100)
    ap.add_argument("--soak-s", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    r = run({}, entries=args.entries, concurrency=args.concurrency, requests=args.requests,
            datastore_requests=args.datastore_requests, soak_clients=args.soak_clients, soak_s=args.soak_s,
            workers=args.workers)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k != "markdown"}, ensure_ascii=False, indent=2))
    else:
        print(r["markdown"])
    return 0 if all(r.get("targets_met", {}).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
