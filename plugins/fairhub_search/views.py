"""Routes of the search plugin: ``/api/search``."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView

from fairhub import Blueprint, PageArgsSchema, current_actor, db, list_schema, paginate

from . import saved, service
from .schemas import (
    SavedSearchCreateSchema,
    SavedSearchSchema,
    SavedSearchUpdateSchema,
    SearchArgsSchema,
    SearchResultSchema,
)

blp = Blueprint("search", __name__, url_prefix="/api/search",
                description="Ranked full-text search over the catalogue.")


@blp.route("/search")
class Search(MethodView):
    @blp.require_permission("datasets/read")
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchResultSchema)
    def get(self, args):
        """Search the datasets I may see: ranked items, paging and facets."""
        actor = current_actor()
        result = service.search(actor, args)
        service.log_search(actor.user_id, args["query"], result["paging"]["total"])
        # Answered as built: the items' keys (`@search.score`...) are the contract's own.
        return jsonify(result)


_NAME_TAKEN_DOC = blp.alt_response(409, response="DEFAULT_ERROR",
                                   description="I already have a saved search of that name.")


@blp.route("/saved")
class SavedSearches(MethodView):
    @blp.require_permission("search/read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(SavedSearchSchema))
    def get(self, args):
        """List my saved searches, oldest first."""
        page = paginate(saved.mine(current_actor()), args["page"], args["page_size"])
        return {**page, "items": [saved.present(s) for s in page["items"]]}

    @blp.require_permission("search/create")
    @blp.arguments(SavedSearchCreateSchema)
    @blp.response(201, SavedSearchSchema)
    @_NAME_TAKEN_DOC
    def post(self, data):
        """Save a search under a name of my choosing."""
        created = saved.create(current_actor(), data)
        db.session.commit()
        return saved.present(created)


@blp.route("/saved/<id:saved_id>")
class SavedSearchById(MethodView):
    @blp.require_permission("search/read")
    @blp.response(200, SavedSearchSchema)
    def get(self, saved_id):
        """Read one of my saved searches."""
        return saved.present(saved.get(current_actor(), saved_id))

    @blp.require_permission("search/update")
    @blp.arguments(SavedSearchUpdateSchema)
    @blp.response(200, SavedSearchSchema)
    @_NAME_TAKEN_DOC
    def patch(self, data, saved_id):
        """Rename one of my saved searches or change its query or filters."""
        actor = current_actor()
        changed = saved.update(actor, saved.get(actor, saved_id), data)
        db.session.commit()
        return saved.present(changed)

    @blp.require_permission("search/delete")
    @blp.response(204)
    def delete(self, saved_id):
        """Delete one of my saved searches."""
        actor = current_actor()
        saved.delete(actor, saved.get(actor, saved_id))
        db.session.commit()
