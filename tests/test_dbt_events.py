"""The dbt step's own process waits for dbt without taking a core from it."""

import time
from types import SimpleNamespace

from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

from orchestration.assets.transform import with_row_counts

BUILD_SECONDS = 1.0


def _a_build_in_progress():
    """dbt's event stream while dbt builds: nothing for a while (the models of a large night take minutes)."""
    deadline = time.monotonic() + BUILD_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
    yield from ()


def _invocation():
    # what dagster-dbt's metadata map reads of an invocation before it has an event to look at
    return SimpleNamespace(is_fusion=False, adapter=None, postprocessing_threadpool_num_threads=2)


def _cpu_while_waiting(events) -> float:
    start = time.process_time()
    assert list(events) == []
    return time.process_time() - start


def test_row_counts_wait_for_dbt_without_polling():
    used = _cpu_while_waiting(with_row_counts(_a_build_in_progress(), _invocation()))
    # dagster-dbt's own map on the live stream polls for the whole wait: most of a core for the second
    streamed = _cpu_while_waiting(DbtEventIterator(_a_build_in_progress(), _invocation()).fetch_row_counts())
    assert streamed > 0.5 * BUILD_SECONDS, (
        f"dagster-dbt's map no longer polls ({streamed:.2f} s of CPU): the events may stream to it again")
    assert used < 0.2 * BUILD_SECONDS, f"{used:.2f} s of CPU while dbt built for {BUILD_SECONDS} s"
