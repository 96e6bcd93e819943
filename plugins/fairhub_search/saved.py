"""Saved searches: a user's named queries with their filters, seen and changed only by them.

Another user's saved search is answered as missing, so ids reveal nothing. The caller commits;
events are emitted before, so the audit log commits with the change.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Select, select

from fairhub import (
    Actor,
    Conflict,
    Event,
    NotFound,
    Unauthorized,
    ValidationError,
    db,
    emit,
    flush_unique,
    utcnow,
)

from .models import SavedSearch
from .schemas import INDEX

# The search route a saved search runs on (the contract's own path).
SEARCH_PATH = "/api/search/search"
# The filters a saved search may keep, in the order its URL names them.
FILTERS = ("keyword", "publisher", "license", "accessRights", "visibility")
FIELDS = ("name", "query", "filters")


def present(saved: SavedSearch) -> dict:
    """A saved search as the API answers it, with the URL that runs it."""
    return {"id": saved.id, "name": saved.name, "query": saved.query,
            "filters": saved.filters, "url": search_url(saved.query, saved.filters),
            "created_at": saved.created_at, "updated_at": saved.updated_at}


def search_url(query: str, filters: dict[str, str]) -> str:
    """The relative URL of the search for ``query`` with ``filters``, URL-encoded."""
    params = [("index", INDEX), ("query", query)]
    params += [(name, filters[name]) for name in FILTERS if name in filters]
    # Everything but unreserved characters is percent-encoded; a space is %20, not +.
    return f"{SEARCH_PATH}?{urlencode(params, quote_via=quote)}"


def mine(actor: Actor) -> Select:
    """My saved searches, oldest first, as a statement to page through."""
    return (select(SavedSearch).where(SavedSearch.user_id == _owner(actor))
            .order_by(SavedSearch.id))


def get(actor: Actor, saved_id: int) -> SavedSearch:
    """My saved search ``saved_id``; 404 if there is none or it is someone else's."""
    saved = db.session.scalar(select(SavedSearch).where(
        SavedSearch.id == saved_id, SavedSearch.user_id == _owner(actor)))
    if saved is None:
        raise NotFound(f"Saved search {saved_id} does not exist.")
    return saved


def create(actor: Actor, data: dict[str, Any]) -> SavedSearch:
    """Save a search for ``actor``: ``name`` (unique among theirs), ``query``, ``filters``."""
    owner = _owner(actor)
    name = _name(data["name"])
    _check_free(owner, name)
    now = utcnow()
    saved = SavedSearch(user_id=owner, name=name, query=data.get("query", ""),
                        filters=_filters(data.get("filters", {})), created_at=now,
                        updated_at=now)
    db.session.add(saved)
    flush_unique(_taken(name))
    emit(Event("saved_search", "create", actor=actor, target=_target(saved)))
    return saved


def update(actor: Actor, saved: SavedSearch, data: dict[str, Any]) -> SavedSearch:
    """Change the name, query or filters (replaced whole) of ``actor``'s ``saved`` search;
    nothing is written or audited when nothing changes."""
    changes = dict(data)
    if "name" in changes:
        changes["name"] = _name(changes["name"])
        if changes["name"] != saved.name:
            _check_free(saved.user_id, changes["name"], saved.id)
    if "filters" in changes:
        changes["filters"] = _filters(changes["filters"])
    changed = sorted(k for k in FIELDS if k in changes and changes[k] != getattr(saved, k))
    if not changed:
        return saved
    for key in changed:
        setattr(saved, key, changes[key])
    saved.updated_at = utcnow()
    flush_unique(_taken(saved.name))
    emit(Event("saved_search", "update", actor=actor, target=_target(saved),
               details={"fields": changed}))
    return saved


def delete(actor: Actor, saved: SavedSearch) -> None:
    """Delete ``actor``'s ``saved`` search."""
    emit(Event("saved_search", "delete", actor=actor, target=_target(saved)))
    db.session.delete(saved)


# Rules


def _owner(actor: Actor) -> int:
    """The id of the user whose searches ``actor`` works on: only users keep searches."""
    if actor.user_id is None:
        raise Unauthorized("Sign in to keep saved searches.")
    return actor.user_id


def _name(value: str) -> str:
    """``value`` without surrounding spaces; 422 if nothing else is left."""
    name = value.strip()
    if not name:
        message = "A saved search's name cannot be blank."
        raise ValidationError(message, details={"json": {"name": [message]}})
    return name


def _filters(value: dict[str, Any]) -> dict[str, str]:
    """``value`` checked: only the search's filter names, each with a string; 422 otherwise."""
    for key, text in value.items():
        if key not in FILTERS:
            message = f"Unknown filter {key!r}; use one of {', '.join(FILTERS)}."
        elif not isinstance(text, str):
            message = f"The filter {key!r} must be a string."
        else:
            continue
        raise ValidationError(message, details={"json": {"filters": [message]}})
    return {key: value[key] for key in FILTERS if key in value}


def _check_free(owner: int, name: str, saved_id: int | None = None) -> None:
    """409 if ``owner`` already has another saved search called ``name``."""
    taken = select(SavedSearch.id).where(SavedSearch.user_id == owner, SavedSearch.name == name)
    if saved_id is not None:
        taken = taken.where(SavedSearch.id != saved_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise Conflict(_taken(name))


def _taken(name: str) -> str:
    return f"You already have a saved search called {name!r}."


def _target(saved: SavedSearch) -> dict:
    return {"type": "saved_search", "code": str(saved.id)}
