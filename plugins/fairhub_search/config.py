"""The search plugin's settings (``SEARCH_*``), each overridable as ``FAIRHUB_SEARCH_*``."""
from __future__ import annotations

from fairhub import Setting

SETTINGS = [
    Setting("SEARCH_WEIGHTS", {"title": 10.0, "keyword": 5.0, "publisher": 3.0, "creator": 3.0,
                               "description": 2.0, "dictionary": 2.0, "field_names": 1.5,
                               "field_text": 1.0, "extra": 1.0},
            "How much a match in each kind of text counts (a title match outranks a "
            "description match)."),
    Setting("SEARCH_FACET_SIZE", 20, "Most values each facet lists."),
    Setting("SEARCH_LOG_FLUSH_SECONDS", 5.0,
            "How often each worker writes the searches it served to the search log."),
    Setting("SEARCH_LOG_MAX_PENDING", 10_000,
            "Most searches each worker keeps while the search log cannot be written; "
            "beyond, new ones are dropped, and the log says how many."),
]
