"""A department delivers years of history at once: the row-count rule blocks it (as it should for an
accident), and the documented way through publishes it, audited (README: "When the gate says no").

Three nights as an engineer runs them (`sudata` in its own process): the sample (the session's sample
nights, copied); a drop of the air-quality bureau carrying a month of hourly history, blocked by
row_count_change; the same night again with `sudata run --backfill air_quality_hourly --by … --reason …`,
which publishes it with the acceptance shown.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from sudata.settings import PROJECT_ROOT
from sudata.store import PublishedStore

pytestmark = pytest.mark.integration

HISTORY_DROP = "2026-11-25"


def _history(raw: Path) -> None:
    """A month of hourly readings before the sample, delivered on one day."""
    (source,) = (raw / "ecology_environment" / "air_quality_hourly" / "2026-11-24").glob("*.csv")
    rows = list(csv.reader(io.StringIO(source.read_text("utf-8-sig"))))
    out = [rows[0]]
    for back in range(1, 31):
        day = (date(2026, 11, 24) - timedelta(days=back)).isoformat()
        out += [[v.replace("2026-11-24", day) for v in row] for row in rows[1:]]
    folder = raw / "ecology_environment" / "air_quality_hourly" / HISTORY_DROP
    folder.mkdir()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(out)
    (folder / "air_quality_hourly_history.csv").write_text(buffer.getvalue(), "utf-8")


@pytest.fixture(scope="module")
def nights(sample_nights, tmp_path_factory):
    base = tmp_path_factory.mktemp("backfill")
    raw, home = base / "raw", base / "home"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    shutil.copytree(sample_nights["home"], home, symlinks=True)
    store = PublishedStore(home / "published")
    before = store.current_version("air_quality_daily")
    env = {**os.environ, "SUDATA_RAW": str(raw), "SUDATA_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    cli = str(Path(sys.executable).with_name("sudata"))

    def sudata(*args):
        return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=900)

    _history(raw)
    blocked = sudata("run")
    backfill = sudata("run", "--backfill", "air_quality_hourly", "--by", "王工", "--reason", "生态环境局补报近一个月小时数据")
    listed = sudata("gate", "list", "--json")
    return {"before": before, "blocked": blocked, "backfill": backfill, "listed": listed, "store": store}


def test_a_backfill_is_blocked_by_the_growth_rule_without_the_documented_path(nights):
    assert nights["before"] is not None
    store = nights["store"]
    runs = store.quality_runs("air_quality_daily")
    blocked = [r for r in runs if not r["passed"]]
    assert blocked, nights["blocked"].stdout[-2000:]
    assert "row_count_change" in blocked[-1]["report"]["blocking_failures"]


def test_the_backfill_is_published_with_the_acceptance_recorded_and_shown(nights):
    assert nights["backfill"].returncode in (0, 3), nights["backfill"].stderr[-2000:]
    assert "the row-count rule is accepted for air_quality_daily" in nights["backfill"].stdout
    store = nights["store"]
    current, before = store.current_version("air_quality_daily"), nights["before"]
    assert current["version"] == before["version"] + 1 and current["row_count"] > 5 * before["row_count"]
    (check,) = [c for c in current["quality"]["checks"] if c["name"] == "row_count_change"]
    assert not check["passed"] and not check["blocking"]           # still reported, no longer blocking
    assert "accepted for this version by 王工" in check["detail"] and "补报" in check["detail"]
    (acceptance,) = [a for a in json.loads(nights["listed"].stdout) if a["dataset"] == "air_quality_daily"]
    assert acceptance["used_version"] == current["version"] and acceptance["source"] == "air_quality_hourly"


def test_an_acceptance_lets_through_one_version_only(nights):
    # every acceptance the backfill asked for is either used by a version or still pending for its dataset
    listed = json.loads(nights["listed"].stdout)
    used = [a for a in listed if a["used_at"]]
    assert [a["dataset"] for a in used] == ["air_quality_daily"]
