"""Who reviews a request: the approvers of its dataset (owners and reviewers, directly or
through a group) holding ``requests/review``, and data stewards."""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from fairhub import Actor, GroupMember
from fairhub_datasets import access
from fairhub_datasets.models import Dataset, Grant

REVIEW = "requests/review"


def approvable(actor: Actor, dataset_id: ColumnElement) -> ColumnElement[bool]:
    """SQL condition: ``actor`` may decide requests on the dataset ``dataset_id`` names."""
    if actor.can(access.ADMINISTER) and actor.can(REVIEW):
        return true()
    if not actor.can(REVIEW) or actor.user_id is None:
        return false()
    groups = select(GroupMember.group_id).where(GroupMember.user_id == actor.user_id)
    return exists().where(
        Grant.dataset_id == dataset_id, Grant.level.in_(access.CAPABILITIES["approve"]),
        or_(Grant.user_id == actor.user_id, Grant.group_id.in_(groups.scalar_subquery())))


def may_review(actor: Actor, dataset: Dataset) -> bool:
    """Whether ``actor`` may decide requests on ``dataset``."""
    return actor.can(REVIEW) and access.may(actor, dataset, "approve")


def is_owner(actor: Actor, dataset: Dataset) -> bool:
    """Whether ``actor`` owns ``dataset`` (or administers every dataset)."""
    return actor.can(access.ADMINISTER) or "owner" in access.levels(actor, dataset)
