"""The small SQLite files the platform keeps beside the lake and the published store (the ingestion ledger,
acceptances, alerts, the access log, monitoring history): how each is opened, and the clock they record."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path


def utcnow() -> str:
    """Now, as every ledger records it: UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_ledger(path: Path, schema: str, *, timeout: float = 60, wal: bool = False,
                shared: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with ``schema`` applied and rows by name.

    ``wal`` for files that readers use while one process writes; ``shared`` for a connection that threads
    of a server pass between them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=not shared)
    if wal:
        con.execute("pragma journal_mode=wal")
    con.executescript(schema)
    con.row_factory = sqlite3.Row
    return con
