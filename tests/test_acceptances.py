"""Accepting a blocking check for one version: the ledger is an audit trail, and the gate reports the
acceptance instead of blocking."""

from __future__ import annotations

import sqlite3

import pytest

from sudata.quality.acceptances import Acceptances, apply_acceptances
from sudata.quality.report import CheckResult


def test_an_acceptance_is_pending_until_a_version_uses_it(tmp_path):
    ledger = Acceptances(tmp_path / "acceptances.sqlite")
    first = ledger.accept("air_quality_daily", "row_count_change", by="王工", reason="2019-2025 历史补报")
    ledger.accept("schools", "row_count_change", by="李工", reason="撤并学校")
    assert [a["id"] for a in ledger.pending("air_quality_daily")] == [first]
    ledger.used([first], version=7, run_id="r1")
    assert ledger.pending("air_quality_daily") == []
    (row,) = ledger.history("air_quality_daily")
    assert (row["used_version"], row["used_run_id"], row["accepted_by"]) == (7, "r1", "王工")
    with pytest.raises(ValueError, match="--by"):
        ledger.accept("schools", "row_count_change", by=" ", reason="x")


def test_the_audit_trail_cannot_be_rewritten_or_deleted(tmp_path):
    ledger = Acceptances(tmp_path / "acceptances.sqlite")
    n = ledger.accept("schools", "row_count_change", by="李工", reason="撤并学校")
    ledger.used([n], version=3, run_id="r")
    con = sqlite3.connect(tmp_path / "acceptances.sqlite", isolation_level=None)
    for sql in ("update acceptances set reason = 'other'", "update acceptances set accepted_by = 'someone'",
                "update acceptances set used_version = 4", "delete from acceptances"):
        with pytest.raises(sqlite3.DatabaseError, match="audit trail"):
            con.execute(sql)
    con.close()
    assert ledger.withdraw(n) is False  # a used acceptance cannot be withdrawn
    m = ledger.accept("schools", "primary_key_unique(school_code)", by="李工", reason="x")
    assert ledger.withdraw(m) is True and ledger.pending("schools") == []


def test_only_the_named_failed_blocking_check_stops_blocking():
    checks = [
        CheckResult("row_count_change", "sql", "completeness", False, True, {"change": 171.9}, "102 → 17634 rows"),
        CheckResult("row_count_positive", "sql", "completeness", False, True, None, "the table is empty"),
        CheckResult("no_quarantined_rows", "sql", "completeness", False, False, None, "3 rows"),
    ]
    accepted = [{"id": 4, "check_name": "row_count_change", "accepted_by": "王工", "reason": "历史补报",
                 "accepted_at": "2026-12-03T08:00:00+00:00"}]
    out, used = apply_acceptances(checks, accepted)
    assert used == [4]
    assert not out[0].blocking and not out[0].passed  # still reported as failed, no longer blocking
    assert "accepted for this version by 王工" in out[0].detail and out[0].observed["accepted"]["id"] == 4
    assert out[1].blocking and out[2] == checks[2]
    assert apply_acceptances(checks[1:], accepted) == (checks[1:], [])  # nothing to accept: nothing used
