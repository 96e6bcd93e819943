"""The API conventions every route follows: error shape, lists, slashes, body caps, request ids;
and the code's own: short modules, and tests that import nothing from a conftest."""
from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from fairhub import Blueprint
from fairhub.api import PERMISSIONS_ATTR
from fairhub.testing import assert_error, signed_in


@pytest.fixture
def client(app):
    """Here the test client is signed in as a standard user, who may create sample notes."""
    return signed_in(app)



def test_unknown_route_is_404_in_error_shape(client):
    error = assert_error(client.get("/api/nothing/here"), 404, "not_found")
    assert "/api/nothing/here" in error["message"]


def test_wrong_method_is_405_with_allow_header(client):
    response = client.delete("/api/health")
    error = assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert "DELETE" in error["message"]


def test_oversized_body_is_413(make_app):
    client = signed_in(make_app({"MAX_CONTENT_LENGTH": 1000}))
    error = assert_error(client.post("/api/notes", json={"code": "a", "text": "x" * 2000}), 413)
    assert "1000" in error["message"]


def test_malformed_json_is_400(client):
    response = client.post("/api/notes", data="{not json", content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert error["message"] == "The request body is not valid JSON."
    assert error["details"] == {"json": ["Expecting property name enclosed in double quotes: "
                                         "line 1 column 2 (char 1)"]}


@pytest.mark.parametrize("value, reason", [
    ("NaN", "NaN is not a JSON value"), ("Infinity", "Infinity is not a JSON value"),
    ("-Infinity", "-Infinity is not a JSON value"), ("1e999", "The number 1e999 is too large"),
    ("-2.5e400", "The number -2.5e400 is too large"),
    ("7" * 5000, "An integer of 5000 digits is too long"),
], ids=["nan", "infinity", "-infinity", "1e999", "-2.5e400", "5000-digits"])
def test_json_beyond_the_standard_is_400(client, value, reason):
    """Python's parser reads these; written back they are not JSON (or cannot be read)."""
    response = client.post("/api/notes", data=f'{{"code": "a", "text": "t", "n": {value}}}',
                           content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert error["message"] == "The request body is not valid JSON."
    assert error["details"] == {"json": [reason]}


def test_large_and_escaped_json_values_within_the_standard_are_read(client):
    for code, text in (("escaped", '"caf\\u00e9 \\u2603"'), ("plain", '"café ☃"')):
        body = f'{{"code": "{code}", "text": {text}}}'.encode()
        response = client.post("/api/notes", data=body, content_type="application/json")
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["text"] == "caf\u00e9 \u2603"
    # Standard numbers at the edges are read (unknown keys are refused after parsing).
    body = '{"code": "n", "text": "t", "n": [1e308, %s]}' % ("7" * 4300)
    error = assert_error(client.post("/api/notes", data=body, content_type="application/json"),
                         422)
    assert list(error["details"]["json"]) == ["n"]


def test_deeply_nested_json_is_400(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/notes", data=body, content_type="application/json")
    assert "nested too deeply" in assert_error(response, 400)["message"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": "no code"}, "code"),
        ({"code": "a/b", "text": "path characters"}, "code"),
        ({"code": "ok", "text": 12}, "text"),
        ({"code": "ok", "text": "x", "extra": 1}, "extra"),
        ({"code": "ok", "text": "x" * 501}, "text"),
    ],
)
def test_invalid_body_is_422_with_per_field_details(client, body, field):
    error = assert_error(client.post("/api/notes", json=body), 422, "validation_error")
    assert field in error["details"]["json"]


def add_crash_route(app):
    @Blueprint.public
    def crash():
        raise RuntimeError("secret internals: password=hunter2")

    app.add_url_rule("/api/crash", view_func=crash, methods=["POST"])
    return app


def test_unhandled_exception_is_logged_500_without_internals(app, caplog):
    client = signed_in(add_crash_route(app))
    with caplog.at_level(logging.ERROR, logger="fairhub"):
        response = client.post("/api/crash")
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "secret internals" not in error["message"]
    assert any("Unhandled error" in r.getMessage() and r.exc_info for r in caplog.records)


def test_created_object_is_201_and_duplicate_is_409(client):
    response = client.post("/api/notes", json={"code": "n1", "text": "héllo ✓"})
    assert response.status_code == 201
    assert response.get_json()["text"] == "héllo ✓"
    assert_error(client.post("/api/notes", json={"code": "n1", "text": "again"}), 409, "conflict")
    assert_error(client.get("/api/notes/missing"), 404, "not_found")


def test_collection_answers_with_and_without_trailing_slash_without_redirect(client):
    client.post("/api/notes/", json={"code": "slash", "text": "posted with a slash"})
    for path in ("/api/notes", "/api/notes/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.get_json()["paging"]["total"] == 1


def test_list_shape_and_paging(client):
    for i in range(7):
        client.post("/api/notes", json={"code": f"n{i}", "text": str(i)})
    body = client.get("/api/notes?page=2&page_size=3").get_json()
    assert [n["code"] for n in body["items"]] == ["n3", "n4", "n5"]
    assert body["paging"] == {"total": 7, "page": 2, "page_size": 3}
    beyond = client.get("/api/notes?page=9&page_size=3").get_json()
    assert beyond["items"] == [] and beyond["paging"]["total"] == 7


def test_page_size_defaults_and_is_capped(make_app):
    client = signed_in(make_app({"DEFAULT_PAGE_SIZE": 4, "MAX_PAGE_SIZE": 5}))
    assert client.get("/api/notes").get_json()["paging"]["page_size"] == 4
    assert client.get("/api/notes?page_size=1000").get_json()["paging"]["page_size"] == 5


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page_size=0", "page_size=x",
                                   "page=1e9999", "page_size=1%27%20OR%201=1"])
def test_bad_paging_is_422(client, query):
    error = assert_error(client.get(f"/api/notes?{query}"), 422, "validation_error")
    assert "query" in error["details"]


def test_request_id_is_echoed_when_safe_and_replaced_when_not(client):
    assert client.get("/api/health", headers={"X-Request-ID": "abc-123"}).headers[
        "X-Request-ID"] == "abc-123"
    forged = client.get("/api/health", headers={"X-Request-ID": "x injected {log} line"})
    assert forged.headers["X-Request-ID"] != "x injected {log} line"
    assert len(forged.headers["X-Request-ID"]) == 32
    assert client.get("/api/nothing").headers["X-Request-ID"]


def test_json_logging_carries_the_request_id(make_app, capfd):
    client = signed_in(add_crash_route(make_app({"LOG_FORMAT": "json"})))
    client.post("/api/crash", headers={"X-Request-ID": "trace-42"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
             if line.startswith("{")]
    record = next(line for line in lines if line["message"].startswith("Unhandled error"))
    assert record["request_id"] == "trace-42"
    assert record["level"] == "ERROR"
    assert "RuntimeError" in record["exc_info"]


@pytest.mark.parametrize("method, path, body", [
    ("post", "/api/notes", {"code": "a", "text": "x\x00y"}),
    ("post", "/api/notes", {"code": "a", "text": "ok", "\x00": 1}),
    ("get", "/api/notes/a%00b", None),
    ("get", "/api/notes?page=1%00", None),
    ("get", "/api/notes?x%00=1", None),
])
def test_nul_characters_are_refused_with_400(client, method, path, body):
    response = getattr(client, method)(path, json=body)
    assert "NUL" in assert_error(response, 400, "bad_request")["message"]


@pytest.mark.parametrize("body", [
    '{"code": "a", "text": "\\ud800"}',
    '{"code": "a", "text": "ok", "\\udc00": 1}',
    '[{"code": "a", "text": "x\\udfffy"}]',
])
def test_lone_surrogates_in_json_are_refused_with_400(client, body):
    response = client.post("/api/notes", data=body, content_type="application/json")
    assert "UTF-8" in assert_error(response, 400, "bad_request")["message"]
    assert client.get("/api/notes").get_json()["paging"]["total"] == 0


def test_a_query_string_that_is_not_utf8_is_refused_with_400(client):
    response = client.get("/api/notes", environ_overrides={"QUERY_STRING": "page=\xed\xa0\x80"})
    assert "UTF-8" in assert_error(response, 400, "bad_request")["message"]


def test_unknown_query_parameters_are_422(client):
    error = assert_error(client.get("/api/notes?pagesize=5"), 422, "validation_error")
    assert "pagesize" in error["details"]["query"]


@pytest.mark.parametrize("kwargs, status", [
    ({}, 422),
    ({"data": "code=a&text=b", "content_type": "application/x-www-form-urlencoded"}, 415),
    ({"data": "{}", "content_type": "text/plain"}, 415),
])
def test_a_json_route_needs_a_json_body(client, kwargs, status):
    assert_error(client.post("/api/notes", **kwargs), status)


def test_only_flask_s_own_options_answer_skips_the_permission_check(app):
    def probe():
        """A view answering OPTIONS itself, for audit readers only."""
        return {"ok": True}

    setattr(probe, PERMISSIONS_ATTR, ("audit/read",))
    app.add_url_rule("/api/probe", view_func=probe, methods=["GET", "OPTIONS"])
    anonymous = app.test_client()
    assert_error(anonymous.open("/api/probe", method="OPTIONS"), 401, "unauthorized")
    assert_error(signed_in(app).open("/api/probe", method="OPTIONS"), 403, "forbidden")
    automatic = anonymous.open("/api/notes", method="OPTIONS")
    assert automatic.status_code == 200 and "POST" in automatic.headers["Allow"]


ROOT = Path(__file__).parent.parent
def line_counts(*folders: str) -> dict[str, int]:
    return {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
            for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))}


def test_modules_have_at_most_500_lines_and_test_modules_600():
    code = {path: count for path, count in line_counts("src", "plugins").items()
            if count > 500}
    tests = {path: count for path, count in line_counts("tests").items() if count > 600}
    assert (code, tests) == ({}, {})


def test_no_test_imports_from_a_conftest():
    """Fixtures come to tests by name; helpers live in the kit or a module of their own."""
    importing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or "", *(alias.name for alias in node.names)]
                     if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[-1] == "conftest" for name in names):
                importing.append(str(path.relative_to(ROOT)))
    assert importing == []
