"""Requests, approvals and rejections per dataset and per dictionary, for metrics.

They are kept in ``request_counts`` by each transition (see :func:`.states.count`): a
request counts once when first submitted, however often it is returned and resubmitted, and
purging requests leaves the counts as they were.
"""
from __future__ import annotations

from sqlalchemy import select

from fairhub import db
from fairhub_datasets import Dataset, Dictionary

from .models import RequestCount

COLUMNS = ("requests", "approvals", "rejections")


def counts() -> dict[str, dict[str, dict[str, int]]]:
    """``{"datasets": {code: {requests, approvals, rejections}}, "dictionaries": {...}}``
    for every dataset and dictionary that was ever requested."""
    found: dict[str, dict[str, dict[str, int]]] = {"datasets": {}, "dictionaries": {}}
    for scope, model, key in (("dataset", Dataset, "datasets"),
                              ("dictionary", Dictionary, "dictionaries")):
        rows = db.session.execute(
            select(model.code, *(getattr(RequestCount, c) for c in COLUMNS))
            .join(RequestCount, RequestCount.ref_id == model.id)
            .where(RequestCount.scope == scope))
        for row in rows:
            found[key][row.code] = {c: getattr(row, c) for c in COLUMNS}
    return found
