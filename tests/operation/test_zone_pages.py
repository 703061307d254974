"""The operator's zone pages: login with the zone credential (CSRF-protected), SQL submitted from the
form, the output-check report, and a released result shown and downloaded."""

from __future__ import annotations

import hashlib
import re
import warnings

import pytest

from operation import applications
from operation.zone import Zone
from portal.app import create_app

from .conftest import APPLICATION

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def app(op_paths):
    return create_app(op_paths)


def _credential(ops, published, mode="zone") -> str:
    data = {**APPLICATION, "organisation": "苏州专区运营有限公司", "mode": mode,
            "datasets": {"taxi_trips": [] if mode == "download" else ["district", "category", "fare"]}}
    app_id, secret = ops.submit(applications.validate(published, data))
    ops.approve(app_id, "审核员甲", applications.approval_scope(published, ops.application(app_id).to_dict()))
    return ops.collect_credential(app_id, secret)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _login(client, credential: str):
    page = client.get("/zone/login")
    return client.post("/zone/login", data={"credential": credential, "csrf": _csrf(page.text)},
                       follow_redirects=False)


def test_an_operator_logs_in_submits_and_downloads_a_released_result(app, ops, published):
    token = _credential(ops, published)
    with TestClient(app) as client:
        assert client.get("/zone", follow_redirects=False).headers["location"] == "/zone/login"
        page = client.get("/zone/login")
        forged = client.post("/zone/login", data={"credential": token, "csrf": "forged"})
        assert forged.status_code == 403 and "表单已失效" in forged.text
        for wrong in ("sdo_unknown", _credential(ops, published, mode="download")):
            r = client.post("/zone/login", data={"credential": wrong, "csrf": _csrf(page.text)})
            assert r.status_code == 403 and "凭证无效" in r.text
        assert _login(client, token).status_code == 303
        assert token not in str(client.cookies.jar)  # the browser holds a session id, never the credential

        home = client.get("/zone")
        assert home.status_code == 200 and "苏州专区运营有限公司" in home.text
        assert "<code>district</code>" in home.text and "<code>driver_name</code>" not in home.text
        sql = "select district, count(*) as trips from taxi_trips group by district"
        assert client.post("/zone/queries", data={"sql": sql}, follow_redirects=False).headers["location"] == "/zone/login"
        done = client.post("/zone/queries", data={"sql": sql, "csrf": _csrf(home.text)}, follow_redirects=False)
        assert done.status_code == 303
        qid = int(done.headers["location"].rsplit("-", 1)[1])
        refused = client.post("/zone/queries", data={"sql": "select * from read_csv('/etc/passwd')",
                                                     "csrf": _csrf(home.text)})
        page = client.get("/zone").text
        card = page.split(f'id="query-{qid}"', 1)[1].split("</section>", 1)[0]
        assert '<span class="check">安全</span>' in card and "待审核发布" in card and "<table" not in card
        assert refused.status_code == 200 and "查询被拒绝" in page and "read_csv is not allowed" in page
        assert client.get(f"/zone/queries/{qid}/result.csv").status_code == 404   # not released yet

        released = Zone(ops, published).release(qid, "审核员甲")
        card = client.get("/zone").text.split(f'id="query-{qid}"', 1)[1].split("</section>", 1)[0]
        assert "已发布" in card and "<td>姑苏区</td><td>60</td>" in card and f"/zone/queries/{qid}/result.csv" in card
        got = client.get(f"/zone/queries/{qid}/result.csv")
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == released["sha256"]
        assert got.content.decode("utf-8-sig").splitlines()[0] == "district,trips"

        client.get("/zone/logout")
        assert client.get(f"/zone/queries/{qid}/result.csv", follow_redirects=False).status_code == 303
    with TestClient(app) as other:   # another operator's session does not open this result
        other_token = _credential(ops, published)
        assert _login(other, other_token).status_code == 303
        assert other.get(f"/zone/queries/{qid}/result.csv").status_code == 404
        # revoking the credential ends its sessions
        assert ops.revoke_credential(ops.resolve(other_token).application_id, "审核员甲")
        assert other.get("/zone", follow_redirects=False).headers["location"] == "/zone/login"
    actions = [e["action"] for e in ops.audit_log(ops.resolve(token).application_id)]
    assert "operator.login" in actions
