"""Routes of the files plugin: tus uploads under ``/api/files``, files, downloads."""
from __future__ import annotations

from flask import Response, current_app, request, send_file
from flask.views import MethodView

from fairhub import (
    Blueprint,
    PageArgsSchema,
    current_actor,
    db,
    list_schema,
    paginate,
)
import fairhub_datasets as datasets

from . import service, tus, uploads
from .models import StoredFile
from .schemas import FilePatchSchema, FileSchema, MyUploadsArgsSchema

blp = Blueprint("files", __name__, url_prefix="/api/files",
                description="Files of datasets: tus resumable uploads, attachments, data files "
                            "and tables loaded from CSV.")

_HEADER = {"schema": {"type": "string"}}
_TUS_CREATE = {"parameters": [
    {"in": "header", "name": "Tus-Resumable", "required": True, **_HEADER,
     "description": "1.0.0"},
    {"in": "header", "name": "Upload-Length", "required": True, **_HEADER,
     "description": "The upload's size in bytes."},
    {"in": "header", "name": "Upload-Metadata", "required": False, **_HEADER,
     "description": "Comma-separated `key base64(value)` pairs; `filename` names the file."},
    {"in": "header", "name": "ARIDHIA-FAIR-Parent-Model-ID", "required": False, **_HEADER},
    {"in": "header", "name": "filetype", "required": False, **_HEADER},
], "requestBody": {"required": False, "content": {tus.CONTENT_TYPE: {
    "schema": {"type": "string", "format": "binary"}}},
    "description": "The first bytes of the upload (creation-with-upload)."}}
_TUS_PATCH = {"parameters": [
    {"in": "header", "name": "Tus-Resumable", "required": True, **_HEADER},
    {"in": "header", "name": "Upload-Offset", "required": True, **_HEADER},
    {"in": "header", "name": "Upload-Checksum", "required": False, **_HEADER,
     "description": "`sha1|md5|sha256 <base64 digest>` of this chunk; 460 if it differs."},
], "requestBody": {"required": True, "content": {tus.CONTENT_TYPE: {
    "schema": {"type": "string", "format": "binary"}}}}}
_CREATED = {"Location": {"description": "The upload's address.", **_HEADER},
            "Upload-Offset": {"description": "Bytes received so far.", **_HEADER}}
KIND_OF = {"attachments": "attachment", "datafiles": "datafile"}
TUS_ERRORS = {
    400: "A malformed tus header, or a chunk cut short (what arrived is kept).",
    404: "No such dataset, dictionary or upload of mine.",
    409: "Upload-Offset is not where the upload is, or the upload is complete.",
    410: "The unfinished upload expired.",
    412: "Tus-Resumable is missing or not 1.0.0.",
    413: "Larger than the server takes, or past the upload's length.",
    415: "The chunk is not application/offset+octet-stream.",
    423: "Another request is writing to the upload.",
    460: "The chunk does not match its Upload-Checksum (it was discarded).",
    507: "The chunk could not be stored (it was discarded).",
}


def _tus_errors(*statuses: int):
    """Document the tus errors a route answers."""
    def decorator(func):
        for status in statuses:
            func = blp.alt_response(status, response="DEFAULT_ERROR",
                                    description=TUS_ERRORS[status])(func)
        return func
    return decorator


_CREATE_ERRORS = _tus_errors(400, 404, 412, 413, 415, 460, 507)


def _tus_answer(status: int, headers: dict | None = None) -> Response:
    return Response(status=status, headers={**tus.base_headers(), **(headers or {})})


def _options() -> Response:
    return _tus_answer(204, tus.options_headers(current_app.config["FILES_MAX_SIZE"]))


@blp.after_request
def _tus_header(response: Response) -> Response:
    """Every answer on an upload path carries Tus-Resumable, errors included."""
    if request.method != "GET":
        response.headers.setdefault("Tus-Resumable", tus.VERSION)
    return response


def _create(kind: str, dataset, dictionary) -> Response:
    """Start an upload, with its first bytes if the request carries them."""
    tus.require_version(request.headers)
    length = tus.integer_header(request.headers, "Upload-Length")
    metadata = tus.parse_metadata(request.headers.get("Upload-Metadata"))
    extra = {name: request.headers[header][:200] for header, name in tus.FAIR_HEADERS.items()
             if header in request.headers}
    actor = current_actor()
    with_body = request.content_length or request.headers.get("Transfer-Encoding")
    if with_body:
        _check_content_type()
    checksum = tus.parse_checksum(request.headers.get("Upload-Checksum")) if with_body else None
    upload = uploads.create(actor, kind, dataset, dictionary, length, metadata, extra)
    headers = {"Location": f"{blp.url_prefix}/uploads/{upload.upload_id}",
               "Upload-Expires": tus.http_date(upload.expires_at)}
    file_id = upload.id
    db.session.commit()
    if with_body or length == 0:
        offset = _write(db.session.get(StoredFile, file_id), 0, checksum)
        headers["Upload-Offset"] = str(offset)
    return _tus_answer(201, headers)


def _check_content_type() -> None:
    if request.mimetype != tus.CONTENT_TYPE:
        raise tus.UnsupportedMediaType(f"Send chunks as {tus.CONTENT_TYPE}.")


def _write(upload: StoredFile, offset: int, checksum) -> int:
    room = upload.size - offset
    if request.content_length is not None and request.content_length > room:
        raise tus.TooLarge(f"The chunk of {request.content_length} bytes runs past the "
                           f"upload's length of {upload.size} bytes.")
    # The upload's length is the limit, not the API's; one byte more lets a chunk that
    # fits end cleanly (and one too long be seen) where the server ends the stream.
    request.max_content_length = room + 1
    written = uploads.write(upload, offset, request.stream, checksum)
    db.session.commit()
    if written.failure is not None:
        raise written.failure
    return written.offset


def _page(query, args, params=None) -> dict:
    page = paginate(query, args["page"], args["page_size"], scalars=False, params=params)
    return {**page, "items": [service.present(*row.values()) for row in page["items"]]}


@blp.route("/datasets/<code>/<any(attachments, datafiles):kind>")
class DatasetFiles(MethodView):
    @blp.public
    @blp.response(204, headers={"Tus-Version": {"description": "1.0.0", **_HEADER},
                                "Tus-Extension": {"description": tus.EXTENSIONS, **_HEADER},
                                "Tus-Max-Size": {"description": "Largest upload.", **_HEADER}})
    def options(self, code, kind):
        """Tell tus clients what the upload server supports."""
        return _options()

    @blp.require_permission("files/upload")
    @blp.doc(**_TUS_CREATE)
    @blp.response(201, headers=_CREATED)
    @_CREATE_ERRORS
    def post(self, code, kind):
        """Start a tus upload of an attachment or a data file (I edit the dataset)."""
        return _create(KIND_OF[kind], service.upload_target(current_actor(), code), None)

    @blp.require_permission("files/read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(FileSchema))
    def get(self, args, code, kind):
        """List a dataset's attachments or data files that I may see, oldest first."""
        actor = current_actor()
        dataset = datasets.get_dataset(actor, code)
        return _page(service.listing(actor, dataset, KIND_OF[kind]), args)


@blp.route("/dictionaries/<code>/data")
class DictionaryData(MethodView):
    @blp.public
    @blp.response(204)
    def options(self, code):
        """Tell tus clients what the upload server supports."""
        return _options()

    @blp.require_permission("files/upload")
    @blp.doc(**_TUS_CREATE)
    @blp.response(201, headers=_CREATED)
    @_CREATE_ERRORS
    def post(self, code):
        """Start a tus upload of a CSV to load into the dictionary's table, replacing its data."""
        dictionary = service.load_target(current_actor(), code)
        return _create("table", dictionary.dataset, dictionary)

    @blp.require_permission("files/upload")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, list_schema(FileSchema))
    def get(self, args, code):
        """List the loads of a dictionary's table that I may see, oldest first."""
        actor = current_actor()
        dictionary = datasets.get_dictionary(actor, code)
        return _page(service.listing(actor, dictionary.dataset, "table", dictionary), args)


@blp.route("/uploads")
class MyUploads(MethodView):
    @blp.require_permission("files/upload")
    @blp.arguments(MyUploadsArgsSchema, location="query")
    @blp.response(200, list_schema(FileSchema))
    def get(self, args):
        """List my uploads on datasets I may see, newest first, with their status."""
        actor = current_actor()
        return _page(service.mine(actor, args.get("status")), args, datasets.params(actor))


@blp.route("/uploads/<upload_id>")
class Upload(MethodView):
    @blp.public
    @blp.response(204)
    def options(self, upload_id):
        """Tell tus clients what the upload server supports."""
        return _options()

    @blp.require_permission("files/upload")
    @blp.doc(parameters=[{"in": "header", "name": "Tus-Resumable", "required": True,
                          **_HEADER}])
    @blp.response(200, headers={"Upload-Offset": {"description": "Bytes received.", **_HEADER},
                                "Upload-Length": {"description": "The size.", **_HEADER}})
    @_tus_errors(404, 410, 412)
    def head(self, upload_id):
        """Read how much of my upload the server holds (tus HEAD)."""
        tus.require_version(request.headers)
        upload = service.my_upload(current_actor(), upload_id)
        uploads.check_live(upload)
        headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.size),
                   "Cache-Control": "no-store"}
        metadata = {k: v for k, v in upload.upload_metadata.items()
                    if k not in tus.FAIR_HEADERS.values()}
        if metadata:
            headers["Upload-Metadata"] = tus.encode_metadata(metadata)
        if upload.status == "uploading":
            headers["Upload-Expires"] = tus.http_date(upload.expires_at)
        return _tus_answer(200, headers)

    @blp.require_permission("files/upload")
    @blp.doc(**_TUS_PATCH)
    @blp.response(204, headers={"Upload-Offset": {"description": "Bytes received.", **_HEADER}})
    @_tus_errors(400, 404, 409, 410, 412, 413, 415, 423, 460, 507)
    def patch(self, upload_id):
        """Send the next chunk of my upload at its offset (tus PATCH)."""
        tus.require_version(request.headers)
        _check_content_type()
        offset = tus.integer_header(request.headers, "Upload-Offset")
        checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        upload = service.my_upload(current_actor(), upload_id)
        uploads.check_live(upload)
        file_id = upload.id
        db.session.commit()  # no transaction stays open while the chunk streams in
        offset = _write(db.session.get(StoredFile, file_id), offset, checksum)
        upload = db.session.get(StoredFile, file_id)
        headers = {"Upload-Offset": str(offset)}
        if upload.status == "uploading":
            headers["Upload-Expires"] = tus.http_date(upload.expires_at)
        return _tus_answer(204, headers)

    @blp.require_permission("files/upload")
    @blp.doc(parameters=[{"in": "header", "name": "Tus-Resumable", "required": True,
                          **_HEADER}])
    @blp.response(204)
    @_tus_errors(404, 409, 412, 423)
    def delete(self, upload_id):
        """Stop my unfinished upload and discard what it received (tus termination)."""
        tus.require_version(request.headers)
        actor = current_actor()
        uploads.terminate(actor, service.my_upload(actor, upload_id))
        db.session.commit()
        return _tus_answer(204)

    @blp.require_permission("files/upload")
    @blp.response(200, FileSchema)
    def get(self, upload_id):
        """Read my upload's status: uploading, processing, complete or failed."""
        actor = current_actor()
        return service.get(actor, service.my_upload(actor, upload_id).id).answer


@blp.route("/<id:file_id>")
class File(MethodView):
    @blp.require_permission("files/read")
    @blp.response(200, FileSchema)
    def get(self, file_id):
        """Read a file's details."""
        return service.get(current_actor(), file_id).answer

    @blp.require_permission("files/update")
    @blp.arguments(FilePatchSchema)
    @blp.response(200, FileSchema)
    def patch(self, changes, file_id):
        """Change a file's viewing or transfer setting (I edit its dataset)."""
        answer = service.update(current_actor(), file_id, changes)
        db.session.commit()
        return answer

    @blp.require_permission("files/delete")
    @blp.response(204)
    def delete(self, file_id):
        """Delete a file (I manage its dataset)."""
        service.delete(current_actor(), file_id)
        db.session.commit()


@blp.route("/<id:file_id>/content")
class FileContent(MethodView):
    @blp.require_permission("files/download")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
    @blp.alt_response(206, description="The byte range asked for with Range.")
    @blp.alt_response(416, response="DEFAULT_ERROR", description="The range is outside the file.")
    def get(self, file_id):
        """Download a file, whole or a byte range (Range), as an attachment."""
        upload, path = service.download(current_actor(), file_id)
        db.session.commit()  # the download's audit event
        response = send_file(path, mimetype=upload.content_type, as_attachment=True,
                             download_name=upload.filename, conditional=True,
                             etag=upload.sha256, max_age=0)
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
