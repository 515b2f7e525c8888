"""Fixtures for the browser tests: a real `parley serve` and a headless Debian Chromium.

The server binary comes from env PARLEY_BIN (default: .build/debug/parley in the repo). Each test
session gets a fresh temporary data folder and a free loopback port, so nothing touches the
repository's own data/ folder. Tests that change server-wide state (such as creating the first
admin) take `fresh_server` instead: a server of their own, on an empty data folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
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
                if (m := LISTENING.search(line)) and not self._listening.is_set():
                    self.base_url = f"http://127.0.0.1:{m.group(1)}"
                    self._listening.set()
                if m := SETUP_LINK.search(line):
                    self._setup_link = "/setup?token=" + m.group(1)
                    self._setup_seen.set()
        # The process closed its output (it exited): wake anyone still waiting.
        self._listening.set()
        self._setup_seen.set()

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
def _running_server(root: Path, env: dict[str, str] | None = None):
    """Starts `parley serve` on a new data folder under `root`, waits until healthy, stops it after."""
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    if not binary.is_absolute():
        binary = REPO / binary
    if not os.access(binary, os.X_OK):
        pytest.fail(f"parley binary not found at {binary}: run `swift build` or set PARLEY_BIN")

    data = root / "data"
    log_path = root / "server.log"
    command = [
        str(binary), "serve",
        "--data", str(data),
        "--host", "127.0.0.1",
        "--port", "0",  # the kernel picks a free port; the server logs which
        "--public", str(REPO / "Public"),
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


@pytest.fixture(scope="session")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} not found: run `make deps-test` (Debian packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    # Both paths are given, so Selenium Manager never tries to download a browser or a driver.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
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
