"""The release (`make release` → dist/): one executable built with the Swift standard library
inside, and its pages next to it. It runs where no Swift toolchain exists: here the toolchain's
folder is hidden by a tmpfs in a private mount namespace (root, `unshare`), and a visitor and an
agent complete a chat round trip with it. Only Debian's libmagic1 and libarchive13 (and libc's
usual company) are linked dynamically."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import REPO, Server

DIST = Path(os.environ.get("PARLEY_DIST", REPO / "dist"))
TIMEOUT = 10


def toolchain_root() -> Path:
    swift = shutil.which("swift")
    assert swift, "the tests run where Swift is installed: there is a toolchain to hide"
    return Path(os.path.realpath(swift)).parents[2]  # /opt/swift/usr/bin/swift → /opt/swift


def test_the_release_links_no_swift_library():
    binary = DIST / "parley"
    assert binary.is_file(), "no dist/parley: run `make release`"
    linked = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "libswift" not in linked and "/opt/swift" not in linked and "not found" not in linked, linked
    assert "libmagic.so.1" in linked and "libarchive.so.13" in linked
    assert (DIST / "Public" / "widget.js").is_file() and (DIST / "Public" / "agent.html").is_file()


def test_the_release_serves_a_chat_with_the_toolchain_hidden(tmp_path):
    binary = DIST / "parley"
    assert binary.is_file(), "no dist/parley: run `make release`"
    # Not skipped: a run that cannot hide the toolchain has not shown the release works without it.
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    assert probe.returncode == 0, f"hiding the toolchain needs root and mount namespaces (unshare --mount): {probe.stderr}"
    hidden = toolchain_root()
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    # cwd has no Public/: the release must find its pages next to the executable.
    script = (f"mount -t tmpfs none {hidden} && ! command -v swift >/dev/null && "
              f"exec {binary} serve --data {data} --host 127.0.0.1 --port 0")
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PARLEY_BCRYPT_COST": "4", "HOME": str(tmp_path)})
    server = Server(process, log, data, binary)
    try:
        server.wait_until_listening()
        assert requests.get(server.url("/widget.js"), timeout=TIMEOUT).status_code == 200
        r = requests.post(server.url("/api/widgets/demo/tickets"), timeout=TIMEOUT,
                          json={"fields": {"name": "Vera", "email": "vera@example.com", "message": "Is the blue mug back?"}})
        assert r.status_code == 201, r.text
        ticket, token = r.json()["ticket"]["id"], r.json()["token"]
        # An agent answers (added with the same binary, toolchain hidden too).
        add = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              f"mount -t tmpfs none {hidden} && exec {binary} agent add ann@shop.example --name Ann "
                              f"--role admin --password-stdin --data {data}"],
                             input="correct horse battery\n", capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin", "PARLEY_BCRYPT_COST": "4"})
        assert add.returncode == 0, add.stderr
        ann = requests.Session()
        assert ann.post(server.url("/api/agent/login"), json={"email": "ann@shop.example", "password": "correct horse battery"},
                        timeout=TIMEOUT).status_code == 200
        assert ann.post(server.url(f"/api/agent/tickets/{ticket}/open"), json={}, timeout=TIMEOUT).status_code in (200, 201)
        assert ann.post(server.url(f"/api/agent/tickets/{ticket}/messages"), json={"id": "a1", "text": "Yes, since Monday!"},
                        timeout=TIMEOUT).status_code == 201
        events = requests.get(server.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {token}"},
                              timeout=TIMEOUT).json()["events"]
        texts = [e.get("text") for e in events if e["type"] == "message"]
        assert texts == ["Is the blue mug back?", "Yes, since Monday!"]
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
