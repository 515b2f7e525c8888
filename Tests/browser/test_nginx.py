"""Real nginx in front of parley, with the site configuration docs/deploy.md tells owners to use.

The ```nginx block after `<!-- nginx-site -->` in docs/deploy.md is taken verbatim; only what a
test must change is changed: the upstream port (parley's test port for 127.0.0.1:8080), the TLS
listen lines (a plain loopback port for `listen 443 ssl`), the `ssl_*` lines, and the port-80
redirect server. nginx (Debian's /usr/sbin/nginx, or PARLEY_NGINX) runs as a child with its own
prefix in a temp folder. No browser; waits are on real conditions (a TCP connect, an SSE line
with a deadline). parley runs with a 60 s heartbeat, so nothing but the events themselves can
push a buffered stream along.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

from conftest import REPO

NGINX = os.environ.get("PARLEY_NGINX", "/usr/sbin/nginx")
DEPLOY_DOC = REPO / "docs" / "deploy.md"
SITE_BLOCK = re.compile(r"<!-- nginx-site -->\s*\n```nginx\n(.*?)\n```", re.S)
DOCUMENTED_UPSTREAM = "127.0.0.1:8080"
TIMEOUT = 10
# How long an event may take to cross nginx. Far below parley's heartbeat (60 s here): a
# buffering proxy holds events until its buffer fills or the stream ends, so it cannot meet this.
STREAM_DEADLINE = 5
NGINX_START_DEADLINE = 10
AGENT_PASSWORD = "a long password for the proxy tests"


# --- The documented site, made runnable on loopback ---------------------------------------------

def documented_site() -> str:
    m = SITE_BLOCK.search(DEPLOY_DOC.read_text())
    assert m, f"{DEPLOY_DOC} has no ```nginx block right after <!-- nginx-site -->"
    return m.group(1)


def top_level_blocks(conf: str) -> list[str]:
    """The top-level statements of an nginx config (here: `server { … }` blocks), as text."""
    blocks, current, depth = [], [], 0
    for line in conf.splitlines():
        code = line.split("#", 1)[0]
        if depth == 0 and not current and not code.strip():
            continue  # blank lines and comments between blocks
        current.append(line)
        depth += code.count("{") - code.count("}")
        if depth == 0 and code.strip():
            blocks.append("\n".join(current))
            current = []
    assert depth == 0 and not current, "unbalanced braces in the documented nginx site"
    return blocks


def site_for_test(site: str, upstream_port: int, listen_port: int) -> str:
    """The documented site with only the test's substitutions (see the module docstring)."""
    assert DOCUMENTED_UPSTREAM in site, f"the documented site does not proxy to {DOCUMENTED_UPSTREAM}"
    servers = [b for b in top_level_blocks(site) if not re.search(r"^\s*listen\s+(\[::\]:)?80\b", b, re.M)]
    assert len(servers) == 1, f"expected one HTTPS server besides the port-80 redirect, found {len(servers)}"
    lines, listens = [], 0
    for line in servers[0].splitlines():
        stripped = line.strip()
        if re.match(r"listen\s+(\[::\]:)?443\s+ssl\b", stripped):
            if listens == 0:
                lines.append(f"    listen 127.0.0.1:{listen_port};")
            listens += 1
        elif stripped.startswith("ssl_"):
            continue
        else:
            lines.append(line)
    assert listens >= 1, "the documented HTTPS server has no `listen 443 ssl` line"
    return "\n".join(lines).replace(DOCUMENTED_UPSTREAM, f"127.0.0.1:{upstream_port}") + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, port: int, root: Path, process: subprocess.Popen):
        self.port = port
        self.root = root
        self.process = process
        self.origin = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.root / "error.log", self.root / "nginx.out") if p.exists())


@contextlib.contextmanager
def running_nginx(root: Path, upstream_port: int):
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} not found: install Debian's nginx-light (or set PARLEY_NGINX)")
    port = free_port()
    site = root / "parley-site.conf"
    site.write_text(site_for_test(documented_site(), upstream_port, port))
    temp = {name: root / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    # As root, nginx would run its workers as `nobody`, who cannot reach this temp folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    gzip on;  # as in Debian's /etc/nginx/nginx.conf
    include {site};
}}
""")
    with open(root / "nginx.out", "wb") as out:
        process = subprocess.Popen([NGINX, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    server = Nginx(port, root, process)
    try:
        deadline = time.monotonic() + NGINX_START_DEADLINE
        while True:  # a real condition: the port accepts connections
            if process.poll() is not None:
                pytest.fail(f"nginx exited with status {process.returncode}:\n{server.log()}\n--- site ---\n{site.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx never listened on {port}:\n{server.log()}")
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown (open streams do not hold it)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def parley(start_server):
    # A 60 s heartbeat: no `: ping` can flush a buffered stream while a test waits for an event.
    return start_server(env={"PARLEY_BCRYPT_COST": "4"}, args=["--heartbeat", "60"])


@pytest.fixture(scope="module")
def nginx(parley, tmp_path_factory):
    with running_nginx(tmp_path_factory.mktemp("nginx"), urllib.parse.urlsplit(parley.base_url).port) as server:
        yield server


# --- Helpers --------------------------------------------------------------------------------------

def open_ticket(nginx: Nginx, email: str) -> tuple[dict, str]:
    r = requests.post(nginx.url("/api/widgets/demo/tickets"), timeout=TIMEOUT,
                      json={"fields": {"name": "Vera", "email": email, "message": "hello"}})
    assert r.status_code == 201, r.text
    return r.json()["ticket"], r.json()["token"]


def add_agent(parley, email: str) -> None:
    done = parley.cli("agent", "add", email, "--name", "Pat", "--role", "agent", "--widget", "demo",
                      "--password-stdin", stdin=AGENT_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def set_cookie_attributes(response: requests.Response, name: str) -> list[str]:
    """The attributes (lower-cased, `secure`, `httponly`, `path=/`…) of the Set-Cookie for `name`."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.startswith(name + "="):
            return [a.lower() for a in attributes]
    pytest.fail(f"no Set-Cookie for {name}: {response.headers}")


def request_from(source_ip: str, port: int, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    """A request to 127.0.0.1:`port` sent from another loopback address (a client nginx sees as
    `source_ip`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT, source_address=(source_ip, 0))
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class EventStream:
    """A Server-Sent Events stream read through nginx line by line, every read bounded by a
    deadline (the socket's timeout), so a stream that nginx holds back fails the test."""

    def __init__(self, port: int, path: str, headers: dict[str, str]):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        # A browser's headers: with Accept-Encoding, a compressing proxy would hold events back.
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", "Accept-Encoding": "gzip, deflate, br",
                                                **headers})
        self.sock = self.conn.sock  # kept: http.client lets go of it if the answer says Connection: close
        self.response = self.conn.getresponse()
        self.seen: list[dict[str, str]] = []

    def until(self, wanted, what: str, deadline: float = STREAM_DEADLINE) -> dict[str, str]:
        """The first event (its fields: `id`, `event`, `data`, `retry`) for which `wanted` is true,
        read within `deadline` seconds."""
        end = time.monotonic() + deadline
        fields: dict[str, str] = {}
        while True:
            left = end - time.monotonic()
            if left <= 0:
                pytest.fail(f"{what} did not arrive through nginx within {deadline} s; events seen: {self.seen}")
            self.sock.settimeout(left)
            try:
                raw = self.response.readline()
            except (TimeoutError, socket.timeout):
                pytest.fail(f"{what} did not arrive through nginx within {deadline} s (held back?); events seen: {self.seen}")
            if not raw:
                pytest.fail(f"the stream ended before {what}; events seen: {self.seen}")
            line = raw.decode().rstrip("\r\n")
            if line.startswith(":"):
                continue  # a comment (heartbeat)
            if line:
                key, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                fields[key] = fields[key] + "\n" + value if key == "data" and key in fields else value
                continue
            if not fields:
                continue
            event, fields = fields, {}
            self.seen.append(event)
            if wanted(event):
                return event

    def close(self) -> None:
        self.conn.close()


# --- The tests ----------------------------------------------------------------------------------

def test_the_documented_site_is_what_runs(nginx):
    """The config nginx runs keeps every documented location and proxy line: only the listen,
    upstream port and TLS lines were changed for the test."""
    running = (nginx.root / "parley-site.conf").read_text()
    for line in ("proxy_buffering off;", "client_max_body_size 0;", "proxy_request_buffering off;",
                 "proxy_set_header X-Forwarded-Proto $scheme;", "location = /metrics {"):
        assert line in running, f"{line!r} is missing from the site nginx runs:\n{running}"
    assert "ssl" not in running and DOCUMENTED_UPSTREAM not in running


def test_visitor_events_arrive_through_nginx_at_once(nginx):
    ticket, token = open_ticket(nginx, "stream.visitor@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    stream = EventStream(nginx.port, f"/api/tickets/{ticket['id']}/live", auth)
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        assert stream.response.getheader("Content-Encoding") is None
        stream.until(lambda e: e.get("id") == str(ticket["lastSeq"]), "the backlog (the first message)")

        marker = f"through nginx {uuid.uuid4()}"
        sent = requests.post(nginx.url(f"/api/tickets/{ticket['id']}/messages"), headers=auth, timeout=TIMEOUT,
                             json={"id": "n1", "text": marker})
        assert sent.status_code == 201, sent.text
        event = stream.until(lambda e: marker in e.get("data", ""), "the new message")
        assert event["id"] == str(ticket["lastSeq"] + 1)
        assert json.loads(event["data"])["text"] == marker
    finally:
        stream.close()


def test_agent_events_arrive_through_nginx_at_once(parley, nginx):
    add_agent(parley, "stream.agent@shop.example")
    login = requests.post(nginx.url("/api/agent/login"), timeout=TIMEOUT,
                          json={"email": "stream.agent@shop.example", "password": AGENT_PASSWORD})
    assert login.status_code == 200, login.text
    cookie = login.cookies["parley_session"]
    stream = EventStream(nginx.port, "/api/agent/live", {"Cookie": f"parley_session={cookie}"})
    try:
        assert stream.response.status == 200
        # The greeting (`hello`, or `reset`) comes once the stream is subscribed.
        stream.until(lambda e: e.get("event") in ("hello", "reset"), "the agent stream's greeting")

        ticket, token = open_ticket(nginx, "stream.agent.visitor@example.com")
        marker = f"for the inbox {uuid.uuid4()}"
        sent = requests.post(nginx.url(f"/api/tickets/{ticket['id']}/messages"), timeout=TIMEOUT,
                             headers={"Authorization": f"Bearer {token}"}, json={"id": "a1", "text": marker})
        assert sent.status_code == 201, sent.text
        event = stream.until(lambda e: marker in e.get("data", ""), "the visitor's message on the agent stream")
        entry = json.loads(event["data"])
        assert entry["ticket"]["id"] == ticket["id"] and entry["event"]["text"] == marker
    finally:
        stream.close()


def test_a_3_mb_upload_passes_through_nginx_and_downloads_back_identical(nginx):
    ticket, token = open_ticket(nginx, "upload.visitor@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    # Plain text (allowed by default; the type is read from the content), 3 MB: over nginx's
    # default 1 MB client_max_body_size, under the demo widget's 5 MB limit.
    line = b"Order 4711: the parcel arrived with a dented corner, photos to follow.\n"
    body = (line * (3 * 1024 * 1024 // len(line) + 1))[: 3 * 1024 * 1024]

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    created = requests.post(nginx.url("/api/uploads"), timeout=TIMEOUT, headers={
        **auth, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)),
        "Upload-Metadata": f"ticket {b64(ticket['id'])},filename {b64('claim.txt')},filetype {b64('text/plain')}"})
    assert created.status_code == 201, created.text
    assert created.headers.get("Tus-Resumable") == "1.0.0"
    location = urllib.parse.urljoin(nginx.url("/"), created.headers["Location"])
    assert location.startswith(nginx.origin + "/api/uploads/")

    patched = requests.patch(location, data=body, timeout=60, headers={
        **auth, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204, f"{patched.status_code} {patched.headers.get('Server')}: {patched.text[:300]}"
    assert patched.headers.get("Upload-Offset") == str(len(body))
    attachment = patched.headers.get("Parley-Attachment")
    assert attachment, patched.headers

    download = requests.get(nginx.url(f"/api/attachments/{attachment}"), headers=auth, timeout=60)
    assert download.status_code == 200, download.text[:300]
    assert len(download.content) == len(body)
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(body).hexdigest()


def test_parley_sees_the_scheme_nginx_was_reached_by_not_the_clients_claim(parley, nginx):
    add_agent(parley, "scheme.agent@shop.example")
    credentials = {"email": "scheme.agent@shop.example", "password": AGENT_PASSWORD}
    # As the inbox page's own fetch would send it (Origin: nginx's address, port included), with a
    # forged X-Forwarded-Proto that nginx must replace by the scheme it really served: http.
    through = requests.post(nginx.url("/api/agent/login"), json=credentials, timeout=TIMEOUT,
                            headers={"Origin": nginx.origin, "X-Forwarded-Proto": "https"})
    assert through.status_code == 200, through.text
    attributes = set_cookie_attributes(through, "parley_session")
    assert "httponly" in attributes
    assert "secure" not in attributes, f"the session cookie is Secure over plain http: {attributes}"
    # Parley does believe X-Forwarded-Proto from a trusted proxy (loopback): so the cookie above
    # was plain because of nginx's `proxy_set_header X-Forwarded-Proto $scheme`.
    direct = requests.post(parley.url("/api/agent/login"), json=credentials, timeout=TIMEOUT,
                           headers={"X-Forwarded-Proto": "https"})
    assert direct.status_code == 200, direct.text
    assert "secure" in set_cookie_attributes(direct, "parley_session")


def test_rate_limits_count_each_visitors_address_not_nginxs(nginx):
    """New tickets are limited per client address (10 at once). Behind nginx, parley must count
    the address nginx names in X-Forwarded-For, not nginx's own (127.0.0.1 for everyone)."""
    ticket = {"fields": {"name": "Rae", "email": "rate@example.com", "message": "hi"}}
    created = 0
    for _ in range(12):
        status, answer = request_from("127.0.0.5", nginx.port, "POST", "/api/widgets/demo/tickets", ticket)
        if status == 429:
            break
        assert status == 201, answer
        created += 1
    else:
        pytest.fail("twelve new tickets from one address in a row were never limited")
    # The other tests' tickets (from 127.0.0.1) did not count against 127.0.0.5…
    assert created >= 10, f"only {created} tickets before 429: the limit counted other clients too"
    # …and another visitor is not limited by the first one.
    status, answer = request_from("127.0.0.6", nginx.port, "POST", "/api/widgets/demo/tickets", ticket)
    assert status == 201, f"{status} {answer!r}: parley counted nginx's address, not the visitor's"


def test_metrics_answer_only_the_allowed_address(nginx):
    status, body = request_from("127.0.0.1", nginx.port, "GET", "/metrics")
    assert status == 200 and b"parley_http_requests_total" in body
    status, body = request_from("127.0.0.5", nginx.port, "GET", "/metrics")
    assert status == 403, body[:200]
