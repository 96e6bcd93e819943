"""Lists of flat objects loaded without marshmallow's per-field machinery when they are valid.

A dictionary of a few dozen fields is a list of small objects of plain strings; loading
each through its schema costs about 15 µs a field, most of a dataset's validation. A
:class:`NestedList` loads such a list with a plan made once from the nested schema: the same
fields, defaults, null rules and validators, applied in a plain loop. It only ever accepts:
as soon as an item is not plainly valid, the whole list goes through the schema, so every
error is marshmallow's own, word for word.

A plan is made only for schemas it can follow exactly: no hooks, and each field a
``String`` or ``Raw`` (or a subclass adding only validators) without per-field pre- or
post-load functions or another attribute name. Anything else is refused when the schema is
first used, not silently loaded differently.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow.fields import Field, Raw, String
from marshmallow.utils import missing

_MISSING = object()


class NestedList(ma.fields.Nested):
    """``Nested(schema, many=True)``, documented the same, loading plainly valid lists fast."""

    def __init__(self, nested: Any, **kwargs: Any) -> None:
        super().__init__(nested, many=True, **kwargs)
        self._plan: Callable[[Any], dict | None] | None = None

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if partial is None and type(value) is list:
            load = self._plan or self._make_plan()
            loaded = []
            for item in value:
                item = load(item)
                if item is None:
                    break
                loaded.append(item)
            else:
                return loaded
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)

    def _make_plan(self) -> Callable[[Any], dict | None]:
        schema = self.schema
        self._plan = plan(schema, self.unknown or schema.unknown)
        return self._plan


def plan(schema: ma.Schema, unknown: str) -> Callable[[Any], dict | None]:
    """A function loading one object as ``schema.load`` would, or answering None when the
    object is not plainly valid (marshmallow then says why)."""
    if any(schema._hooks.values()):
        raise TypeError(f"{type(schema).__name__} has hooks; NestedList cannot follow them.")
    steps = []
    for name, field in schema.load_fields.items():
        kind = type(field)
        if (kind.deserialize is not Field.deserialize
                or kind._deserialize not in (String._deserialize, Raw._deserialize)
                or field.pre_load or field.post_load
                or (field.attribute or name) != name):
            raise TypeError(f"{type(schema).__name__}.{name}: NestedList loads only plain "
                            "String and Raw fields.")
        steps.append((field.data_key or name, name, isinstance(field, String), field.required,
                      field.allow_none, field.load_default, tuple(field.validators)))
    known = frozenset(step[0] for step in steps)

    def load(item: Any) -> dict | None:
        if type(item) is not dict or (unknown == ma.RAISE and not known.issuperset(item)):
            return None
        out = {}
        for key, name, text, required, allow_none, default, validators in steps:
            value = item.get(key, _MISSING)
            if value is _MISSING:
                if required:
                    return None
                if default is not missing:
                    out[name] = default() if callable(default) else default
                continue
            if value is None:
                if not allow_none:
                    return None
            else:
                if text and type(value) is not str:
                    return None
                try:
                    for validate in validators:
                        if validate(value) is False:
                            return None
                except ma.ValidationError:
                    return None
            out[name] = value
        if unknown == ma.INCLUDE:
            out.update((key, value) for key, value in item.items() if key not in known)
        return out

    return load
