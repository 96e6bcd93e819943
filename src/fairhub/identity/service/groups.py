"""Groups of users, which dataset-level grants can name."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, or_, select

from fairhub.auth import Actor
from fairhub.db import db, flush_unique, like_pattern
from fairhub.errors import NotFound, ValidationError
from fairhub.events import Event, emit
from fairhub.identity.models import Group, GroupMember, User

_MEMBERSHIP = GroupMember.__table__.alias("membership")
_GROUP = Group.__table__.alias("member_of")


def with_groups(query: Select, user_id: ColumnElement) -> Select:
    """``query`` with the code and name of each group of the user ``user_id`` names, one row
    per group (or one with nulls): the caller's groups come with their credentials, which
    saves ``/api/user`` a statement. Read them with :func:`groups_in`, which sorts them (a
    sort in SQL would cost every check a temporary table, for a handful of rows)."""
    return (query.add_columns(_GROUP.c.code.label("group_code"),
                              _GROUP.c.name.label("group_name"))
            .outerjoin(_MEMBERSHIP, _MEMBERSHIP.c.user_id == user_id)
            .outerjoin(_GROUP, _GROUP.c.id == _MEMBERSHIP.c.group_id))


def groups_in(rows: Sequence) -> list[dict]:
    """The groups of the rows of a :func:`with_groups` query, by code."""
    return sorted(({"code": row.group_code, "name": row.group_name}
                   for row in rows if row.group_code is not None), key=lambda g: g["code"])


def _target(group: Group) -> dict:
    return {"type": "group", "code": group.code}


def present(group: Group, actor: Actor) -> dict:
    """A group as ``actor`` may see it: callers who may not change users (data managers) see
    only searchable, active members, as in the user list."""
    members = group.members
    if not actor.can("users/update"):
        members = [m for m in members if m.searchable and not m.archived]
    return {"id": group.id, "code": group.code, "name": group.name,
            "description": group.description, "members": members,
            "created_at": group.created_at, "updated_at": group.updated_at}


def get_group(code: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.code == code))
    if group is None:
        raise NotFound(f"Group {code!r} does not exist.")
    return group


def search_groups(q: str | None) -> Select:
    query = select(Group).order_by(Group.code)
    if q:
        pattern = like_pattern(q.strip())
        query = query.where(or_(Group.code.ilike(pattern, escape="\\"),
                                Group.name.ilike(pattern, escape="\\")))
    return query


def users_by_uuid(uuids: list[str]) -> list[User]:
    """The users named, in order; 422 naming any that do not exist. Nothing is changed."""
    found = {u.uuid: u for u in db.session.scalars(select(User).where(User.uuid.in_(uuids)))}
    missing = [uuid for uuid in uuids if uuid not in found]
    if missing:
        raise ValidationError("Some users do not exist.",
                              details={"json": {"users": {"missing": missing}}})
    return [found[uuid] for uuid in dict.fromkeys(uuids)]


def create_group(data: dict, actor: Actor) -> Group:
    group = Group(code=data["code"], name=data["name"], description=data.get("description"))
    group.members = users_by_uuid([m["uuid"] for m in data.get("members", [])])
    db.session.add(group)
    flush_unique(f"Group {data['code']!r} already exists.")
    emit(Event("group", "create", actor=actor, target=_target(group)))
    return group


def update_group(group: Group, data: dict, actor: Actor) -> Group:
    for key in ("name", "description"):
        if key in data:
            setattr(group, key, data[key])
    if "members" in data:
        group.members = users_by_uuid([m["uuid"] for m in data["members"]])
    emit(Event("group", "update", actor=actor, target=_target(group),
               details={"fields": sorted(data)}))
    return group


def add_members(group: Group, uuids: list[str], actor: Actor) -> Group:
    current = {u.id for u in group.members}
    added = [u for u in users_by_uuid(uuids) if u.id not in current]
    group.members.extend(added)
    emit(Event("group", "add_members", actor=actor, target=_target(group),
               details={"users": [u.uuid for u in added]}))
    return group


def remove_member(group: Group, uuid: str, actor: Actor) -> Group:
    member = next((u for u in group.members if u.uuid == uuid), None)
    if member is None:
        raise NotFound(f"User {uuid!r} is not a member of group {group.code!r}.")
    group.members.remove(member)
    emit(Event("group", "remove_member", actor=actor, target=_target(group),
               details={"user": uuid}))
    return group


def delete_group(group: Group, actor: Actor) -> None:
    emit(Event("group", "delete", actor=actor, target=_target(group)))
    db.session.delete(group)
