"""The nightly run killed with a real SIGKILL inside dbt, in the gate, between gate and publication, inside
publication, after a version directory is renamed into place, inside the index transaction and between two
datasets' publications. After every kill nothing half-written is visible and `sudata status` tells the
truth (a dataset it calls current as of a night holds that night's data); the next normal `sudata run` ends
exactly where an uninterrupted run ends.

The kills are chained on one home to keep the suite's time in check (every run of the sample costs a full
dbt build): each killed run is the next run after the previous kill, so it also has to cope with what that
kill left behind; the last `sudata run` must end at the uninterrupted reference (``sample_nights``).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import warnings

import pytest

from sudata.crash import PIPELINE_POINTS
from sudata.settings import Paths
from tests.conftest import SAMPLE_FIRST_NIGHT, sudata_command
from tests.store_state import content, orphans, published_state, store_problems

pytestmark = pytest.mark.integration

SECOND_NIGHT = "2026-11-24"
# in order of the night; dbt builds 54 models of the sample: by the 22nd every staging model is built
CHAIN = [
    "dbt_model_built@22", "inside_gate@3", "before_publication@2", "during_version_write@2",
    "after_version_rename@1", "inside_index_write@1", "between_publications@3",
]


def _status(home, raw) -> tuple[dict, str]:
    from cli.pipeline import cmd_status, status_snapshot

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUDATA_HOME", str(home))
        mp.setenv("SUDATA_RAW", str(raw))
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            cmd_status(type("Args", (), {"json": False})())
        return status_snapshot(), text.getvalue()


def _portal(home, raw) -> tuple[dict, str]:
    from portal.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(Paths(home=home, raw=raw))) as client:
        return client.get("/api/3/action/status_show").json()["result"], client.get("/").text


@pytest.fixture(scope="module")
def chain(sample_nights, tmp_path_factory):
    raw = sample_nights["raw"]
    home = tmp_path_factory.mktemp("crash_pipeline") / "home"
    shutil.copytree(sample_nights["first"], home, symlinks=True)
    kills = []
    for crash_at in CHAIN:
        run = sudata_command(home, raw, "run", crash_at=crash_at)
        status, text = _status(home, raw)
        kills.append({"crash_at": crash_at, "returncode": run.returncode, "log": run.stdout[-2000:] + run.stderr[-2000:],
                      "problems": store_problems(home), "orphans": orphans(home), "state": published_state(home),
                      "status": status, "text": text})
    kills[-1]["portal"] = _portal(home, raw)
    final = sudata_command(home, raw, "run")
    status, text = _status(home, raw)
    return {"kills": kills, "final": final, "state": published_state(home), "problems": store_problems(home),
            "orphans": orphans(home), "status": status, "first": published_state(sample_nights["first"]),
            "reference": published_state(sample_nights["home"])}


def test_every_pipeline_crash_point_is_exercised():
    assert {c.split("@")[0] for c in CHAIN} == set(PIPELINE_POINTS)


@pytest.mark.parametrize("step", range(len(CHAIN)), ids=CHAIN)
def test_the_run_is_killed_where_asked_and_leaves_nothing_half_visible(chain, step):
    kill = chain["kills"][step]
    assert kill["returncode"] == -signal.SIGKILL, f"not killed at {kill['crash_at']}: {kill['log']}"
    assert kill["problems"] == [], "a reader would see part of a version"
    point = kill["crash_at"].split("@")[0]
    if point in ("during_version_write", "after_version_rename", "inside_index_write"):
        # killed mid-publication: the half-made version is there on disk, and only there
        assert kill["orphans"], f"{point}: nothing left behind, so the kill was not where it claims"


@pytest.mark.parametrize("step", range(len(CHAIN)), ids=CHAIN)
def test_status_after_the_kill_tells_the_truth(chain, step):
    kill, first, reference = chain["kills"][step], chain["first"], chain["reference"]
    status, state = kill["status"], kill["state"]
    for d in status["datasets"]:
        s = state[d["dataset"]]
        assert (d["current_version"], d["rows"]) == ((s["current"], s["rows"]) if s else (None, None)), d["dataset"]
    nights = status["nights"]
    behind = {b["dataset"]: b for b in nights["behind"]}
    for name, s in state.items():
        night = behind[name]["as_of"] if name in behind else nights["latest_night"]
        expected = reference[name] if night == SECOND_NIGHT else first[name]
        assert night in (SAMPLE_FIRST_NIGHT, SECOND_NIGHT), (name, night)
        assert content(s) == content(expected), f"status says {name} is as of {night}; its data is not"
    assert all(b["reason"] == "unpublished" for b in behind.values()), "nothing is blocked in the sample"
    assert nights["mixed"] == (len({behind[n]["as_of"] if n in behind else nights["latest_night"] for n in state}) > 1)


def test_a_run_killed_between_publications_is_shown_as_mixed_nights(chain):
    kill = chain["kills"][-1]
    nights = kill["status"]["nights"]
    assert nights["mixed"] and nights["interrupted"] and nights["latest_night"] == SECOND_NIGHT
    behind = sorted(b["dataset"] for b in nights["behind"])
    # killed at the third publication of the run: at least the run's first three datasets are on the new night
    assert 3 <= len(kill["state"]) - len(behind) < len(kill["state"]), behind
    assert all(b["as_of"] == SAMPLE_FIRST_NIGHT for b in nights["behind"])
    assert "CURRENT VERSIONS COME FROM DIFFERENT NIGHTS" in kill["text"]
    assert all(f"  {name} (as of {SAMPLE_FIRST_NIGHT})" in kill["text"] for name in behind)
    site, home_page = kill["portal"]
    open_behind = [b["dataset"] for b in site["catalog_nights"]["behind"]]
    closed = {d["dataset"] for d in kill["status"]["datasets"] if d["open_type"] == "closed"}
    assert open_behind == [n for n in behind if n not in closed] and open_behind
    assert site["catalog_nights"]["mixed"] is True
    assert "当前版本来自不同的夜间批次" in home_page and all(n in home_page for n in open_behind)


def test_the_next_run_ends_where_an_uninterrupted_run_ends(chain):
    assert chain["final"].returncode == 0, chain["final"].stdout[-3000:]
    assert chain["kills"][-1]["state"] != chain["reference"], "the last kill left the night unfinished"
    assert chain["state"] == chain["reference"]
    assert chain["problems"] == [] and chain["orphans"] == []
    nights = chain["status"]["nights"]
    assert nights["behind"] == [] and not nights["mixed"] and nights["latest_night"] == SECOND_NIGHT
    assert "DIFFERENT NIGHTS" not in _status_text(chain)


def _status_text(chain) -> str:
    from cli.pipeline import nights_lines

    return "\n".join(nights_lines(chain["status"]["nights"]))
