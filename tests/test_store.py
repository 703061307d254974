"""The published store: versions are immutable and become current in one step, or not at all."""

import hashlib
import json
import shutil

import pytest

from sudata.store import DatasetEntry, PublishedStore


def entry(name="schools", open_type="unconditional"):
    return DatasetEntry(name=name, title="学校名录", title_en="Schools", description="d", department="education",
                        department_name="苏州市教育局", domain="教育文化", open_type=open_type, security_grade="general",
                        update_frequency="每日", scope_column="street_code", tags=["学校"],
                        columns=[{"name": "a", "type": "string"}], meta={})


def builder(payload: bytes):
    def build(directory):
        (directory / "data.parquet").write_bytes(payload)
        return {"row_count": len(payload), "files": {"parquet": {"path": "data.parquet", "size": len(payload),
                                                                  "sha256": str(hash(payload))}},
                "schema": {"fields": []}, "slices": []}
    return build


QUALITY = {"passed": True, "score": 1.0}


def test_versions_are_kept_and_the_latest_is_current(tmp_path):
    store = PublishedStore(tmp_path)
    v1 = store.publish(entry(), builder(b"one"), run_id="r1", drop_date="2026-11-23", quality=QUALITY)
    v2 = store.publish(entry(), builder(b"two!"), run_id="r2", drop_date="2026-11-24", quality=QUALITY)
    assert (v1, v2) == (1, 2)
    assert store.current_version("schools")["row_count"] == 4
    assert [v["version"] for v in store.versions("schools")] == [1, 2]
    assert (tmp_path / "datasets/schools/v000001/data.parquet").read_bytes() == b"one"
    assert json.loads((tmp_path / "datasets/schools/v000002/quality.json").read_text())["passed"] is True


def test_the_store_numbers_each_version_in_its_descriptor(tmp_path):
    from sudata.files import sha256_file

    def with_descriptor(payload: bytes):
        inner = builder(payload)

        def build(directory):
            built = inner(directory)
            (directory / "datapackage.json").write_text(json.dumps({"name": "schools", "version": ""}), "utf-8")
            built["files"]["datapackage"] = {"path": "datapackage.json", "size": 0, "sha256": ""}
            return built
        return build

    store = PublishedStore(tmp_path)
    store.publish(entry(), with_descriptor(b"one"), run_id="r1", drop_date="d1", quality=QUALITY)
    store.publish(entry(), with_descriptor(b"one"), run_id="r2", drop_date="d2", quality=QUALITY)  # unchanged
    assert store.publish(entry(), with_descriptor(b"two"), run_id="r3", drop_date="d3", quality=QUALITY) == 2
    for v in store.versions("schools"):
        descriptor = store.path(v["path"]) / "datapackage.json"
        assert json.loads(descriptor.read_text("utf-8"))["version"] == str(v["version"])
        assert v["files"]["datapackage"]["sha256"] == sha256_file(descriptor)


def test_identical_data_adds_no_version(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry(), builder(b"same"), run_id="r1", drop_date="d1", quality=QUALITY)
    again = store.publish(entry(), builder(b"same"), run_id="r2", drop_date="d2", quality=QUALITY)
    assert again == 1 and len(store.versions("schools")) == 1
    assert len(store.quality_runs("schools")) == 2


def test_a_publish_that_dies_while_building_leaves_the_current_version(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry(), builder(b"good"), run_id="r1", drop_date="d1", quality=QUALITY)

    def dies(directory):
        (directory / "data.parquet").write_bytes(b"half")
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        store.publish(entry(), dies, run_id="r2", drop_date="d2", quality=QUALITY)
    assert store.current_version("schools")["version"] == 1
    assert not list((tmp_path / ".staging").glob("*"))


def test_orphan_version_directories_are_invisible_and_swept(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry(), builder(b"good"), run_id="r1", drop_date="d1", quality=QUALITY)
    orphan = tmp_path / "datasets/schools/v000002"   # renamed into place, index never committed
    orphan.mkdir()
    (orphan / "data.parquet").write_bytes(b"half")
    assert store.current_version("schools")["version"] == 1
    assert [v["version"] for v in store.versions("schools")] == [1]
    assert orphan in store.sweep_orphans() and not orphan.exists()
    assert store.publish(entry(), builder(b"next"), run_id="r3", drop_date="d3", quality=QUALITY) == 2


def test_blocked_gate_is_recorded_without_touching_the_current_version(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry(), builder(b"good"), run_id="r1", drop_date="d1", quality=QUALITY)
    store.record_blocked(entry(), run_id="r2", drop_date="d2", quality={"passed": False, "blocking_failures": ["x"]})
    assert store.current_version("schools")["version"] == 1
    last = store.quality_runs("schools")[0]
    assert last["passed"] == 0 and last["published_version"] is None and last["report"]["blocking_failures"] == ["x"]


def test_closed_datasets_are_filtered_for_open_listings(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry("a"), builder(b"1"), run_id="r", drop_date="d", quality=QUALITY)
    store.publish(entry("b", "closed"), builder(b"2"), run_id="r", drop_date="d", quality=QUALITY)
    assert [d["name"] for d in store.datasets(include_closed=False)] == ["a"]
    assert len(store.datasets()) == 2


def test_the_overview_agrees_with_the_per_dataset_reads(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry("a"), builder(b"1"), run_id="r1", drop_date="d1", quality=QUALITY)
    store.publish(entry("a"), builder(b"22"), run_id="r2", drop_date="d2", quality=QUALITY)
    store.publish(entry("b"), builder(b"333"), run_id="r1", drop_date="d1", quality=QUALITY)
    store.record_blocked(entry("b"), run_id="r2", drop_date="d2", quality={"passed": False, "score": 0.2})
    store.record_blocked(entry("c"), run_id="r2", drop_date="d2", quality={"passed": False, "score": 0.0})

    overview = {d["name"]: d for d in store.overview()}
    assert sorted(overview) == ["a", "b", "c"]
    for name, d in overview.items():
        assert d["current"] == store.current_version(name)
        assert d["last_quality_run"] == store.quality_runs(name, limit=1)[0]
        assert d["version_numbers"] == [v["version"] for v in store.versions(name)]
    assert overview["a"]["version_numbers"] == [1, 2] and overview["c"]["current"] is None
    assert overview["b"]["last_quality_run"]["passed"] == 0


def test_nights_say_which_datasets_are_behind_and_why(tmp_path):
    store = PublishedStore(tmp_path)
    assert store.nights()["behind"] == [] and store.nights()["latest_night"] is None
    for name in ("a", "b", "c", "closed_one"):
        store.publish(entry(name, "closed" if name == "closed_one" else "unconditional"), builder(b"n1" + name.encode()),
                      run_id="r1", drop_date="2026-11-23", quality=QUALITY)
    assert store.nights() == {"latest_night": "2026-11-23", "mixed": False, "interrupted": False,
                              "nights": {"2026-11-23": 4}, "behind": []}
    # night 2: a is published, b unchanged (its pass moves it on), c blocked, closed_one not reached yet
    store.publish(entry("a"), builder(b"n2a"), run_id="r2", drop_date="2026-11-24", quality=QUALITY)
    store.publish(entry("b"), builder(b"n1b"), run_id="r2", drop_date="2026-11-24", quality=QUALITY)
    store.record_blocked(entry("c"), run_id="r2", drop_date="2026-11-24", quality={"passed": False})
    nights = store.nights()
    assert nights["latest_night"] == "2026-11-24" and nights["mixed"] and nights["interrupted"]
    assert nights["nights"] == {"2026-11-23": 2, "2026-11-24": 2}
    assert nights["behind"] == [{"dataset": "c", "as_of": "2026-11-23", "reason": "blocked"},
                                {"dataset": "closed_one", "as_of": "2026-11-23", "reason": "unpublished"}]
    assert [b["dataset"] for b in store.nights(include_closed=False)["behind"]] == ["c"]
    # the run completes: only the blocked dataset stays behind, and nothing is unpublished
    store.publish(entry("closed_one", "closed"), builder(b"n2x"), run_id="r2", drop_date="2026-11-24", quality=QUALITY)
    nights = store.nights()
    assert nights["mixed"] and not nights["interrupted"] and [b["reason"] for b in nights["behind"]] == ["blocked"]


def test_status_lines_name_the_datasets_behind():
    from cli.pipeline import nights_lines

    assert nights_lines({"latest_night": "2026-11-24", "behind": [], "nights": {"2026-11-24": 3}}) == []
    lines = nights_lines({"latest_night": "2026-11-24", "nights": {"2026-11-23": 2, "2026-11-24": 1}, "behind": [
        {"dataset": "c", "as_of": "2026-11-23", "reason": "blocked"},
        {"dataset": "d", "as_of": "2026-11-23", "reason": "unpublished"}]})
    text = "\n".join(lines)
    assert text.startswith("CURRENT VERSIONS COME FROM DIFFERENT NIGHTS: 2 datasets are behind 2026-11-24")
    assert "not yet published for 2026-11-24" in text and "  d (as of 2026-11-23)" in text
    assert "blocked by their quality gate on 2026-11-24" in text and "  c (as of 2026-11-23)" in text


def sliced(payload: bytes, slices: dict[str, bytes]):
    def build(directory):
        built = builder(payload)(directory)
        (directory / "suonline").mkdir()
        for unit, data in slices.items():
            (directory / "suonline" / f"{unit}.parquet").write_bytes(data)
            built["slices"].append({"unit_code": unit, "unit_level": "street", "row_count": 1,
                                    "sha256": hashlib.sha256(data).hexdigest(), "path": f"suonline/{unit}.parquet"})
        return built
    return build


def test_a_new_version_links_the_slices_it_shares_with_the_current_one(tmp_path):
    store = PublishedStore(tmp_path)
    store.publish(entry(), sliced(b"one", {"320508001": b"same", "320508002": b"old"}), run_id="r1",
                  drop_date="2026-11-23", quality=QUALITY)
    store.publish(entry(), sliced(b"two", {"320508001": b"same", "320508002": b"new"}), run_id="r2",
                  drop_date="2026-11-24", quality=QUALITY)
    v1, v2 = tmp_path / "datasets/schools/v000001/suonline", tmp_path / "datasets/schools/v000002/suonline"
    assert (v2 / "320508001.parquet").stat().st_ino == (v1 / "320508001.parquet").stat().st_ino
    assert (v2 / "320508002.parquet").stat().st_ino != (v1 / "320508002.parquet").stat().st_ino
    assert (v1 / "320508002.parquet").read_bytes() == b"old" and (v2 / "320508002.parquet").read_bytes() == b"new"
    shutil.rmtree(v1.parent)  # an old version removed: the new one stays complete
    assert (v2 / "320508001.parquet").read_bytes() == b"same"
    assert not list(v2.glob("*.link"))
