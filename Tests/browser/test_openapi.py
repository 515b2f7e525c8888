"""The OpenAPI document the server serves at `GET /api/openapi.json` is a valid OpenAPI 3.1
description, documents every route the router registers, and real answers conform to it: the
status codes it lists and the JSON schemas it gives (required fields, types, error shape)."""

from __future__ import annotations

import base64
import importlib
import json
import urllib.error
import urllib.request
import uuid

import pytest
import requests

from samples import png

# Every operation the router registers (and only those): (method, path) as the document names them.
EXPECTED_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/api/openapi.json"),
    ("get", "/api/widgets/{widget}/config"),
    ("post", "/api/widgets/{widget}/tickets"),
    ("get", "/api/tickets/{ticket}/events"),
    ("post", "/api/tickets/{ticket}/messages"),
    ("post", "/api/tickets/{ticket}/typing"),
    ("post", "/api/tickets/{ticket}/leave"),
    ("post", "/api/tickets/{ticket}/feedback"),
    ("get", "/api/tickets/{ticket}/live"),
    ("post", "/api/agent/login"),
    ("post", "/api/agent/logout"),
    ("get", "/api/agent/me"),
    ("get", "/api/agent/tickets"),
    ("get", "/api/agent/tickets/{ticket}"),
    ("post", "/api/agent/tickets/{ticket}/open"),
    ("post", "/api/agent/tickets/{ticket}/messages"),
    ("post", "/api/agent/tickets/{ticket}/typing"),
    ("post", "/api/agent/tickets/{ticket}/notes"),
    ("post", "/api/agent/tickets/{ticket}/status"),
    ("post", "/api/agent/tickets/{ticket}/priority"),
    ("post", "/api/agent/tickets/{ticket}/tags"),
    ("post", "/api/agent/tickets/{ticket}/assign"),
    ("post", "/api/agent/tickets/{ticket}/close"),
    ("post", "/api/agent/tickets/{ticket}/reopen"),
    ("get", "/api/agent/live"),
    ("get", "/api/setup"),
    ("post", "/api/setup"),
    ("options", "/api/uploads"),
    ("post", "/api/uploads"),
    ("head", "/api/uploads/{upload}"),
    ("patch", "/api/uploads/{upload}"),
    ("delete", "/api/uploads/{upload}"),
    ("get", "/api/attachments/{attachment}"),
    ("head", "/api/attachments/{attachment}"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# A valid answer to the demo widget's default form (name, email, subject, message).
VALID_FORM = {"name": "Olga Openapi", "email": "Olga@Example.com", "subject": "Spec check", "message": "Does this conform?"}


@pytest.fixture(scope="module")
def validators():
    """openapi_spec_validator (and the jsonschema it depends on): a test dependency, never skipped."""
    try:
        spec_validator = importlib.import_module("openapi_spec_validator")
        jsonschema = importlib.import_module("jsonschema")
    except ImportError as error:
        pytest.fail(f"{error}: the OpenAPI tests need openapi-spec-validator; run `make deps-test` "
                    "(or `python3 -m pip install openapi-spec-validator`)")
    return spec_validator, jsonschema


def call(server, method: str, path: str, body=None, headers: dict[str, str] | None = None):
    """One request without a browser; returns (status, response headers, decoded JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    request = urllib.request.Request(server.url(path), data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, response_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, error.headers, error.read()
    return status, response_headers, (json.loads(raw) if raw else None)


@pytest.fixture(scope="module")
def document(server, validators):
    """The document as the running server serves it, checked against the OpenAPI 3.1 schema."""
    spec_validator, _ = validators
    status, headers, doc = call(server, "GET", "/api/openapi.json")
    assert status == 200, f"GET /api/openapi.json answered {status}: {doc}"
    assert headers.get("Content-Type", "").startswith("application/json")
    assert isinstance(doc, dict) and doc.get("openapi") == "3.1.0", "not an OpenAPI 3.1.0 document"
    spec_validator.validate(doc)
    return doc


def resolve(doc: dict, node):
    """`node` with every local `$ref` replaced by what it points to (the document has no cycles).
    A Reference Object's sibling `description`/`summary` override the target's, as in OpenAPI 3.1."""
    if isinstance(node, list):
        return [resolve(doc, x) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), f"unexpected non-local $ref {pointer}"
        target = doc
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = dict(resolve(doc, target))
        merged.update({k: resolve(doc, v) for k, v in node.items() if k != "$ref"})
        return merged
    return {k: resolve(doc, v) for k, v in node.items()}


def response_schema(doc: dict, method: str, path: str, status: int) -> dict:
    """The JSON schema the document gives for that operation's `status` answer (fails if not listed)."""
    operation = doc["paths"][path][method]
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method.upper()} {path} answered {status}, which the document does not list ({sorted(responses)})")
    response = resolve(doc, responses[str(status)])
    content = response.get("content", {})
    assert "application/json" in content, f"{method.upper()} {path} {status}: no application/json content documented"
    return content["application/json"]["schema"]


def assert_conforms(validators, doc, method: str, path: str, status: int, body) -> dict:
    _, jsonschema = validators
    schema = response_schema(doc, method, path, status)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} {status} does not match the document:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors)
    return schema


def assert_required_present(schema: dict, value, where: str) -> None:
    """Every property the schema marks required is there, recursively through object properties."""
    if schema.get("type") != "object" or not isinstance(value, dict):
        return
    for name in schema.get("required", []):
        assert name in value, f"{where}: required property {name!r} is missing"
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            assert_required_present(sub, value[name], f"{where}.{name}")


@pytest.fixture(scope="module")
def ticket(server):
    """One ticket started on the demo widget: (status, body) of the create call."""
    status, _, body = call(server, "POST", "/api/widgets/demo/tickets",
                           {"fields": VALID_FORM, "page": {"url": "http://shop.test/p", "title": "Product"},
                            "language": "en"})
    return status, body


def test_served_document_is_valid_openapi(document):
    assert document["info"]["title"]
    for name in ("Error", "TicketEvent", "TicketSummary", "WidgetConfig"):
        assert name in document["components"]["schemas"], f"schema {name} is missing"
    schemes = document["components"]["securitySchemes"]
    assert schemes["visitorToken"]["type"] == "http" and schemes["visitorToken"]["scheme"] == "bearer"
    assert schemes["agentSession"] == {**schemes["agentSession"], "type": "apiKey", "in": "cookie", "name": "parley_session"}


def test_document_describes_every_route_and_nothing_else(document):
    operations = {(m, p) for p, item in document["paths"].items() for m in item if m in HTTP_METHODS}
    assert operations - EXPECTED_OPERATIONS == set(), "documented but not served"
    assert EXPECTED_OPERATIONS - operations == set(), "served but not documented"
    ids = [item[m]["operationId"] for p, item in document["paths"].items() for m in item if m in HTTP_METHODS]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path in ("/api/tickets/{ticket}/live", "/api/agent/live"):
        assert "text/event-stream" in document["paths"][path]["get"]["responses"]["200"]["content"]


def test_health_and_widget_config_conform(server, document, validators):
    status, _, body = call(server, "GET", "/healthz")
    assert_conforms(validators, document, "get", "/healthz", status, body)
    status, _, body = call(server, "GET", "/api/widgets/demo/config")
    assert status == 200
    assert_conforms(validators, document, "get", "/api/widgets/{widget}/config", status, body)
    status, _, body = call(server, "GET", "/api/widgets/no-such-widget/config")
    assert status == 404
    assert_conforms(validators, document, "get", "/api/widgets/{widget}/config", status, body)


def test_created_ticket_has_every_required_property(document, validators, ticket):
    status, body = ticket
    assert status == 201, f"creating a ticket answered {status}: {body}"
    schema = assert_conforms(validators, document, "post", "/api/widgets/{widget}/tickets", 201, body)
    assert_required_present(schema, body, "201 body")
    assert set(schema["required"]) >= {"ticket", "token"}
    assert body["ticket"]["visitorEmail"] == "olga@example.com"


def test_invalid_form_gets_422_with_the_error_shape(server, document, validators):
    status, _, body = call(server, "POST", "/api/widgets/demo/tickets",
                           {"fields": {"name": "", "email": "not-an-email", "shoe_size": "42"}})
    assert status == 422, f"an invalid form answered {status}: {body}"
    schema = assert_conforms(validators, document, "post", "/api/widgets/{widget}/tickets", 422, body)
    assert schema == resolve(document, document["components"]["schemas"]["Error"])
    assert body["error"]["code"] == "invalid_input"
    assert {"name", "email", "message", "shoe_size"} <= set(body["error"]["fields"])


def test_visitor_calls_conform(server, document, validators, ticket):
    _, created = ticket
    ticket_id, token = created["ticket"]["id"], created["token"]
    auth = {"Authorization": f"Bearer {token}"}

    path = f"/api/tickets/{ticket_id}/events"
    status, _, body = call(server, "GET", path + "?after=0", headers=auth)
    assert status == 200
    assert_conforms(validators, document, "get", "/api/tickets/{ticket}/events", status, body)
    assert [e["type"] for e in body["events"]][:2] == ["ticket.opened", "message"]
    status, _, body = call(server, "GET", path)
    assert status == 401
    assert_conforms(validators, document, "get", "/api/tickets/{ticket}/events", status, body)
    status, _, body = call(server, "GET", path + "?after=-1", headers=auth)
    assert status == 400
    assert_conforms(validators, document, "get", "/api/tickets/{ticket}/events", status, body)

    # New message 201, the same client id again 200 (duplicate), a bad one 422, a non-JSON body 415.
    message = {"id": "m-" + uuid.uuid4().hex[:12], "text": "Hello from the OpenAPI test"}
    path = f"/api/tickets/{ticket_id}/messages"
    for expected in (201, 200):
        status, _, body = call(server, "POST", path, message, headers=auth)
        assert status == expected, f"message answered {status}: {body}"
        assert_conforms(validators, document, "post", "/api/tickets/{ticket}/messages", status, body)
        assert body["duplicate"] is (expected == 200)
    status, _, body = call(server, "POST", path, {"id": "bad id!", "text": " "}, headers=auth)
    assert status == 422
    assert_conforms(validators, document, "post", "/api/tickets/{ticket}/messages", status, body)
    status, _, body = call(server, "POST", path, message, headers={**auth, "Content-Type": "text/plain"})
    assert status == 415
    assert_conforms(validators, document, "post", "/api/tickets/{ticket}/messages", status, body)

    # Another ticket's id with this token: 404, as if it did not exist.
    status, _, body = call(server, "POST", "/api/tickets/20200101-aaaaaaaaaa/messages", message, headers=auth)
    assert status == 404
    assert_conforms(validators, document, "post", "/api/tickets/{ticket}/messages", status, body)


def test_agent_and_setup_calls_conform(server, document, validators):
    status, _, body = call(server, "GET", "/api/agent/tickets")
    assert status == 401
    assert_conforms(validators, document, "get", "/api/agent/tickets", status, body)
    status, _, body = call(server, "POST", "/api/agent/login", {"email": "nobody@example.com", "password": "wrong password"})
    assert status == 401
    assert_conforms(validators, document, "post", "/api/agent/login", status, body)
    status, _, body = call(server, "GET", "/api/setup")
    assert status == 200
    assert_conforms(validators, document, "get", "/api/setup", status, body)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()

def check(doc, validators, method, path, resp, headers_required=()):
    """The answer's status is documented for the operation, the headers named are both documented and
    sent, and a JSON body matches the documented schema."""
    _, jsonschema = validators
    op = doc["paths"][path][method]
    assert str(resp.status_code) in op["responses"], f"{method} {path} answered {resp.status_code} ({resp.text}) not in {sorted(op['responses'])}"
    r = resolve(doc, op["responses"][str(resp.status_code)])
    for name in r.get("headers", {}):
        if name in headers_required:
            assert name in resp.headers, f"{method} {path} {resp.status_code}: header {name} missing ({dict(resp.headers)})"
    for name in headers_required:
        assert name in r.get("headers", {}), f"{name} not documented for {method} {path} {resp.status_code}"
    ctype = resp.headers.get("Content-Type", "")
    if ctype.startswith("application/json") and method != "head" and resp.content:
        schema = r["content"]["application/json"]["schema"]
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(resp.json()))
        assert not errors, errors
    return r

def test_uploads_conform(server, document, validators, ticket):
    """tus creation, HEAD, PATCH, DELETE and downloads: every answer is documented as sent."""
    doc = document
    _, created = ticket
    tid, token = created["ticket"]["id"], created["token"]
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    U = server.url("/api/uploads")
    r = requests.options(U)
    check(doc, validators, "options", "/api/uploads", r, ("Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Resumable"))
    assert r.status_code == 204
    data = png(4, 4)
    meta = f"ticket {b64(tid)},filename {b64('p.png')}"
    # errors on create
    for hdrs, want in [({"Upload-Length": "10", "Upload-Metadata": meta, "Authorization": auth["Authorization"]}, 412),
                       ({**auth, "Upload-Metadata": meta}, 400),
                       ({**auth, "Upload-Length": "0", "Upload-Metadata": meta}, 422),
                       ({**auth, "Upload-Length": str(50 * 1024 * 1024), "Upload-Metadata": meta}, 413),
                       ({**auth, "Upload-Length": "10", "Upload-Metadata": f"ticket {b64('20200101-aaaaaaaaaa')}"}, 404),
                       ({"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": meta}, 401)]:
        r = requests.post(U, headers=hdrs)
        assert r.status_code == want, (want, r.status_code, r.text)
        check(doc, validators, "post", "/api/uploads", r, ("Tus-Version",) if want == 412 else ())
    # creation then PATCH in two parts
    r = requests.post(U, headers={**auth, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    check(doc, validators, "post", "/api/uploads", r, ("Location", "Upload-Expires", "Tus-Resumable", "Cache-Control"))
    loc = server.url(r.headers["Location"])
    P = "/api/uploads/{upload}"
    r = requests.head(loc, headers=auth)
    check(doc, validators, "head", P, r, ("Upload-Offset", "Upload-Length", "Upload-Expires"))
    r = requests.patch(loc, headers={**auth, "Upload-Offset": "0", "Content-Type": "text/plain"}, data=data[:10])
    assert r.status_code == 415
    check(doc, validators, "patch", P, r)
    r = requests.patch(loc, headers={**auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, data=data[:10])
    assert r.status_code == 204
    check(doc, validators, "patch", P, r, ("Upload-Offset",))
    r = requests.patch(loc, headers={**auth, "Upload-Offset": "3", "Content-Type": "application/offset+octet-stream"}, data=data[3:])
    assert r.status_code == 409
    check(doc, validators, "patch", P, r, ("Upload-Offset",))
    r = requests.patch(loc, headers={**auth, "Upload-Offset": "10", "Content-Type": "application/offset+octet-stream"}, data=data[10:] + b"xx")
    assert r.status_code == 413, r.text
    check(doc, validators, "patch", P, r, ("Upload-Offset",))
    r = requests.patch(loc, headers={**auth, "Upload-Offset": "10", "Content-Type": "application/offset+octet-stream"}, data=data[10:])
    assert r.status_code == 204, r.text
    check(doc, validators, "patch", P, r, ("Upload-Offset", "Parley-Attachment"))
    att = r.headers["Parley-Attachment"]
    r = requests.head(loc, headers=auth)
    check(doc, validators, "head", P, r, ("Upload-Offset", "Parley-Attachment"))
    r = requests.delete(loc, headers=auth)
    assert r.status_code == 409
    check(doc, validators, "delete", P, r)
    r = requests.head(loc, headers={"Tus-Resumable": "1.0.0", "Authorization": "Bearer nope"})
    assert r.status_code == 404
    check(doc, validators, "head", P, r)
    # creation-with-upload + refused type
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    r = requests.post(U, headers={**auth, "Upload-Length": str(len(html)), "Upload-Metadata": meta, "Content-Type": "application/offset+octet-stream"}, data=html)
    assert r.status_code == 415, r.text
    check(doc, validators, "post", "/api/uploads", r)
    r = requests.post(U, headers={**auth, "Upload-Length": str(len(data)), "Upload-Metadata": meta, "Content-Type": "application/offset+octet-stream"}, data=data)
    assert r.status_code == 201, r.text
    check(doc, validators, "post", "/api/uploads", r, ("Location", "Upload-Offset", "Parley-Attachment"))
    # termination
    r = requests.post(U, headers={**auth, "Upload-Length": "100", "Upload-Metadata": meta})
    loc2 = server.url(r.headers["Location"])
    r = requests.delete(loc2, headers=auth)
    assert r.status_code == 204
    check(doc, validators, "delete", P, r, ("Tus-Resumable",))
    r = requests.delete(loc2, headers=auth)
    assert r.status_code == 404
    check(doc, validators, "delete", P, r)
    # downloads
    A = "/api/attachments/{attachment}"; url = server.url(f"/api/attachments/{att}")
    dl = ("Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy", "ETag", "Accept-Ranges", "Cache-Control", "Content-Length")
    bearer = {"Authorization": f"Bearer {token}"}
    r = requests.get(url, headers=bearer)
    assert r.status_code == 200 and r.content == data
    check(doc, validators, "get", A, r, dl)
    r = requests.get(url + "?inline=1", headers=bearer)
    assert r.headers["Content-Disposition"].startswith("inline")
    r = requests.head(url, headers=bearer)
    assert r.status_code == 200
    check(doc, validators, "head", A, r, dl)
    r = requests.get(url, headers={**bearer, "Range": "bytes=0-3"})
    assert r.status_code == 206
    check(doc, validators, "get", A, r, dl + ("Content-Range",))
    r = requests.get(url, headers={**bearer, "Range": "bytes=9999-"})
    assert r.status_code == 416
    check(doc, validators, "get", A, r, ("Content-Range",))
    r = requests.get(url, headers={**bearer, "If-None-Match": f'"{att}"'})
    assert r.status_code == 304
    check(doc, validators, "get", A, r, ("ETag",))
    r = requests.get(url)
    assert r.status_code == 401
    check(doc, validators, "get", A, r)
    r = requests.get(server.url(f"/api/attachments/{tid}_aaaaaaaaaaaaaaaa"), headers=bearer)
    assert r.status_code == 404
    check(doc, validators, "get", A, r)
    # the attachment event conforms
    r = requests.get(server.url(f"/api/tickets/{tid}/events"), headers=bearer)
    check(doc, validators, "get", "/api/tickets/{ticket}/events", r)
    ev = [e for e in r.json()["events"] if e["type"] == "attachment"]
    assert ev and ev[0]["attachment"]["id"] == att and ev[0]["attachment"]["type"] == "image/png"
