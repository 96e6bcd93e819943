"""The hook the datasets plugin offers other plugins."""
from __future__ import annotations

from fairhub import hookspec


@hookspec
def fairhub_dataset_prepare(dataset):
    """Return ``(key, value)``, or None: what your ``dataset.create`` listener will need of a
    new dataset, worked out ahead of its writing.

    ``dataset`` has a Dataset's ``catalogue`` and ``visibility``, and ``dictionaries`` each
    with ``name``, ``description`` and ``fields``; it has no id yet and may have no code. Bulk
    imports call the hook in the processes that validate records, beside the one that writes
    them, so work done here leaves the writing process; the value comes back on the create
    event as ``event.subject.prepared[key]``. It must need no database and be picklable. A
    dataset created otherwise has nothing prepared: read the subject as usual.

    Implement it with ``@hookimpl(optionalhook=True)``: the hook exists only where the datasets
    plugin is enabled."""
