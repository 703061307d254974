"""Ingestion: land one source's drop for one date into the Parquet raw layer, or quarantine it."""

from sudata.ingest.lake import LakeProblem, lake_problems
from sudata.ingest.land import IngestResult, ingest_dates, ingest_partition, pending_drop_dates, pending_drops
from sudata.ingest.readers import QuarantineError
from sudata.ingest.zone import drop_dates

__all__ = ["IngestResult", "LakeProblem", "QuarantineError", "drop_dates", "ingest_dates", "ingest_partition",
           "lake_problems", "pending_drop_dates", "pending_drops"]
