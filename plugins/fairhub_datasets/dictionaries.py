"""A dataset's data dictionaries, one per table: adding, changing and deleting them within a
dataset PATCH, reading them, and PATCH of one dictionary."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from fairhub import (
    Actor,
    Conflict,
    Event,
    NotFound,
    ValidationError,
    db,
    emit,
    utcnow,
)

from . import access, service
from .models import Dataset, Dictionary
from .schemas import check_dictionary


def new_row(item: dict, taken: set[str]) -> dict:
    """The columns of a new, validated dictionary, its code checked against (and added to)
    ``taken``."""
    name = item.get("name") or item.get("code")
    if not name:
        raise ValidationError("A new dictionary needs a code or a name.",
                              details={"json": {"dictionaries": ["Give a code or a name."]}})
    code = item.get("code")
    if code is None:
        code = service.free_code(Dictionary, service.slug(name, start_with_letter=True), taken)
    elif code in taken:
        raise Conflict(f"Dictionary {code!r} already exists.", details={"code": code})
    taken.add(code)
    return {"code": code, "name": name, "description": item.get("description"),
            "fields": item.get("fields", []), "lookups": item.get("lookups", {})}


def _check(fields: list[dict], lookups: dict) -> None:
    errors = check_dictionary(fields, lookups)
    if errors:
        raise ValidationError("The dictionary's fields do not fit its lookups.",
                              details={"json": errors})


def apply_changes(dataset: Dataset, changes: Iterable[dict]) -> list[str]:
    """Apply PATCH ``dictionaries`` changes in order; return what changed."""
    by_id = {d.id: d for d in dataset.dictionaries}
    by_code = {d.code: d for d in dataset.dictionaries}
    changed: list[str] = []
    for index, change in enumerate(changes):
        existing = _existing(dataset, change, by_id, by_code, index)
        if change.get("toBeDeleted"):
            if existing is None:
                raise _change_error(index, "Nothing to delete: give the id or code of one of "
                                           f"the dictionaries of dataset {dataset.code!r}.")
            dataset.dictionaries.remove(existing)
            del by_id[existing.id], by_code[existing.code]
            emit(Event("dictionary", "delete", target={"type": "dictionary", "code": existing.code},
                       details={"dataset": dataset.code}))
            changed.append(f"dictionaries.{existing.code}.deleted")
        elif existing is None:
            taken = service.taken_codes(Dictionary, [change.get("code")])
            position = max((d.position for d in dataset.dictionaries), default=-1) + 1
            _check(change.get("fields", []), change.get("lookups", {}))
            added = Dictionary(**new_row(change, taken), position=position)
            dataset.dictionaries.append(added)
            changed.append(f"dictionaries.{added.code}.added")
        elif update_dictionary_content(existing, change):
            changed.append(f"dictionaries.{existing.code}")
    return changed


def _existing(dataset: Dataset, change: dict, by_id: dict, by_code: dict,
              index: int) -> Dictionary | None:
    """The dictionary a change names (by id, else by code), or None for a new one."""
    if "id" not in change:
        return by_code.get(change.get("code"))
    existing = by_id.get(change["id"])
    if existing is None:
        raise _change_error(index, f"Dataset {dataset.code!r} has no dictionary with id "
                                   f"{change['id']}.")
    if "code" in change and change["code"] != existing.code:
        raise _change_error(index, f"Dictionary {change['id']} is {existing.code!r}, not "
                                   f"{change['code']!r}; codes do not change.")
    return existing


def _change_error(index: int, message: str) -> ValidationError:
    return ValidationError(message, details={"json": {"dictionaries": {str(index): [message]}}})


def update_dictionary_content(dictionary: Dictionary, data: dict) -> bool:
    """Change a dictionary's name, description, and fields with lookups (new fields replace
    the old ones; lookups alone are checked against the fields kept). True if anything changed."""
    if "fields" in data:
        fields, lookups = data["fields"], data.get("lookups", {})
    else:
        fields, lookups = dictionary.fields, data.get("lookups", dictionary.lookups)
    _check(fields, lookups)
    new = {"name": data.get("name", dictionary.name), "fields": fields, "lookups": lookups,
           "description": data.get("description", dictionary.description)}
    changed = {key: value for key, value in new.items() if getattr(dictionary, key) != value}
    for key, value in changed.items():
        setattr(dictionary, key, value)
    if changed:
        dictionary.updated_at = utcnow()
    return bool(changed)


def visible(actor: Actor, dataset_code: str | None = None) -> Select:
    """The dictionaries of the datasets ``actor`` may see, by id."""
    query = (select(Dictionary).join(Dataset, Dataset.id == Dictionary.dataset_id)
             .where(access.visible(actor)).order_by(Dictionary.id))
    if dataset_code is not None:
        query = query.where(Dataset.code == dataset_code)
    return query


def get(actor: Actor, code: str) -> Dictionary:
    dictionary = db.session.scalar(visible(actor).where(Dictionary.code == code),
                                   access.params(actor))
    if dictionary is None:
        raise NotFound(f"Dictionary {code!r} does not exist.")
    return dictionary


def _own_keys_checked(dictionary: Dictionary, data: dict) -> dict:
    """``data`` without the read-only keys a client sent back with it, which must name this
    dictionary (a client PATCHes the object it read)."""
    own = {"code": dictionary.code, "id": dictionary.id, "dataset_id": dictionary.dataset_id}
    errors = {key: [f"The body's {key} {data[key]!r} is not {value!r}, that of the "
                    f"dictionary {dictionary.code!r} in the path; it cannot be changed."]
              for key, value in own.items() if key in data and data[key] != value}
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], {"json": errors})
    read_only = (*own, "created_at", "updated_at")
    return {key: value for key, value in data.items() if key not in read_only}


def update(actor: Actor, dictionary: Dictionary, data: dict,
           if_match: Any = None) -> Dictionary:
    """PATCH one dictionary (needs ``edit`` on its dataset); ``if_match`` names the version
    of the dataset it belongs to."""
    dataset = dictionary.dataset
    access.require(actor, dataset, "edit")
    service.check_etag(dataset, if_match)
    data = _own_keys_checked(dictionary, data)
    if update_dictionary_content(dictionary, data):
        service.touch(dataset)
        emit(Event("dictionary", "update", target={"type": "dictionary", "code": dictionary.code},
                   details={"dataset": dataset.code, "changed": sorted(data)}))
    return dictionary
