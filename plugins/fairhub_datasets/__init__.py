"""The datasets plugin: the catalogue's datasets, their data dictionaries and who may see them.

Other plugins use what is exported here, and nothing else of the package:

- the tables, :class:`Dataset` and :class:`Dictionary`;
- :func:`create_dataset`, from a body as ``POST /api/datasets`` takes it;
- :func:`get_dataset` and :func:`get_dictionary`, which find one the caller may see (404
  otherwise), and :func:`may` and :func:`require`, which check a capability on it (``see``,
  ``edit``, ``manage``, ``approve``, ``own``);
- :func:`visible`, the SQL condition of the datasets a caller may see, on the datasets'
  columns or a plugin's own copy of a dataset's id and visibility, run with :func:`params`;
  :func:`granted`, the SQL condition of a capability held on a dataset;
- :func:`approvers_of` (who decides a dataset's access requests), :func:`person` (a user as
  datasets show one) and :func:`shown_catalogue` (a stored catalogue as answers show it).
"""
from __future__ import annotations

from .access import (
    ADMINISTER,
    approvers_of,
    granted,
    may,
    params,
    person,
    require,
    visible,
)
from .dictionaries import get as get_dictionary
from .models import Dataset, Dictionary
from .schemas import shown as shown_catalogue
from .service import create_from_body as create_dataset
from .service import get_dataset

__all__ = [
    "ADMINISTER", "approvers_of", "create_dataset", "Dataset", "Dictionary", "get_dataset",
    "get_dictionary", "granted", "may", "params", "person", "require", "shown_catalogue",
    "visible",
]
