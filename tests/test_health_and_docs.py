"""Health, the OpenAPI document and the offline interactive docs."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from fairhub import Blueprint, __version__, hookimpl
from fairhub.testing import every_plugin
from sample_plugin import SAMPLE

METHODS = {"get", "post", "put", "patch", "delete"}


def test_health_reports_status_version_and_database(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok", "version": __version__, "database": {"status": "ok"},
    }


def test_health_is_503_when_the_database_is_unreachable(make_app):
    app = make_app(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere"}, create_tables=False
    )
    response = app.test_client().get("/api/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"status": "unavailable"}
    assert "9/nowhere" not in response.get_data(as_text=True)


def test_openapi_document_is_valid_and_complete(client):
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
    }
    assert spec["components"]["responses"]["DEFAULT_ERROR"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if method in METHODS]
    assert any(path == "/api/notes" for path, _, _ in operations)  # plugin routes included
    for path, method, op in operations:
        assert op.get("summary"), f"{method.upper()} {path} has no summary"
        assert "default" in op["responses"], f"{method.upper()} {path} documents no errors"
    assert spec["paths"]["/api/notes"]["post"]["responses"]["400"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "400" not in spec["paths"]["/api/notes"]["get"]["responses"]


def test_the_openapi_document_of_every_plugin_is_valid(make_app):
    """Their patterns included: what Python reads as "\\Z" is a literal Z to the
    document's readers. Every route reading a JSON body documents its parser's 400."""
    spec = make_app(plugins=every_plugin(SAMPLE)).test_client().get("/api/openapi.json").get_json()
    validate(spec)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS and "application/json" in op.get("requestBody", {}).get(
                    "content", {}):
                assert "400" in op["responses"], f"{method.upper()} {path}"
    patterns = [schema["pattern"] for schema in _schemas(spec) if "pattern" in schema]
    assert patterns and not [pattern for pattern in patterns if "\\Z" in pattern]


class CountedBlueprint(Blueprint):
    """A blueprint counting the times it is put in the OpenAPI document."""

    documented = 0

    def register_views_in_doc(self, *args, **kwargs):
        CountedBlueprint.documented += 1
        return super().register_views_in_doc(*args, **kwargs)


class Counted:
    FAIRHUB_PLUGIN_NAME = "counted"

    @hookimpl
    def fairhub_blueprints(self):
        return [CountedBlueprint("counted", __name__, url_prefix="/api/counted",
                                 description="Counted.")]


def test_blueprints_are_documented_at_the_first_read_of_the_document(make_app, monkeypatch):
    """Documenting routes is half of building an app; commands and workers that never
    serve the document do not pay for it."""
    monkeypatch.setattr(CountedBlueprint, "documented", 0)
    client = make_app(plugins=[SAMPLE, Counted()]).test_client()
    assert client.get("/api/health").status_code == 200
    assert CountedBlueprint.documented == 0
    first = client.get("/api/openapi.json").get_json()
    assert "/api/notes" in first["paths"]
    assert {"name": "counted", "description": "Counted."} in first["tags"]
    assert client.get("/api/openapi.json").get_json() == first
    assert CountedBlueprint.documented == 1


def _schemas(value):
    """Every dict inside ``value``: the JSON schemas among them."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _schemas(item)
    elif isinstance(value, list):
        for item in value:
            yield from _schemas(item)


def test_interactive_docs_load_their_assets_from_the_server(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/api/docs/assets/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200
    assert "/api/openapi.json" in html


def test_docs_assets_refuse_path_traversal(client):
    for path in ("/api/docs/assets/../../../etc/passwd", "/api/docs/assets/..%2f..%2fetc%2fpasswd",
                 "/api/docs/assets/%2e%2e/__init__.py"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_answers_served_by_the_development_server_carry_one_date(app):
    """`fairhub serve` runs werkzeug's server, which writes a Date of its own."""
    import http.client
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for path in ("/api/health", "/api/docs/assets/swagger-ui.css", "/api/nothing"):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            connection.close()
            dates = [value for name, value in response.getheaders() if name.lower() == "date"]
            assert len(dates) == 1, (path, response.getheaders())
    finally:
        server.shutdown()
        thread.join()
