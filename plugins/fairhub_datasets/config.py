"""The datasets plugin's settings (``DATASETS_*``), each overridable as ``FAIRHUB_DATASETS_*``."""
from __future__ import annotations

from fairhub import Setting

SETTINGS = [
    Setting("DATASETS_MAX_DICTIONARIES", 200, "Most dictionaries (tables) one dataset may have."),
    Setting("DATASETS_MAX_FIELDS", 2000, "Most fields one dictionary may have."),
    Setting("DATASETS_MAX_LOOKUP_OPTIONS", 10000, "Most options one lookup may have."),
    Setting("DATASETS_DOCUMENT_CACHE_MB", 16,
            "Megabytes of dataset answers each worker keeps, by version, for the datasets it "
            "serves again; 0 keeps none."),
    Setting("DATASETS_IMPORT_BATCH", 500,
            "Records `fairhub datasets import` commits per transaction."),
    Setting("DATASETS_ANALYZE_AFTER", 1000,
            "On PostgreSQL, an import writing this many datasets or more ends with ANALYZE, so "
            "the planner sees them before autovacuum gets round to it."),
]
