"""Shared fixtures: a synthetic published store (~20 datasets), the app, and a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest

from portal.app import create_app
from portal.access import AccessStore
from sudata.settings import Paths

from .synthetic import build_store

with warnings.catch_warnings():  # starlette announces its move to httpx2 on import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def portal_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("portal-home")
    build_store(home / "published")
    return home


@pytest.fixture(scope="session")
def paths(portal_home) -> Paths:
    return Paths(home=portal_home, raw=portal_home / "raw")


@pytest.fixture(scope="session")
def client(paths):
    with TestClient(create_app(paths)) as c:
        yield c


@pytest.fixture(scope="session")
def access(paths) -> AccessStore:
    return AccessStore(paths.portal_db)


class Api:
    """Calls CKAN actions through the test client and checks the envelope on the way."""

    def __init__(self, client, prefix: str = "/api/3/action/"):
        self.client = client
        self.prefix = prefix

    def raw(self, name: str, /, method: str = "GET", headers: dict | None = None, **params) -> httpx.Response:
        url = self.prefix + name
        if method == "POST":
            return self.client.post(url, json=params, headers=headers or {})
        return self.client.get(url, params=params, headers=headers or {})

    def __call__(self, name: str, /, method: str = "GET", headers: dict | None = None, **params):
        r = self.raw(name, method, headers, **params)
        body = r.json()
        assert r.status_code == 200, body
        assert body["success"] is True and "help" in body
        return body["result"]

    def error(self, name: str, status: int, err_type: str, /, method: str = "GET", headers: dict | None = None,
              **params) -> dict:
        r = self.raw(name, method, headers, **params)
        assert r.status_code == status, r.text
        body = r.json()
        assert body["success"] is False and "help" in body
        assert body["error"]["__type"] == err_type
        assert body["error"]["message"]
        return body["error"]


@pytest.fixture(scope="session")
def api(client) -> Api:
    return Api(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, public_url: str | None = None) -> subprocess.Popen:
    """``sudata serve`` on 127.0.0.1:port; ``public_url`` is the address it names in links (several
    processes behind one address), by default its own."""
    env = dict(os.environ, SUDATA_HOME=str(home), SUDATA_RAW=str(home / "raw"))
    env.pop("SUDATA_PORTAL_URL", None)
    if public_url:
        env["SUDATA_PORTAL_URL"] = public_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sudata serve exited: {proc.stdout.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/3/action/status_show", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("sudata serve did not come up within 60 s")


@pytest.fixture(scope="session")
def live_server(portal_home):
    port = free_port()
    proc = start_server(portal_home, port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
