"""Running it: `/metrics` parses as Prometheus text (with prometheus_client's own parser) and holds
no personal data; SIGTERM during concurrent sends leaves every acknowledged message on disk, exits
0, and tells live streams to come back later. Real binary, no browser; waits are on real events."""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import _running_server

TIMEOUT = 10
ENV = {"PARLEY_RATE_LIMITS": "off"}
TICKET_ID = re.compile(r"\d{8}-[a-z2-9]{10}")


def start_ticket(server, email: str) -> tuple[str, str]:
    r = requests.post(server.url("/api/widgets/demo/tickets"), timeout=TIMEOUT,
                      json={"fields": {"name": "Vera", "email": email, "message": "hello"}})
    assert r.status_code == 201, r.text
    return r.json()["ticket"]["id"], r.json()["token"]


def test_metrics_parse_as_prometheus_text_and_hold_no_personal_data(start_server):
    server = start_server(env=ENV)
    ticket, token = start_ticket(server, "metric.person@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    for i in range(3):
        r = requests.post(server.url(f"/api/tickets/{ticket}/messages"), json={"id": f"m{i}", "text": "secret words"},
                          headers=auth, timeout=TIMEOUT)
        assert r.status_code == 201
    assert requests.get(server.url(f"/api/tickets/{ticket}/events"), headers=auth, timeout=TIMEOUT).ok
    assert requests.get(server.url("/api/tickets/20990101-aaaaaaaaaa/events"), headers=auth, timeout=TIMEOUT).status_code == 404
    with requests.get(server.url(f"/api/tickets/{ticket}/live"), headers=auth, stream=True, timeout=TIMEOUT) as live:
        assert live.status_code == 200
        text = requests.get(server.url("/metrics"), timeout=TIMEOUT)
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text.text)}

    def samples(name: str, **labels: str):
        return [s for f in families.values() for s in f.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    sent = samples("parley_http_requests_total", route="/api/tickets/{ticket}/messages", method="POST", status="201")
    assert [s.value for s in sent] == [3.0]
    assert samples("parley_http_requests_total", route="/api/widgets/{widget}/tickets", status="201")[0].value == 1.0
    assert samples("parley_http_request_duration_seconds_count", route="/api/tickets/{ticket}/messages", method="POST")[0].value == 3.0
    assert samples("parley_live_streams", kind="visitor")[0].value == 1.0
    assert samples("parley_tickets", status="open")[0].value == 1.0
    # Every durable record went through a batch with its fsync timed.
    assert samples("parley_commit_batch_records_sum")[0].value >= 4.0  # the new ticket (one write), 3 messages
    assert samples("parley_commit_sync_seconds_count")[0].value >= 1.0
    assert "parley_upload_bytes_total" in text.text
    # Exactly /metrics (a proxy's rule for that path covers it all).
    assert requests.get(server.url("/metrics/"), timeout=TIMEOUT).status_code == 404
    # No ids, emails or message text anywhere in the output.
    assert not TICKET_ID.search(text.text) and "example.com" not in text.text and "secret words" not in text.text


def test_sigterm_during_sends_keeps_every_acknowledged_message_and_exits_0(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    with _running_server(root, env=ENV) as server:
        tickets = [start_ticket(server, f"v{i}@example.com") for i in range(4)]
        acked: list[tuple[str, str]] = []
        lock = threading.Condition()
        stop = threading.Event()

        def writer(ticket: str, token: str) -> None:
            s = requests.Session()
            n = 0
            while not stop.is_set():
                n += 1
                text = f"{ticket} #{n}"
                try:
                    r = s.post(server.url(f"/api/tickets/{ticket}/messages"), json={"id": f"c{n}", "text": text},
                               headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
                except requests.RequestException:
                    return  # the server is gone: this one was never acknowledged
                if r.status_code in (200, 201):
                    with lock:
                        acked.append((ticket, text))
                        lock.notify_all()
                elif r.status_code >= 500:
                    return  # refused while stopping: not acknowledged

        # A visitor's live stream, read line by line until the server closes it.
        stream_lines: list[str] = []
        first = tickets[0]
        live = requests.get(server.url(f"/api/tickets/{first[0]}/live"), headers={"Authorization": f"Bearer {first[1]}"},
                            stream=True, timeout=30)
        assert live.status_code == 200

        def read_stream() -> None:
            try:
                for line in live.iter_lines(decode_unicode=True):
                    stream_lines.append(line)
            except requests.RequestException:
                pass

        reader = threading.Thread(target=read_stream, daemon=True)
        reader.start()
        threads = [threading.Thread(target=writer, args=t, daemon=True) for t in tickets]
        for t in threads:
            t.start()
        with lock:
            assert lock.wait_for(lambda: len(acked) >= 40, timeout=60), "the writers never got going"
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=15)  # bounded: it does not wait for clients to leave
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
        reader.join(TIMEOUT)
        assert code == 0, server.log()
        with lock:
            done = list(acked)

    on_disk: dict[str, set[str]] = {}
    for log in (root / "data").glob("tickets/*/*.jsonl"):
        on_disk[log.stem] = {json.loads(line).get("text") for line in log.read_text().splitlines()}
    missing = [(t, m) for t, m in done if m not in on_disk.get(t, set())]
    assert missing == [], f"{len(missing)} acknowledged messages are not on disk, e.g. {missing[:3]}"
    # The stream was told to come back later, then closed.
    assert "retry: 5000" in stream_lines, stream_lines[-5:]
    # And the folder is clean for the next start.
    assert (root / "data" / "journal.jsonl").stat().st_size == 0


def setup_link_base(server) -> str:
    """The base of the first-admin link the server printed (it uses the public URL)."""
    m = server.wait_for_log(r"create the first admin at (\S+)/setup\?token=")
    return m.group(1)


def test_options_come_from_flags_then_environment_then_the_config_file(tmp_path):
    config = tmp_path / "parley.conf"
    config.write_text("# the owner's settings\npublic-url = https://from-file.example\nheartbeat = 7\n")
    runs = [
        ({"PARLEY_CONFIG": str(config)}, [], "https://from-file.example"),
        ({"PARLEY_CONFIG": str(config), "PARLEY_PUBLIC_URL": "https://from-env.example"}, [], "https://from-env.example"),
        ({"PARLEY_CONFIG": str(config), "PARLEY_PUBLIC_URL": "https://from-env.example"}, ["--public-url", "https://from-flag.example/"],
         "https://from-flag.example"),
    ]
    for i, (env, args, expected) in enumerate(runs):
        root = tmp_path / f"run{i}"
        root.mkdir()
        with _running_server(root, env=env, args=args) as server:
            assert setup_link_base(server) == expected
    # Windows line endings read the same.
    crlf = tmp_path / "crlf.conf"
    crlf.write_bytes(b"# saved on Windows\r\npublic-url = https://crlf.example\r\n")
    root = tmp_path / "crlf"
    root.mkdir()
    with _running_server(root, env={"PARLEY_CONFIG": str(crlf)}) as server:
        assert setup_link_base(server) == "https://crlf.example"
    # A bad file is one clear line and a non-zero exit.
    config.write_text("porte = 8080\n")
    import subprocess
    binary = server.binary
    bad = subprocess.run([str(binary), "serve", "--config", str(config), "--data", str(tmp_path / "x")], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode != 0 and "unknown setting porte" in bad.stderr and bad.stderr.count("\n") == 1
    for args, message in ((["--shutdown-timeout", "inf"], "shutdown-timeout must be"), (["--idle-timeout=-1"], "idle-timeout must be"),
                          (["--trusted-proxies", "10.0.0.0/8"], "trusted proxies are IP addresses")):
        r = subprocess.run([str(binary), "serve", *args, "--data", str(tmp_path / "x")], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and message in r.stderr, r.stderr
    help_text = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    for option in ("--public-url", "--trusted-proxies", "--config", "--log-format", "default 8080", "env PARLEY_PORT"):
        assert option in help_text


def test_forwarded_headers_are_believed_only_from_trusted_proxies(tmp_path):
    def secure_cookie(args: list[str]) -> bool:
        root = tmp_path / ("a" if not args else "b")
        root.mkdir()
        with _running_server(root, env={**ENV, "PARLEY_BCRYPT_COST": "4"}, args=args) as server:
            assert server.cli("agent", "add", "ann@shop.example", "--name", "Ann", "--password-stdin",
                              stdin="correct horse battery\n").returncode == 0
            r = requests.post(server.url("/api/agent/login"), json={"email": "ann@shop.example", "password": "correct horse battery"},
                              headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}, timeout=TIMEOUT)
            assert r.status_code == 200, r.text
            return "secure" in r.headers["Set-Cookie"].lower()
    # The test talks from loopback: a proxy by default, so its X-Forwarded-Proto counts.
    assert secure_cookie([]) is True
    # Not when loopback is not a trusted proxy: anybody could claim https.
    assert secure_cookie(["--trusted-proxies", "10.9.8.7"]) is False


def test_tls_without_a_proxy_serves_https_and_http2(tmp_path):
    import subprocess
    import urllib3
    urllib3.disable_warnings()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    root = tmp_path / "srv"
    root.mkdir()
    with _running_server(root, env={**ENV, "PARLEY_BCRYPT_COST": "4"}, args=["--tls-cert", str(cert), "--tls-key", str(key)]) as server:
        base = server.base_url.replace("http://", "https://")
        assert requests.get(base + "/healthz", verify=False, timeout=TIMEOUT).json() == {"status": "ok"}
        # Plain HTTP on the TLS port is not served.
        try:
            plain = requests.get(server.base_url + "/healthz", timeout=TIMEOUT).status_code
        except requests.RequestException:
            plain = None
        assert plain != 200
        version = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}", base + "/widget.js"],
                                 capture_output=True, text=True, timeout=30).stdout
        assert version == "2"
        # Behind its own TLS, the session cookie is Secure.
        assert server.cli("agent", "add", "ann@shop.example", "--name", "Ann", "--password-stdin",
                          stdin="correct horse battery\n").returncode == 0
        r = requests.post(base + "/api/agent/login", json={"email": "ann@shop.example", "password": "correct horse battery"},
                          verify=False, timeout=TIMEOUT)
        assert r.status_code == 200 and "secure" in r.headers["Set-Cookie"].lower()
        assert "create the first admin at https://" in server.log()
    # Half a TLS setup is a clear error.
    bad = subprocess.run([str(server.binary), "serve", "--tls-cert", str(cert), "--data", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "needs both --tls-cert and --tls-key" in bad.stderr
