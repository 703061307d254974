"""Run an expectation suite on a pandas frame with Great Expectations 1.x, and build Data Docs.

One ephemeral GE context per process (created on first use, ~ms) holds one pandas data source, one
dataframe asset and one whole-dataframe batch definition; each dataset's suite and validation definition
are registered once and re-registered only when the suite file changes. Validation results are plain JSON
dicts: the gate can persist them (``save_validation_result``) and ``build_data_docs`` renders every
persisted result into a static HTML site once per nightly run.

GE's SQL data source is not used: on DuckDB every expectation fails with IndexError in GE 1.24.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from sudata.quality.suites import Suite, load_suites
from sudata.settings import TIMEZONE

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DATASOURCE = "sudata_frames"
ASSET = "frame"
BATCH_DEFINITION = "whole_frame"
DOCS_SITE = "sudata"

# Counts only: unexpected values could be personal data of conditional/closed datasets, and results are
# persisted and rendered. Raise ``unexpected_samples`` for local debugging.
KEY_SAMPLES = 5  # keys of failing rows a report names, so an engineer can find them
_MAP_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent")


@dataclass
class ExpectationOutcome:
    name: str
    type: str
    kwargs: dict
    dimension: str
    blocking: bool
    success: bool
    observed: dict
    detail: str


@dataclass
class SuiteOutcome:
    outcomes: list[ExpectationOutcome]
    result: dict  # the GE validation result as JSON


def local_now() -> datetime:
    """Wall-clock time in Suzhou, naive: what ``{"$PARAMETER": "now"}`` resolves to."""
    return datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None, microsecond=0)


class GERunner:
    """A process-wide, lazily created ephemeral GE context with the suites registered so far."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # GE imports pyspark when it is installed (the `spark` extra), and pyspark warns at import that
            # it does not yet support pandas 3; the gate never runs GE on Spark.
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
            import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GE fingerprints every batch by hashing the whole frame (frames under HASH_THRESHOLD bytes); the
        # fingerprint is only a marker in the result's meta, and hashing Arrow-backed strings costs more
        # than all expectations together. The frame is identified by the fetch SQL in meta instead.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self._gx = gx
        self._lock = threading.RLock()
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        datasource = self.context.data_sources.add_pandas(DATASOURCE)
        asset = datasource.add_dataframe_asset(ASSET)
        self.batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        self._registered: dict[str, tuple[str, Any, dict[str, int]]] = {}

    def _validation_definition(self, suite: Suite):
        """(validation definition, expectation id → index) for ``suite``, registering it if new or changed."""
        fingerprint = suite.fingerprint()
        known = self._registered.get(suite.name)
        if known and known[0] == fingerprint:
            return known[1], known[2]
        if known:
            self.context.validation_definitions.delete(suite.name)
            self.context.suites.delete(suite.name)
        gx_suite = self.context.suites.add(_gx_suite(suite))
        by_id = {str(e.id): i for i, e in enumerate(gx_suite.expectations)}
        vd = self.context.validation_definitions.add(
            self._gx.ValidationDefinition(name=suite.name, data=self.batch_definition, suite=gx_suite)
        )
        self._registered[suite.name] = (fingerprint, vd, by_id)
        return vd, by_id

    def run(self, suite: Suite, df: pd.DataFrame, *, names: list[str] | None = None, now: datetime | None = None,
            unexpected_samples: int = 0, key_columns: list[str] | None = None) -> SuiteOutcome:
        """Validate ``df``; outcomes in suite order, named ``names`` (default: ``suite.check_names()``).
        With ``key_columns`` (columns of ``df``), a failing row-level expectation names the keys of up to
        KEY_SAMPLES failing rows — the keys only: the values are dropped from the outcome and the result."""
        names = names or suite.check_names()
        parameters = {"now": (now or local_now()).isoformat(timespec="seconds")}
        keys = [k for k in key_columns or [] if k in df.columns]
        with self._lock:
            vd, by_id = self._validation_definition(suite)
            result = vd.run(batch_parameters={"dataframe": df}, expectation_parameters=parameters,
                            result_format={"result_format": "BASIC",
                                           "partial_unexpected_count": int(unexpected_samples)})
            by_index = {by_id[str(r.expectation_config.id)]: r for r in result.results}
            failed = sorted(i for i, r in by_index.items() if not r.success)
            if keys and failed:
                # GE lists the keys of every unexpected row, one cell at a time, before keeping the first
                # few: on a large frame that costs more than the whole suite. The keys of the first failing
                # rows are those of the first rows of the frame that fail, so they are looked for in a
                # growing head of the frame, for the failed expectations only.
                found = self._first_failing_keys(suite, failed, df, parameters, keys, unexpected_samples)
                for i, listed in found.items():
                    by_index[i].result["partial_unexpected_index_list"] = listed
        outcomes: list[ExpectationOutcome | None] = [None] * len(suite.expectations)
        for i, r in by_index.items():
            failing_keys = _keys_only(r.result, keys, keep_values=unexpected_samples > 0)
            outcomes[i] = _outcome(names[i], suite.expectations[i], r, failing_keys)
        unanswered = [names[i] for i, o in enumerate(outcomes) if o is None]
        if unanswered:  # never let an expectation disappear from the gate silently
            raise RuntimeError(f"{suite.name}: Great Expectations returned no result for {unanswered}")
        return SuiteOutcome(outcomes=outcomes, result=result.to_json_dict())

    def _first_failing_keys(self, suite: Suite, failed: list[int], df: pd.DataFrame, parameters: dict,
                            keys: list[str], unexpected_samples: int) -> dict[int, list]:
        """Per failed expectation (an index into ``suite``), the keys of its first failing rows in frame
        order, as GE lists them (``partial_unexpected_index_list``)."""
        wanted = max(int(unexpected_samples), KEY_SAMPLES)
        subset = Suite(name=f"{suite.name}.failing", expectations=tuple(suite.expectations[i] for i in failed),
                       meta=suite.meta, path=suite.path)
        vd, by_id = self._validation_definition(subset)
        result_format = {"result_format": "SUMMARY", "unexpected_index_column_names": keys,
                         "partial_unexpected_count": wanted, "return_unexpected_index_query": False}
        head = 4096
        while True:
            result = vd.run(batch_parameters={"dataframe": df.iloc[:head]}, expectation_parameters=parameters,
                            result_format=result_format)
            found = {failed[by_id[str(r.expectation_config.id)]]: (r.result or {}).get("partial_unexpected_index_list")
                     or [] for r in result.results}
            if head >= len(df) or all(len(v) >= wanted for v in found.values()):
                return found
            head *= 8


def _keys_only(res: dict | None, keys: list[str], *, keep_values: bool) -> list[dict]:
    """The keys of the failing rows GE sampled; unless values are asked for, the values GE sampled are
    removed from its result in place (it is persisted and rendered, and may hold personal data)."""
    if not keys or not res:
        return []
    sampled = res.get("partial_unexpected_index_list") or []
    found = [{k: str(row[k]) for k in keys if k in row} for row in sampled[:KEY_SAMPLES] if isinstance(row, dict)]
    if not keep_values:
        for field in ("partial_unexpected_list", "partial_unexpected_counts"):
            res.pop(field, None)
        res["partial_unexpected_index_list"] = found
    return found


def _outcome(name: str, expectation, r, failing_keys: list[dict] | None = None) -> ExpectationOutcome:
    res = dict(r.result or {})
    observed = {k: res[k] for k in _MAP_RESULT_KEYS if k in res}
    if "observed_value" in res:
        observed["observed_value"] = res["observed_value"]
    if res.get("partial_unexpected_list"):
        observed["unexpected_samples"] = res["partial_unexpected_list"]
    exc = r.exception_info or {}
    messages = []
    if exc.get("raised_exception"):
        messages.append(exc.get("exception_message") or "")
    else:
        for value in exc.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                messages.append(value.get("exception_message") or "")
    if messages:
        detail = "expectation could not be evaluated: " + "; ".join(dict.fromkeys(m for m in messages if m))
    elif expectation.type == "expect_column_values_to_not_be_null" and "unexpected_count" in res:
        detail = f"{res['unexpected_count']} of {res.get('element_count')} values null"
        if expectation.kwargs.get("mostly") is not None:
            detail += f" (mostly={expectation.kwargs['mostly']})"
    elif "unexpected_count" in res:
        nonnull = (res.get("element_count") or 0) - (res.get("missing_count") or 0)
        detail = f"{res['unexpected_count']} of {nonnull} non-null values unexpected"
        if res.get("unexpected_percent"):
            detail += f" ({res['unexpected_percent']:.4g}%)"
        if expectation.kwargs.get("mostly") is not None:
            detail += f", mostly={expectation.kwargs['mostly']}"
    elif "observed_value" in res:
        detail = f"observed {res['observed_value']!r}"
    else:
        detail = ""
    if failing_keys and not r.success:
        observed["failing_keys"] = failing_keys
        detail += "; e.g. " + ", ".join("|".join(k.values()) for k in failing_keys)
    return ExpectationOutcome(
        name=name,
        type=expectation.type,
        kwargs=expectation.kwargs,
        dimension=expectation.dimension,
        blocking=expectation.blocking,
        success=bool(r.success) and not messages,
        observed=observed,
        detail=detail,
    )


def _gx_suite(suite: Suite):
    from great_expectations.core.expectation_suite import ExpectationSuite

    return ExpectationSuite(name=suite.name, expectations=[e.to_dict() for e in suite.expectations],
                            meta=suite.meta, notes=suite.notes)


_RUNNER: GERunner | None = None
_RUNNER_LOCK = threading.Lock()


def get_runner() -> GERunner:
    """The process-wide runner (GE is imported and the context created on first call only)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = GERunner()
        return _RUNNER


def run_suite(suite: Suite, df: pd.DataFrame, *, names: list[str] | None = None, now: datetime | None = None,
              unexpected_samples: int = 0, key_columns: list[str] | None = None) -> SuiteOutcome:
    """Validate ``df`` against ``suite`` in the process-wide GE context."""
    return get_runner().run(suite, df, names=names, now=now, unexpected_samples=unexpected_samples,
                            key_columns=key_columns)


# -- persisted results and Data Docs -------------------------------------------------------------------

def _default_gx_dir() -> Path:
    from sudata.settings import get_paths

    return get_paths().data_docs


def save_validation_result(result: dict, directory: Path | None = None, *, keep: int = 30) -> Path:
    """Write one GE validation result to ``<directory>/<suite>/<run time>.json`` atomically; keep the newest ``keep``."""
    directory = Path(directory) if directory else _default_gx_dir() / "validations"
    suite = result.get("suite_name") or "unknown"
    run_time = str((result.get("meta") or {}).get("validation_time") or local_now().isoformat())
    stamp = "".join(ch for ch in run_time if ch.isalnum())
    folder = directory / suite
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stamp}.json"
    tmp = folder / f".{stamp}.json.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    os.replace(tmp, target)
    for old in sorted(folder.glob("*.json"))[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target


def build_data_docs(validations_dir: Path | None = None, site_dir: Path | None = None, *,
                    suites_dir: Path | None = None) -> Path:
    """Render the suites and every persisted validation result into a static HTML site; returns index.html.

    Call once per nightly run (after all checks), not per check. A fresh ephemeral context renders exactly
    what is persisted under ``validations_dir`` into a sibling directory that then replaces ``site_dir``,
    so pages of pruned results do not pile up and readers never see a half-built site for long.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from sudata.quality.offline_docs import bundle_offline

    gx_dir = _default_gx_dir()
    validations_dir = Path(validations_dir) if validations_dir else gx_dir / "validations"
    site_dir = Path(site_dir) if site_dir else gx_dir / "data_docs"
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    building = site_dir.with_name(f".{site_dir.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(DOCS_SITE, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(building)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    for suite in load_suites(suites_dir).values():
        context.suites.add(_gx_suite(suite))
    schema = ExpectationSuiteValidationResultSchema()
    for path in sorted(validations_dir.glob("*/*.json")) if validations_dir.exists() else []:
        data = json.loads(path.read_text("utf-8"))
        result = schema.load(data)
        run_id = (result.meta or {}).get("run_id")
        if not isinstance(run_id, RunIdentifier):
            run_id = RunIdentifier(**run_id) if isinstance(run_id, dict) else RunIdentifier(run_name=path.stem)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=run_id,
            batch_identifier=result.suite_name,
        )
        context.validation_results_store.set(key, result)
    try:
        context.build_data_docs(site_names=[DOCS_SITE])
        bundle_offline(building)  # the pages' CDN assets, bundled: readable on a closed network
        retired = site_dir.with_name(f".{site_dir.name}.retired-{os.getpid()}")
        if site_dir.exists():
            os.replace(site_dir, retired)
        os.replace(building, site_dir)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return site_dir / "index.html"
