"""``sudata keys`` and ``sudata serve`` arguments."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

import pytest

from portal.commands import add_commands, parse_expiry
from cli.main import main
from portal.access import AccessStore


@pytest.fixture
def home(portal_home, monkeypatch):
    monkeypatch.setenv("SUDATA_HOME", str(portal_home))
    return portal_home


def test_issue_list_revoke_log(home, capsys):
    assert main(["keys", "issue", "--dataset", "pollution_permits", "--holder", "环保组织", "--expires", "2099-12-31"]) == 0
    out = capsys.readouterr().out
    token = next(line.split()[-1] for line in out.splitlines() if line.startswith("key:"))
    key_id = int(next(line.split()[-1] for line in out.splitlines() if line.startswith("key id:")))
    assert token.startswith("sd_")
    access = AccessStore(home / "portal" / "access.sqlite")
    grant = access.resolve(token)
    assert grant.scope == "pollution_permits" and grant.holder == "环保组织"
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "pollution_permits" in listing and "环保组织" in listing and token not in listing  # hashed only
    assert main(["keys", "revoke", str(key_id)]) == 0
    assert access.resolve(token) is None
    assert main(["keys", "revoke", str(key_id)]) == 1
    capsys.readouterr()
    access.log(grant, "datastore_search", "pollution_permits", 12, 200)
    assert main(["keys", "log", "--limit", "5"]) == 0
    assert "pollution_permits" in capsys.readouterr().out


def test_issue_refuses_unknown_and_closed_datasets(home, capsys):
    assert main(["keys", "issue", "--dataset", "no_such", "--holder", "x"]) == 2
    assert main(["keys", "issue", "--dataset", "resident_register", "--holder", "x"]) == 2
    assert "closed" in capsys.readouterr().err


def test_expiry_parsing():
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert parse_expiry("2025-06-30", now) == "2025-06-30T16:00:00+00:00"   # end of that day, Beijing time
    assert parse_expiry("2025-06-30T12:00:00+08:00", now) == "2025-06-30T04:00:00+00:00"
    assert parse_expiry("2025-06-30T12:00:00Z", now) == "2025-06-30T12:00:00+00:00"
    with pytest.raises(SystemExit):
        parse_expiry("2024-01-01", now)
    with pytest.raises(SystemExit):
        parse_expiry("next week", now)


def test_serve_arguments():
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port) == ("0.0.0.0", 9001)
