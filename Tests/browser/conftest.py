"""Fixtures for the browser tests: a real `parley serve` and a headless Debian Chromium.

The server binary comes from env PARLEY_BIN (default: .build/debug/parley in the repo). Each test
session gets a fresh temporary data folder and a free loopback port, so nothing touches the
repository's own data/ folder. Tests that change server-wide state (such as creating the first
admin) take `fresh_server` instead: a server of their own, on an empty data folder. Tests that need
widgets of their own start a server on a data folder seeded with them (`start_server`), and embed
them in pages of a `shop` served from another origin.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import json
import os
import re
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PARLEY_CHROMEDRIVER", "/usr/bin/chromedriver")

# Upper bound on waiting for a log line; the wait ends as soon as the line is read.
LOG_WAIT_SECONDS = 30
# The line `parley serve` logs once it listens (it binds port 0 and says which port it got).
LISTENING = re.compile(r"port=(\d+) .*parley is listening")
# The line `parley serve` logs while no admin exists.
SETUP_LINK = re.compile(r"/setup\?token=([A-Za-z0-9_-]+)")


class Server:
    """A running `parley serve` child process."""

    def __init__(self, process: subprocess.Popen, log_path: Path, data: Path, binary: Path):
        self.base_url = ""
        self.process = process
        self.log_path = log_path
        self.data = data
        self.binary = binary
        self._listening = threading.Event()
        self._setup_seen = threading.Event()
        self._setup_link = ""
        self._lines: list[str] = []
        self._new_line = threading.Condition()
        self._closed = False
        # Reads the server's output line by line: readiness and the setup link are events in the
        # log, not something to poll for. Everything also goes to log_path for failure messages.
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        with open(self.log_path, "wb") as log:
            for raw in self.process.stdout:
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace")
                with self._new_line:
                    self._lines.append(line)
                    self._new_line.notify_all()
                if (m := LISTENING.search(line)) and not self._listening.is_set():
                    self.base_url = f"http://127.0.0.1:{m.group(1)}"
                    self._listening.set()
                if m := SETUP_LINK.search(line):
                    self._setup_link = "/setup?token=" + m.group(1)
                    self._setup_seen.set()
        # The process closed its output (it exited): wake anyone still waiting.
        self._listening.set()
        self._setup_seen.set()
        with self._new_line:
            self._closed = True
            self._new_line.notify_all()

    def log_lines(self, pattern: str) -> list[re.Match]:
        """Every log line so far that matches `pattern` (a regex), as matches."""
        regex = re.compile(pattern)
        with self._new_line:
            return [m for line in self._lines if (m := regex.search(line))]

    def wait_for_log(self, pattern: str, timeout: float = LOG_WAIT_SECONDS) -> re.Match:
        """The first log line matching `pattern`, waiting (on the reader's notifications) until one
        is logged. Request lines read like `method=GET ms=0.8 path=/api/… status=200 … request`."""
        regex = re.compile(pattern)
        seen = 0
        with self._new_line:
            def found():
                nonlocal seen
                for line in self._lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self._lines)
                return self._closed  # stop waiting when the server is gone
            m = self._new_line.wait_for(found, timeout)
        if not isinstance(m, re.Match):
            pytest.fail(f"parley never logged a line matching {pattern!r}:\n{self.log()}")
        return m

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        """Runs `parley ARGS --data DATA` on this server's data folder (as an owner would, while it serves)."""
        env = {**os.environ, "PARLEY_BCRYPT_COST": "4"}  # hashes stay valid at any cost; this one is quick
        return subprocess.run([str(self.binary), *args, "--data", str(self.data)], input=stdin, env=env,
                              capture_output=True, text=True, timeout=30, check=False)

    def setup_link(self) -> str:
        """The one-time first-admin link (`/setup?token=…`, as a path) the server logs at start."""
        self._setup_seen.wait(LOG_WAIT_SECONDS)
        if not self._setup_link:
            pytest.fail(f"parley never logged a setup link:\n{self.log()}")
        return self._setup_link

    def wait_until_listening(self) -> None:
        self._listening.wait(LOG_WAIT_SECONDS)
        if not self.base_url:
            status = self.process.poll()
            pytest.fail(f"parley did not start (exit status {status}):\n{self.log()}")


@contextlib.contextmanager
def _running_server(root: Path, env: dict[str, str] | None = None, widgets: list[dict] | None = None,
                    args: list[str] | None = None):
    """Starts `parley serve` on a new data folder under `root`, waits until healthy, stops it after.
    `widgets` are written first as `DATA/config/widgets/<id>.json` (the server loads them at start;
    missing keys take their defaults, and no `demo` widget is created next to them)."""
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    if not binary.is_absolute():
        binary = REPO / binary
    if not os.access(binary, os.X_OK):
        pytest.fail(f"parley binary not found at {binary}: run `swift build` or set PARLEY_BIN")

    data = root / "data"
    log_path = root / "server.log"
    for widget in widgets or []:
        folder = data / "config" / "widgets"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{widget['id']}.json").write_text(json.dumps(widget, indent=2) + "\n")
    command = [
        str(binary), "serve",
        "--data", str(data),
        "--host", "127.0.0.1",
        "--port", "0",  # the kernel picks a free port; the server logs which
        "--public", str(REPO / "Public"),
        *(args or []),
    ]
    # A pipe that Server reads continuously (so a chatty server never blocks on it).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=root, env={**os.environ, **(env or {})})
    srv = Server(process, log_path, data, binary)
    try:
        srv.wait_until_listening()
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    with _running_server(tmp_path_factory.mktemp("parley")) as srv:
        yield srv


@pytest.fixture
def fresh_server(tmp_path_factory: pytest.TempPathFactory):
    """A server of this test's own, on an empty data folder (no admin yet). bcrypt runs at its
    lowest cost here, as in the Swift tests, so password checks stay quick in a debug build."""
    with _running_server(tmp_path_factory.mktemp("parley-fresh"), env={"PARLEY_BCRYPT_COST": "4"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory):
    """Starts servers for this module: `start_server(widgets=[…], env={…})` returns a running Server
    on a new data folder seeded with those widgets (`args`: more `parley serve` options); all are stopped
    when the module ends."""
    with contextlib.ExitStack() as stack:
        def start(widgets: list[dict] | None = None, env: dict[str, str] | None = None,
                  args: list[str] | None = None) -> Server:
            root = tmp_path_factory.mktemp("parley-seeded")
            return stack.enter_context(_running_server(root, env=env, widgets=widgets, args=args))
        yield start


SHOP_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test shop · {title}</title>
<style>body {{ margin: 0; padding: 24px; font: 16px/1.5 sans-serif; }} nav a {{ margin-right: 16px; }}</style>
</head>
<body>
<nav><a href="/{query}">Home</a><a href="/products/42{query}">Product 42</a><a href="/checkout{query}">Checkout</a></nav>
<main><h1>{title}</h1><p>A page of the test shop, on another origin than parley.</p>
<button type="button" id="shop-button">A shop button</button></main>
{embed}
</body>
</html>
"""

# The shop's own code, before the loader: the queue stub (as in the embed instructions) and
# listeners that record what the widget reports, for the tests to read.
SHOP_EMBED = """<script>
window.parleyTest = {{ready: [], open: 0, close: 0, unread: [], messages: []}};
window.Parley = window.Parley || function () {{ (Parley.q = Parley.q || []).push(arguments); }};
Parley('on', 'ready', function (r) {{ parleyTest.ready.push(r); }});
Parley('on', 'open', function () {{ parleyTest.open++; }});
Parley('on', 'close', function () {{ parleyTest.close++; }});
Parley('on', 'unread', function (n) {{ parleyTest.unread.push(n); }});
Parley('on', 'message', function (e) {{ parleyTest.messages.push(e); }});
</script>
<script src="{parley}/widget.js" data-widget="{widget}"{lang} async></script>"""


class Shop:
    """A shop's web site on its own origin (another port than parley's): every path is a page that
    embeds the widget named by `?widget=` from `self.parley` (`?lang=` adds data-lang), except
    `/blank`, which embeds nothing."""

    def __init__(self) -> None:
        self.parley = ""  # parley's base URL, set by the test module once its server runs
        shop = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                widget = query.get("widget", [""])[0]
                embed = ""
                if widget and url.path != "/blank":
                    lang = query.get("lang", [""])[0]
                    embed = SHOP_EMBED.format(parley=html.escape(shop.parley), widget=html.escape(widget),
                                              lang=f' data-lang="{html.escape(lang)}"' if lang else "")
                suffix = "?" + url.query if url.query else ""
                body = SHOP_PAGE.format(title=html.escape(url.path), query=html.escape(suffix), embed=embed).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, widget: str | None = None, **query: str) -> str:
        params = ({"widget": widget} if widget else {}) | query
        return self.origin + path + ("?" + urllib.parse.urlencode(params) if params else "")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def shop():
    s = Shop()
    try:
        yield s
    finally:
        s.close()


def chromium(downloads: Path | None = None) -> webdriver.Chrome:
    """A headless Debian Chromium with its own profile (cookies, storage, cache, history); with
    `downloads`, files download there without asking."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} not found: run `make deps-test` (Debian packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    if downloads:
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "profile.default_content_setting_values.automatic_downloads": 1,
        })
    # The console (and network errors such as a refused CORS request) for driver.get_log("browser").
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths are given, so Selenium Manager never tries to download a browser or a driver.
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


@pytest.fixture(scope="session")
def new_browser():
    """`chromium`, for tests that need a browser of their own (the caller quits it)."""
    return chromium


@pytest.fixture(scope="session")
def browser():
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, server):
    """The browser, on a clean slate for each test."""
    browser.delete_all_cookies()
    yield browser
    # Local storage belongs to the shop's origin; clear it so one test's chat doesn't leak into the next.
    if browser.current_url.startswith(server.base_url):
        browser.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
