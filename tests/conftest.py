"""Core tests: the fairhub test kit's fixtures (loaded as a pytest plugin) plus these."""
from __future__ import annotations

import pytest

SAMPLE = "sample_plugin.plugin"


@pytest.fixture
def fairhub_plugins():
    """Core tests run with the sample third-party plugin only."""
    return [SAMPLE]
