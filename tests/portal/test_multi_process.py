"""Several portal processes serve one published store: what one answers, the other answers too, also while
the pipeline publishes new versions, and neither writes to the store."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sudata.store import PublishedStore

from .conftest import free_port, start_server
from .synthetic import publish, rows_for, spec

DATASETS = [spec("bus_routes"), spec("schools"), spec("taxi_operations")]
REQUESTS = [
    "/api/3/action/package_list",
    "/api/3/action/package_show?id=schools",
    "/api/3/action/package_search?q=公交&rows=5",
    "/api/3/action/datastore_search?resource_id=schools&limit=20",
    "/dataset/schools/download.csv",
    "/catalog.jsonld",
]


def store_files(home) -> dict[str, tuple[int, int]]:
    """Every file of the published store with its size and modification time."""
    root = home / "published"
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def two_portals(tmp_path):
    store = PublishedStore(tmp_path / "published")
    for s in DATASETS:
        publish(store, s, 1)
    ports = [free_port(), free_port()]
    # behind one load balancer: both name the same public address in their links
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda port: start_server(tmp_path, port, public_url="https://data.example.gov.cn"), ports))
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
    yield tmp_path, store, clients
    for c in clients:
        c.close()
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=15)


def answers(client: httpx.Client) -> dict[str, tuple[int, str]]:
    out = {}
    for url in REQUESTS:
        r = client.get(url)
        out[url] = (r.status_code, hashlib.sha256(r.content).hexdigest())
    return out


def test_two_portal_processes_give_the_same_answers_during_publications(two_portals):
    home, store, (a, b) = two_portals
    assert a.get("/catalog.jsonld").status_code == 200
    assert answers(a) == answers(b)

    # While bus_routes gets versions 2…6, both processes are read at once: every answer is whole, and a
    # version is the same bytes whichever process serves it.
    seen: dict[tuple[int, int], set[str]] = {}
    errors: list[str] = []
    stop = threading.Event()

    def reader(i: int, client: httpx.Client):
        while not stop.is_set():
            show = client.get("/api/3/action/package_show", params={"id": "bus_routes"})
            if show.status_code != 200:
                errors.append(f"{i}: package_show {show.status_code} {show.text[:200]}")
                continue
            version = int(show.json()["result"]["version"])
            csv = client.get(f"/dataset/bus_routes/version/{version}/download.csv")
            if csv.status_code != 200 or int(csv.headers["content-length"]) != len(csv.content):
                errors.append(f"{i}: version {version} download {csv.status_code}")
                continue
            seen.setdefault((i, version), set()).add(hashlib.sha256(csv.content).hexdigest())

    threads = [threading.Thread(target=reader, args=(i, c)) for i, c in enumerate((a, b)) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for v in range(2, 7):
            publish(store, spec("bus_routes"), v, rows_for(spec("bus_routes"), v, n=10 + v))
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    for version in {v for _, v in seen}:
        hashes = seen.get((0, version), set()) | seen.get((1, version), set())
        assert len(hashes) == 1, f"version {version} differs between the processes"
    assert {v for _, v in seen} - {1}, "no reader saw a new version while it was published"

    # Once the publications are done, both serve the newest version and agree on everything.
    for c in (a, b):
        assert c.get("/api/3/action/package_show", params={"id": "bus_routes"}).json()["result"]["version"] == "6"
        assert c.get("/dataset/bus_routes/download.csv").content.count(b"\n") == 1 + 16
    assert answers(a) == answers(b)

    # Serving is read-only: the portals' requests leave every file of the store as it was.
    before = store_files(home)
    for c in (a, b):
        answers(c)
        c.get("/dataset/bus_routes/version/3/download.csv")
    assert store_files(home) == before
