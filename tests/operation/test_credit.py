"""Credit checks for platform enterprises: batch lookups by code, scoped fields, no names, one audit row
per code, daily quotas, no bulk download."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from operation import applications
from operation.credit import CREDIT_DATASET
from operation.store import now as operation_now

from .conftest import APPLICATION, uscc


SCOPE = ["uscc", "legal_representative", "status", "licence_count", "penalty_count"]


def _platform(ops, published, quota=None) -> tuple[int, str]:
    data = {**APPLICATION, "organisation": "某网络交易平台有限公司", "mode": "credit",
            "purpose": "平台内经营者信用核查", "scenario": "入驻审核", "datasets": {CREDIT_DATASET: SCOPE}}
    app_id, secret = ops.submit(applications.validate(published, data))
    scope = applications.approval_scope(published, ops.application(app_id).to_dict(), quota_per_day=quota)
    ops.approve(app_id, "信用办审核员", scope)
    return app_id, ops.collect_credential(app_id, secret)


def test_a_lookup_answers_scoped_fields_without_names_and_audits_every_code(client, ops, published):
    app_id, token = _platform(ops, published)
    bad_check = uscc(7)[:-1] + ("0" if uscc(7)[-1] != "0" else "1")
    codes = [uscc(5), uscc(7), uscc(999), bad_check]
    r = client.post("/api/operation/credit/lookup", json={"codes": codes}, headers={"Authorization": token})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["fields"] == ["status", "licence_count", "penalty_count"]   # never the legal representative
    first, second, missing, invalid = result["results"]
    assert first == {"uscc": uscc(5), "valid": True, "found": True, "status": "存续", "licence_count": 2,
                     "penalty_count": 1, "licence_status": "有许可记录", "penalty_status": "有处罚记录"}
    assert second["penalty_status"] == "无处罚记录" and "enterprise_name" not in second
    assert missing == {"uscc": uscc(999), "valid": True, "found": False}
    assert invalid == {"uscc": bad_check, "valid": False, "found": False}
    assert "法人" not in r.text
    logged = ops.lookups(app_id)
    assert [(e["uscc"], e["valid"], e["found"]) for e in logged] == [
        (uscc(5), 1, 1), (uscc(7), 1, 1), (uscc(999), 1, 0), (bad_check, 0, 0)]
    with closing(ops.connect()) as con, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("delete from credit_lookups")


def test_no_more_than_1000_codes_and_no_bulk_download(client, ops, published):
    _, token = _platform(ops, published)
    r = client.post("/api/operation/credit/lookup", json={"codes": [uscc(1)] * 1001}, headers={"Authorization": token})
    assert r.status_code == 400 and "at most 1000" in r.text
    for url in (f"/dataset/{CREDIT_DATASET}/download.csv", f"/api/3/action/datastore_search?resource_id={CREDIT_DATASET}"):
        denied = client.get(url, headers={"Authorization": token})
        assert denied.status_code == 403 and "credit credential cannot download" in denied.text
    assert client.post("/api/operation/credit/lookup", json={"codes": [uscc(1)]}).status_code == 403


def test_the_daily_quota_counts_codes(client, ops, published):
    app_id, token = _platform(ops, published, quota=5)
    ok = client.post("/api/operation/credit/lookup", json={"codes": [uscc(i) for i in range(1, 4)]},
                     headers={"Authorization": token})
    assert ok.status_code == 200 and ok.json()["result"]["quota"] == {"per_day": 5, "used_today": 3}
    assert ok.headers.get_list("x-ratelimit-limit") == ["5"] and ok.headers["x-ratelimit-remaining"] == "2"
    over = client.post("/api/operation/credit/lookup", json={"codes": [uscc(i) for i in range(4, 7)]},
                       headers={"Authorization": token})
    assert over.status_code == 429 and int(over.headers["retry-after"]) > 0 and "3 used today" in over.text
    assert over.headers["x-ratelimit-remaining"] == "2" and over.headers["x-ratelimit-limit"] == "5"
    two = client.post("/api/operation/credit/lookup", json={"codes": [uscc(4), uscc(5)]},
                      headers={"Authorization": token})
    assert two.status_code == 200 and two.headers["x-ratelimit-remaining"] == "0"
    assert len(ops.lookups(app_id)) == 5   # the refused call recorded nothing


def test_a_credit_application_names_only_the_credit_profile(client):
    r = client.post("/api/operation/applications", json={**APPLICATION, "mode": "credit"})
    assert r.status_code == 400 and CREDIT_DATASET in r.json()["error"]["message"]


def test_the_batch_check_character_agrees_with_stdnum():
    import random

    from stdnum.cn import uscc as uscc_code

    from operation.credit import valid_codes

    rnd = random.Random(3)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    codes = [uscc(i) for i in range(1, 300)]
    codes += [c[:-1] + rnd.choice(alphabet) for c in codes]            # mostly a wrong check character
    codes += ["A" + c[1:] for c in codes[:20]] + [c[:10] + "I" + c[11:] for c in codes[:20]]  # letter in the digits, I
    codes += ["", "9132", uscc(5) + "0", "9132 0500 0000 0005", "９" * 18, uscc(7).lower()]
    assert valid_codes(codes) == [uscc_code.is_valid(c) for c in codes]


def test_parallel_lookups_cannot_overrun_the_quota(ops, published):
    from concurrent.futures import ThreadPoolExecutor

    from operation.credit import Credit
    from operation.store import QuotaExceeded

    app_id, token = _platform(ops, published, quota=5)
    auth = ops.resolve(token)

    def lookup(first):
        try:
            return len(Credit(ops, published).lookup(auth, [uscc(i) for i in range(first, first + 3)])["results"])
        except QuotaExceeded:
            return 0
    with ThreadPoolExecutor(4) as pool:
        answered = list(pool.map(lookup, [1, 10, 20, 30]))
    assert sorted(answered) == [0, 0, 0, 3] and len(ops.lookups(app_id)) == 3 == ops.lookups_today(app_id)


def test_the_days_count_starts_from_the_audit_rows(ops, published):
    # a store whose lookups were audited before the day's count was kept: the audit rows are the count
    app_id, token = _platform(ops, published, quota=10)
    auth = ops.resolve(token)
    with closing(ops.connect()) as con:
        con.executemany("insert into credit_lookups (at, application_id, uscc, valid, found) values (?,?,?,1,1)",
                        [(operation_now(), app_id, uscc(i)) for i in range(8)])
    assert ops.lookups_today(app_id) == 8
    from operation.store import QuotaExceeded

    with pytest.raises(QuotaExceeded, match="8 used today"):
        ops.record_lookups(auth, [uscc(1), uscc(2), uscc(3)], [True] * 3, [True] * 3)
    assert ops.record_lookups(auth, [uscc(1), uscc(2)], [True] * 2, [True] * 2) == 10
