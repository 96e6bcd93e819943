"""Schemas of the datasets API: what a dataset, a dictionary and a grant look like in JSON.

Input schemas validate and normalise (lookups always come out as ``{"type", "options"}``);
output schemas document every key, with ``null`` for unset values.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import marshmallow as ma

from fairhub import (
    Dumped,
    JsonBoolean,
    PageArgsSchema,
    Timestamp,
    id_field,
)

from .models import CODE_LENGTH, LEVELS, VISIBILITIES

# Patterns read alike by Python and by the OpenAPI document's readers (ECMA-262): anchored
# at both ends, and "$(?!\n)" because Python's "$" also matches before a final newline
# (Python's "\Z" would mean a literal "Z" to them).
DATASET_CODE = r"^[A-Za-z0-9_]+$(?!\n)"
DICTIONARY_CODE = r"^[A-Za-z_][A-Za-z0-9_]*$(?!\n)"
# Field names become table columns: identifiers within PostgreSQL's 63-byte limit.
FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$(?!\n)"
URI = r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$(?!\n)"
FIELD_TYPES = ("boolean", "date", "datetime", "decimal", "integer", "text", "time")
# Workflows a dataset's access requests can follow.
WORKFLOWS = ("basic_access_request",)
# The documented catalogue keys, in the order GET answers with them.
CATALOGUE_KEYS = ("title", "description", "identifier", "keyword", "creator", "contactPoint",
                  "publisher", "license", "rights", "versionInfo", "language", "accessRights",
                  "issued", "relation")
MAX_TEXT = 100_000
MAX_EXTRA_KEY = 100


_NOT_BLANK = ma.validate.Regexp(r"\s*\S", error="Must not be blank.")


def _text(max_length: int, required: bool = False, **kwargs: Any) -> ma.fields.String:
    """Text up to ``max_length`` characters; required text must not be blank."""
    validators: list = [ma.validate.Length(max=max_length)]
    if required:
        validators.append(_NOT_BLANK)
    return ma.fields.String(validate=validators, required=required, **kwargs)


def _name(max_length: int = 500) -> ma.fields.String:
    """A name that, when given, is not blank."""
    return ma.fields.String(validate=[ma.validate.Length(max=max_length), _NOT_BLANK])


def _code(pattern: str, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=[
        ma.validate.Length(min=1, max=CODE_LENGTH),
        ma.validate.Regexp(pattern, error="Use only letters, digits and underscores"
                           + (", not starting with a digit." if pattern != DATASET_CODE else ".")),
    ], **kwargs)


class Uri(ma.fields.String):
    """An absolute URI (``https://...``, ``urn:...``, ``doi:...``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[ma.validate.Length(max=2000), ma.validate.Regexp(
            URI, error="Not an absolute URI (scheme:rest, no spaces).")], **kwargs)


class IsoDate(ma.fields.String):
    """An ISO-8601 date or date and time, kept as written (``2026-01-15T09:00``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                parse(text)
                return text
            except ValueError:
                pass
        raise ma.ValidationError("Not an ISO-8601 date or date and time.")


# Catalogue


class PublisherSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    name = _text(500, required=True)
    url = Uri(allow_none=True)


class CatalogueSchema(ma.Schema):
    """The DCAT-aligned description of a dataset; keys beyond these are kept as given."""

    class Meta:
        unknown = ma.INCLUDE

    title = _text(500, required=True)
    description = _text(MAX_TEXT, required=True, metadata={"description": "Markdown."})
    identifier = Uri(allow_none=True)
    keyword = ma.fields.List(_text(200, required=True), allow_none=True,
                             validate=ma.validate.Length(max=200))
    creator = _text(500, allow_none=True)
    contactPoint = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=254))
    publisher = ma.fields.Nested(PublisherSchema, allow_none=True)
    license = _text(2000, allow_none=True)
    rights = Uri(allow_none=True)
    versionInfo = _text(100, allow_none=True)
    language = ma.fields.List(_text(35, required=True), allow_none=True,
                              validate=ma.validate.Length(max=100))
    accessRights = _text(2000, allow_none=True)
    issued = IsoDate(allow_none=True)
    relation = _text(2000, allow_none=True)

    @ma.validates_schema(pass_original=True)
    def extra_keys(self, data: dict, original: Any, **_: Any) -> None:
        if not isinstance(original, dict):
            return
        long = [k for k in original if k not in self.fields and len(k) > MAX_EXTRA_KEY]
        if long:
            raise ma.ValidationError(f"Key longer than {MAX_EXTRA_KEY} characters.", long[0][:40])


class CataloguePatchSchema(CatalogueSchema):
    """Catalogue keys to change (all optional); null clears an optional key."""


# Dictionaries


class FieldSchema(ma.Schema):
    """One column of a table."""

    name = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=1, max=63),
        ma.validate.Regexp(FIELD_NAME, error="Use only letters, digits and underscores, "
                                             "not starting with a digit.")])
    label = _text(500, allow_none=True, load_default=None)
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(FIELD_TYPES))
    description = _text(10_000, allow_none=True, load_default=None)
    constraints = _text(100, allow_none=True, load_default=None,
                        metadata={"description": "The name of a lookup of this dictionary."})
    uri = Uri(allow_none=True, load_default=None)
    pseudonymisation_rule = _text(255, allow_none=True, load_default=None)


def _option_name(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ma.ValidationError("Must be a string or a number.")
    if isinstance(value, str) and not 0 < len(value) <= 500:
        raise ma.ValidationError("Must be 1 to 500 characters long.")


_OPTION_NAME_DOC = {
    "description": "The value as it appears in the table: a string or a number.",
    "oneOf": [{"type": "string", "minLength": 1, "maxLength": 500}, {"type": "number"}]}


class LookupOptionSchema(ma.Schema):
    """One value a field with this lookup may take, and what it means."""

    name = ma.fields.Raw(required=True, validate=_option_name, metadata=_OPTION_NAME_DOC)
    description = _text(2000, allow_none=True, load_default=None)


class LookupSchema(ma.Schema):
    """A lookup in the ``{type, options}`` form, the one answers always use."""

    type = ma.fields.String(allow_none=True, load_default=None,
                            validate=ma.validate.OneOf(FIELD_TYPES))
    options = ma.fields.Nested(LookupOptionSchema, many=True, required=True)

    @ma.validates("options")
    def distinct(self, options: list, **_: Any) -> None:
        names = [str(o["name"]) for o in options if "name" in o]  # invalid ones are reported
        if len(names) != len(set(names)):
            raise ma.ValidationError("Option names must be distinct.")


_OPTIONS_DOC = {"type": "array", "items": {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": _OPTION_NAME_DOC,
                   "description": {"type": "string", "maxLength": 2000, "nullable": True}}}}


class LookupField(ma.fields.Field):
    """A lookup in either accepted form: a list of options, or ``{"type", "options"}``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={
            "description": 'A list of options `[{"name", "description"}]`, or `{"type", '
                           '"options"}` with the type of the fields using it; answers always '
                           "use the second form.",
            "oneOf": [_OPTIONS_DOC, {
                "type": "object", "required": ["options"], "additionalProperties": False,
                "properties": {"type": {"type": "string", "enum": [*FIELD_TYPES, None],
                                        "nullable": True},
                               "options": _OPTIONS_DOC}}]}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            value = {"type": None, "options": value}
        if not isinstance(value, dict):
            raise ma.ValidationError("A lookup is a list of options or {type, options}.")
        return _LOOKUP.load(value)


_LOOKUP = LookupSchema()


def check_dictionary(fields: list[dict], lookups: dict) -> dict:
    """Errors in how ``fields`` use ``lookups`` (keyed like the input), and give list-form
    lookups the type of the fields using them. An empty dict means all is well."""
    errors: dict = {}
    seen: set[str] = set()
    for index, field in enumerate(fields):
        problems = []
        if field["name"].lower() in seen:
            problems.append(f"Field {field['name']!r} is listed twice.")
        seen.add(field["name"].lower())
        lookup_name = field.get("constraints")
        lookup = lookups.get(lookup_name) if lookup_name is not None else None
        if lookup_name is not None and field["type"] == "boolean":
            problems.append("A boolean field takes no constraints.")
        elif lookup_name is not None and lookup is None:
            problems.append(f"No lookup {lookup_name!r} in this dictionary.")
        elif lookup is not None:
            lookup["type"] = lookup["type"] or field["type"]
            if lookup["type"] != field["type"]:
                problems.append(f"Lookup {lookup_name!r} holds {lookup['type']} values, "
                                f"not {field['type']}.")
        if problems:
            errors[index] = {"constraints": problems}
    misfits = {}
    for name, lookup in lookups.items():
        lookup["type"] = lookup["type"] or "text"
        wrong = [o["name"] for o in lookup["options"] if not _fits(o["name"], lookup["type"])]
        if wrong:
            misfits[name] = [f"Option {wrong[0]!r} is not a {lookup['type']} value."]
    return {**({"fields": errors} if errors else {}), **({"lookups": misfits} if misfits else {})}


_PARSERS = {"integer": int, "decimal": float, "date": date.fromisoformat,
            "datetime": datetime.fromisoformat, "time": time.fromisoformat}


def _fits(value: Any, field_type: str) -> bool:
    """Whether a lookup option's name is a value of ``field_type`` (numbers may be quoted)."""
    parse = _PARSERS.get(field_type)
    if parse is None:
        return True
    if isinstance(value, (int, float)):
        return field_type in ("integer", "decimal") and (
            field_type == "decimal" or float(value).is_integer())
    try:
        parse(value)
    except ValueError:
        return False
    return True


class DictionaryInputSchema(ma.Schema):
    """A dictionary as sent: all keys optional here, the service decides what a change needs."""

    id = id_field(metadata={"description": "Names an existing dictionary (PATCH)."})
    code = _code(DICTIONARY_CODE)
    name = _name()
    description = _text(MAX_TEXT, allow_none=True)
    fields = ma.fields.Nested(FieldSchema, many=True)
    lookups = ma.fields.Dict(keys=_text(100, required=True), values=LookupField())
    toBeDeleted = JsonBoolean(metadata={"description": "Delete this dictionary (PATCH)."})

    @ma.validates_schema
    def consistent(self, data: dict, **_: Any) -> None:
        from flask import current_app

        config = current_app.config
        if len(data.get("fields") or ()) > config["DATASETS_MAX_FIELDS"]:
            raise ma.ValidationError(
                f"At most {config['DATASETS_MAX_FIELDS']} fields.", "fields")
        for name, lookup in (data.get("lookups") or {}).items():
            if len(lookup["options"]) > config["DATASETS_MAX_LOOKUP_OPTIONS"]:
                raise ma.ValidationError({name: ["Too many options."]}, "lookups")
        if "fields" in data:
            errors = check_dictionary(data["fields"], data.setdefault("lookups", {}))
            if errors:
                raise ma.ValidationError(errors)


class DictionaryCreateSchema(DictionaryInputSchema):
    """A new dictionary: a code or a name, and its fields."""

    class Meta:
        exclude = ("id", "toBeDeleted")

    fields = ma.fields.Nested(FieldSchema, many=True, load_default=list)
    lookups = ma.fields.Dict(keys=_text(100, required=True), values=LookupField(),
                             load_default=dict)


class DictionaryPatchSchema(DictionaryInputSchema):
    """Changes to one dictionary: new fields and lookups replace the old ones.

    Clients send back the object they read, so its read-only keys are accepted: ``code``,
    ``id`` and ``dataset_id`` must be the dictionary's own, the times are ignored."""

    class Meta:
        exclude = ("toBeDeleted",)

    code = ma.fields.String(metadata={"description": "The dictionary's own code, if sent."})
    id = ma.fields.Integer(strict=True, metadata={"description": "Its own id, if sent."})
    dataset_id = ma.fields.Integer(strict=True, metadata={
        "description": "Its dataset's id, if sent."})
    created_at = ma.fields.Raw(load_only=True, metadata={"description": "Ignored."})
    updated_at = ma.fields.Raw(load_only=True, metadata={"description": "Ignored."})


class DatasetWriteSchema(ma.Schema):
    name = _name()
    visibility = ma.fields.String(validate=ma.validate.OneOf(VISIBILITIES))
    workflow_key = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(WORKFLOWS))

    @ma.validates("dictionaries")
    def limit(self, value: list, **_: Any) -> None:
        from flask import current_app

        limit = current_app.config["DATASETS_MAX_DICTIONARIES"]
        if len(value) > limit:
            raise ma.ValidationError(f"At most {limit} dictionaries.")


class DatasetCreateSchema(DatasetWriteSchema):
    """A new dataset; its code goes at the top level or, in the older form, in catalogue.id."""

    code = _code(DATASET_CODE, metadata={"description": "Generated from the title if absent."})
    visibility = ma.fields.String(load_default="private",
                                  validate=ma.validate.OneOf(VISIBILITIES))
    workflow_key = ma.fields.String(allow_none=True, load_default=None,
                                    validate=ma.validate.OneOf(WORKFLOWS))
    catalogue = ma.fields.Nested(CatalogueSchema, required=True)
    dictionaries = ma.fields.Nested(DictionaryCreateSchema, many=True, load_default=list)

    @ma.pre_load
    def code_from_catalogue(self, data: Any, **_: Any) -> Any:
        catalogue = data.get("catalogue") if isinstance(data, dict) else None
        if not isinstance(catalogue, dict) or "id" not in catalogue:
            return data
        catalogue = dict(catalogue)
        code = catalogue.pop("id")
        if "code" in data and data["code"] != code:
            raise ma.ValidationError("Differs from catalogue.id; give the code once.", "code")
        return {**data, "code": code, "catalogue": catalogue}

    @ma.validates("dictionaries")
    def distinct_codes(self, value: list, **_: Any) -> None:
        codes = [d["code"] for d in value if "code" in d]
        if len(codes) != len(set(codes)):
            raise ma.ValidationError("Dictionary codes must be distinct.")


class DatasetPatchSchema(DatasetWriteSchema):
    """A differential update: the keys given change, the rest stay."""

    catalogue = ma.fields.Nested(CataloguePatchSchema(partial=("title", "description")))
    dictionaries = ma.fields.Nested(DictionaryInputSchema, many=True, metadata={
        "description": "Changes: a new code adds a dictionary; `id` and `code` with "
                       "`toBeDeleted` deletes one; with fields replaces its fields and lookups; "
                       "with only name and description changes those."})


# Queries


class DatasetListArgsSchema(PageArgsSchema):
    visibility = ma.fields.String(validate=ma.validate.OneOf(VISIBILITIES))


class DictionaryListArgsSchema(PageArgsSchema):
    dataset = _code(DATASET_CODE, metadata={"description": "Only this dataset's dictionaries."})


# Answers


class PersonSchema(ma.Schema):
    uuid = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True, required=True)


class FieldOutSchema(FieldSchema):
    type = ma.fields.String(required=True)


class LookupOptionOutSchema(ma.Schema):
    name = ma.fields.Raw(required=True, metadata=_OPTION_NAME_DOC)
    description = ma.fields.String(allow_none=True, required=True)


class LookupOutSchema(ma.Schema):
    type = ma.fields.String(required=True)
    options = ma.fields.Nested(LookupOptionOutSchema, many=True, required=True)


class DictionarySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True, required=True)
    dataset_id = ma.fields.Integer(required=True)
    fields = ma.fields.Nested(FieldOutSchema, many=True, required=True)
    lookups = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(LookupOutSchema),
                             required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


def shown(catalogue: dict) -> dict:
    """A stored catalogue as answers show it: every documented key (null when unset), then
    any others the dataset was given."""
    return {**dict.fromkeys(CATALOGUE_KEYS), **catalogue}


class CatalogueOutSchema(CatalogueSchema):
    """Every documented key (null when unset), then any others the dataset was given."""

    @ma.post_dump(pass_original=True)
    def everything(self, _data: dict, original: dict, **_: Any) -> dict:
        return shown(original)


class DatasetSchema(ma.Schema):
    # Dumped once per version of a dataset and kept by each worker (see .cache).
    DUMPED = ("catalogue", "dictionaries")

    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    visibility = ma.fields.String(required=True)
    workflow_key = ma.fields.String(allow_none=True, required=True)
    catalogue = Dumped(CatalogueOutSchema, required=True)
    dictionaries = Dumped(DictionarySchema, many=True, required=True)
    approvers = ma.fields.Nested(PersonSchema, many=True, required=True, metadata={
        "description": "Who approves access requests: the owners and reviewers."})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


# Grants


class GrantSetSchema(ma.Schema):
    """Give one user (by uuid or email) or one group (by code) a level on the dataset."""

    user = _text(254, metadata={"description": "A user's uuid or email."})
    group = _text(CODE_LENGTH, metadata={"description": "A group's code."})
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(LEVELS))

    @ma.validates_schema
    def one_grantee(self, data: dict, **_: Any) -> None:
        if ("user" in data) == ("group" in data):
            raise ma.ValidationError("Name either a user or a group.", "user")


class GranteeGroupSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class GrantSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    level = ma.fields.String(required=True)
    user = ma.fields.Nested(PersonSchema, allow_none=True, required=True)
    group = ma.fields.Nested(GranteeGroupSchema, allow_none=True, required=True)
    created_at = Timestamp(required=True)
