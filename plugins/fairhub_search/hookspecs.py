"""The hook the search plugin offers other plugins."""
from __future__ import annotations

from fairhub import hookspec


@hookspec
def fairhub_search_text(dataset):
    """Return more searchable text for ``dataset`` (its ``id``, ``code``, ``name``,
    ``catalogue`` as attributes), or None: file names, table notes... Called when the dataset
    is indexed, inside its transaction; an implementation that raises is logged and its text
    left out, and the dataset is indexed all the same."""
