"""Schemas of the requests, workflows and grants APIs."""
from __future__ import annotations

import marshmallow as ma

from fairhub import JsonBoolean, PageArgsSchema, Timestamp, id_field

from .grants import STATUSES as GRANT_STATUSES
from .models import OUTPUTS, STATUSES
from .workflows import TYPES

_CODE = ma.validate.Length(min=1, max=64)
_REASON = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000),
                           metadata={"description": "Why; not blank."})


class RequestPersonSchema(ma.Schema):
    uuid = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)


class RequestNamedSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class ApprovingDatasetSchema(RequestNamedSchema):
    approvers = ma.fields.List(ma.fields.Nested(RequestPersonSchema), required=True)


class RequestDictionarySchema(RequestNamedSchema):
    dataset = ma.fields.Nested(ApprovingDatasetSchema, required=True)


class AttachmentSchema(ma.Schema):
    id = id_field(required=True)
    filename = ma.fields.String(required=True)


class HistorySchema(ma.Schema):
    action = ma.fields.String(required=True)
    from_ = ma.fields.String(required=True, allow_none=True, data_key="from", attribute="from")
    to = ma.fields.String(required=True)
    actor = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    reason = ma.fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class RequestSchema(ma.Schema):
    """An access request: the dictionaries of one dataset, the answers, the decision."""

    id = id_field(required=True)
    code = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    project_name = ma.fields.String(required=True, allow_none=True)
    workflow_key = ma.fields.String(required=True)
    requester = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    dataset = ma.fields.Nested(RequestNamedSchema, required=True)
    dictionaries = ma.fields.List(ma.fields.Nested(RequestDictionarySchema), required=True)
    answers = ma.fields.Dict(required=True)
    output = ma.fields.String(required=True, validate=ma.validate.OneOf(OUTPUTS))
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)
    rights_accepted = ma.fields.String(required=True, allow_none=True)
    reason = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The reason of the last decision, return or archive."})
    submitted_at = Timestamp(required=True, allow_none=True)
    decided_at = Timestamp(required=True, allow_none=True)
    archived_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    history = ma.fields.List(ma.fields.Nested(HistorySchema), required=True)


_ANSWERS = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(
    keys=ma.fields.String(validate=ma.validate.Length(max=64)), values=ma.fields.Raw(
        allow_none=True)), metadata={
    "description": "Answers to the workflow's form: `{\"project\": {field: text}, "
                   "\"about\": {...}}`."})


class RequestEditSchema(ma.Schema):
    """What a requester may set on a request."""

    dictionaries = ma.fields.List(ma.fields.String(validate=_CODE),
                                  validate=ma.validate.Length(max=1000), metadata={
        "description": "Dictionary codes of the dataset; absent or empty: all of them."})
    answers = _ANSWERS
    output = ma.fields.String(validate=ma.validate.OneOf(OUTPUTS))
    attachments = ma.fields.List(id_field(), validate=ma.validate.Length(max=1000), metadata={
        "description": "Ids of the dataset's attachments to include; required ones always are."})
    accept_rights = JsonBoolean(metadata={"description": "I accept the dataset's rights."})
    status = ma.fields.String(validate=ma.validate.OneOf(["draft", "pending"]), metadata={
        "description": "`pending` submits the request; `draft` keeps it as it is."})


class RequestCreateSchema(RequestEditSchema):
    """A new request; submitted (``pending``) unless ``status`` is ``draft``."""

    dataset = ma.fields.String(required=True, validate=_CODE, metadata={
        "description": "The code of a dataset with a workflow and at least one dictionary."})
    output = ma.fields.String(load_default="clear", validate=ma.validate.OneOf(OUTPUTS))
    status = ma.fields.String(load_default="pending",
                              validate=ma.validate.OneOf(["draft", "pending"]))


class RequestListArgsSchema(PageArgsSchema):
    as_ = ma.fields.String(data_key="as", validate=ma.validate.OneOf(["requester", "reviewer"]),
                           metadata={"description": "`requester`: only my requests; `reviewer`: "
                                     "only those I may decide. Absent: both, each once."})
    status = ma.fields.String(validate=ma.validate.OneOf([*STATUSES, "all"]), metadata={
        "description": "Only requests of this status; `as=reviewer` defaults to `pending`, "
                       "the others to `all`."})
    dataset = ma.fields.String(validate=_CODE, metadata={"description": "A dataset code."})


class ReasonSchema(ma.Schema):
    reason = _REASON


class OptionalReasonSchema(ma.Schema):
    reason = ma.fields.String(validate=ma.validate.Length(max=10_000))


class ApproveSchema(ReasonSchema):
    expires_at = Timestamp(allow_none=True, metadata={
        "description": "When the access it grants ends; absent or null: no end."})


class CommentSchema(ma.Schema):
    id = id_field(required=True)
    author = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    text = ma.fields.String(required=True)
    created_at = Timestamp(required=True)


class CommentCreateSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000))


# Workflows


class FieldValidationSchema(ma.Schema):
    required = JsonBoolean(load_default=False)
    maximum = ma.fields.Integer(allow_none=True, load_default=None,
                                validate=ma.validate.Range(min=1, max=100_000))


class FormFieldSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", error="Letters, digits and underscores."))
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(TYPES))
    label = ma.fields.String(required=True, validate=ma.validate.Length(max=2000))
    placeholder = ma.fields.String(allow_none=True, load_default=None,
                                   validate=ma.validate.Length(max=2000))
    defaultValue = ma.fields.String(allow_none=True, load_default=None,
                                    validate=ma.validate.Length(max=10_000))
    validation = ma.fields.Nested(FieldValidationSchema, load_default=dict)


class FormSchema(ma.Schema):
    """A request form: the ``project`` and ``about`` sections, each a list of fields."""

    project = ma.fields.List(ma.fields.Nested(FormFieldSchema), required=True,
                             validate=ma.validate.Length(min=1, max=100))
    about = ma.fields.List(ma.fields.Nested(FormFieldSchema), load_default=list,
                           validate=ma.validate.Length(max=100))


class WorkflowSchema(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    form = ma.fields.Nested(FormSchema, required=True)
    updated_at = Timestamp(required=True, allow_none=True)


# Grants


class AccessGrantSchema(ma.Schema):
    """Access to one dictionary's data, given by an approved request."""

    id = id_field(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(GRANT_STATUSES))
    request = ma.fields.String(required=True, metadata={"description": "The request's code."})
    user = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    dataset = ma.fields.Nested(RequestNamedSchema, required=True)
    dictionary = ma.fields.Nested(RequestNamedSchema, required=True)
    granted_by = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    expires_at = Timestamp(required=True, allow_none=True)
    revoked_at = Timestamp(required=True, allow_none=True)
    revoked_by = ma.fields.Nested(RequestPersonSchema, required=True, allow_none=True)
    revoke_reason = ma.fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class AccessGrantListArgsSchema(PageArgsSchema):
    dataset = ma.fields.String(validate=_CODE, metadata={"description": "A dataset code."})
    status = ma.fields.String(validate=ma.validate.OneOf(GRANT_STATUSES))
