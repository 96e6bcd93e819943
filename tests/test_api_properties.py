"""Property-based check of every operation in the app's own OpenAPI document.

Generated requests, as a data steward (who may call everything), must never get a 5xx, and
every response must match the document. Every installed plugin is enabled, so routes that
later plugins add are covered without editing this file.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from fairhub.testing import every_plugin
from sample_plugin import SAMPLE

# tus chunks (the files plugin) are raw bytes, generated like any binary body.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


@pytest.fixture
def fairhub_plugins():
    return every_plugin(SAMPLE)


@pytest.fixture
def api_schema(app, make_user, make_token):
    steward = make_user("data-steward")
    # NUL characters are refused up front (tests cover it); don't spend examples on them.
    # A tus request without `Tus-Resumable: 1.0.0` is refused with the protocol's 412.
    rejected = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428",
                "429", "5xx"]
    config = SchemathesisConfig.from_dict({
        "generation": {"allow-x00": False},
        "checks": {"negative_data_rejection": {"expected-statuses": rejected},
                   "missing_required_header": {"expected-statuses": rejected}}})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)

    @schema.auth(refresh_interval=None)
    class FreshStewardToken:
        """A new token for every case: generated calls may revoke or expire earlier ones."""

        def get(self, case, context):
            return make_token(steward)

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_document(case):
    # Schema-valid data may still break a rule the schema cannot say (an unknown role code),
    # so a 4xx for it is no failure; every other check runs.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
