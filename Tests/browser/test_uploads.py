"""Attachments over HTTP, no browser: tus 1.0 uploads at /api/uploads (driven by tuspy, the Python tus
client, and by hand where a test needs a request tuspy cannot make), content sniffing against the
allow-list, and downloads at /api/attachments/<id>, against a real `parley serve` whose data folder
is seeded with the widgets below.

The contract is /tmp/contract/uploads.md (SPEC.md, "Attachments"). What reached the server is read
back through the visitor API (the ticket's events), the download, the request log lines and the data
folder (`uploads/` holds unfinished uploads, `attachments/` finished ones). Types are compared with
the verdict of `file --mime-type` (the same libmagic the server links), never with a hard-coded list
of answers. Waits are on the server's log lines, never sleeps.

tuspy 1.1.0 has neither creation-with-upload nor termination: those requests are made by hand.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import random
import re
import shutil
import socket
import struct
import subprocess
import urllib.parse
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from samples import html, pdf, png

MB = 1024 * 1024
DEFAULT_MAX_FILE_SIZE = 5 * MB  # the contract's default for a widget that sets none
TIMEOUT = 30  # seconds, upper bound on any one plain request
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"

WIDGETS = [
    {"id": "demo", "name": "Demo"},  # every limit at its default (5 MB, 5 files)
    {"id": "small", "name": "Small files", "maxFileSize": 1 * MB},
    {"id": "few", "name": "Few files", "maxFiles": 2},
    {"id": "roomy", "name": "Roomy", "maxFileSize": 12 * MB},
    {"id": "shoponly", "name": "Shop only", "allowedOrigins": ["https://shop.example"]},
]


# --- the visitor, over HTTP -----------------------------------------------------------------------

class Visitor:
    """A visitor with a ticket of its own: its Bearer token authenticates uploads and downloads."""

    def __init__(self, server, widget: str = "demo", name: str = "Ann", email: str = "ann@example.com"):
        self.server = server
        answer = requests.post(server.url(f"/api/widgets/{widget}/tickets"), timeout=TIMEOUT,
                               json={"fields": {"name": name, "email": email, "message": "hi"}})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        self.ticket: str = body["ticket"]["id"]
        self.token: str = body["token"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def events(self) -> list[dict]:
        answer = requests.get(self.server.url(f"/api/tickets/{self.ticket}/events"), headers=self.auth,
                              timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]

    def attachment_events(self) -> list[dict]:
        return [e for e in self.events() if e["type"] == "attachment"]

    def tus_client(self) -> tus.TusClient:
        return tus.TusClient(self.server.url("/api/uploads"), headers=dict(self.auth))


def metadata(ticket: str, filename: str | None = None, filetype: str | None = None) -> str:
    """An Upload-Metadata header: `key base64(value)` pairs."""
    pairs = {"ticket": ticket, "filename": filename, "filetype": filetype}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items() if v is not None)


def call(method: str, url: str, headers: dict | None = None, body: bytes | None = None, tus_header: bool = True,
         **kwargs) -> requests.Response:
    """A plain request (not through requests.head/patch, which the tests spy on for tuspy's calls)."""
    return requests.request(method, url, headers={**(TUS if tus_header else {}), **(headers or {})}, data=body,
                            timeout=TIMEOUT, allow_redirects=False, **kwargs)


def create(server, auth: dict, ticket: str, length: int, filename: str = "file.bin", filetype: str | None = None,
           body: bytes | None = None, headers: dict | None = None) -> requests.Response:
    """POST /api/uploads, with the body (creation-with-upload) when one is given."""
    h = {**auth, "Upload-Length": str(length), "Upload-Metadata": metadata(ticket, filename, filetype), **(headers or {})}
    if body is not None:
        h["Content-Type"] = OCTETS
    return call("POST", server.url("/api/uploads"), h, body)


def patch(url: str, auth: dict, offset: int, body: bytes) -> requests.Response:
    return call("PATCH", url, {**auth, "Upload-Offset": str(offset), "Content-Type": OCTETS}, body)


def error_of(response: requests.Response) -> dict:
    """The `error` object of a JSON error answer."""
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        f"{response.status_code} is not a JSON error: {response.headers} {response.text!r}")
    return response.json()["error"]


def error_content(exc: TusCommunicationError) -> dict:
    """The `error` object of the answer a tuspy exception carries."""
    return json.loads(exc.response_content)["error"]


def location_of(server, created: requests.Response) -> str:
    """The upload's URL: Location is a path, resolved against the endpoint's URL (as tus clients do)."""
    return urllib.parse.urljoin(server.url("/api/uploads"), created.headers["Location"])


def upload_path(location: str) -> str:
    return urllib.parse.urlsplit(location).path


def files_under(folder: Path) -> set[str]:
    """Every file below `folder`, as paths relative to it (none when the folder does not exist)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def assert_expires(value: str | None) -> None:
    """Upload-Expires: an RFC 7231 date, about 24 h from now."""
    assert value and value.endswith(" GMT"), f"Upload-Expires {value!r} is not an RFC 7231 date"
    left = email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc)
    assert timedelta(hours=23) < left <= timedelta(hours=24, minutes=1), f"Upload-Expires {value} is {left} away"


def header_list(response: requests.Response, name: str) -> set[str]:
    """A comma-separated header as a set of lower-case items."""
    return {item.strip().lower() for item in response.headers.get(name, "").split(",") if item.strip()}


class Spy:
    """Records the calls tuspy makes through `requests.<name>` (head, patch, post)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str):
        self.calls: list[tuple[str, dict, requests.Response]] = []
        real = getattr(requests, name)

        def spy(url, *args, **kwargs):
            response = real(url, *args, **kwargs)
            self.calls.append((url, kwargs.get("headers") or {}, response))
            return response

        monkeypatch.setattr(requests, name, spy)


# --- file type verdicts (`file`, the same libmagic) -----------------------------------------------

def sniff(path: Path) -> str:
    """What `file --mime-type -b` says the file is."""
    if shutil.which("file") is None:
        pytest.fail("the `file` command is missing: install the Debian package `file` (make deps-test)")
    result = subprocess.run(["file", "--mime-type", "-b", str(path)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


# --- a corpus of small real files ----------------------------------------------------------------

def jpeg() -> bytes:
    """SOI, a JFIF APP0 segment, EOI."""
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(jfif) + 2) + jfif + b"\xff\xd9"


def gif() -> bytes:
    """A 1×1 GIF89a: header, two-colour table, one image, trailer."""
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def webp() -> bytes:
    """A RIFF/WEBP container holding a 1×1 lossless (VP8L) bitstream."""
    vp8l = b"\x2f" + b"\x00" * 8
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def ooxml(main_part: str, main_type: str) -> bytes:
    """A minimal Office Open XML package: [Content_Types].xml first, the package relationships, the main part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   f'<Override PartName="/{main_part}" ContentType="{main_type}"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"'
                   f' Target="{main_part}"/></Relationships>')
        z.writestr(main_part, '<?xml version="1.0" encoding="UTF-8"?><root/>')
    return buffer.getvalue()


def docx() -> bytes:
    return ooxml("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")


def xlsx() -> bytes:
    return ooxml("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "Order 42: two mugs.\n")
    return buffer.getvalue()


def csv() -> bytes:
    return b"name,qty,price\nApple,3,1.20\nPear,5,0.80\nPlum,12,0.25\n"


def text() -> bytes:
    return b"Hello, the parcel arrived damaged.\nThe box was wet on one side.\n"


def svg() -> bytes:
    return (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
            b'<script>alert(1)</script></svg>\n')


def elf() -> bytes:
    return Path("/bin/true").read_bytes()


def shell_script() -> bytes:
    return b"#!/bin/sh\necho hello\n"


# case, file name sent, advisory filetype sent, content, accepted?, what `file` must say for the corpus
# to mean what the case claims (a regex; checks the corpus, not the server).
CORPUS = [
    ("png", "photo.png", "image/png", png, True, r"image/png"),
    ("jpeg", "photo.jpg", "image/jpeg", jpeg, True, r"image/jpeg"),
    ("gif", "anim.gif", "image/gif", gif, True, r"image/gif"),
    ("webp", "pic.webp", "image/webp", webp, True, r"image/webp"),
    ("pdf", "invoice.pdf", "application/pdf", pdf, True, r"application/pdf"),
    ("docx", "letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx, True,
     r"application/vnd\.openxmlformats-officedocument\.wordprocessingml\.document"),
    ("xlsx", "sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx, True,
     r"application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet"),
    ("zip", "bundle.zip", "application/zip", plain_zip, True, r"application/zip"),
    ("csv", "order.csv", "text/csv", csv, True, r"text/csv"),
    ("text", "note.txt", "text/plain", text, True, r"text/plain"),
    ("html", "page.html", "text/html", html, False, r"text/html"),
    ("svg", "logo.svg", "image/svg+xml", svg, False, r"image/svg\+xml"),
    ("elf", "true", "application/octet-stream", elf, False, r"application/x-(pie-)?(executable|sharedlib)"),
    ("shell", "run.sh", "text/x-sh", shell_script, False, r"text/x-shellscript"),
    ("png-as-pdf", "scan.pdf", "application/pdf", png, True, r"image/png"),
    ("elf-as-jpg", "holiday.jpg", "image/jpeg", elf, False, r"application/x-(pie-)?(executable|sharedlib)"),
]


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parley(start_server):
    """One parley for the module, seeded with WIDGETS. The module opens more tickets from one
    loopback address than the per-address burst allows; rate limits are not what it tests."""
    return start_server(widgets=WIDGETS, env={"PARLEY_RATE_LIMITS": "off"})


def widget_config(server, widget: str) -> dict:
    answer = requests.get(server.url(f"/api/widgets/{widget}/config"), timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def size_label(size: int) -> str:
    """How the contract's messages name a limit: 5242880 → "5 MB"."""
    return f"{size / MB:g} MB"


def tus_upload(visitor: Visitor, path: Path, name: str, filetype: str | None = None, chunk_size: int | None = None):
    """Uploads `path` with tuspy (POST, then PATCHes of chunk_size; one PATCH by default). Returns the
    uploader and the attachment id the last PATCH answered."""
    options = {"chunk_size": chunk_size} if chunk_size else {}
    uploader = visitor.tus_client().uploader(file_path=str(path), metadata={
        "ticket": visitor.ticket, "filename": name, **({"filetype": filetype} if filetype else {})}, **options)
    uploader.upload()
    assert uploader.offset == path.stat().st_size
    attachment = uploader.request.response_headers.get("parley-attachment")
    assert attachment, f"the last PATCH answered no Parley-Attachment: {uploader.request.response_headers}"
    return uploader, attachment


def assert_attachment_event(visitor: Visitor, attachment: str, name: str, data: bytes | int, kind: str) -> dict:
    """The ticket has exactly one `attachment` event for `attachment`, by the visitor, naming the file,
    its size and its detected type `kind`."""
    events = [e for e in visitor.attachment_events() if e["attachment"]["id"] == attachment]
    assert len(events) == 1, f"expected one attachment event for {attachment}: {visitor.events()}"
    event = events[0]
    size = data if isinstance(data, int) else len(data)
    assert event["by"]["kind"] == "visitor"
    assert event["attachment"] == {"id": attachment, "name": name, "size": size, "type": kind}, event
    return event


def assert_download(server, visitor: Visitor, attachment: str, data: bytes, name: str, kind: str) -> None:
    """GET /api/attachments/<id> gives the bytes with the contract's headers; ranges and ETags work."""
    url = server.url(f"/api/attachments/{attachment}")
    got = call("GET", url, visitor.auth, tus_header=False)
    assert got.status_code == 200, got.text
    assert got.content == data
    h = got.headers
    assert h["Content-Type"].split(";")[0].strip() == kind
    assert int(h["Content-Length"]) == len(data)
    disposition = h["Content-Disposition"]
    assert disposition.split(";")[0].strip() == "attachment", disposition
    ascii_name = re.search(r'(?:^|;)\s*filename="([^"]*)"', disposition)
    utf8_name = re.search(r"(?:^|;)\s*filename\*=UTF-8''([^;\s]+)", disposition, re.IGNORECASE)
    assert ascii_name and utf8_name, f"Content-Disposition lacks filename= or filename*=: {disposition}"
    assert urllib.parse.unquote(utf8_name.group(1)) == name
    if name.isascii():
        assert ascii_name.group(1) == name
    else:
        assert ascii_name.group(1).isascii() and "/" not in ascii_name.group(1), disposition
    assert h["X-Content-Type-Options"] == "nosniff"
    policy = {d.strip() for d in h["Content-Security-Policy"].split(";")}
    assert {"default-src 'none'", "sandbox"} <= policy, h["Content-Security-Policy"]
    assert h.get("Accept-Ranges") == "bytes"
    assert {d.strip() for d in h["Cache-Control"].split(",")} == {"private", "max-age=31536000", "immutable"}
    etag = h.get("ETag")
    assert etag, "no ETag"

    head = call("HEAD", url, visitor.auth, tus_header=False)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(data) and head.headers.get("ETag") == etag

    first, last = len(data) // 3, len(data) // 2
    part = call("GET", url, {**visitor.auth, "Range": f"bytes={first}-{last}"}, tus_header=False)
    assert part.status_code == 206, part.text
    assert part.content == data[first:last + 1]
    assert part.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert int(part.headers["Content-Length"]) == last - first + 1

    beyond = call("GET", url, {**visitor.auth, "Range": f"bytes={len(data)}-{len(data) + 10}"}, tus_header=False)
    assert beyond.status_code == 416, beyond.text

    cached = call("GET", url, {**visitor.auth, "If-None-Match": etag}, tus_header=False)
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers.get("ETag") == etag


# --- tus: creation, upload, resume ----------------------------------------------------------------

def test_options_advertises_tus(parley):
    answer = call("OPTIONS", parley.url("/api/uploads"), tus_header=False)
    assert answer.status_code == 204, answer.text
    assert answer.headers.get("Tus-Resumable") == "1.0.0"
    assert "1.0.0" in header_list(answer, "Tus-Version")
    assert {"creation", "creation-with-upload", "termination", "expiration"} <= header_list(answer, "Tus-Extension")
    largest = max(w.get("maxFileSize", DEFAULT_MAX_FILE_SIZE) for w in WIDGETS)
    assert answer.headers.get("Tus-Max-Size") == str(largest)


def test_small_file_in_one_request(parley, tmp_path):
    """creation-with-upload: the POST carries the whole file; the 201 already names the attachment."""
    visitor = Visitor(parley)
    path = tmp_path / "photo.png"
    path.write_bytes(data := png(16, 16, seed=11))
    kind = sniff(path)

    created = create(parley, visitor.auth, visitor.ticket, len(data), "photo.png", "image/png", body=data)
    assert created.status_code == 201, created.text
    h = created.headers
    assert h.get("Tus-Resumable") == "1.0.0"
    assert re.fullmatch(r"/api/uploads/[A-Za-z0-9_-]+", h["Location"]), f"Location: {h['Location']}"
    location = location_of(parley, created)
    assert int(h["Upload-Offset"]) == len(data)
    assert_expires(h.get("Upload-Expires"))
    attachment = h.get("Parley-Attachment")
    assert attachment, f"the 201 of a complete upload names no attachment: {h}"

    # A client that lost that answer learns from HEAD that the upload is done, and which attachment it made.
    head = call("HEAD", location, visitor.auth)
    assert head.status_code == 200
    assert head.headers.get("Tus-Resumable") == "1.0.0"
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(data))
    assert head.headers.get("Parley-Attachment") == attachment
    assert head.headers.get("Cache-Control") == "no-store"

    assert_attachment_event(visitor, attachment, "photo.png", data, kind)
    assert_download(parley, visitor, attachment, data, "photo.png", kind)


@pytest.mark.parametrize("chunk_size", [None, 16 * 1024], ids=["one-patch", "chunks"])
def test_tuspy_upload(parley, tmp_path, monkeypatch, chunk_size):
    """tuspy creates the upload, then sends it in one PATCH or in several."""
    visitor = Visitor(parley)
    path = tmp_path / "receipt.png"
    path.write_bytes(data := png(150, 150, seed=12))  # about 68 KB: 1 PATCH, or 5 of 16 KB
    kind = sniff(path)
    patches = Spy(monkeypatch, "patch")

    uploader, attachment = tus_upload(visitor, path, "reçu de caisse.png", "image/png", chunk_size)

    expected = -(-len(data) // chunk_size) if chunk_size else 1
    assert len(patches.calls) == expected
    offsets = [int(r.headers["Upload-Offset"]) for _, _, r in patches.calls]
    assert all(r.status_code == 204 and r.headers.get("Tus-Resumable") == "1.0.0" for _, _, r in patches.calls)
    assert offsets == [min(len(data), (i + 1) * (chunk_size or len(data))) for i in range(expected)]
    # Only the last PATCH completes the file.
    assert [bool(r.headers.get("Parley-Attachment")) for _, _, r in patches.calls] == [False] * (expected - 1) + [True]

    assert_attachment_event(visitor, attachment, "reçu de caisse.png", data, kind)
    assert_download(parley, visitor, attachment, data, "reçu de caisse.png", kind)


def test_tuspy_resumes_with_a_new_uploader(parley, tmp_path, monkeypatch):
    visitor = Visitor(parley)
    path = tmp_path / "big.png"
    path.write_bytes(data := png(120, 120, seed=13))  # about 43 KB
    chunk = 8 * 1024
    first = visitor.tus_client().uploader(file_path=str(path), chunk_size=chunk,
                                          metadata={"ticket": visitor.ticket, "filename": "big.png"})
    first.upload_chunk()
    first.upload_chunk()
    assert first.offset == 2 * chunk
    # The client "goes away" here: a new uploader knows only the URL and the file.
    heads = Spy(monkeypatch, "head")
    second = visitor.tus_client().uploader(file_path=str(path), url=first.url, chunk_size=chunk)
    assert [url for url, _, _ in heads.calls] == [first.url], "tuspy did not ask the server for the offset"
    assert second.offset == 2 * chunk
    parley.wait_for_log(rf"method=HEAD .*path={re.escape(upload_path(first.url))} status=200")

    # An offset that is not the server's is refused and changes nothing.
    stale = patch(first.url, visitor.auth, 0, data[:chunk])
    assert stale.status_code == 409 and error_of(stale)["code"] == "offset_mismatch"
    assert call("HEAD", first.url, visitor.auth).headers["Upload-Offset"] == str(2 * chunk)

    second.upload()
    attachment = second.request.response_headers.get("parley-attachment")
    assert attachment
    kind = sniff(path)
    assert_attachment_event(visitor, attachment, "big.png", data, kind)
    got = call("GET", parley.url(f"/api/attachments/{attachment}"), visitor.auth, tus_header=False)
    assert got.status_code == 200 and got.content == data


def test_a_dropped_patch_leaves_a_resumable_upload(parley, tmp_path):
    """A PATCH announcing N bytes whose client vanishes after N/2: what arrived is kept, and the upload
    finishes from the offset HEAD gives into a byte-identical attachment."""
    visitor = Visitor(parley)
    data = png(300, 300, seed=14)  # about 270 KB
    created = create(parley, visitor.auth, visitor.ticket, len(data), "dropped.png")
    assert created.status_code == 201, created.text
    location = location_of(parley, created)
    path = upload_path(location)

    sent = len(data) // 2
    url = urllib.parse.urlsplit(parley.base_url)
    request = (f"PATCH {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {visitor.token}\r\n"
               f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: {OCTETS}\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(request + data[:sent])
    # The socket is closed: the server has every byte sent, then the end of the stream. Its request
    # log line says when it is done with that PATCH.
    parley.wait_for_log(rf"method=PATCH .*path={re.escape(path)} status=\d+")

    head = call("HEAD", location, visitor.auth)
    assert head.status_code == 200, head.text
    offset = int(head.headers["Upload-Offset"])
    assert 0 < offset <= sent, f"HEAD says {offset} bytes arrived of the {sent} sent"
    assert head.headers["Upload-Length"] == str(len(data))
    assert_expires(head.headers.get("Upload-Expires"))
    assert head.headers.get("Cache-Control") == "no-store"

    done = patch(location, visitor.auth, offset, data[offset:])
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == str(len(data))
    attachment = done.headers.get("Parley-Attachment")
    assert attachment
    got = call("GET", parley.url(f"/api/attachments/{attachment}"), visitor.auth, tus_header=False)
    assert got.status_code == 200 and got.content == data


def test_terminate_removes_the_partial_file(parley):
    """tuspy 1.1 has no terminate(): the DELETE is made by hand."""
    visitor = Visitor(parley)
    uploads = parley.data / "uploads"
    before = files_under(uploads)
    data = png(100, 100, seed=15)
    created = create(parley, visitor.auth, visitor.ticket, len(data), "cancelled.png")
    assert created.status_code == 201, created.text
    location = location_of(parley, created)
    half = len(data) // 2
    sent = patch(location, visitor.auth, 0, data[:half])
    assert sent.status_code == 204 and sent.headers["Upload-Offset"] == str(half)
    assert files_under(uploads) - before, "the unfinished upload is not stored under uploads/"

    deleted = call("DELETE", location, visitor.auth)
    assert deleted.status_code == 204, deleted.text
    assert deleted.headers.get("Tus-Resumable") == "1.0.0"
    assert call("HEAD", location, visitor.auth).status_code == 404
    gone = patch(location, visitor.auth, half, data[half:])
    assert gone.status_code == 404 and error_of(gone)["code"] == "upload_not_found"
    assert call("DELETE", location, visitor.auth).status_code == 404
    assert files_under(uploads) == before, "the partial file is still in uploads/"
    assert visitor.attachment_events() == []


# --- limits and protocol errors -------------------------------------------------------------------

@pytest.mark.parametrize("widget", ["demo", "small"])
def test_over_the_size_limit(parley, widget):
    limit = widget_config(parley, widget)["maxFileSize"]
    assert limit == next(w for w in WIDGETS if w["id"] == widget).get("maxFileSize", DEFAULT_MAX_FILE_SIZE)
    visitor = Visitor(parley, widget=widget)

    too_big = create(parley, visitor.auth, visitor.ticket, limit + 1, "huge.bin")
    assert too_big.status_code == 413, too_big.text
    error = error_of(too_big)
    assert error["code"] == "file_too_large"
    assert size_label(limit) in error["message"], error["message"]
    assert "Location" not in too_big.headers

    exactly = create(parley, visitor.auth, visitor.ticket, limit, "just-fits.bin")
    assert exactly.status_code == 201, exactly.text
    assert call("DELETE", location_of(parley, exactly), visitor.auth).status_code == 204


def test_a_body_past_the_upload_length_is_refused(parley):
    visitor = Visitor(parley)
    created = create(parley, visitor.auth, visitor.ticket, 10, "ten.txt")
    assert created.status_code == 201, created.text
    over = patch(location_of(parley, created), visitor.auth, 0, b"x" * 20)
    assert over.status_code == 413, over.text
    assert visitor.attachment_events() == []


def test_too_many_unfinished_uploads(parley):
    max_files = widget_config(parley, "few")["maxFiles"]
    assert max_files == next(w for w in WIDGETS if w["id"] == "few")["maxFiles"]
    visitor = Visitor(parley, widget="few")
    locations = []
    for n in range(max_files):
        created = create(parley, visitor.auth, visitor.ticket, 1000, f"file{n}.txt")
        assert created.status_code == 201, created.text
        locations.append(location_of(parley, created))

    refused = create(parley, visitor.auth, visitor.ticket, 1000, "one-too-many.txt")
    assert refused.status_code == 422, refused.text
    error = error_of(refused)
    assert error["code"] == "too_many_files"
    assert str(max_files) in error["message"], error["message"]

    # The limit is per sender and ticket: another visitor is not affected.
    other = Visitor(parley, widget="few", name="Bob", email="bob@example.com")
    assert create(parley, other.auth, other.ticket, 1000, "mine.txt").status_code == 201
    # Cancelling one makes room again.
    assert call("DELETE", locations[0], visitor.auth).status_code == 204
    assert create(parley, visitor.auth, visitor.ticket, 1000, "now-it-fits.txt").status_code == 201


def test_protocol_errors(parley):
    visitor = Visitor(parley)
    # No Tus-Resumable: 412, naming the version the server speaks.
    h = {**visitor.auth, "Upload-Length": "10", "Upload-Metadata": metadata(visitor.ticket, "a.txt")}
    old = call("POST", parley.url("/api/uploads"), h, tus_header=False)
    assert old.status_code == 412, old.text
    assert "1.0.0" in header_list(old, "Tus-Version")

    empty = create(parley, visitor.auth, visitor.ticket, 0, "empty.txt")
    assert empty.status_code == 422 and error_of(empty)["code"] == "empty_file"

    no_length = call("POST", parley.url("/api/uploads"),
                     {**visitor.auth, "Upload-Metadata": metadata(visitor.ticket, "a.txt")})
    assert no_length.status_code == 400 and error_of(no_length)["code"] == "bad_request"
    bad_length = create(parley, visitor.auth, visitor.ticket, 10, headers={"Upload-Length": "ten"})
    assert bad_length.status_code == 400 and error_of(bad_length)["code"] == "bad_request"
    no_ticket = call("POST", parley.url("/api/uploads"), {
        **visitor.auth, "Upload-Length": "10", "Upload-Metadata": "filename " + base64.b64encode(b"a.txt").decode()})
    assert no_ticket.status_code == 400 and error_of(no_ticket)["code"] == "bad_request"

    created = create(parley, visitor.auth, visitor.ticket, 10, "a.txt")
    assert created.status_code == 201
    no_tus = call("PATCH", location_of(parley, created),
                  {**visitor.auth, "Upload-Offset": "0", "Content-Type": OCTETS}, b"0123456789", tus_header=False)
    assert no_tus.status_code == 412, no_tus.text
    assert call("HEAD", location_of(parley, created), visitor.auth).headers["Upload-Offset"] == "0"
    assert call("DELETE", location_of(parley, created), visitor.auth).status_code == 204


# --- who may do what ------------------------------------------------------------------------------

def test_only_the_tickets_visitor_reaches_its_uploads_and_attachments(parley):
    owner = Visitor(parley)
    stranger = Visitor(parley, name="Eve", email="eve@example.com")
    data = png(40, 40, seed=16)
    finished = create(parley, owner.auth, owner.ticket, len(data), "mine.png", body=data)
    assert finished.status_code == 201, finished.text
    attachment = finished.headers["Parley-Attachment"]
    created = create(parley, owner.auth, owner.ticket, len(data), "unfinished.png")
    assert created.status_code == 201, created.text
    location = location_of(parley, created)
    half = len(data) // 2
    assert patch(location, owner.auth, 0, data[:half]).status_code == 204
    events_before = owner.events()
    download = parley.url(f"/api/attachments/{attachment}")

    # Another visitor's token: nothing of it exists.
    assert call("HEAD", location, stranger.auth).status_code == 404
    answer = patch(location, stranger.auth, half, data[half:])
    assert answer.status_code == 404 and error_of(answer)["code"] == "upload_not_found"
    answer = call("DELETE", location, stranger.auth)
    assert answer.status_code == 404 and error_of(answer)["code"] == "upload_not_found"
    answer = create(parley, stranger.auth, owner.ticket, len(data), "intruder.png")
    assert answer.status_code == 404 and error_of(answer)["code"] == "ticket_not_found"
    answer = create(parley, stranger.auth, owner.ticket, len(data), "intruder.png", body=data)
    assert answer.status_code == 404 and error_of(answer)["code"] == "ticket_not_found"
    for method in ("GET", "HEAD"):
        answer = call(method, download, stranger.auth, tus_header=False)
        assert answer.status_code == 404 and (method == "HEAD" or error_of(answer)["code"] == "attachment_not_found")

    # No credentials at all: 401.
    assert call("HEAD", location).status_code == 401
    answer = patch(location, {}, half, data[half:])
    assert answer.status_code == 401 and error_of(answer)["code"] == "unauthorized"
    answer = call("DELETE", location)
    assert answer.status_code == 401 and error_of(answer)["code"] == "unauthorized"
    answer = create(parley, {}, owner.ticket, len(data), "anonymous.png")
    assert answer.status_code == 401 and error_of(answer)["code"] == "unauthorized"
    answer = call("GET", download, tus_header=False)
    assert answer.status_code == 401 and error_of(answer)["code"] == "unauthorized"

    # None of it touched the owner's upload or ticket, and the owner still finishes it.
    assert call("HEAD", location, owner.auth).headers["Upload-Offset"] == str(half)
    assert owner.events() == events_before
    done = patch(location, owner.auth, half, data[half:])
    assert done.status_code == 204, done.text
    assert [e["attachment"]["id"] for e in owner.attachment_events()] == [attachment, done.headers["Parley-Attachment"]]
    assert stranger.attachment_events() == []
    assert call("GET", download, owner.auth, tus_header=False).content == data

    unknown = call("GET", parley.url("/api/attachments/nosuchattachment"), owner.auth, tus_header=False)
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "attachment_not_found"


def test_cross_origin_uploads(parley):
    """The widget uploads from the shop's origin: CORS as for the other visitor calls, and the tus
    headers are readable by the page."""
    visitor = Visitor(parley)
    origin = "https://shop.example"
    preflight = call("OPTIONS", parley.url("/api/uploads"), {
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,tus-resumable,upload-length,upload-metadata"},
        tus_header=False)
    assert 200 <= preflight.status_code < 300, preflight.text
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    assert {"post", "patch", "head", "delete"} <= header_list(preflight, "Access-Control-Allow-Methods")
    assert {"authorization", "content-type", "tus-resumable", "upload-length", "upload-offset", "upload-metadata"} \
        <= header_list(preflight, "Access-Control-Allow-Headers")

    data = png(8, 8, seed=17)
    created = create(parley, visitor.auth, visitor.ticket, len(data), "shop.png", body=data, headers={"Origin": origin})
    assert created.status_code == 201, created.text
    assert created.headers.get("Access-Control-Allow-Origin") == origin
    exposed = header_list(created, "Access-Control-Expose-Headers")
    assert {"location", "upload-offset", "upload-length", "upload-expires", "tus-resumable", "tus-version",
            "tus-extension", "tus-max-size", "parley-attachment", "content-disposition", "content-length",
            "content-range", "etag"} <= exposed, exposed
    got = call("GET", parley.url(f"/api/attachments/{created.headers['Parley-Attachment']}"),
               {**visitor.auth, "Origin": origin}, tus_header=False)
    assert got.status_code == 200 and got.headers.get("Access-Control-Allow-Origin") == origin
    assert {"content-disposition", "etag"} <= header_list(got, "Access-Control-Expose-Headers")

    # A widget that allows only the shop's origin: another site cannot upload to its tickets.
    guarded = Visitor(parley, widget="shoponly")
    refused = create(parley, guarded.auth, guarded.ticket, len(data), "evil.png", body=data,
                     headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "origin_not_allowed", refused.text
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert guarded.attachment_events() == []


# --- content types --------------------------------------------------------------------------------

def test_an_html_file_is_refused_and_leaves_nothing(parley, tmp_path):
    visitor = Visitor(parley)
    folders = (parley.data / "uploads", parley.data / "attachments")
    before = [files_under(f) for f in folders]
    path = tmp_path / "page.html"
    path.write_bytes(data := html())
    kind = sniff(path)
    assert kind == "text/html"

    # With tuspy: the PATCH that completes the file gets the refusal.
    uploader = visitor.tus_client().uploader(file_path=str(path), metadata={
        "ticket": visitor.ticket, "filename": "page.html", "filetype": "text/plain"})
    with pytest.raises(TusUploadFailed) as refused:
        uploader.upload()
    assert refused.value.status_code == 415
    error = error_content(refused.value)
    assert error["code"] == "type_not_allowed" and kind in error["message"], error
    assert call("HEAD", uploader.url, visitor.auth).status_code == 404
    assert [files_under(f) for f in folders] == before, "the refused file left something behind"

    # In one request (creation-with-upload): the refusal instead of the 201.
    one = create(parley, visitor.auth, visitor.ticket, len(data), "page.html", "text/plain", body=data)
    assert one.status_code == 415, one.text
    error = error_of(one)
    assert error["code"] == "type_not_allowed" and kind in error["message"], error
    assert [files_under(f) for f in folders] == before, "the refused file left something behind"
    assert visitor.attachment_events() == []


@pytest.mark.parametrize("case, name, filetype, content, accepted, meant", CORPUS, ids=[c[0] for c in CORPUS])
def test_type_is_decided_by_content(parley, tmp_path, case, name, filetype, content, accepted, meant):
    visitor = Visitor(parley)
    path = tmp_path / name
    path.write_bytes(data := content())
    verdict = sniff(path)
    assert re.fullmatch(meant, verdict), f"corpus problem: `file` says {case} is {verdict}"
    folders = (parley.data / "uploads", parley.data / "attachments")
    before = [files_under(f) for f in folders]

    if accepted:
        _, attachment = tus_upload(visitor, path, name, filetype)
        assert_attachment_event(visitor, attachment, name, data, verdict)
        got = call("GET", parley.url(f"/api/attachments/{attachment}"), visitor.auth, tus_header=False)
        assert got.status_code == 200 and got.content == data
        assert got.headers["Content-Type"].split(";")[0].strip() == verdict
    else:
        uploader = visitor.tus_client().uploader(file_path=str(path), metadata={
            "ticket": visitor.ticket, "filename": name, "filetype": filetype})
        with pytest.raises(TusUploadFailed) as refused:
            uploader.upload()
        assert refused.value.status_code == 415, refused.value.response_content
        error = error_content(refused.value)
        assert error["code"] == "type_not_allowed"
        assert verdict in error["message"], error["message"]
        assert visitor.attachment_events() == []
        assert [files_under(f) for f in folders] == before, "the refused file left something behind"


def test_inline_only_for_raster_images(parley):
    visitor = Visitor(parley)
    sent = {}
    for name, data in (("shot.png", png(4, 4, seed=18)), ("doc.pdf", pdf()), ("note.txt", text())):
        created = create(parley, visitor.auth, visitor.ticket, len(data), name, body=data)
        assert created.status_code == 201, created.text
        sent[name] = created.headers["Parley-Attachment"]
    for name, inline in (("shot.png", True), ("doc.pdf", False), ("note.txt", False)):
        got = call("GET", parley.url(f"/api/attachments/{sent[name]}?inline=1"), visitor.auth, tus_header=False)
        assert got.status_code == 200
        disposition = got.headers["Content-Disposition"].split(";")[0].strip()
        assert disposition == ("inline" if inline else "attachment"), f"{name}: {got.headers['Content-Disposition']}"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in {d.strip() for d in got.headers["Content-Security-Policy"].split(";")}


def test_a_missing_file_answers_410(parley):
    visitor = Visitor(parley)
    attachments = parley.data / "attachments"
    before = files_under(attachments)
    data = text()
    created = create(parley, visitor.auth, visitor.ticket, len(data), "note.txt", body=data)
    assert created.status_code == 201, created.text
    stored = files_under(attachments) - before
    assert len(stored) == 1, f"expected the one new file under attachments/: {stored}"
    (attachments / stored.pop()).unlink()
    gone = call("GET", parley.url(f"/api/attachments/{created.headers['Parley-Attachment']}"), visitor.auth,
                tus_header=False)
    assert gone.status_code == 410 and error_of(gone)["code"] == "attachment_missing"


# --- memory ---------------------------------------------------------------------------------------

def memory(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) * 1024  # the kernel counts in kB
    return values


def reset_peak(pid: int) -> int:
    """Resets the process's peak (VmHWM) to its current RSS; returns that RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory(pid)["VmRSS"]


def write_text(path: Path, size: int, seed: int) -> str:
    """Writes `size` bytes of text (base64 lines of seeded random bytes) block by block; returns its SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = base64.encodebytes(rng.randbytes(57 * 1024))[:left]
            f.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def test_memory_does_not_grow_with_file_size(start_server, tmp_path):
    limit, size, chunk = 100 * MB, 80 * MB, 8 * MB
    server = start_server(widgets=[{"id": "big", "name": "Big files", "maxFileSize": limit}],
                          env={"PARLEY_RATE_LIMITS": "off"})
    pid = server.process.pid  # `parley serve` itself: the binary is started directly, not through a shell
    visitor = Visitor(server, widget="big")

    # A small upload first, through the same path (create, PATCH, sync, sniff, move, event): what the
    # server sets up once, on its first upload, is not what this test measures.
    warm = tmp_path / "warm-up.txt"
    write_text(warm, 64 * 1024, seed=20)
    tus_upload(visitor, warm, "warm-up.txt", chunk_size=chunk)

    path = tmp_path / "large.txt"
    sha = write_text(path, size, seed=21)
    kind = sniff(path)
    before = reset_peak(pid)
    uploader = visitor.tus_client().uploader(file_path=str(path), chunk_size=chunk,
                                             metadata={"ticket": visitor.ticket, "filename": "large.txt"})
    # Every PATCH but the last (the bytes streaming to disk), then the last one (its bytes, and the
    # finishing: sync, type by content, move, event). Both peaks are read, so a failure says which part grew.
    uploader.upload(stop_at=size - chunk)
    streamed = memory(pid)["VmHWM"] - before
    uploader.upload()
    grown = memory(pid)["VmHWM"] - before
    attachment = uploader.request.response_headers.get("parley-attachment")
    assert attachment
    assert_attachment_event(visitor, attachment, "large.txt", size, kind)

    # The download streams too; its peak is not asserted here: bounded but noisy (10-22 MB measured
    # for 80-240 MB files, with no trend in the size), which a 10 MB bound would make flaky.
    digest = hashlib.sha256()
    received = 0
    with requests.get(server.url(f"/api/attachments/{attachment}"), headers=visitor.auth, stream=True,
                      timeout=TIMEOUT) as got:
        assert got.status_code == 200
        for block in got.iter_content(MB):
            digest.update(block)
            received += len(block)
    assert received == size and digest.hexdigest() == sha

    assert streamed < 10 * MB, f"the server's peak RSS grew by {streamed / MB:.1f} MB streaming {(size - chunk) // MB} MB"
    assert grown < 10 * MB, (f"the server's peak RSS grew by {grown / MB:.1f} MB for a {size // MB} MB upload "
                             f"({streamed / MB:.1f} MB before its last PATCH, which also finishes the upload)")
