"""``sudata units``: list units, issue, list and revoke their keys."""

import argparse
import datetime as dt

import pytest

from portal.suonline.commands import add_commands, parse_expiry
from portal.access import AccessStore
from sudata.settings import get_paths


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUDATA_HOME", str(tmp_path))
    parser = argparse.ArgumentParser(prog="sudata")
    add_commands(parser.add_subparsers(dest="command", required=True))

    def _run(*argv):
        args = parser.parse_args(list(argv))
        rc = args.func(args)
        out = capsys.readouterr()
        return rc, out.out, out.err

    return _run


def test_list(run):
    rc, out, _ = run("units", "list")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 128
    assert lines[0].split("\t") == ["320505", "district", "虎丘区"]
    assert "  320508021\tstreet\t姑苏区双塔街道" in lines
    rc, out, _ = run("units", "list", "--level", "district")
    assert len(out.splitlines()) == 10


def test_issue_list_and_revoke(run):
    rc, out, err = run("units", "issue-key", "--unit", "320508021", "--holder", "双塔街道办事处")
    token = out.strip()
    assert rc == 0 and token.startswith("sd_") and "shown once" in err
    access = AccessStore(get_paths().portal_db)
    grant = access.resolve(token)
    assert (grant.scope_type, grant.scope, grant.holder) == ("unit", "320508021", "双塔街道办事处")
    rc, out, _ = run("units", "issue-key", "--unit", "320508")
    district_token = out.strip()
    assert access.resolve(district_token).holder == "姑苏区"

    rc, out, _ = run("units", "keys")
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert [(r[0], r[2], r[3], r[4], r[-1]) for r in rows] == [
        (str(grant.key_id), "320508021", "姑苏区双塔街道", "双塔街道办事处", "active"),
        (str(grant.key_id + 1), "320508", "姑苏区", "姑苏区", "active")]
    assert token not in out

    rc, out, _ = run("units", "revoke-key", str(grant.key_id))
    assert rc == 0 and "revoked" in out
    assert access.resolve(token) is None and access.resolve(district_token) is not None
    rc, _, err = run("units", "revoke-key", str(grant.key_id))
    assert rc == 1 and "already revoked" in err
    rc, _, err = run("units", "revoke-key", "999")
    assert rc == 1
    rc, out, _ = run("units", "keys")
    assert len(out.splitlines()) == 2
    rc, out, _ = run("units", "keys", "--all")
    assert out.splitlines()[1].endswith("revoked")


def test_dataset_keys_are_not_unit_keys(run):
    access = AccessStore(get_paths().portal_db)
    access.issue("dataset", "enterprise_registrations", "研究机构")
    key_id = access.list()[0]["id"]
    rc, _, err = run("units", "revoke-key", str(key_id))
    assert rc == 1 and access.list()[0]["revoked_at"] is None
    rc, out, _ = run("units", "keys", "--all")
    assert len(out.splitlines()) == 1


def test_expiry(run):
    rc, out, _ = run("units", "issue-key", "--unit", "320583", "--expires", "2000-01-31")
    access = AccessStore(get_paths().portal_db)
    assert access.list()[0]["expires_at"] == "2000-01-31T16:00:00+00:00"   # end of that day, Beijing time
    assert access.resolve(out.strip()) is None
    rc, out, _ = run("units", "keys", "--all")
    assert out.splitlines()[1].endswith("expired")
    assert parse_expiry("2030-06-01T08:00") == "2030-06-01T00:00:00+00:00"
    assert parse_expiry("2030-06-01T08:00:00Z") == "2030-06-01T08:00:00+00:00"
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    rc, out, _ = run("units", "issue-key", "--unit", "320583", "--expires", future)
    assert access.resolve(out.strip()) is not None


def test_bad_arguments(run):
    for argv in (["units", "issue-key", "--unit", "320599"], ["units", "issue-key", "--unit", "320508021",
                                                                "--expires", "tomorrow"],
                 ["units", "issue-key"], ["units", "list", "--level", "city"]):
        with pytest.raises(SystemExit):
            run(*argv)
