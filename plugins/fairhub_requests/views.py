"""Routes of the requests plugin: ``/api/requests``, ``/api/workflows`` and ``/api/grants``."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from fairhub import (
    Blueprint,
    PageArgsSchema,
    current_actor,
    db,
    list_schema,
    page_of,
    paginate,
)

from . import comments, grants, service, workflows
from .present import present, present_all
from .receipt import receipt
from .schemas import (
    ApproveSchema,
    CommentCreateSchema,
    CommentSchema,
    FormSchema,
    AccessGrantListArgsSchema,
    AccessGrantSchema,
    OptionalReasonSchema,
    ReasonSchema,
    RequestCreateSchema,
    RequestEditSchema,
    RequestListArgsSchema,
    RequestSchema,
    WorkflowSchema,
)

blp = Blueprint("requests", __name__, url_prefix="/api/requests",
                description="Data access requests for tables of a dataset, and their review.")
workflows_blp = Blueprint("workflows", __name__, url_prefix="/api/workflows",
                          description="Request workflows and their forms.")
grants_blp = Blueprint("access_grants", __name__, url_prefix="/api/grants",
                       description="Access to tables' data given by approved requests.")

_CONFLICT = blp.alt_response(409, response="DEFAULT_ERROR",
                             description="The request's status does not allow this (or another "
                                         "approver decided it first).")


def _answer(access_request, status: int = 200):
    return present(access_request), status


@blp.route("")
class Requests(MethodView):
    @blp.require_permission("requests/read")
    @blp.arguments(RequestListArgsSchema, location="query")
    @blp.response(200, list_schema(RequestSchema))
    def get(self, args):
        """List the requests I made and those I may decide, newest first; `as` narrows to
        either (`as=reviewer` lists pending ones unless `status` says otherwise)."""
        query = service.listing(current_actor(), args.get("as_"), args.get("status"),
                                args.get("dataset"))
        page = paginate(query, args["page"], args["page_size"])
        return {**page, "items": present_all(page["items"])}

    @blp.require_permission("requests/create")
    @blp.arguments(RequestCreateSchema)
    @blp.response(201, RequestSchema)
    def post(self, data):
        """Request access to tables of a dataset, as a draft or submitted for review."""
        created = service.create(current_actor(), data)
        db.session.commit()
        return _answer(created, 201)


@blp.route("/<code>")
class RequestByCode(MethodView):
    @blp.require_permission("requests/read")
    @blp.response(200, RequestSchema)
    def get(self, code):
        """Read a request I made or may decide, with its history."""
        return _answer(service.get_request(current_actor(), code))

    @blp.require_permission("requests/create")
    @blp.arguments(RequestEditSchema)
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def patch(self, data, code):
        """Change my draft or returned request; `status: pending` submits it."""
        actor = current_actor()
        changed = service.update(actor, service.get_request(actor, code), data)
        db.session.commit()
        return _answer(changed)


def _requester_action(code: str, action: str):
    access_request = service.act_as_requester(current_actor(), code, action)
    db.session.commit()
    return _answer(access_request)


@blp.route("/<code>/submit")
class SubmitRequest(MethodView):
    @blp.require_permission("requests/create")
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, code):
        """Submit my draft or returned request for review."""
        return _requester_action(code, "submit")


@blp.route("/<code>/withdraw")
class WithdrawRequest(MethodView):
    @blp.require_permission("requests/create")
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, code):
        """Withdraw my pending or returned request."""
        return _requester_action(code, "withdraw")


def _decide(code: str, action: str, data: dict):
    access_request = service.decide(current_actor(), code, action, data["reason"],
                                    data.get("expires_at"))
    db.session.commit()
    return _answer(access_request)


@blp.route("/<code>/approve")
class ApproveRequest(MethodView):
    @blp.require_permission("requests/review")
    @blp.arguments(ApproveSchema)
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, data, code):
        """Approve a pending request, granting its tables until an optional expiry."""
        return _decide(code, "approve", data)


@blp.route("/<code>/deny")
class DenyRequest(MethodView):
    @blp.require_permission("requests/review")
    @blp.arguments(ReasonSchema)
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, data, code):
        """Deny a pending request, with a reason."""
        return _decide(code, "deny", data)


@blp.route("/<code>/return")
class ReturnRequest(MethodView):
    @blp.require_permission("requests/review")
    @blp.arguments(ReasonSchema)
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, data, code):
        """Return a pending request to its requester for changes, with a comment."""
        return _decide(code, "return", data)


@blp.route("/<code>/archive")
class ArchiveRequest(MethodView):
    @blp.require_permission("requests/review")
    @blp.arguments(OptionalReasonSchema)
    @blp.response(200, RequestSchema)
    @_CONFLICT
    def post(self, data, code):
        """Archive a request of a dataset I own; it is purged after the configured days."""
        access_request = service.archive(current_actor(), code, data.get("reason"))
        db.session.commit()
        return _answer(access_request)


@blp.route("/<code>/receipt")
class RequestReceipt(MethodView):
    @blp.require_permission("requests/read")
    @blp.response(200, {"type": "string"}, content_type="text/markdown")
    @_CONFLICT
    def get(self, code):
        """The markdown receipt of an approved request."""
        access_request = service.get_request(current_actor(), code)
        text = receipt(access_request, present(access_request),
                       service.dataset_of(access_request), request.host_url)
        return Response(text, mimetype="text/markdown")


@blp.route("/<code>/comments")
class RequestComments(MethodView):
    @blp.require_permission("requests/read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(CommentSchema))
    def get(self, args, code):
        """List the comments on a request I made or may decide, oldest first."""
        access_request = service.get_request(current_actor(), code)
        page = paginate(comments.of(access_request), args["page"], args["page_size"])
        return {**page, "items": comments.present_all(page["items"])}

    @blp.require_permission("requests/read")
    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, code):
        """Comment on a request I made or may decide."""
        actor = current_actor()
        comment = comments.add(actor, service.get_request(actor, code), data["text"])
        db.session.commit()
        return comments.present_all([comment])[0], 201


# Workflows


@workflows_blp.route("")
class Workflows(MethodView):
    @workflows_blp.require_permission("requests/read")
    @workflows_blp.arguments(PageArgsSchema, location="query")
    @workflows_blp.response(200, list_schema(WorkflowSchema))
    def get(self, args):
        """List the request workflows with their forms."""
        return page_of(workflows.list_workflows(), args["page"], args["page_size"])


@workflows_blp.route("/<key>")
class WorkflowByKey(MethodView):
    @workflows_blp.require_permission("requests/read")
    @workflows_blp.response(200, WorkflowSchema)
    def get(self, key):
        """Read a workflow with its request form."""
        return workflows.get_workflow(key)


@workflows_blp.route("/<key>/form")
class WorkflowForm(MethodView):
    @workflows_blp.require_permission("workflows/update")
    @workflows_blp.arguments(FormSchema)
    @workflows_blp.response(200, WorkflowSchema)
    def put(self, data, key):
        """Replace a workflow's request form."""
        workflow = workflows.replace_form(current_actor(), key, data)
        db.session.commit()
        return workflow


# Grants


@grants_blp.route("")
class Grants(MethodView):
    @grants_blp.require_permission("requests/read")
    @grants_blp.arguments(AccessGrantListArgsSchema, location="query")
    @grants_blp.response(200, list_schema(AccessGrantSchema))
    def get(self, args):
        """List my grants and those on datasets whose requests I decide, newest first."""
        page = paginate(grants.visible(current_actor(), args), args["page"], args["page_size"])
        return {**page, "items": grants.present_all(page["items"])}


@grants_blp.route("/<id:grant_id>")
class GrantById(MethodView):
    @grants_blp.require_permission("requests/read")
    @grants_blp.response(200, AccessGrantSchema)
    def get(self, grant_id):
        """Read a grant of mine or on a dataset whose requests I decide."""
        return grants.present_all([grants.get(current_actor(), grant_id)])[0]


@grants_blp.route("/<id:grant_id>/revoke")
class RevokeGrant(MethodView):
    @grants_blp.require_permission("requests/review")
    @grants_blp.arguments(ReasonSchema)
    @grants_blp.response(200, AccessGrantSchema)
    def post(self, data, grant_id):
        """Revoke a grant on a dataset I own, with a reason."""
        actor = current_actor()
        grant = grants.revoke(actor, grants.get(actor, grant_id), data["reason"])
        db.session.commit()
        return grants.present_all([grant])[0]
