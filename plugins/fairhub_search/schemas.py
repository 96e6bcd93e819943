"""Schemas of the search API."""
from __future__ import annotations

import marshmallow as ma

from fairhub import PageArgsSchema, PagingSchema, Timestamp, id_field

INDEX = "fair-index"


class SearchFiltersSchema(ma.Schema):
    """The filters a search takes, by name (a saved search keeps the same); any other name
    is refused."""

    keyword = ma.fields.String(validate=ma.validate.Length(max=200))
    publisher = ma.fields.String(validate=ma.validate.Length(max=500))
    license = ma.fields.String(validate=ma.validate.Length(max=2000))
    accessRights = ma.fields.String(validate=ma.validate.Length(max=2000))
    visibility = ma.fields.String(validate=ma.validate.OneOf(["private", "internal", "public"]))


class SearchArgsSchema(SearchFiltersSchema, PageArgsSchema):
    """The query string of a search."""

    index = ma.fields.String(load_default=INDEX, validate=ma.validate.OneOf([INDEX]),
                             metadata={"description": "The index to search; `fair-index`."})
    query = ma.fields.String(load_default="", validate=ma.validate.Length(max=10_000),
                             metadata={"description": "Words, \"phrases\", prefix*, fuzzy~ "
                                       "(within 2 edits, a swap of adjacent letters being one; "
                                       "fuzzy~1 within 1, fuzzy~0 exact), OR, -excluded, "
                                       "field:term. Empty lists all."})


class SearchItemSchema(ma.Schema):
    """A dataset found, with its flattened catalogue (``catalogue__title``...)."""

    class Meta:
        unknown = ma.INCLUDE

    score = ma.fields.Float(required=True, data_key="@search.score",
                            metadata={"description": "Relevance; higher is better."})
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    visibility = ma.fields.String(required=True)
    catalogue__title = ma.fields.String(required=True)
    highlights = ma.fields.Dict(required=True, data_key="@search.highlights", metadata={
        "description": "Title and description with the matched words in <em>."})


class FacetValueSchema(ma.Schema):
    value = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class SearchResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchItemSchema), required=True,
                           metadata={"description": "Best first."})
    paging = ma.fields.Nested(PagingSchema, required=True)
    facets = ma.fields.Dict(keys=ma.fields.String(),
                            values=ma.fields.List(ma.fields.Nested(FacetValueSchema)),
                            required=True)


# Saved searches


class SavedSearchSchema(ma.Schema):
    """A saved search of mine, with the search URL that runs it."""

    id = id_field(required=True)
    name = ma.fields.String(required=True)
    query = ma.fields.String(required=True)
    filters = ma.fields.Nested(SearchFiltersSchema, required=True)
    url = ma.fields.String(required=True, metadata={
        "description": "The relative URL of `GET /api/search/search` with this query and "
                       "these filters."})
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class SavedSearchCreateSchema(ma.Schema):
    """A new saved search: a name unique among mine, a query and filters."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                            metadata={"description": "Not blank; unique among my searches."})
    query = ma.fields.String(load_default="", validate=ma.validate.Length(max=10_000))
    filters = ma.fields.Nested(SearchFiltersSchema, load_default=dict)


class SavedSearchUpdateSchema(ma.Schema):
    """What to change in a saved search; given filters replace the old ones whole."""

    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200),
                            metadata={"description": "Not blank; unique among my searches."})
    query = ma.fields.String(validate=ma.validate.Length(max=10_000))
    filters = ma.fields.Nested(SearchFiltersSchema)
