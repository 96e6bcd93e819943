"""Routes of the datasets plugin: ``/api/datasets`` and ``/api/dictionaries``."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from fairhub import Blueprint, current_actor, db, list_schema, paginate

from . import access, dictionaries, grants, reads, service
from .schemas import (
    DatasetCreateSchema,
    DatasetListArgsSchema,
    DatasetPatchSchema,
    DatasetSchema,
    DictionaryListArgsSchema,
    DictionaryPatchSchema,
    DictionarySchema,
    GrantSchema,
    GrantSetSchema,
)

blp = Blueprint("datasets", __name__, url_prefix="/api/datasets",
                description="Datasets: a catalogue entry (DCAT) and one data dictionary per table.")
dictionaries_blp = Blueprint("dictionaries", __name__, url_prefix="/api/dictionaries",
                             description="Data dictionaries, one per table of a dataset.")

ETAG_HEADER = {"ETag": {"description": "The dataset's version; send it back in If-Match.",
                        "schema": {"type": "string"}}}
IF_MATCH_DOC = {"parameters": [{
    "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
    "description": "Only change the dataset if it is still at this ETag (412 otherwise)."}]}


def _answer(answer: dict, status: int = 200):
    """A dataset as GET answers it, with its ETag."""
    return answer, status, {"ETag": f'"{answer["etag"]}"'}


_CONFLICT_DOC = blp.alt_response(409, response="DEFAULT_ERROR",
                                 description="A dataset or dictionary code is taken.")
_STALE_DOC = blp.alt_response(412, response="DEFAULT_ERROR",
                              description="If-Match names an older version of the dataset.")


@blp.route("")
class Datasets(MethodView):
    @blp.require_permission("datasets/read")
    @blp.arguments(DatasetListArgsSchema, location="query")
    @blp.response(200, list_schema(DatasetSchema))
    def get(self, args):
        """List the datasets I may see, oldest first."""
        return reads.list_datasets(current_actor(), args["page"], args["page_size"],
                                   args.get("visibility"))

    @blp.require_permission("datasets/create")
    @blp.arguments(DatasetCreateSchema)
    @blp.response(201, DatasetSchema, headers=ETAG_HEADER)
    @_CONFLICT_DOC
    def post(self, data):
        """Create a dataset with its dictionaries; I become its first owner."""
        actor = current_actor()
        dataset_id = service.create_dataset(actor, data)
        db.session.commit()
        return _answer(reads.read_dataset(actor, dataset_id=dataset_id), 201)


@blp.route("/<code>")
class DatasetByCode(MethodView):
    @blp.require_permission("datasets/read")
    @blp.response(200, DatasetSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description="Not modified since the ETag in If-None-Match.")
    def get(self, code):
        """Read a dataset with its catalogue entry, dictionaries and approvers."""
        answer = reads.read_dataset(current_actor(), code)
        if request.if_none_match.contains_weak(answer["etag"]):
            response = Response(status=304)
            response.set_etag(answer["etag"])
            return response
        return _answer(answer)

    @blp.require_permission("datasets/update")
    @blp.arguments(DatasetPatchSchema)
    @blp.response(200, DatasetSchema, headers=ETAG_HEADER)
    @_STALE_DOC
    @_CONFLICT_DOC
    @blp.doc(**IF_MATCH_DOC)
    def patch(self, data, code):
        """Change a dataset: the keys given, a partial catalogue, dictionary changes."""
        actor = current_actor()
        dataset = service.update_dataset(actor, service.get_dataset(actor, code), data,
                                         request.if_match)
        db.session.commit()
        return _answer(reads.read_dataset(actor, dataset_id=dataset.id))

    @blp.require_permission("datasets/delete")
    @blp.response(204)
    @_STALE_DOC
    @blp.doc(**IF_MATCH_DOC)
    def delete(self, code):
        """Delete a dataset, its dictionaries, grants and everything hanging off it."""
        actor = current_actor()
        service.delete_dataset(actor, service.get_dataset(actor, code), request.if_match)
        db.session.commit()


@blp.route("/<code>/grants")
class Grants(MethodView):
    @blp.require_permission("datasets/share")
    @blp.response(200, GrantSchema(many=True))
    def get(self, code):
        """List who holds which level on a dataset (needs owner or manager)."""
        actor = current_actor()
        return grants.list_grants(actor, service.get_dataset(actor, code))

    @blp.require_permission("datasets/share")
    @blp.arguments(GrantSetSchema)
    @blp.response(201, GrantSchema)
    @blp.alt_response(200, schema=GrantSchema, description="The grantee's level was changed.")
    @blp.alt_response(409, response="DEFAULT_ERROR",
                      description="The change would leave the dataset without an owner.")
    def post(self, data, code):
        """Give a user or a group a level on a dataset, replacing any level it had."""
        actor = current_actor()
        grant, created = grants.set_grant(actor, service.get_dataset(actor, code), data)
        db.session.commit()
        return grant, 201 if created else 200


@blp.route("/<code>/grants/<id:grant_id>")
class GrantById(MethodView):
    @blp.require_permission("datasets/share")
    @blp.response(204)
    @blp.alt_response(409, response="DEFAULT_ERROR",
                      description="The grant is the dataset's last owner.")
    def delete(self, code, grant_id):
        """Take a grant away from a dataset."""
        actor = current_actor()
        grants.remove_grant(actor, service.get_dataset(actor, code), grant_id)
        db.session.commit()


@dictionaries_blp.route("")
class Dictionaries(MethodView):
    @dictionaries_blp.require_permission("datasets/read")
    @dictionaries_blp.arguments(DictionaryListArgsSchema, location="query")
    @dictionaries_blp.response(200, list_schema(DictionarySchema))
    def get(self, args):
        """List the dictionaries of the datasets I may see."""
        actor = current_actor()
        query = dictionaries.visible(actor, args.get("dataset"))
        return paginate(query, args["page"], args["page_size"], params=access.params(actor))


@dictionaries_blp.route("/<code>")
class DictionaryByCode(MethodView):
    @dictionaries_blp.require_permission("datasets/read")
    @dictionaries_blp.response(200, DictionarySchema)
    def get(self, code):
        """Read a dictionary."""
        return dictionaries.get(current_actor(), code)

    @dictionaries_blp.require_permission("datasets/update")
    @dictionaries_blp.arguments(DictionaryPatchSchema)
    @dictionaries_blp.response(200, DictionarySchema)
    @dictionaries_blp.alt_response(412, response="DEFAULT_ERROR", description="If-Match names "
                                   "an older version of the dictionary's dataset.")
    @dictionaries_blp.doc(**IF_MATCH_DOC)
    def patch(self, data, code):
        """Change a dictionary's name, description, or fields and lookups (which replace the
        old ones); If-Match takes the ETag of its dataset."""
        actor = current_actor()
        dictionary = dictionaries.update(actor, dictionaries.get(actor, code), data,
                                         request.if_match)
        db.session.commit()
        return dictionary
