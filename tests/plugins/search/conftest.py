"""Fixtures of the search plugin's tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def fairhub_plugins():
    return ["datasets", "search"]
