"""The benchmark behind ``make bench``: the nightly pipeline at city scale against the floor.

For each scale (raw rows in total) it generates departmental drops with ``sudata generate`` and measures,
on the same data and each in its own temporary ``SUDATA_HOME``:

(a) the full nightly job as a user runs it (``sudata run`` in a subprocess), split into stages from the
    Dagster run's own step events;
(b) the floor: one DuckDB process executing the compiled SQL of the dbt models in dependency order over
    the same Parquet lake (no orchestration, checks or publication);
(c) a raw scan: one DuckDB process reading every delivered file once;

then the next night's run when one new drop date arrives (incremental) against a rebuild of the same
three nights from scratch, and the time to load the Dagster definitions with 1,000 registered sources.

``python -m bench --help`` lists the options; the report lands in ``bench/results/``.
"""

RESULTS_DIR_NAME = "results"
WORK_DIR_NAME = "work"


def emit_json(result: dict, out=None) -> None:
    """A measurement's result as JSON: into ``out`` (a path) when given, else on standard output."""
    import json

    text = json.dumps(result, indent=2)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        print(text)
