"""Write one Excel workbook in a separate process: ``python -m samplegen.xlsx_job <job.json>``.

The job file names an Arrow IPC file with the rows and carries the writer's arguments; ``generate`` uses
this to write large workbooks on the second core while it produces the CSV and JSON volume.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from samplegen.writers import write_xlsx


def run(job: Path) -> None:
    spec = json.loads(Path(job).read_text(encoding="utf-8"))
    with pa.memory_map(spec["rows"]) as source:
        rows = pa.ipc.open_file(source).read_all()
    write_xlsx(Path(spec["path"]), rows, spec["columns"], spec["headers"], spec["kinds"], spec["sheet"],
               datetime.fromisoformat(spec["stamp"]))


if __name__ == "__main__":
    run(Path(sys.argv[1]))
