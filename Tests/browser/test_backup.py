"""Backups and the data tools, end to end with the real binary (no browser): `parley backup` taken
while visitors keep writing restores to a server that has every message acknowledged before the
backup started; `parley restore` refuses hostile or damaged archives and writes nothing; GNU tar
reads our backups and `parley restore` reads a GNU tar of a live folder; export, then erase, then
check leave no trace of the visitor's email in the data folder, and the server still starts.
Waits are on real conditions (acknowledgements, process exits), never sleeps."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
import requests

from conftest import _running_server
from samples import png

TIMEOUT = 10
ENV = {"PARLEY_RATE_LIMITS": "off"}


def parley(server, *args: str) -> subprocess.CompletedProcess:
    """`parley ARGS` (no --data added: the caller says where)."""
    return subprocess.run([str(server.binary), *args], capture_output=True, text=True, timeout=120, check=False)


def start_ticket(server, email: str, message: str = "hello") -> tuple[str, str]:
    r = requests.post(server.url("/api/widgets/demo/tickets"), timeout=TIMEOUT,
                      json={"fields": {"name": "Vera", "email": email, "message": message}})
    assert r.status_code == 201, r.text
    return r.json()["ticket"]["id"], r.json()["token"]


def ticket_texts(data: Path) -> dict[str, set[str]]:
    """Every message text per ticket, read from the logs."""
    out: dict[str, set[str]] = {}
    for log in data.glob("tickets/*/*.jsonl"):
        texts = out.setdefault(log.stem, set())
        for line in log.read_text().splitlines():
            e = json.loads(line)
            if e["type"] == "message":
                texts.add(e["text"])
    return out


# --- 1. a backup during continuous writes ----------------------------------------------------------

def test_a_backup_taken_during_writes_has_every_message_acknowledged_before_it_started(start_server, tmp_path):
    server = start_server(env=ENV)
    tickets = [start_ticket(server, f"v{i}@example.com") for i in range(6)]
    acked: list[tuple[str, str]] = []  # (ticket, text), in acknowledgement order
    lock = threading.Condition()
    stop = threading.Event()
    failures: list[str] = []

    def writer(ticket: str, token: str) -> None:
        s = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            text = f"{ticket} message {n}"
            r = s.post(server.url(f"/api/tickets/{ticket}/messages"), json={"id": f"c{n}", "text": text},
                       headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
            if r.status_code not in (200, 201):
                failures.append(r.text)
                return
            with lock:
                acked.append((ticket, text))
                lock.notify_all()

    threads = [threading.Thread(target=writer, args=t, daemon=True) for t in tickets]
    for t in threads:
        t.start()
    # Let some writes land, then take the backup while the writers keep going.
    with lock:
        assert lock.wait_for(lambda: len(acked) >= 60 or failures, timeout=60), "the writers never got going"
        before = list(acked)
    archive = tmp_path / "live.tar.gz"
    backup = parley(server, "backup", str(archive), "--data", str(server.data))
    with lock:
        during = len(acked) - len(before)
    stop.set()
    for t in threads:
        t.join(TIMEOUT)
    assert not failures, failures
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.startswith(f"backup {archive}: ") and " files, " in backup.stdout and " s\n" in backup.stdout
    assert during > 0, "the writers were not writing while the backup ran"

    restored = tmp_path / "second" / "data"
    r = parley(server, "restore", str(archive), "--data", str(restored))
    assert r.returncode == 0, r.stderr
    assert "every file matching the backup's manifest" in r.stdout
    texts = ticket_texts(restored)
    missing = [(t, m) for t, m in before if m not in texts.get(t, set())]
    assert missing == [], f"{len(missing)} acknowledged messages are not in the backup, e.g. {missing[:3]}"
    # The restored folder is healthy and serves.
    check = parley(server, "check", "--data", str(restored))
    assert check.returncode == 0, check.stdout + check.stderr
    with _running_server(tmp_path / "second", env=ENV) as again:
        ticket, token = tickets[0]
        events = requests.get(again.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {token}"},
                              timeout=TIMEOUT).json()["events"]
        served = {e["text"] for e in events if e["type"] == "message"}
        assert {m for t, m in before if t == ticket} <= served


# --- 2. hostile and damaged archives ---------------------------------------------------------------

def tar_gz(entries: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for info in entries:
            body = (data or {}).get(info.name)
            if body is not None:
                info.size = len(body)
            t.addfile(info, io.BytesIO(body) if body is not None else None)
    return buf.getvalue()


def file_entry(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def link_entry(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize("case, make, reason", [
    ("dotdot", lambda good: tar_gz([file_entry("data/config/agents.json"), file_entry("../x")],
                                   {"data/config/agents.json": b"[]\n", "../x": b"evil"}), "path with .."),
    ("absolute", lambda good: tar_gz([file_entry("/etc/x")], {"/etc/x": b"evil"}), "absolute path"),
    ("symlink", lambda good: tar_gz([file_entry("data/config/agents.json"), link_entry("data/secret.key", "/etc/passwd")],
                                    {"data/config/agents.json": b"[]\n"}), "link"),
    ("outside", lambda good: tar_gz([file_entry("data/config/agents.json"), file_entry("data/etc/cron.d/x")],
                                    {"data/config/agents.json": b"[]\n", "data/etc/cron.d/x": b"* * * * * evil"}),
     "not part of a Parley data folder"),
    ("truncated", lambda good: good[: len(good) * 2 // 3], "damaged"),
    ("tampered", lambda good: retarred(good, "data/secret.key", b"0" * 64 + b"\n"), "does not match its manifest"),
])
def test_hostile_or_damaged_archives_are_refused_and_nothing_is_written(start_server, tmp_path, case, make, reason):
    server = start_server(env=ENV)
    start_ticket(server, "vera@example.com")
    good = tmp_path / "good.tar.gz"
    assert parley(server, "backup", str(good), "--data", str(server.data)).returncode == 0
    bad = tmp_path / f"{case}.tar.gz"
    bad.write_bytes(make(good.read_bytes()))
    before = sorted(p.name for p in tmp_path.iterdir())

    target = tmp_path / "target"
    r = parley(server, "restore", str(bad), "--data", str(target))
    assert r.returncode != 0
    assert r.stderr.startswith("parley: ") and reason in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging folder left behind
    assert not (tmp_path.parent / "x").exists() and not (tmp_path / "x").exists()

    # Over an existing folder (with --force): it stays exactly as it was.
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    r = parley(server, "restore", str(bad), "--data", str(existing), "--force")
    assert r.returncode != 0 and reason in r.stderr
    assert [p.name for p in existing.iterdir()] == ["keep.txt"] and (existing / "keep.txt").read_text() == "mine"
    assert not list(tmp_path.glob("existing.before-restore-*"))


def retarred(archive: bytes, name: str, body: bytes) -> bytes:
    """The archive with one file's content changed (its manifest left as it was)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read() if info.isfile() else None
            if info.name == name:
                data = body
                info.size = len(body)
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_a_non_empty_folder_is_replaced_only_with_force_and_kept_aside(start_server, tmp_path):
    server = start_server(env=ENV)
    start_ticket(server, "vera@example.com")
    archive = tmp_path / "b.tar.zst"
    made = parley(server, "backup", str(archive), "--data", str(server.data))
    assert made.returncode == 0, made.stderr
    target = tmp_path / "target"
    target.mkdir()
    (target / "old.txt").write_text("old")
    r = parley(server, "restore", str(archive), "--data", str(target))
    assert r.returncode != 0 and "is not empty" in r.stderr and "--force" in r.stderr
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    r = parley(server, "restore", str(archive), "--data", str(target), "--force")
    assert r.returncode == 0, r.stderr
    aside = list(tmp_path.glob("target.before-restore-*"))
    assert len(aside) == 1 and (aside[0] / "old.txt").read_text() == "old"
    assert len(list(target.glob("tickets/*/*.jsonl"))) == 1
    # Never over the folder of a running server.
    r = parley(server, "restore", str(archive), "--data", str(server.data), "--force")
    assert r.returncode != 0 and "in use by another parley process" in r.stderr


# --- 3. GNU tar both ways ----------------------------------------------------------------------------

def test_gnu_tar_reads_our_backups_and_restore_reads_a_gnu_tar_of_a_live_folder(start_server, tmp_path):
    server = start_server(env=ENV)
    ticket, token = start_ticket(server, "vera@example.com", "first")
    archive = tmp_path / "ours.tar.gz"
    assert parley(server, "backup", str(archive), "--data", str(server.data)).returncode == 0
    out = tmp_path / "gnu"
    out.mkdir()
    subprocess.run(["tar", "xzf", str(archive), "-C", str(out)], check=True, timeout=60)
    manifest = json.loads((out / "data" / "backup-manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} >= {"secret.key", f"tickets/{ticket[:4]}-{ticket[4:6]}/{ticket}.jsonl"}
    for f in manifest["files"]:
        assert (out / "data" / f["path"]).stat().st_size == f["size"]

    # Private: it holds the secret and every conversation.
    assert archive.stat().st_mode & 0o777 == 0o600

    # A plain tar of the folder while the server runs (what a cron line with tar does); a
    # replacement's temp file caught mid-write is left out, not a reason to refuse the archive.
    (server.data / "config" / "widgets" / ".demo.json.123.456.tmp").write_text("{")
    requests.post(server.url(f"/api/tickets/{ticket}/messages"), json={"id": "c2", "text": "second"},
                  headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT).raise_for_status()
    plain = tmp_path / "plain.tgz"
    subprocess.run(["tar", "czf", str(plain), "-C", str(server.data.parent), server.data.name], check=True, timeout=60)
    restored = tmp_path / "from-gnu"
    r = parley(server, "restore", str(plain), "--data", str(restored))
    assert r.returncode == 0, r.stderr
    assert "no manifest" in r.stdout and "left out" in r.stdout
    assert not (restored / "config" / "widgets" / ".demo.json.123.456.tmp").exists()
    assert ticket_texts(restored)[ticket] >= {"first", "second"}
    assert parley(server, "check", "--data", str(restored)).returncode == 0


# --- 4. export, erase, check ----------------------------------------------------------------------------

def upload(server, ticket: str, token: str, body: bytes, name: str) -> str:
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("ticket", ticket), ("filename", name), ("filetype", "image/png")))
    r = requests.post(server.url("/api/uploads"), data=body, timeout=TIMEOUT, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)), "Upload-Metadata": meta,
        "Content-Type": "application/offset+octet-stream", "Authorization": f"Bearer {token}"})
    assert r.status_code == 201 and r.headers.get("Parley-Attachment"), r.text
    return r.headers["Parley-Attachment"]


def test_export_then_erase_leaves_no_trace_of_the_email_and_the_server_still_starts(tmp_path):
    email = "Erin.Erase@Example.com"
    root = tmp_path / "srv"
    root.mkdir()
    with _running_server(root, env=ENV) as server:
        mine = [start_ticket(server, email, f"my question {i}") for i in range(2)]
        other, other_token = start_ticket(server, "someone@example.com", "unrelated")
        # Someone else whose address contains Erin's: untouched by her erase.
        neighbour, _ = start_ticket(server, "kerin.erase@example.com", "not erin")
        attachment = upload(server, *mine[0], png(seed=7), "photo.png")
        # An agent's note elsewhere mentions the email; the visitor is also saved as a contact.
        added = server.cli("agent", "add", "ann@shop.example", "--name", "Ann", "--role", "admin", "--password-stdin",
                           stdin="correct horse battery\n")
        assert added.returncode == 0, added.stderr
        ann = requests.Session()
        ann.post(server.url("/api/agent/login"), json={"email": "ann@shop.example", "password": "correct horse battery"},
                 timeout=TIMEOUT).raise_for_status()
        ann.post(server.url(f"/api/agent/tickets/{other}/notes"), json={"text": f"Same person as {email.lower()}?"},
                 timeout=TIMEOUT).raise_for_status()
        ann.post(server.url("/api/agent/contacts"), json={"ticket": mine[0][0]}, timeout=TIMEOUT).raise_for_status()
        data = server.data
        # While it runs: export works (read-only), erase is refused (the server holds the folder).
        out = tmp_path / "erin.zip"
        r = server.cli("export", "--email", email, "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"exported 2 tickets and 1 attachments to {out}"
        r = server.cli("erase", "--email", email)
        assert r.returncode != 0 and "in use by another parley process" in r.stderr

    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {f"tickets/{t}.jsonl" for t, _ in mine} <= names
        assert f"attachments/{mine[0][0]}/{attachment}-photo.png" in names
        assert z.read(f"attachments/{mine[0][0]}/{attachment}-photo.png") == png(seed=7)
        first = [json.loads(line) for line in z.read(f"tickets/{mine[0][0]}.jsonl").decode().splitlines()]
        assert first[0]["type"] == "ticket.opened" and "tokenHash" not in first[0]

    binary = server.binary
    erase = subprocess.run([str(binary), "erase", "--email", email, "--data", str(data)], capture_output=True, text=True, timeout=60)
    assert erase.returncode == 0, erase.stderr
    assert erase.stdout.startswith("erased 2 tickets")
    grep = subprocess.run(["grep", "-rliw", email.lower(), str(data)], capture_output=True, text=True)
    assert grep.stdout == "", f"the email is still in: {grep.stdout}"
    assert not (data / "attachments" / mine[0][0]).exists()
    assert "kerin.erase@example.com" in next(data.glob(f"tickets/*/{neighbour}.jsonl")).read_text()
    audit = (data / "config" / "audit.jsonl").read_text()
    assert '"action":"erased"' in audit
    check = subprocess.run([str(binary), "check", "--data", str(data)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    with _running_server(root, env=ENV) as again:
        # The other ticket is intact (its note rewritten without the email); the erased ones are gone.
        r = requests.get(again.url(f"/api/tickets/{other}/events"), headers={"Authorization": f"Bearer {other_token}"},
                         timeout=TIMEOUT)
        assert r.status_code == 200 and [e["text"] for e in r.json()["events"] if e["type"] == "message"] == ["unrelated"]
        gone = requests.get(again.url(f"/api/tickets/{mine[0][0]}/events"), headers={"Authorization": f"Bearer {mine[0][1]}"},
                            timeout=TIMEOUT)
        assert gone.status_code == 404


def test_purge_removes_tickets_closed_before_a_date(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    with _running_server(root, env=ENV) as server:
        old, _ = start_ticket(server, "old@example.com")
        kept, _ = start_ticket(server, "kept@example.com")
        assert server.cli("agent", "add", "ann@shop.example", "--name", "Ann", "--role", "admin", "--password-stdin",
                          stdin="correct horse battery\n").returncode == 0
        ann = requests.Session()
        ann.post(server.url("/api/agent/login"), json={"email": "ann@shop.example", "password": "correct horse battery"},
                 timeout=TIMEOUT).raise_for_status()
        ann.post(server.url(f"/api/agent/tickets/{old}/close"), json={}, timeout=TIMEOUT).raise_for_status()
        data, binary = server.data, server.binary
    run = lambda *a: subprocess.run([str(binary), *a, "--data", str(data)], capture_output=True, text=True, timeout=60)
    dry = run("purge", "--closed-before", "2999-01-01", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.splitlines() == [old, "would remove 1 tickets closed before 2999-01-01T00:00:00.000Z"]
    assert len(list(data.glob("tickets/*/*.jsonl"))) == 2
    assert run("purge", "--closed-before", "2000-01-01").stdout.startswith("removed 0 tickets")
    bad = run("purge", "--closed-before", "last year")
    assert bad.returncode != 0 and "--closed-before takes a date" in bad.stderr
    done = run("purge", "--closed-before", "2999-01-01")
    assert done.returncode == 0 and done.stdout.startswith("removed 1 tickets")
    assert [p.stem for p in data.glob("tickets/*/*.jsonl")] == [kept]
    assert '"action":"purged"' in (data / "config" / "audit.jsonl").read_text()


def test_a_missing_attachment_is_reported_by_check_and_marked_missing_never_a_crash(start_server):
    """What a plain tar taken mid-upload can give: an `attachment` event whose file is not there."""
    server = start_server(env=ENV)
    ticket, token = start_ticket(server, "vera@example.com")
    attachment = upload(server, ticket, token, png(seed=3), "lost.png")
    (server.data / "attachments" / ticket / attachment).unlink()
    assert server.cli("agent", "add", "ann@shop.example", "--name", "Ann", "--role", "admin", "--password-stdin",
                      stdin="correct horse battery\n").returncode == 0
    ann = requests.Session()
    ann.post(server.url("/api/agent/login"), json={"email": "ann@shop.example", "password": "correct horse battery"},
             timeout=TIMEOUT).raise_for_status()
    shown = ann.get(server.url(f"/api/agent/tickets/{ticket}"), timeout=TIMEOUT).json()
    files = [e["attachment"] for e in shown["events"] if e["type"] == "attachment"]
    assert files == [{"id": attachment, "name": "lost.png", "size": len(png(seed=3)), "type": "image/png", "missing": True}]
    gone = requests.get(server.url(f"/api/attachments/{attachment}"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "attachment_missing"
    # The log itself never stores the flag.
    log = next(server.data.glob(f"tickets/*/{ticket}.jsonl")).read_text()
    assert '"missing"' not in log
    # `parley check` (run with the server stopped) names it.
    server.process.terminate()
    assert server.process.wait(timeout=30) == 0
    check = server.cli("check")
    assert check.returncode == 1 and f"attachment {attachment} (lost.png) is missing from attachments/" in check.stdout
