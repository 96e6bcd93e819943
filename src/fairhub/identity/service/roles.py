"""Roles: the managed ones defined here, custom ones stored; what each may do."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from fairhub.auth import Actor
from fairhub.db import db, flush_unique
from fairhub.errors import Conflict, Forbidden, NotFound, ValidationError
from fairhub.events import Event, emit
from fairhub.identity.models import ApiToken, Role, User
from fairhub.identity.service.groups import users_by_uuid

GUEST, OBSERVER, STANDARD = "guest", "observer", "standard"
DATA_MANAGER, DATA_STEWARD, ADMIN, ARCHIVED = "data-manager", "data-steward", "admin", "archived"

MANAGED_ROLES: dict[str, tuple[str, str]] = {
    GUEST: ("Guest", "The anonymous caller, only when public mode is on: sees public datasets."),
    OBSERVER: ("Observer", "Sees datasets and downloads what is downloadable."),
    STANDARD: ("Standard", "An observer who also requests access, saves searches and "
                           "queries approved data."),
    DATA_MANAGER: ("Data manager", "A standard user who also creates and manages datasets, "
                                   "uploads, reviews requests and creates API tokens."),
    DATA_STEWARD: ("Data steward", "Everything: data management and administration."),
    ADMIN: ("Administrator", "Administers users, roles, groups, vocabularies, tokens and the "
                             "audit log; does not manage data."),
    ARCHIVED: ("Archived", "No permissions."),
}

# Roles a permission's default_roles may name; data-steward holds every permission anyway.
ASSIGNABLE_DEFAULTS = frozenset(MANAGED_ROLES) - {ARCHIVED}
# Each of these roles holds what the ones before it hold: a permission declared for
# `observer` reaches standard users and data managers too.
CHAIN = (GUEST, OBSERVER, STANDARD, DATA_MANAGER)


def _reaches(code: str, default_roles: tuple[str, ...]) -> bool:
    if code in default_roles:
        return True
    if code not in CHAIN:
        return False
    below = CHAIN[:CHAIN.index(code)]
    return any(role in below for role in default_roles)


def managed_permissions(code: str) -> frozenset[str]:
    """The permissions a managed role holds: those declaring it or a role below it in
    :data:`CHAIN`, or all of them for data-steward."""
    host = current_app.extensions["fairhub"]
    cache = host.role_cache
    if code not in cache:
        every = host.permissions.values()
        if code == DATA_STEWARD:
            cache[code] = frozenset(p.name for p in every)
        elif code == ARCHIVED:
            cache[code] = frozenset()
        else:
            cache[code] = frozenset(p.name for p in every if _reaches(code, p.default_roles))
    return cache[code]


def custom_role(code: str) -> Role | None:
    return db.session.scalar(select(Role).where(Role.code == code))


def role_exists(code: str) -> bool:
    return code in MANAGED_ROLES or custom_role(code) is not None


def role_permissions(code: str) -> frozenset[str]:
    """What role ``code`` may do: empty for an unknown role; never more than is declared."""
    if code in MANAGED_ROLES:
        return managed_permissions(code)
    role = custom_role(code)
    return permissions_of(code, None if role is None else role.permissions)


def permissions_of(code: str, stored: list[str] | None) -> frozenset[str]:
    """:func:`role_permissions` of ``code`` given the permissions its custom role stores, as
    read with the caller (None: no custom role has that code), so that checking a
    credential reads its roles in the same statement and an edited role counts at once."""
    if code in MANAGED_ROLES:
        return managed_permissions(code)
    if stored is None:
        return frozenset()
    return frozenset(current_app.extensions["fairhub"].permissions.keys() & set(stored))


# Managed roles any holder of roles/assign may give, whatever they hold themselves: handing
# out the everyday roles is what administrators are for.
FREELY_ASSIGNABLE = frozenset({OBSERVER, STANDARD, DATA_MANAGER, ADMIN, ARCHIVED})


def _beyond(role: str, actor: Actor | None) -> list[str]:
    """The permissions of ``role`` that keep ``actor`` from granting it; none when it may.

    Beyond means a role holding permissions the actor lacks, except that administrators
    (holding every permission of ``admin``) may hand out the everyday managed roles.
    Operators at the command line (no signed-in actor) have no limits.
    """
    if actor is None or not actor.authenticated:
        return []
    if role in FREELY_ASSIGNABLE and managed_permissions(ADMIN) <= actor.permissions:
        return []
    return sorted(role_permissions(role) - actor.permissions)


def check_can_grant(role: str, actor: Actor | None) -> None:
    """Refuse a signed-in actor acting with a role beyond them (see :func:`_beyond`).

    It applies to giving the role, to changing an account or a custom role that holds it,
    and to what an API token may do to its owner's account, so that nobody can make, take
    over or reshape a more powerful account.
    """
    beyond = _beyond(role, actor)
    if beyond:
        raise Forbidden(f"Role {role!r} holds permissions you do not hold.",
                        details={"permissions": beyond})


def grantable_roles(actor: Actor | None) -> list[str]:
    """The codes of every role ``actor`` could grant."""
    return [code for code in all_role_codes() if not _beyond(code, actor)]


def check_role_assignable(role: str, actor: Actor | None,
                          users: list[User] | tuple = ()) -> None:
    """Refuse unknown roles, roles beyond the actor, and anyone changing their own role."""
    if not role_exists(role):
        raise ValidationError(f"Role {role!r} does not exist.",
                              details={"json": {"role": ["Unknown role."]}})
    if role == GUEST:
        raise ValidationError("The guest role is only for anonymous callers.",
                              details={"json": {"role": ["Not assignable."]}})
    check_can_grant(role, actor)
    for user in users:
        check_can_grant(user.role, actor)
        if actor is not None and user.id == actor.user_id and user.role != role:
            raise Forbidden("You cannot change your own role.")


def _target(code: str) -> dict:
    return {"type": "role", "code": code}


def _check_permissions(names: list[str], actor: Actor | None) -> list[str]:
    """Known permission names, none beyond what the actor holds; 422/403 otherwise."""
    known = current_app.extensions["fairhub"].permissions
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValidationError("Some permissions do not exist.",
                              details={"json": {"permissions": {"unknown": unknown}}})
    if actor is not None and actor.authenticated:
        beyond = sorted(set(names) - actor.permissions)
        if beyond:
            raise Forbidden("A role cannot grant permissions you do not hold.",
                            details={"permissions": beyond})
    return sorted(set(names))


def describe_role(code: str) -> dict:
    """A role's detail: managed or custom, its permissions and how many users hold it."""
    role = None if code in MANAGED_ROLES else custom_role(code)
    if code not in MANAGED_ROLES and role is None:
        raise NotFound(f"Role {code!r} does not exist.")
    counts = db.session.execute(
        select(func.count(User.id), func.count(User.id).filter(User.approved.is_(True)))
        .where(User.role == code)
    ).one()
    if role is None:
        name, description = MANAGED_ROLES[code]
        base = {"code": code, "name": name, "description": description, "based_on": None,
                "managed": True, "created_at": None, "updated_at": None}
    else:
        base = {"code": role.code, "name": role.name, "description": role.description,
                "based_on": role.based_on, "managed": False,
                "created_at": role.created_at, "updated_at": role.updated_at}
    return {**base, "permissions": sorted(role_permissions(code)),
            "user_count": counts[0], "approved_user_count": counts[1]}


def declared_permissions() -> list[dict]:
    """Every permission the core and the enabled plugins declare, by name, with the plugin
    declaring it."""
    host = current_app.extensions["fairhub"]
    return [{"name": p.name, "description": p.description, "default_roles": p.default_roles,
             "plugin": host.permission_owners[p.name]}
            for p in sorted(host.permissions.values(), key=lambda p: p.name)]


def all_role_codes() -> list[str]:
    return list(MANAGED_ROLES) + list(db.session.scalars(select(Role.code).order_by(Role.code)))


def _exists(code: str) -> str:
    return f"Role {code!r} already exists."


def create_role(data: dict, actor: Actor | None) -> Role:
    code = data["code"]
    if role_exists(code):
        raise Conflict(_exists(code))
    if not role_exists(data["based_on"]):
        raise ValidationError(f"Role {data['based_on']!r} does not exist.",
                              details={"json": {"based_on": ["Unknown role."]}})
    names = data.get("permissions")
    names = sorted(role_permissions(data["based_on"])) if names is None else names
    role = Role(code=code, name=data["name"], description=data.get("description"),
                based_on=data["based_on"], permissions=_check_permissions(names, actor))
    db.session.add(role)
    flush_unique(_exists(code))
    emit(Event("role", "create", actor=actor, target=_target(code),
               details={"based_on": role.based_on, "permissions": role.permissions}))
    return role


def _editable(code: str) -> Role:
    if code in MANAGED_ROLES:
        raise Conflict(f"Role {code!r} is managed; create a custom role based on it instead.")
    role = custom_role(code)
    if role is None:
        raise NotFound(f"Role {code!r} does not exist.")
    return role


def update_role(code: str, data: dict, actor: Actor | None) -> Role:
    role = _editable(code)
    check_can_grant(code, actor)
    for key in ("name", "description"):
        if key in data:
            setattr(role, key, data[key])
    if "permissions" in data:
        role.permissions = _check_permissions(data["permissions"], actor)
    emit(Event("role", "update", actor=actor, target=_target(code),
               details={"fields": sorted(data), "permissions": role.permissions}))
    return role


def delete_role(code: str, actor: Actor | None) -> None:
    role = _editable(code)
    check_can_grant(code, actor)
    users = db.session.scalar(select(func.count(User.id)).where(User.role == code))
    tokens = db.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.role == code))
    if users or tokens:
        raise Conflict(f"Role {code!r} is held by {users} users and {tokens} API tokens; "
                       "reassign them first.")
    emit(Event("role", "delete", actor=actor, target=_target(code)))
    db.session.delete(role)


def assign_role(code: str, uuids: list[str], actor: Actor | None) -> list[User]:
    """Give role ``code`` to every user named, all or none."""
    if not role_exists(code):
        raise NotFound(f"Role {code!r} does not exist.")
    users = users_by_uuid(uuids)
    check_role_assignable(code, actor, users)
    for user in users:
        user.role = code
    emit(Event("role", "assign", actor=actor, target=_target(code),
               details={"users": [u.uuid for u in users]}))
    return users
