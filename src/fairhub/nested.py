"""Schemas loaded without marshmallow's per-field machinery when their input is valid.

A dataset is a few nested objects of plain strings; loading each field through marshmallow
costs a few microseconds of bookkeeping (error stores, getters, keyword handling), which over
a dataset's hundred-odd values was most of its validation. A :class:`FastSchema` loads with
a plan made once from its fields: the same fields, defaults, null rules, validators and hooks,
written out as plain Python (one function per schema, its common validators as conditions).
A plan only ever accepts: as soon as anything is not plainly valid, the input goes through
marshmallow from the start, so every error is marshmallow's own, word for word.

Plain ``String`` and ``Raw`` fields (and subclasses adding only validators, such as
``Email``) are loaded inline, and so are the items of a ``List`` of them and the keys of a
``Dict`` keyed by them (its values by their field's ``deserialize``); every other field is
loaded by its own ``deserialize``, as marshmallow would call it, so a nested ``FastSchema``
takes its own plan. ``pre_load``, ``validates`` and ``validates_schema`` hooks are called as
marshmallow calls them, in the same order for each object (hooks must not rely on all
objects of a list being loaded before any is validated). A schema with ``post_load`` hooks,
hooks taking the whole collection or dotted attribute names is refused when it is first
loaded, not loaded differently.
:class:`NestedList` gives the same plan to a ``Nested(schema, many=True)`` of a plain schema.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial as bind
from typing import Any

import marshmallow as ma
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.fields import Field, Raw, String
from marshmallow.utils import missing

_MISSING = object()
Plan = Callable[[Any], "dict | None"]


class FastSchema(ma.Schema):
    """A ``Schema`` whose ``load`` follows a plan first (see the module's notes)."""

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None,
             unknown: str | None = None) -> Any:
        many = self.many if many is None else bool(many)
        loaded = _planned(self, data, self.unknown if unknown is None else unknown, partial, many)
        if loaded is not None:
            return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)


class NestedList(ma.fields.Nested):
    """``Nested(schema, many=True)``, documented the same, loading plainly valid lists with a
    plan of ``schema`` (which need not be a :class:`FastSchema`)."""

    def __init__(self, nested: Any, **kwargs: Any) -> None:
        super().__init__(nested, many=True, **kwargs)

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        schema = self.schema
        loaded = _planned(schema, value, self.unknown or schema.unknown, partial, True)
        if loaded is not None:
            return loaded
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


def _planned(schema: ma.Schema, data: Any, unknown: str, partial: Any, many: bool) -> Any:
    """What ``schema`` loads ``data`` as through its plan, or None where marshmallow must
    (a partial load, or data not plainly valid). ``partial`` as given to the load: None
    leaves the schema's own."""
    given = schema.partial if partial is None else partial
    if given is not None and given is not False:
        return None
    load = _plan_of(schema, unknown, given, many)
    return _load_all(load, data) if many else load(data)


def _load_all(load: Plan, items: Any) -> list | None:
    if type(items) is not list:
        return None
    loaded = []
    for item in items:
        item = load(item)
        if item is None:
            return None
        loaded.append(item)
    return loaded


def _plan_of(schema: ma.Schema, unknown: str, partial: bool | None, many: bool) -> Plan:
    plans = schema.__dict__.setdefault("_fairhub_plans", {})
    key = (unknown, partial, many)
    if key not in plans:
        plans[key] = plan(schema, unknown, partial, many)
    return plans[key]


def plan(schema: ma.Schema, unknown: str, partial: bool | None = None,
         many: bool = False) -> Plan:
    """A function loading one object as ``schema.load(..., partial=partial)`` would (``many``
    as the hooks are told), or answering None when the object is not plainly valid.
    ``partial`` is None or False: a partial load always goes through marshmallow."""
    hooks = schema._hooks
    name = type(schema).__name__
    if hooks[POST_LOAD] or any(hook_many for tag in (PRE_LOAD, VALIDATES_SCHEMA)
                               for _, hook_many, _ in hooks[tag]):
        raise TypeError(f"{name} has post_load or collection hooks; a plan cannot follow them.")
    steps = [_step(field_name, field, partial, name)
             for field_name, field in schema.load_fields.items()]
    known = frozenset(step[0] for step in steps)
    context = {"partial": partial, "many": many, "unknown": unknown}
    pre_loads = [getattr(schema, attr) for attr, _, _ in hooks[PRE_LOAD]]
    if any(kwargs.get("pass_original") for _, _, kwargs in hooks[PRE_LOAD]):
        raise TypeError(f"{name} has a pre_load hook taking the original data.")
    validates = []
    for attr, _, kwargs in hooks[VALIDATES]:
        for field_name in kwargs["field_names"]:
            field = schema.fields.get(field_name)
            if field is None and field_name not in schema.declared_fields:
                raise ValueError(f'"{field_name}" field does not exist.')
            if field is not None:  # declared but left out (only, exclude): not checked
                validates.append((field.attribute or field_name, field_name, bind(
                    getattr(schema, attr), data_key=field.data_key or field_name)))
    schema_checks = [(getattr(schema, attr), kwargs.get("pass_original", False))
                     for attr, _, kwargs in hooks[VALIDATES_SCHEMA]]

    fill = _compile(steps, name)

    def load(original: Any) -> dict | None:
        item = original
        try:
            for hook in pre_loads:
                item = hook(item, **context)
            if type(item) is not dict or (unknown == ma.RAISE and not known.issuperset(item)):
                return None
            out = {}
            if not fill(item, out):
                return None
            if unknown == ma.INCLUDE:
                out.update((key, value) for key, value in item.items() if key not in known)
            for attr, field_name, validate in validates:
                if attr in out and validate(out[attr]) is missing:
                    out.pop(field_name, None)  # marshmallow's own rule
            for check, pass_original in schema_checks:
                if pass_original:
                    check(out, original, **context)
                else:
                    check(out, **context)
        except ma.ValidationError:
            return None
        return out

    return load


def _step(field_name: str, field: Field, partial: bool | None, schema: str) -> tuple:
    """How a plan loads one field: ``(key, attribute, deserialize, text, required,
    allow_none, default, validators)``, with ``deserialize`` None for a field loaded
    inline."""
    attr = field.attribute or field_name
    if "." in attr:
        raise TypeError(f"{schema}.{field_name}: a plan cannot set a dotted attribute.")
    key = field.data_key or field_name
    if _inline(field):
        return _inline_step(key, attr, field, field.required)
    deserialize = field.deserialize if partial is None else bind(field.deserialize,
                                                                 partial=partial)
    return (key, attr, _collection(field, deserialize) or deserialize, False, False, False,
            missing, ())


def _compile(steps: list[tuple], schema: str) -> Callable[[dict, dict], bool]:
    """A function putting into ``out`` what ``steps`` load of ``item``, answering False as
    soon as a value is not plainly valid: the steps written out one after the other as
    Python, their common validators as plain conditions (a generic loop over the steps and
    a call per validator cost about twice as much). Names in the code stand for the steps'
    keys, attributes and validators, so nothing given is ever read as code."""
    names: dict[str, Any] = {"MISSING": _MISSING, "missing": missing}
    lines = ["def fill(item, out):", "    get = item.get"]
    for number, (key, attr, deserialize, text, required, allow_none, default,
                 validators) in enumerate(steps):
        names[f"key{number}"], names[f"attr{number}"] = key, attr
        lines.append(f"    value = get(key{number}, MISSING)")
        if deserialize is not None:
            names[f"deserialize{number}"] = deserialize
            lines += [f"    value = deserialize{number}(missing if value is MISSING else value, "
                      f"key{number}, item)",
                      f"    if value is not missing: out[attr{number}] = value"]
            continue
        lines.append("    if value is MISSING:")
        if required:
            lines.append("        return False")
        elif default is missing:
            lines.append("        pass")
        else:
            names[f"default{number}"] = default
            call = "()" if callable(default) else ""
            lines.append(f"        out[attr{number}] = default{number}{call}")
        lines.append("    elif value is None:")
        lines.append(f"        out[attr{number}] = None" if allow_none else "        return False")
        lines.append("    else:")
        if text:
            lines.append("        if type(value) is not str: return False")
        for index, validator in enumerate(validators):
            name = f"check{number}_{index}"
            kind = type(validator)
            if kind is ma.validate.Length:
                low, high = validator.min, validator.max
                if validator.equal is not None:
                    low = high = validator.equal
                names[f"{name}_low"], names[f"{name}_high"] = low, high
                if low is None and high is None:  # len() still fails where Length fails
                    lines.append("        len(value)")
                else:
                    above = f"{name}_low <= " if low is not None else ""
                    below = f" <= {name}_high" if high is not None else ""
                    lines.append(f"        if not {above}len(value){below}: return False")
            elif kind is ma.validate.Regexp:
                names[name] = validator.regex.match
                lines.append(f"        if {name}(value) is None: return False")
            elif kind is ma.validate.OneOf and text:  # a string: any collection can hold it
                names[name] = validator.choices
                lines.append(f"        if value not in {name}: return False")
            else:
                names[name] = _passes(validator)
                lines.append(f"        if not {name}(value): return False")
        lines.append(f"        out[attr{number}] = value")
    lines.append("    return True")
    exec(compile("\n".join(lines), f"<plan of {schema}>", "exec"), names)
    return names["fill"]


def _inline_step(key: str, attr: str, field: Field, required: bool) -> tuple:
    return (key, attr, None, isinstance(field, String), required, field.allow_none,
            field.load_default, field.validators)


def _inline(field: Field) -> bool:
    """Whether a present value of ``field`` loads as it is once its validators pass: a plain
    ``String`` or ``Raw`` (or a subclass adding only validators) without processors."""
    kind = type(field)
    return (kind.deserialize is Field.deserialize
            and kind._deserialize in (String._deserialize, Raw._deserialize)
            and not field.pre_load and not field.post_load)


class _NotPlain(ma.ValidationError):
    """An item of a collection that is not plainly valid: the plan hands the whole object to
    marshmallow, which says what is wrong."""


def _item(field: Field) -> Callable[[Any], Any] | None:
    """How a collection's item of ``field`` loads inline (by the code a plan has for an
    inline field), raising :class:`_NotPlain` where marshmallow must; None if it cannot."""
    if not _inline(field):
        return None
    fill = _compile([_inline_step("item", "item", field, True)],
                    f"an item of {type(field).__name__}")

    def load(value: Any) -> Any:
        out: dict = {}
        if not fill({"item": value}, out):
            raise _NotPlain("Not plainly valid.")
        return out["item"]

    return load


def _collection(field: Field, deserialize: Callable) -> Callable | None:
    """``deserialize`` for a ``List`` of items loaded inline, or a ``Dict`` whose keys are
    (its values go through their field's ``deserialize``): a list or dict is loaded in a
    plain loop, anything else (missing, null, another type) by ``deserialize``. Marshmallow's
    own loop costs microseconds an item in bookkeeping. None for other fields."""
    kind = type(field)
    if kind.deserialize is not Field.deserialize or field.pre_load or field.post_load:
        return None
    checks = tuple(_passes(check) for check in field.validators)
    if kind._deserialize is ma.fields.List._deserialize:
        inner = _item(field.inner)
        if inner is None:
            return None

        def load_list(value: Any, attr: str | None = None, data: Any = None) -> Any:
            if type(value) is not list:
                return deserialize(value, attr, data)
            return _checked([inner(each) for each in value], checks)

        return load_list
    if (kind._deserialize is ma.fields.Mapping._deserialize and field.mapping_type is dict
            and (field.key_field is not None or field.value_field is not None)):
        keys = _item(field.key_field) if field.key_field is not None else _same
        if keys is None:
            return None
        values = field.value_field.deserialize if field.value_field is not None else _same

        def load_dict(value: Any, attr: str | None = None, data: Any = None) -> Any:
            if type(value) is not dict:
                return deserialize(value, attr, data)
            return _checked({keys(key): values(item) for key, item in value.items()}, checks)

        return load_dict
    return None


def _checked(loaded: Any, checks: tuple) -> Any:
    """``loaded`` if it passes the collection's own ``checks``, else :class:`_NotPlain`."""
    if all(passes(loaded) for passes in checks):
        return loaded
    raise _NotPlain("Not plainly valid.")


def _same(value: Any) -> Any:
    return value


def _passes(validator: Callable) -> Callable[[Any], bool]:
    """Whether a value passes ``validator``: marshmallow's common validators as plain tests
    of the same conditions, any other by calling it (a ValidationError propagates)."""
    kind = type(validator)
    if kind is ma.validate.Length:
        low, high, equal = validator.min, validator.max, validator.equal
        if equal is not None:
            return lambda value: len(value) == equal
        return lambda value: ((low is None or len(value) >= low)
                              and (high is None or len(value) <= high))
    if kind is ma.validate.Regexp:
        return lambda value, match=validator.regex.match: match(value) is not None
    if kind is ma.validate.OneOf:
        return _one_of(validator.choices)
    return lambda value: validator(value) is not False


def _one_of(choices: Any) -> Callable[[Any], bool]:
    """Whether a value is one of ``choices``; an unhashable one is not (as ``OneOf`` says)."""
    def passes(value: Any) -> bool:
        try:
            return value in choices
        except TypeError:
            return False
    return passes
