"""The zone's engine: each query runs in a separate, locked-down DuckDB process.

The child opens an in-memory DuckDB with extension auto-loading off, loads the authorised columns of
each authorised table from its current version's Parquet file, then disables external access (no path
is allowed at all) and locks the configuration before it reads the query. A query that got past the
parser still cannot read any file (the authorised Parquet files included, so not their other columns),
attach a database, load an extension or change a setting. Memory and threads are capped, and nothing
spills to disk (no temporary directory): a query that needs more memory than the cap fails, and its
process exits with it. The kernel limits the child's address space to the cap plus a fixed headroom, for
what DuckDB allocates outside its cap. The query is interrupted at the time limit and the parent kills a
child that does not stop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sudata.sql import quote_ident, quote_literal

DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = "512MB"
# the interpreter, DuckDB's code and its thread stacks, beside the DuckDB cap (see _cap_address_space)
ADDRESS_SPACE_HEADROOM = 1 << 30


class EngineError(RuntimeError):
    """The engine refused or failed the query (the message is DuckDB's); ``pid``: the child process that
    ran it (gone by the time this is raised)."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class EngineTimeout(EngineError):
    pass


class EngineOutOfMemory(EngineError):
    pass


@dataclass(frozen=True)
class View:
    name: str
    path: Path
    columns: tuple[str, ...]


def run(sql: str, views: list[View], *, max_rows: int, timeout: float | None = None,
        memory_limit: str | None = None) -> dict:
    """``{"columns", "rows"}`` of ``sql`` over ``views`` (at most ``max_rows`` rows), run in a child process."""
    timeout = timeout or float(os.environ.get("SUDATA_ZONE_TIMEOUT", DEFAULT_TIMEOUT))
    request = {
        "sql": sql, "max_rows": max_rows, "timeout": timeout,
        "memory_limit": memory_limit or os.environ.get("SUDATA_ZONE_MEMORY_LIMIT", DEFAULT_MEMORY),
        "views": [{"name": v.name, "path": str(v.path), "columns": list(v.columns)} for v in views],
    }
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    env["HOME"] = "/nonexistent"  # nothing of the user's (DuckDB's extension directory included)
    try:
        done = subprocess.run([sys.executable, "-m", "operation.engine"], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout + 5, env=env,
                              cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        raise EngineTimeout(f"the query ran longer than {timeout:g} s and was stopped") from None
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise EngineError(f"the engine failed (exit {done.returncode}): {done.stderr.strip()[-500:]}") from None
    pid = answer.pop("pid", None)
    if answer.get("timeout"):
        raise EngineTimeout(f"the query ran longer than {timeout:g} s and was stopped", pid)
    if answer.get("out_of_memory"):
        raise EngineOutOfMemory(f"the query needs more memory than the zone allows ({request['memory_limit']})"
                                f" and was stopped: {answer['out_of_memory']}", pid)
    if answer.get("error"):
        raise EngineError(answer["error"], pid)
    return answer


def _json_value(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return str(v)  # dates, decimals


def memory_bytes(size: str) -> int:
    """Bytes of a DuckDB memory size such as ``512MB``, ``1.5GB`` or ``2GiB``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)?\s*", size.upper())
    if not match:
        raise ValueError(f"not a memory size: {size!r} (e.g. 512MB, 2GiB)")
    number, unit = float(match[1]), match[2] or "B"
    power = "BKMGT".index(unit[0])
    return int(number * (1024 if "I" in unit else 1000) ** power)


def _cap_address_space(memory_limit: str) -> None:
    """The child's whole address space: DuckDB's cap covers its buffers, not every allocation (a long
    string built by ``repeat`` is outside it), so the kernel holds the rest of the process to the headroom."""
    import resource

    limit = memory_bytes(memory_limit) + ADDRESS_SPACE_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child() -> None:
    request = json.loads(sys.stdin.read())
    _cap_address_space(request["memory_limit"])
    try:
        answer = _answer(request)
    except MemoryError:
        answer = {"out_of_memory": "the engine's process reached its address space limit"}
    answer["pid"] = os.getpid()
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


def _answer(request: dict) -> dict:
    import threading

    import duckdb

    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "allow_community_extensions": False, "allow_unsigned_extensions": False,
    })
    con.execute(f"set memory_limit = {quote_literal(request['memory_limit'])}")
    con.execute("set temp_directory = ''")  # no spilling: the raw data never reaches a disk, the cap holds
    con.execute("set threads = 1")
    for v in request["views"]:
        cols = ", ".join(quote_ident(c) for c in v["columns"])
        con.execute(f"create table {quote_ident(v['name'])} as select {cols} from read_parquet({quote_literal(v['path'])})")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    timer = threading.Timer(request["timeout"], con.interrupt)
    timer.start()
    try:
        cur = con.execute(request["sql"])
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(request["max_rows"])
        answer = {"columns": columns, "rows": [[_json_value(x) for x in r] for r in rows]}
    except duckdb.InterruptException:
        answer = {"timeout": True}
    except duckdb.OutOfMemoryException as e:
        answer = {"out_of_memory": str(e).splitlines()[0]}
    except duckdb.Error as e:
        answer = {"error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
    finally:
        timer.cancel()
    return answer


if __name__ == "__main__":
    _child()
