"""Who reviews a request: the approvers of its dataset (owners and reviewers, directly or
through a group) holding ``requests/review``, and data stewards."""
from __future__ import annotations

from sqlalchemy import ColumnElement, false

import fairhub_datasets as datasets
from fairhub import Actor
from fairhub_datasets import Dataset

REVIEW = "requests/review"


def approvable(actor: Actor, dataset_id: ColumnElement) -> ColumnElement[bool]:
    """SQL condition: ``actor`` may decide requests on the dataset ``dataset_id`` names."""
    if not actor.can(REVIEW):
        return false()
    return datasets.granted(actor, dataset_id, "approve")


def may_review(actor: Actor, dataset: Dataset) -> bool:
    """Whether ``actor`` may decide requests on ``dataset``."""
    return actor.can(REVIEW) and datasets.may(actor, dataset, "approve")


def is_owner(actor: Actor, dataset: Dataset) -> bool:
    """Whether ``actor`` owns ``dataset`` (or administers every dataset)."""
    return datasets.may(actor, dataset, "own")
