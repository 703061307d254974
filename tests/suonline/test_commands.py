"""``sudata units list`` and unit keys through the one key command, ``sudata keys … --unit``."""

import datetime as dt

import pytest

from portal.access import AccessStore
from cli.main import main
from sudata.settings import get_paths


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUDATA_HOME", str(tmp_path))

    def _run(*argv):
        rc = main(list(argv))
        out = capsys.readouterr()
        return rc, out.out, out.err

    return _run


def issued(out: str) -> tuple[int, str]:
    lines = dict(line.split(":", 1) for line in out.splitlines())
    return int(lines["key id"]), lines["key"].strip()


def test_list(run):
    rc, out, _ = run("units", "list")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 128
    assert lines[0].split("\t") == ["320505", "district", "虎丘区"]
    assert "  320508021\tstreet\t姑苏区双塔街道" in lines
    rc, out, _ = run("units", "list", "--level", "district")
    assert len(out.splitlines()) == 10


def test_issue_list_and_revoke(run):
    rc, out, err = run("keys", "issue", "--unit", "320508021", "--holder", "双塔街道办事处")
    key_id, token = issued(out)
    assert rc == 0 and token.startswith("sd_") and "shown only this once" in err
    access = AccessStore(get_paths().portal_db)
    grant = access.resolve(token)
    assert (grant.key_id, grant.scope_type, grant.scope, grant.holder) == (key_id, "unit", "320508021", "双塔街道办事处")
    rc, out, _ = run("keys", "issue", "--unit", "320508")
    district_id, district_token = issued(out)
    assert access.resolve(district_token).holder == "姑苏区"  # defaults to the unit's name

    rc, out, _ = run("keys", "list", "--units")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(r[0], r[2], r[3], r[4], r[-1]) for r in rows] == [
        (str(key_id), "unit", "320508021", "姑苏区双塔街道", "active"),
        (str(district_id), "unit", "320508", "姑苏区", "active")]
    assert token not in out

    rc, out, _ = run("keys", "revoke", str(key_id))
    assert rc == 0 and "revoked" in out
    assert access.resolve(token) is None and access.resolve(district_token) is not None
    rc, _, _ = run("keys", "revoke", str(key_id))
    assert rc == 1
    rc, _, _ = run("keys", "revoke", "999")
    assert rc == 1
    rc, out, _ = run("keys", "list", "--units", "--active")
    assert len(out.splitlines()) == 2
    rc, out, _ = run("keys", "list", "--units")
    assert out.splitlines()[1].split()[-1] == "revoked"


def test_dataset_keys_and_unit_keys_list_apart(run):
    access = AccessStore(get_paths().portal_db)
    access.issue("dataset", "enterprise_registrations", "研究机构")
    rc, out, _ = run("keys", "list", "--units")
    assert len(out.splitlines()) == 1
    rc, out, _ = run("keys", "list", "--datasets")
    assert len(out.splitlines()) == 2 and "enterprise_registrations" in out


def test_expiry(run):
    with pytest.raises(SystemExit, match="in the past"):
        run("keys", "issue", "--unit", "320583", "--expires", "2000-01-31")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    rc, out, _ = run("keys", "issue", "--unit", "320583", "--expires", future)
    access = AccessStore(get_paths().portal_db)
    assert access.resolve(issued(out)[1]) is not None
    assert access.list()[0]["expires_at"].endswith("T16:00:00+00:00")  # end of that day, Beijing time


def test_bad_arguments(run):
    for argv in (["keys", "issue", "--unit", "320599"], ["keys", "issue", "--unit", "320508021", "--expires", "tomorrow"],
                 ["keys", "issue"], ["keys", "issue", "--unit", "320508", "--dataset", "x"],
                 ["units", "list", "--level", "city"], ["units", "issue-key", "--unit", "320508"]):
        with pytest.raises(SystemExit):
            run(*argv)
