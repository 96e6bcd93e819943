"""Property-based check of every operation in the app's own OpenAPI document.

Generated requests must never get a 5xx, and every response must match the document. Routes
that later plugins add are covered without editing this file.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_document(case):
    case.call_and_validate()
