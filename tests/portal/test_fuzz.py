"""Property-based fuzzing of the portal against its own OpenAPI document (schemathesis): every CKAN
action with its real parameters, downloads, DCAT and Su Online. No request may answer 500 or take more
than 2 s. The budget is bounded (a few examples per operation, well under a minute in all)."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from portal.app import create_app

MAX_SECONDS = 2.0


@pytest.fixture(scope="module")
def fuzz_schema(paths):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(paths))


def test_the_document_lists_every_action_with_its_parameters(fuzz_schema):
    from portal.ckan import ACTIONS

    doc = fuzz_schema.raw_schema
    for name in ACTIONS:
        assert f"/api/3/action/{name}" in doc["paths"], name
    params = {p["name"]: p for p in doc["paths"]["/api/3/action/datastore_search"]["get"]["parameters"]}
    assert params["resource_id"]["required"] is True
    assert {"filters", "q", "fields", "sort", "limit", "offset", "cursor", "records_format"} <= set(params)


def test_no_server_error_and_no_slow_answer(fuzz_schema):
    slow: list[str] = []
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            started = time.perf_counter()
            response = case.call()
            elapsed = time.perf_counter() - started
            case.validate_response(response, checks=[not_a_server_error])
            if elapsed >= MAX_SECONDS:
                slow.append(f"{case.method} {case.formatted_path}: {elapsed:.2f} s")

        fuzz()
    assert slow == []
