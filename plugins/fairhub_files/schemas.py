"""The files plugin's request and response shapes."""
from __future__ import annotations

import marshmallow as ma

from fairhub import PageArgsSchema, Timestamp

from .models import KINDS, STATUSES, TRANSFERS, VIEWINGS


class LoadErrorSchema(ma.Schema):
    message = ma.fields.String(required=True)
    row = ma.fields.Integer(allow_none=True, metadata={
        "description": "The data row, 1 being the first after the header."})
    line = ma.fields.Integer(allow_none=True, metadata={
        "description": "The file's line where that row starts."})
    column = ma.fields.String(allow_none=True)
    value = ma.fields.String(allow_none=True)


class OutsideValueSchema(ma.Schema):
    value = ma.fields.String(required=True, metadata={
        "description": "The value as its first row writes it."})
    count = ma.fields.Integer(required=True, metadata={"description": "Cells holding it."})
    rows = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "Its first data rows (at most 10), 1 being the first after the header."})
    lines = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "The file's lines where those rows start."})


class OutsideLookupSchema(ma.Schema):
    lookup = ma.fields.String(required=True, metadata={
        "description": "The lookup the column's field names."})
    count = ma.fields.Integer(required=True, metadata={
        "description": "Cells of the column that are not options of the lookup."})
    values = ma.fields.Nested(OutsideValueSchema, many=True, required=True, metadata={
        "description": "The first 10 distinct such values, in the order met."})
    more_values = ma.fields.Boolean(required=True, metadata={
        "description": "Whether other such values were left out."})


class LoadReportSchema(ma.Schema):
    columns = ma.fields.List(ma.fields.String(), metadata={"description": "Columns loaded."})
    missing = ma.fields.List(ma.fields.String(), metadata={
        "description": "Dictionary fields the file lacks, loaded as NULL."})
    widened = ma.fields.Dict(ma.fields.String(), ma.fields.String(), metadata={
        "description": "Columns whose values needed a wider type, and that type."})
    outside_lookups = ma.fields.Dict(ma.fields.String(), ma.fields.Nested(OutsideLookupSchema),
                                     metadata={"description": "Columns holding values that are "
                                               "not options of their field's lookup."})
    error = ma.fields.Nested(LoadErrorSchema, allow_none=True)


class FileSchema(ma.Schema):
    """An upload: an attachment, a data file or a table load, from its first byte on."""

    id = ma.fields.Integer(required=True)
    upload_id = ma.fields.String(required=True, metadata={
        "description": "The upload's tus address is /api/files/uploads/{upload_id}."})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    dataset = ma.fields.String(required=True, metadata={"description": "The dataset's code."})
    dictionary = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "The dictionary a table load fills."})
    filename = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True, metadata={"description": "Bytes received."})
    content_type = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "Sniffed from the content once complete."})
    sha256 = ma.fields.String(allow_none=True, required=True)
    viewing = ma.fields.String(required=True, validate=ma.validate.OneOf(VIEWINGS))
    transfer = ma.fields.String(required=True, validate=ma.validate.OneOf(TRANSFERS))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    rows = ma.fields.Integer(allow_none=True, required=True, metadata={
        "description": "Rows a complete table load loaded."})
    report = ma.fields.Nested(LoadReportSchema, allow_none=True, required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    completed_at = Timestamp(allow_none=True, required=True)
    expires_at = Timestamp(allow_none=True, required=True, metadata={
        "description": "When an unfinished upload may be cleaned up."})


class FilePatchSchema(ma.Schema):
    viewing = ma.fields.String(validate=ma.validate.OneOf(VIEWINGS), metadata={
        "description": "hidden: only the dataset's managers; viewable: listed; downloadable: "
                       "listed and downloadable."})
    transfer = ma.fields.String(validate=ma.validate.OneOf(TRANSFERS), metadata={
        "description": "Whether an access request carries the file."})

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give viewing, transfer or both.")


class MyUploadsArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
