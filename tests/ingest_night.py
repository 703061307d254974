"""What a nightly run's ingestion does, in a process of its own (crash tests kill it with SIGKILL).

The dates are the ones `sudata run` picks (every pending date, or the latest night when nothing is pending),
and every date of their range is landed for every source, as the ingestion assets of one catch-up run do.
"""

from __future__ import annotations

from datetime import date, timedelta

from cli.pipeline import dates_to_run
from sudata.ingest import ingest_dates
from sudata.registry import load_registry
from sudata.settings import get_paths


def date_range(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def main() -> None:
    paths, registry = get_paths(), load_registry()
    dates = dates_to_run(None)
    keys = date_range(dates[0], dates[-1])
    for source in registry.values():
        ingest_dates(paths, source, keys)


if __name__ == "__main__":
    main()
