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
from dataclasses import dataclass

import pytest
import requests

from samples import png

# Every operation the router registers (and only those): (method, path) as the document names them.
EXPECTED_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/metrics"),
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
    ("post", "/api/agent/tickets/{ticket}/takeover"),
    ("post", "/api/agent/tickets/{ticket}/wrapup"),
    ("post", "/api/agent/tickets/{ticket}/autoreply"),
    ("get", "/api/agent/contacts"),
    ("post", "/api/agent/contacts"),
    ("get", "/api/agent/agents"),
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
    ("get", "/api/admin/widgets"),
    ("post", "/api/admin/widgets"),
    ("get", "/api/admin/widgets/{widget}"),
    ("put", "/api/admin/widgets/{widget}/draft"),
    ("delete", "/api/admin/widgets/{widget}/draft"),
    ("post", "/api/admin/widgets/{widget}/publish"),
    ("get", "/api/admin/widgets/{widget}/versions"),
    ("get", "/api/admin/widgets/{widget}/versions/{version}"),
    ("post", "/api/admin/widgets/{widget}/versions/{version}/restore"),
    ("post", "/api/admin/widgets/{widget}/preview"),
    ("get", "/api/admin/timezones"),
    ("get", "/api/admin/defaults"),
    ("get", "/api/admin/agents"),
    ("post", "/api/admin/agents"),
    ("patch", "/api/admin/agents/{agent}"),
    ("post", "/api/admin/agents/{agent}/password"),
    ("get", "/api/admin/teams"),
    ("put", "/api/admin/teams"),
    ("get", "/api/admin/inbox"),
    ("put", "/api/admin/inbox"),
    ("get", "/api/admin/rules"),
    ("put", "/api/admin/rules"),
    ("get", "/api/admin/audit"),
    ("post", "/api/admin/erase"),
    ("post", "/api/admin/purge"),
    ("get", "/api/invite"),
    ("post", "/api/invite"),
    # Not `POST /api/test/clock`: it exists only with `parley serve --test-clock`.
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


# --- the agent inbox: real answers of signed-in agents ---------------------------------------------

AGENT_PASSWORD = "correct horse battery"
TIMEOUT = 10  # seconds, upper bound on any one plain request
FIELDS = [
    {"id": "name", "type": "name", "label": "Name", "required": True, "maxLength": 80},
    {"id": "email", "type": "email", "label": "Email", "required": True, "maxLength": 254},
    {"id": "message", "type": "reason", "label": "Message", "required": True, "maxLength": 4000},
]
# `shop` asks for an email; `anon` does not (and shows agents what the visitor types).
INBOX_WIDGETS = [
    {"id": "shop", "name": "Shop help", "language": "en", "fields": FIELDS, "sound": False},
    {"id": "anon", "name": "Anonymous help", "language": "en", "fields": [FIELDS[0], FIELDS[2]], "sound": False,
     "typingPreview": True},
]
# DATA/config/inbox.json: entries for every widget, for `shop` only and for `anon` only.
INBOX_SETTINGS = {
    "dispositions": [{"code": "sale", "label": "Sale made"},
                     {"code": "question", "label": "Question answered", "widgets": ["shop"]},
                     {"code": "spam", "label": "Spam", "widgets": ["anon"]}],
    "canned": [{"shortcut": "hello", "title": "Greeting", "text": "Hello! How can I help you today?"},
               {"shortcut": "ship", "title": "Shipping", "text": "We ship within 2 days.", "widgets": ["shop"]},
               {"shortcut": "bye", "title": "Goodbye", "text": "Thanks for chatting, bye!", "widgets": ["anon"]}],
}
ME, LIST, SHOW = "/api/agent/me", "/api/agent/tickets", "/api/agent/tickets/{ticket}"
OPEN, MESSAGES, CLOSE = SHOW + "/open", SHOW + "/messages", SHOW + "/close"
TAKEOVER, WRAPUP, AUTOREPLY = SHOW + "/takeover", SHOW + "/wrapup", SHOW + "/autoreply"
CONTACTS, AGENTS = "/api/agent/contacts", "/api/agent/agents"


@dataclass
class SignedIn:
    session: requests.Session  # holds the session cookie
    agent: dict  # as the sign-in answered it


@pytest.fixture(scope="module")
def inbox(start_server):
    """A parley of this module's agents (they assign tickets and save contacts, which the shared server
    should not see): the widgets INBOX_WIDGETS, the admin Ann, the agent Bob (widget `shop` only), and
    INBOX_SETTINGS, written once the server runs (it re-reads the file when it changes)."""
    server = start_server(widgets=INBOX_WIDGETS, env={"PARLEY_RATE_LIMITS": "off"})
    for email, name, role, widget in (("ann@shop.example", "Ann Admin", "admin", "*"),
                                      ("bob@shop.example", "Bob Agent", "agent", "shop")):
        added = server.cli("agent", "add", email, "--name", name, "--role", role, "--widget", widget,
                           "--password-stdin", stdin=AGENT_PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    (server.data / "config" / "inbox.json").write_text(json.dumps(INBOX_SETTINGS, indent=2) + "\n")
    return server


def sign_in(server, document, validators, email: str) -> SignedIn:
    session = requests.Session()
    r = session.post(server.url("/api/agent/login"), json={"email": email, "password": AGENT_PASSWORD}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    check(document, validators, "post", "/api/agent/login", r)
    return SignedIn(session, r.json()["agent"])


@pytest.fixture(scope="module")
def ann(inbox, document, validators) -> SignedIn:
    return sign_in(inbox, document, validators, "ann@shop.example")


@pytest.fixture(scope="module")
def bob(inbox, document, validators) -> SignedIn:
    return sign_in(inbox, document, validators, "bob@shop.example")


def api_caller(server, document, validators):
    """`api(who, method, template, want, body=None, query=None, **params)`: `who` (SignedIn, or None for
    no session) calls the documented operation `template` (its {placeholders} filled from `params`) on
    `server`. The answer must have status `want` and match the document, required properties included;
    returns its JSON."""
    def call_api(who: SignedIn | None, method: str, template: str, want: int, body=None, query=None, **params):
        url = server.url(template.format(**params))
        r = (who.session if who else requests).request(method, url, json=body, params=query, timeout=TIMEOUT)
        assert r.status_code == want, f"{method} {url} answered {r.status_code}, not {want}: {r.text}"
        check(document, validators, method.lower(), template, r)
        data = r.json()
        assert_required_present(response_schema(document, method.lower(), template, want), data, f"{method} {template} {want}")
        return data
    return call_api


@pytest.fixture(scope="module")
def api(inbox, document, validators):
    """`api_caller` on the inbox's server."""
    return api_caller(inbox, document, validators)


def start_ticket(server, widget: str, email: str | None = "carla@example.com") -> tuple[str, str]:
    """A new ticket on `widget` (with that visitor email, if any): (id, visitor token)."""
    fields = {"name": "Carla Customer", "message": "Where is my order?"} | ({"email": email} if email else {})
    r = requests.post(server.url(f"/api/widgets/{widget}/tickets"), json={"fields": fields}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()["ticket"]["id"], r.json()["token"]


def visitor_event_types(server, document, validators, ticket_id: str, token: str) -> list[str]:
    r = requests.get(server.url(f"/api/tickets/{ticket_id}/events"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    check(document, validators, "get", "/api/tickets/{ticket}/events", r)
    return [e["type"] for e in r.json()["events"]]


def test_me_gives_teams_typing_preview_dispositions_and_canned_responses(api, ann, bob):
    assert ann.agent["teams"] == [] and bob.agent["widgets"] == ["shop"]
    me = api(bob, "GET", ME, 200)
    assert me["agent"] == bob.agent
    assert [(w["id"], w["typingPreview"]) for w in me["widgets"]] == [("shop", False)]
    # Only what applies to a widget Bob sees; `widgets` only where the settings name some.
    assert me["dispositions"] == INBOX_SETTINGS["dispositions"][:2]
    assert me["canned"] == INBOX_SETTINGS["canned"][:2]
    me = api(ann, "GET", ME, 200)
    assert sorted((w["id"], w["typingPreview"]) for w in me["widgets"]) == [("anon", True), ("shop", False)]
    assert me["dispositions"] == INBOX_SETTINGS["dispositions"] and me["canned"] == INBOX_SETTINGS["canned"]
    assert api(None, "GET", ME, 401)["error"]["code"] == "not_signed_in"


def test_ticket_list_takes_several_statuses(api, inbox, ann):
    open_id, _ = start_ticket(inbox, "shop")
    closed_id, _ = start_ticket(inbox, "shop")
    api(ann, "POST", CLOSE, 201, ticket=closed_id)
    for status, open_listed, closed_listed in (("active", True, False), ("open,pending", True, False),
                                               ("closed", False, True), ("active,closed", True, True)):
        body = api(ann, "GET", LIST, 200, query={"status": status})
        ids = {t["id"] for t in body["tickets"]}
        assert (open_id in ids, closed_id in ids) == (open_listed, closed_listed), status
    assert api(ann, "GET", LIST, 400, query={"status": "open,archived"})["error"]["code"] == "invalid_query"


def test_takeover_moves_the_ticket_and_only_its_holder_replies(api, inbox, document, validators, ann, bob):
    ticket_id, token = start_ticket(inbox, "shop")
    assert api(ann, "POST", OPEN, 200, ticket=ticket_id)["ticket"]["assignee"] == ann.agent["id"]

    # Ann has it: Bob may not reply until he takes it over.
    reply = {"id": "m-" + uuid.uuid4().hex[:12], "text": "Bob here, let me check."}
    refused = api(bob, "POST", MESSAGES, 409, reply, ticket=ticket_id)
    assert refused["error"]["code"] == "assigned_elsewhere"
    taken = api(bob, "POST", TAKEOVER, 201, ticket=ticket_id)
    assigned, joined = taken["events"]
    assert assigned["type"] == "assigned" and assigned["takeover"] is True
    assert (assigned["agent"], assigned["agentName"]) == (bob.agent["id"], "Bob Agent")
    assert (assigned["fromAgent"], assigned["fromAgentName"]) == (ann.agent["id"], "Ann Admin")
    assert joined["type"] == "agent.joined" and joined["by"]["id"] == bob.agent["id"]
    assert taken["ticket"]["assignee"] == bob.agent["id"]
    assert api(bob, "POST", TAKEOVER, 200, ticket=ticket_id) == {"events": []}
    assert api(bob, "POST", MESSAGES, 201, reply, ticket=ticket_id)["duplicate"] is False
    assert api(ann, "POST", MESSAGES, 409, reply | {"id": "m-ann-1"}, ticket=ticket_id)["error"]["code"] == "assigned_elsewhere"
    shown = api(ann, "GET", SHOW, 200, ticket=ticket_id)
    assert [e for e in shown["events"] if e.get("takeover")] == [assigned]
    # The visitor sees Bob join, not the (internal) assignment.
    types = visitor_event_types(inbox, document, validators, ticket_id, token)
    assert "agent.joined" in types and "assigned" not in types

    # Nobody held it: a plain assignment, no take-over fields.
    free_id, _ = start_ticket(inbox, "shop")
    assigned = api(bob, "POST", TAKEOVER, 201, ticket=free_id)["events"][0]
    assert assigned["type"] == "assigned" and not {"takeover", "fromAgent", "fromAgentName"} & set(assigned)

    # Not on a closed ticket, nor on a widget the agent has no access to.
    api(bob, "POST", CLOSE, 201, ticket=ticket_id)
    assert api(ann, "POST", TAKEOVER, 409, ticket=ticket_id)["error"]["code"] == "ticket_closed"
    anon_id, _ = start_ticket(inbox, "anon", email=None)
    assert api(bob, "POST", TAKEOVER, 403, ticket=anon_id)["error"]["code"] == "widget_forbidden"
    assert api(None, "POST", TAKEOVER, 401, ticket=anon_id)["error"]["code"] == "not_signed_in"


def test_wrapup_takes_only_the_widgets_dispositions(api, inbox, ann):
    ticket_id, _ = start_ticket(inbox, "shop")
    anon_id, _ = start_ticket(inbox, "anon", email=None)

    def fields(body) -> set[str]:
        return set(body["error"]["fields"])

    assert fields(api(ann, "POST", WRAPUP, 422, {}, ticket=ticket_id)) == {"notes"}
    assert fields(api(ann, "POST", WRAPUP, 422, {"disposition": " ", "notes": ""}, ticket=ticket_id)) == {"notes"}
    assert fields(api(ann, "POST", WRAPUP, 422, {"disposition": "refund"}, ticket=ticket_id)) == {"disposition"}
    # `question` is set up for `shop` only.
    assert fields(api(ann, "POST", WRAPUP, 422, {"disposition": "question"}, ticket=anon_id)) == {"disposition"}
    assert fields(api(ann, "POST", WRAPUP, 422, {"notes": "x" * 4001}, ticket=ticket_id)) == {"notes"}
    api(ann, "POST", WRAPUP, 400, {"notes": 5}, ticket=ticket_id)
    done = api(ann, "POST", WRAPUP, 201, {"disposition": " question ", "notes": " Sent the size chart. "}, ticket=ticket_id)
    [event] = done["events"]
    assert (event["type"], event["disposition"], event["notes"]) == ("wrapup", "question", "Sent the size chart.")
    assert done["ticket"]["status"] == "open"

    # Closing checks the code the same way (and closes nothing when it is wrong); a wrap-up after the end.
    assert fields(api(ann, "POST", CLOSE, 422, {"disposition": "refund"}, ticket=ticket_id)) == {"disposition"}
    closed = api(ann, "POST", CLOSE, 201, {"disposition": "sale"}, ticket=ticket_id)
    assert [e["type"] for e in closed["events"]] == ["wrapup", "status"] and closed["ticket"]["status"] == "closed"
    later = api(ann, "POST", WRAPUP, 201, {"notes": "Customer called back."}, ticket=ticket_id)
    assert "disposition" not in later["events"][0] and later["ticket"]["status"] == "closed"
    assert api(ann, "POST", WRAPUP, 201, {"disposition": "spam"}, ticket=anon_id)["events"][0]["disposition"] == "spam"


def test_autoreply_flag(api, inbox, document, validators, ann):
    ticket_id, token = start_ticket(inbox, "shop")
    assert "skipNextAutoReply" not in api(ann, "GET", SHOW, 200, ticket=ticket_id)["ticket"]
    skipped = api(ann, "POST", AUTOREPLY, 201, {"skip": True}, ticket=ticket_id)
    [event] = skipped["events"]
    assert (event["type"], event["skip"]) == ("autoreply.skip", True)
    assert skipped["ticket"]["skipNextAutoReply"] is True
    assert api(ann, "POST", AUTOREPLY, 200, {"skip": True}, ticket=ticket_id) == {"events": []}
    assert api(ann, "GET", SHOW, 200, ticket=ticket_id)["ticket"]["skipNextAutoReply"] is True
    cleared = api(ann, "POST", AUTOREPLY, 201, {"skip": False}, ticket=ticket_id)
    assert cleared["events"][0]["skip"] is False and "skipNextAutoReply" not in cleared["ticket"]
    assert api(ann, "POST", AUTOREPLY, 200, {"skip": False}, ticket=ticket_id) == {"events": []}
    api(ann, "POST", AUTOREPLY, 400, {}, ticket=ticket_id)
    api(ann, "POST", AUTOREPLY, 400, {"skip": "yes"}, ticket=ticket_id)
    assert "autoreply.skip" not in visitor_event_types(inbox, document, validators, ticket_id, token)


def test_contacts(api, inbox, ann, bob):
    ticket_id, _ = start_ticket(inbox, "shop", email="Dora@Example.com")
    anon_id, _ = start_ticket(inbox, "anon", email=None)
    assert api(bob, "GET", SHOW, 200, ticket=ticket_id)["contact"] is False
    added = api(bob, "POST", CONTACTS, 201, {"ticket": ticket_id})["contact"]
    assert (added["email"], added["name"], added["addedBy"]) == ("dora@example.com", "Carla Customer", bob.agent["id"])
    # The same visitor again (from any ticket of that email): 200, unchanged.
    again_id, _ = start_ticket(inbox, "shop", email="dora@example.com")
    assert api(ann, "POST", CONTACTS, 200, {"ticket": again_id})["contact"] == added
    assert api(ann, "GET", SHOW, 200, ticket=ticket_id)["contact"] is True
    assert added in api(ann, "GET", CONTACTS, 200)["contacts"]
    assert added in api(bob, "GET", CONTACTS, 200)["contacts"]

    no_email = api(ann, "POST", CONTACTS, 422, {"ticket": anon_id})["error"]
    assert no_email["code"] == "no_email" and set(no_email["fields"]) == {"ticket"}
    assert api(ann, "GET", SHOW, 200, ticket=anon_id)["contact"] is False
    # A ticket Bob may not see is, for him, no ticket at all.
    assert api(bob, "POST", CONTACTS, 404, {"ticket": anon_id})["error"]["code"] == "ticket_not_found"
    assert api(ann, "POST", CONTACTS, 404, {"ticket": "20200101-aaaaaaaaaa"})["error"]["code"] == "ticket_not_found"
    api(ann, "POST", CONTACTS, 400, {"email": "dora@example.com"})
    assert api(None, "GET", CONTACTS, 401)["error"]["code"] == "not_signed_in"
    assert api(None, "POST", CONTACTS, 401, {"ticket": ticket_id})["error"]["code"] == "not_signed_in"


def test_agents_lists_active_agents_and_who_has_the_inbox_open(api, inbox, ann, bob):
    # Bob opens the live stream (as the inbox page does); he is online once it says hello.
    with bob.session.get(inbox.url("/api/agent/live"), stream=True, timeout=TIMEOUT) as live:
        assert live.status_code == 200
        for line in live.iter_lines(chunk_size=None):
            if line == b"event: hello":
                break
        listed = api(ann, "GET", AGENTS, 200)["agents"]
    assert [a["name"] for a in listed] == ["Ann Admin", "Bob Agent"]
    first, second = listed
    assert (first["id"], first["role"], first["widgets"], first["online"]) == (ann.agent["id"], "admin", ["*"], False)
    assert (second["id"], second["role"], second["widgets"], second["online"]) == (bob.agent["id"], "agent", ["shop"], True)
    assert api(bob, "GET", AGENTS, 200)["agents"][0]["teams"] == []
    assert api(None, "GET", AGENTS, 401)["error"]["code"] == "not_signed_in"


# --- the admin console: real answers of a signed-in admin ------------------------------------------

WIDGETS, WIDGET, DRAFT = "/api/admin/widgets", "/api/admin/widgets/{widget}", "/api/admin/widgets/{widget}/draft"
PUBLISH, PREVIEW = WIDGET + "/publish", WIDGET + "/preview"
VERSIONS, VERSION, RESTORE = WIDGET + "/versions", WIDGET + "/versions/{version}", WIDGET + "/versions/{version}/restore"
ADMIN_AGENTS, ADMIN_AGENT, PASSWORD = "/api/admin/agents", "/api/admin/agents/{agent}", "/api/admin/agents/{agent}/password"
TEAMS, INBOX, RULES, AUDIT = "/api/admin/teams", "/api/admin/inbox", "/api/admin/rules", "/api/admin/audit"
TIMEZONES, DEFAULTS, INVITE = "/api/admin/timezones", "/api/admin/defaults", "/api/invite"
# One call of every admin operation (method, template, body, params), for the 401 and 403 checks.
ERASE, PURGE = "/api/admin/erase", "/api/admin/purge"

ADMIN_CALLS = [
    ("GET", WIDGETS, None, {}), ("POST", WIDGETS, {"id": "x", "name": "X"}, {}), ("GET", WIDGET, None, {"widget": "shop"}),
    ("PUT", DRAFT, {"id": "shop"}, {"widget": "shop"}), ("DELETE", DRAFT, None, {"widget": "shop"}),
    ("POST", PUBLISH, {}, {"widget": "shop"}), ("GET", VERSIONS, None, {"widget": "shop"}),
    ("GET", VERSION, None, {"widget": "shop", "version": 1}), ("POST", RESTORE, None, {"widget": "shop", "version": 1}),
    ("POST", PREVIEW, {"id": "shop"}, {"widget": "shop"}), ("GET", TIMEZONES, None, {}), ("GET", DEFAULTS, None, {}),
    ("GET", ADMIN_AGENTS, None, {}), ("POST", ADMIN_AGENTS, {"email": "x@shop.example", "name": "X"}, {}),
    ("PATCH", ADMIN_AGENT, {"name": "X"}, {"agent": "a_x"}), ("POST", PASSWORD, {}, {"agent": "a_x"}),
    ("GET", TEAMS, None, {}), ("PUT", TEAMS, {"teams": []}, {}), ("GET", INBOX, None, {}), ("PUT", INBOX, {}, {}),
    ("GET", RULES, None, {}), ("PUT", RULES, {"rules": []}, {}), ("GET", AUDIT, None, {}),
    ("POST", ERASE, {"email": "x@example.com"}, {}), ("POST", PURGE, {"closedBefore": "2000-01-01", "dryRun": True}, {}),
]


@pytest.fixture(scope="module")
def admin_site(start_server):
    """A server of its own for the admin tests (they change widgets, agents and rules): the widget `shop`
    written by hand (live, but not in the history), the admin Ada and the agent Abe (CLI-made)."""
    server = start_server(widgets=[{"id": "shop", "name": "Shop help", "language": "en"}],
                          env={"PARLEY_RATE_LIMITS": "off", "PARLEY_BCRYPT_COST": "4"})
    for email, name, role in (("ada@shop.example", "Ada Admin", "admin"), ("abe@shop.example", "Abe Agent", "agent")):
        added = server.cli("agent", "add", email, "--name", name, "--role", role, "--widget", "shop",
                           "--password-stdin", stdin=AGENT_PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    return server


@pytest.fixture(scope="module")
def admin_api(admin_site, document, validators):
    return api_caller(admin_site, document, validators)


@pytest.fixture(scope="module")
def ada(admin_site, document, validators) -> SignedIn:
    return sign_in(admin_site, document, validators, "ada@shop.example")


@pytest.fixture(scope="module")
def abe(admin_site, document, validators) -> SignedIn:
    return sign_in(admin_site, document, validators, "abe@shop.example")


def raw_call(server, who: SignedIn | None, method: str, path: str, **kwargs) -> requests.Response:
    return (who.session if who else requests).request(method, server.url(path), timeout=TIMEOUT, **kwargs)


def test_admin_routes_need_an_admin_session(admin_api, admin_site, document, validators, abe):
    assert {(m.lower(), t) for m, t, _, _ in ADMIN_CALLS} == {op for op in EXPECTED_OPERATIONS if op[1].startswith("/api/admin/")}
    for method, template, body, params in ADMIN_CALLS:
        refused = admin_api(abe, method, template, 403, body, **params)["error"]
        assert refused["code"] == "admin_only", (method, template, refused)
        assert admin_api(None, method, template, 401, body, **params)["error"]["code"] == "not_signed_in", (method, template)
    # Another site's page may not call it, even with the cookie.
    r = raw_call(admin_site, abe, "GET", WIDGETS, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    check(document, validators, "get", WIDGETS, r)


def test_test_clock_is_not_served_without_its_flag(admin_site, ada):
    r = raw_call(admin_site, ada, "POST", "/api/test/clock", json={"now": "2026-11-21T10:00:00Z"})
    assert r.status_code == 404, r.text


def test_admin_widget_lifecycle_conforms(admin_api, admin_site, document, validators, ada):
    listed = admin_api(ada, "GET", WIDGETS, 200)["widgets"]
    assert [(w["id"], w["version"], w["hasDraft"]) for w in listed] == [("shop", 1, False)]
    # Written by hand: live as version 1, with no publish time yet.
    shop = admin_api(ada, "GET", WIDGET, 200, widget="shop")
    assert shop["published"]["name"] == "Shop help" and shop["publishedAt"] is None and shop["draft"] is None
    assert admin_api(ada, "GET", VERSIONS, 200, widget="shop")["versions"][0]["version"] == 1
    assert admin_api(ada, "GET", WIDGET, 404, widget="nope")["error"]["code"] == "widget_not_found"
    assert admin_api(ada, "GET", WIDGET, 404, widget="Not_An_Id")["error"]["code"] == "widget_not_found"

    # A new widget is a draft, not live.
    created = admin_api(ada, "POST", WIDGETS, 201, {"id": "promo", "name": "Promo desk"})
    assert (created["id"], created["version"], created["published"]) == ("promo", 0, None)
    assert created["draft"]["name"] == "Promo desk" and created["draftBy"]["id"] == ada.agent["id"]
    assert created["warnings"], "no allowed sites and no identity secret: warnings expected"
    assert requests.get(admin_site.url("/api/widgets/promo/config"), timeout=TIMEOUT).status_code == 404
    assert admin_api(ada, "POST", WIDGETS, 409, {"id": "promo", "name": "Again"})["error"]["code"] == "widget_exists"
    bad = admin_api(ada, "POST", WIDGETS, 422, {"id": "Bad id!", "name": " "})["error"]
    assert bad["code"] == "invalid_input" and set(bad["fields"]) == {"id", "name"}
    admin_api(ada, "POST", WIDGETS, 400, {"id": "x"})
    assert admin_api(ada, "DELETE", DRAFT, 409, widget="promo")["error"]["code"] == "never_published"

    # A draft with most settings used; a 422 names every bad one by its path.
    draft = created["draft"] | {
        "spacing": 40, "alignment": "left", "color": "#1a7f37", "allowedOrigins": ["https://shop.example"],
        "pathRules": {"mode": "blacklist", "paths": ["/checkout*"]},
        "hours": {"timeZone": "Europe/Paris", "weekly": {"mon": ["09:00-12:30", "14:00-18:00"], "sat": []}, "closed": ["2026-12-25"]},
        "offline": {"mode": "message", "message": "We are closed.", "contact": "call 01 23 45 67 89", "leaveMessage": True,
                    "noAgentAsClosed": True, "awayMessage": "Nobody is here."},
        "fields": created["draft"]["fields"] + [{"id": "topic", "type": "category", "label": "Topic", "hint": "Pick one",
                                                 "required": True, "maxLength": 40, "options": ["Orders", "Returns"]}],
        "options": [{"label": "Where is my order?", "welcome": "Let me check.", "team": "logistics"}, {"label": "Other"}],
        "prompt": {"delay": 20, "title": "Need a hand?", "message": "We usually reply in minutes."},
        "identity": "organisation", "organisation": "Promo Ltd", "language": "fr", "strings": {"fr": {"start": "Discuter"}},
        "sound": True, "typingPreview": True, "identitySecret": "0123456789abcdef0123456789abcdef", "targetResponseSeconds": 300,
        "maxFileSize": 1024 * 1024, "maxFiles": 3, "allowedTypes": ["image/*", "application/pdf"]}
    saved = admin_api(ada, "PUT", DRAFT, 200, draft, widget="promo")
    assert saved["draft"] == draft and saved["version"] == 0 and saved["warnings"] == []
    invalid = admin_api(ada, "PUT", DRAFT, 422, draft | {
        "spacing": -1, "color": "red", "language": "de", "maxFiles": 0, "allowedTypes": [], "allowedOrigins": ["https://shop.example/x"],
        "hours": {"timeZone": "Mars/Olympus", "weekly": {"mon": ["18:00-09:00"]}}, "prompt": {"delay": 9999, "title": "", "message": "x"},
        "fields": [{"id": "name", "type": "name", "label": ""}], "identitySecret": "short"}, widget="promo")["error"]
    assert set(invalid["fields"]) == {"spacing", "color", "language", "maxFiles", "allowedTypes", "allowedOrigins[0]", "hours.timeZone",
                                      "hours.weekly.mon[0]", "prompt.delay", "prompt.title", "fields[0].label", "identitySecret"}
    assert set(admin_api(ada, "PUT", DRAFT, 422, draft | {"id": "other"}, widget="promo")["error"]["fields"]) == {"id"}
    assert admin_api(ada, "PUT", DRAFT, 404, draft | {"id": "nope"}, widget="nope")["error"]["code"] == "widget_not_found"
    admin_api(ada, "PUT", DRAFT, 400, {"name": "no id"}, widget="promo")
    r = raw_call(admin_site, ada, "PUT", DRAFT.format(widget="promo"), data=json.dumps(draft), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    check(document, validators, "put", DRAFT, r)
    r = raw_call(admin_site, ada, "PUT", DRAFT.format(widget="promo"), json=draft | {"welcome": "x" * (70 * 1024)})
    assert r.status_code == 413
    check(document, validators, "put", DRAFT, r)

    # The preview is the loader's config for unsaved settings, and saves nothing.
    preview = admin_api(ada, "POST", PREVIEW, 200, draft | {"welcome": "Unsaved"}, widget="promo")
    assert (preview["id"], preview["welcome"], preview["spacing"], preview["identify"]) == ("promo", "Unsaved", 40, True)
    assert set(admin_api(ada, "POST", PREVIEW, 422, draft | {"spacing": 5000}, widget="promo")["error"]["fields"]) == {"spacing"}
    assert admin_api(ada, "GET", WIDGET, 200, widget="promo")["draft"]["welcome"] == draft["welcome"]

    # Publish: only from the version the draft was based on; then live, and no draft.
    assert admin_api(ada, "POST", PUBLISH, 409, {"version": 3}, widget="promo")["error"]["code"] == "version_conflict"
    published = admin_api(ada, "POST", PUBLISH, 200, {"version": 0}, widget="promo")
    assert (published["version"], published["draft"], published["published"]) == (1, None, draft)
    assert published["publishedBy"]["id"] == ada.agent["id"] and published["publishedAt"]
    assert admin_api(ada, "POST", PUBLISH, 409, {}, widget="promo")["error"]["code"] == "no_draft"
    live = requests.get(admin_site.url("/api/widgets/promo/config"), timeout=TIMEOUT)
    assert live.status_code == 200 and live.json()["spacing"] == 40

    # A second version, then the first one again (history is append-only).
    admin_api(ada, "PUT", DRAFT, 200, draft | {"spacing": 60}, widget="promo")
    assert admin_api(ada, "POST", PUBLISH, 200, {"version": 1}, widget="promo")["version"] == 2
    versions = admin_api(ada, "GET", VERSIONS, 200, widget="promo")["versions"]
    assert [(v["version"], v["changed"], v["restoredFrom"]) for v in versions] == [(2, ["spacing"], None), (1, [], None)]
    one = admin_api(ada, "GET", VERSION, 200, widget="promo", version=1)
    assert one["widget"] == draft and one["by"]["id"] == ada.agent["id"]
    for missing in (0, 9):
        assert admin_api(ada, "GET", VERSION, 404, widget="promo", version=missing)["error"]["code"] == "version_not_found"
    admin_api(ada, "PUT", DRAFT, 200, draft | {"spacing": 80}, widget="promo")
    restored = admin_api(ada, "POST", RESTORE, 200, widget="promo", version=1)
    assert (restored["version"], restored["draft"], restored["published"]["spacing"]) == (3, None, 40)
    assert admin_api(ada, "GET", VERSIONS, 200, widget="promo")["versions"][0]["restoredFrom"] == 1
    assert admin_api(ada, "POST", RESTORE, 404, widget="promo", version=7)["error"]["code"] == "version_not_found"
    assert admin_api(ada, "POST", RESTORE, 404, widget="nope", version=1)["error"]["code"] == "widget_not_found"

    # Discarding a draft of a published widget.
    admin_api(ada, "PUT", DRAFT, 200, draft | {"name": "Scrapped"}, widget="promo")
    assert admin_api(ada, "GET", WIDGETS, 200)["widgets"][0]["hasDraft"] is True
    discarded = admin_api(ada, "DELETE", DRAFT, 200, widget="promo")
    assert discarded["draft"] is None and discarded["published"]["name"] == "Promo desk"
    assert admin_api(ada, "DELETE", DRAFT, 409, widget="promo")["error"]["code"] == "no_draft"

    # The editor's helpers.
    zones = admin_api(ada, "GET", TIMEZONES, 200)["timeZones"]
    assert "Europe/Paris" in zones and zones == sorted(zones)
    defaults = admin_api(ada, "GET", DEFAULTS, 200)["widget"]
    assert (defaults["id"], defaults["name"], defaults["spacing"]) == ("", "", 25) and defaults["allowedTypes"]


def test_admin_agents_and_invites_conform(admin_api, admin_site, document, validators, ada, abe):
    listed = {a["email"]: a for a in admin_api(ada, "GET", ADMIN_AGENTS, 200)["agents"]}
    assert listed["ada@shop.example"]["role"] == "admin" and listed["ada@shop.example"]["passwordSet"] is True
    assert listed["abe@shop.example"]["widgets"] == ["shop"]

    # Without a password: an invite link; with one: none, and the agent can sign in at once.
    invited = admin_api(ada, "POST", ADMIN_AGENTS, 201,
                        {"email": "Cleo@Shop.example", "name": "Cleo", "widgets": ["shop"], "teams": ["sales"]})
    cleo = invited["agent"]
    assert (cleo["email"], cleo["role"], cleo["passwordSet"]) == ("cleo@shop.example", "agent", False)
    assert "/setup?invite=" in invited["invite"]
    direct = admin_api(ada, "POST", ADMIN_AGENTS, 201, {"email": "dora@shop.example", "name": "Dora", "password": AGENT_PASSWORD})
    assert direct["invite"] is None and direct["agent"]["passwordSet"] is True
    sign_in(admin_site, document, validators, "dora@shop.example")
    assert admin_api(ada, "POST", ADMIN_AGENTS, 409, {"email": "dora@shop.example", "name": "Dora"})["error"]["code"] == "agent_exists"
    bad = admin_api(ada, "POST", ADMIN_AGENTS, 422, {"email": "not-an-email", "name": "", "password": "short",
                                                    "widgets": ["Bad!"], "teams": ["a team"]})["error"]
    assert set(bad["fields"]) == {"email", "name", "password", "widgets[0]", "teams[0]"}
    admin_api(ada, "POST", ADMIN_AGENTS, 400, {"email": "eve@shop.example", "name": "Eve", "role": "boss"})

    # Changes; Ada is the only admin, so she may not stop being one.
    changed = admin_api(ada, "PATCH", ADMIN_AGENT, 200, {"name": "Dora D", "widgets": ["*"], "teams": []}, agent=direct["agent"]["id"])
    assert (changed["agent"]["name"], changed["agent"]["widgets"], changed["invite"]) == ("Dora D", ["*"], None)
    for change in ({"role": "agent"}, {"disabled": True}):
        assert admin_api(ada, "PATCH", ADMIN_AGENT, 409, change, agent=ada.agent["id"])["error"]["code"] == "last_admin"
    assert set(admin_api(ada, "PATCH", ADMIN_AGENT, 422, {"name": " "}, agent=cleo["id"])["error"]["fields"]) == {"name"}
    # An unknown agent id answers 404 `agent_not_found`.
    assert admin_api(ada, "PATCH", ADMIN_AGENT, 404, {"name": "X"}, agent="a_nobody")["error"]["code"] == "agent_not_found"

    # Reset links and passwords.
    reset = admin_api(ada, "POST", PASSWORD, 200, {}, agent=cleo["id"])
    assert reset["invite"] and reset["invite"] != invited["invite"] and reset["agent"]["passwordSet"] is False
    assert set(admin_api(ada, "POST", PASSWORD, 422, {"password": "short"}, agent=cleo["id"])["error"]["fields"]) == {"password"}
    assert admin_api(ada, "POST", PASSWORD, 404, {}, agent="a_nobody")["error"]["code"] == "agent_not_found"
    admin_api(ada, "POST", PASSWORD, 400, {"password": 5}, agent=cleo["id"])
    set_now = admin_api(ada, "POST", PASSWORD, 200, {"password": "another fine password"}, agent=direct["agent"]["id"])
    assert set_now["invite"] is None and set_now["agent"]["passwordSet"] is True

    # The invite page: the first link was replaced by the reset; the new one works once.
    first, token = (link.split("invite=", 1)[1] for link in (invited["invite"], reset["invite"]))
    assert admin_api(None, "GET", INVITE, 410, query={"token": first})["error"]["code"] == "invite_invalid"
    assert admin_api(None, "GET", INVITE, 200, query={"token": token}) == {"email": "cleo@shop.example", "name": "Cleo"}
    assert admin_api(None, "GET", INVITE, 410)["error"]["code"] == "invite_invalid"
    assert set(admin_api(None, "POST", INVITE, 422, {"token": token, "password": "short"})["error"]["fields"]) == {"password"}
    admin_api(None, "POST", INVITE, 400, {"token": token})
    assert admin_api(None, "POST", INVITE, 200, {"token": token, "password": AGENT_PASSWORD}) == {"email": "cleo@shop.example"}
    assert admin_api(None, "POST", INVITE, 410, {"token": token, "password": AGENT_PASSWORD})["error"]["code"] == "invite_invalid"
    assert admin_api(None, "GET", INVITE, 410, query={"token": token})["error"]["code"] == "invite_invalid"
    assert sign_in(admin_site, document, validators, "cleo@shop.example").agent["email"] == "cleo@shop.example"
    assert {a["email"]: a for a in admin_api(ada, "GET", ADMIN_AGENTS, 200)["agents"]}["cleo@shop.example"]["passwordSet"] is True


def test_admin_teams_inbox_and_rules_conform(admin_api, ada):
    assert admin_api(ada, "GET", TEAMS, 200) == {"teams": []}
    teams = admin_api(ada, "PUT", TEAMS, 200, {"teams": [{"id": "sales", "name": "Sales", "widgets": ["shop"]}, {"id": "support"}]})
    assert teams == {"teams": [{"id": "sales", "name": "Sales", "widgets": ["shop"]}, {"id": "support", "name": "support", "widgets": []}]}
    assert admin_api(ada, "GET", TEAMS, 200) == teams
    bad = admin_api(ada, "PUT", TEAMS, 422, {"teams": [{"id": "sales", "name": "", "widgets": ["Bad!"]}, {"id": "SALES"}]})["error"]
    assert set(bad["fields"]) == {"teams[0].name", "teams[0].widgets[0]", "teams[1].id"}
    assert set(admin_api(ada, "PUT", TEAMS, 422, {"groups": []})["error"]["fields"]) == {"teams"}

    settings = {"dispositions": [{"code": "sale", "label": "Sale made"}, {"code": "refund", "label": "Refund", "widgets": ["shop"]}],
                "canned": [{"shortcut": "hello", "title": "Greeting", "text": "Hello! How can I help?"}]}
    assert admin_api(ada, "GET", INBOX, 200) == {"dispositions": [], "canned": []}
    assert admin_api(ada, "PUT", INBOX, 200, settings) == settings
    assert admin_api(ada, "GET", INBOX, 200) == settings
    bad = admin_api(ada, "PUT", INBOX, 422, {"dispositions": [{"code": "a b", "label": ""}],
                                             "canned": [{"shortcut": "hello", "title": "T", "text": ""}]})["error"]
    assert set(bad["fields"]) == {"dispositions[0].code", "dispositions[0].label", "canned[0].text"}
    admin_api(ada, "PUT", INBOX, 413, {"canned": [{"shortcut": "big", "title": "Big", "text": "x" * (70 * 1024)}]})

    rules = [{"id": "away", "name": "Closed reply", "enabled": True, "on": ["opened"], "match": "all",
              "conditions": [{"type": "outsideHours"}], "actions": [{"type": "reply", "text": "We are closed, back soon."}],
              "repeats": False},
             {"id": "vip", "name": "VIP", "enabled": False, "on": ["opened", "message"], "match": "any",
              "conditions": [{"type": "emailDomain", "value": "bigcorp.example"},
                             {"type": "fieldEquals", "field": "topic", "value": "Orders"}],
              "actions": [{"type": "priority", "value": "high"}, {"type": "tag", "value": "vip"}, {"type": "team", "value": "sales"}],
              "repeats": True}]
    assert admin_api(ada, "GET", RULES, 200) == {"rules": []}
    assert admin_api(ada, "PUT", RULES, 200, {"rules": rules}) == {"rules": rules}
    # Defaults fill what is not sent.
    short = admin_api(ada, "PUT", RULES, 200, {"rules": [{"id": "close", "name": "Close", "actions": [{"type": "close"}]}]})["rules"][0]
    assert (short["enabled"], short["on"], short["match"], short["conditions"], short["repeats"]) == (
        True, ["opened", "message"], "all", [], False)
    bad = admin_api(ada, "PUT", RULES, 422, {"rules": [
        {"id": "b b", "name": "", "on": [], "conditions": [{"type": "priority", "value": "meh"}], "actions": []},
        rules[0], rules[0] | {"actions": [{"type": "reply"}]}]})["error"]
    assert set(bad["fields"]) == {"rules[0].id", "rules[0].name", "rules[0].on", "rules[0].conditions[0].value", "rules[0].actions",
                                  "rules[2].id", "rules[2].actions[0].value"}
    admin_api(ada, "PUT", RULES, 400, {"rules": [{"id": "x", "actions": [{"type": "explode"}]}]})
    assert admin_api(ada, "PUT", RULES, 200, {"rules": rules})["rules"] == rules


def test_admin_audit_conforms(admin_api, ada):
    for team in ("audit-1", "audit-2", "audited"):  # enough entries for two pages, whatever ran before
        admin_api(ada, "PUT", TEAMS, 200, {"teams": [{"id": team, "name": team.title()}]})
    page = admin_api(ada, "GET", AUDIT, 200)
    newest = page["entries"][0]
    assert (newest["action"], newest["by"]["id"], newest["detail"]) == ("teams.update", ada.agent["id"], {"teams": "audited"})
    # The CLI's own entries, oldest first in the file.
    oldest = page["entries"][-1]
    assert (oldest["n"], oldest["action"], oldest["by"], oldest["target"]) == (1, "agent.add", {"kind": "cli"}, "ada@shop.example")
    ns = [e["n"] for e in page["entries"]]
    assert ns == sorted(ns, reverse=True) and page["more"] is False
    older = admin_api(ada, "GET", AUDIT, 200, query={"limit": 2, "before": ns[0]})
    assert [e["n"] for e in older["entries"]] == ns[1:3] and older["more"] is True
    assert admin_api(ada, "GET", AUDIT, 200, query={"before": 1}) == {"entries": [], "more": False}
    for query in ({"limit": 0}, {"limit": 1001}, {"before": -1}, {"limit": "ten"}):
        assert admin_api(ada, "GET", AUDIT, 400, query=query)["error"]["code"] == "invalid_query"
    # Never a password in the log.
    assert AGENT_PASSWORD not in json.dumps(page)


def test_admin_erase_and_purge_conform(admin_api, admin_site, ada):
    """Erase and purge from the admin page, while the server runs."""
    def start(email: str) -> tuple[str, str]:
        r = requests.post(admin_site.url("/api/widgets/shop/tickets"), timeout=TIMEOUT,
                          json={"fields": {"name": "Eve", "email": email, "message": "please forget me"}})
        assert r.status_code == 201, r.text
        return r.json()["ticket"]["id"], r.json()["token"]
    ticket, token = start("eve.erase@example.com")
    erased = admin_api(ada, "POST", ERASE, 200, {"email": "Eve.Erase@example.com"})
    assert (erased["tickets"], erased["contact"], erased["mentionedElsewhere"]) == (1, False, 0) and erased["files"] >= 1
    assert requests.get(admin_site.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {token}"},
                        timeout=TIMEOUT).status_code == 404
    assert admin_api(ada, "POST", ERASE, 200, {"email": "eve.erase@example.com"})["tickets"] == 0
    assert set(admin_api(ada, "POST", ERASE, 422, {"email": "not an email"})["error"]["fields"]) == {"email"}
    admin_api(ada, "POST", ERASE, 400, {})

    closed, _ = start("old.customer@example.com")
    r = ada.session.post(admin_site.url(f"/api/agent/tickets/{closed}/close"), json={}, timeout=TIMEOUT)
    assert r.status_code in (200, 201), r.text
    dry = admin_api(ada, "POST", PURGE, 200, {"closedBefore": "2999-01-01", "dryRun": True})
    assert closed in dry["tickets"] and dry["dryRun"] is True and dry["files"] == 0
    assert admin_api(ada, "POST", PURGE, 200, {"closedBefore": "2000-01-01"})["tickets"] == []
    done = admin_api(ada, "POST", PURGE, 200, {"closedBefore": "2999-01-01"})
    assert closed in done["tickets"] and done["dryRun"] is False
    assert set(admin_api(ada, "POST", PURGE, 422, {"closedBefore": "last year"})["error"]["fields"]) == {"closedBefore"}
    actions = [e["action"] for e in admin_api(ada, "GET", AUDIT, 200)["entries"][:3]]
    assert actions[0] == "purged" and "erased" in actions
