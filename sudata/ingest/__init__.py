"""Ingestion: land one source's drop for one date into the Parquet raw layer, or quarantine it."""

from sudata.ingest.land import IngestResult, drop_dates, ingest_partition, pending_drop_dates, pending_drops
from sudata.ingest.readers import QuarantineError

__all__ = ["IngestResult", "QuarantineError", "drop_dates", "ingest_partition", "pending_drop_dates", "pending_drops"]
