"""Fixtures of the datasets plugin's tests."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

# The worked payloads of the API contract (made-up data).
EXAMPLES = {path.stem: json.loads(path.read_text())
            for path in (Path(__file__).parent / "examples").glob("*.json")}


@pytest.fixture
def fairhub_plugins():
    return ["datasets"]


@pytest.fixture
def example():
    """A fresh copy of a worked payload: ``example("dataset-create")``."""
    return lambda name: copy.deepcopy(EXAMPLES[name])
