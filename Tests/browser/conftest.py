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
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PARLEY_CHROMEDRIVER", "/usr/bin/chromedriver")

# Readiness wait, not a timing assumption: up to 200 polls, 50 ms apart (10 s in all).
READY_POLLS = 200
READY_INTERVAL = 0.05
# The line `parley serve` logs while no admin exists.
SETUP_LINK = re.compile(r"/setup\?token=([A-Za-z0-9_-]+)")


def _free_port() -> int:
    """A port the kernel just handed out on loopback (free unless someone races for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `parley serve` child process."""

    def __init__(self, base_url: str, process: subprocess.Popen, log_path: Path, data: Path, binary: Path):
        self.base_url = base_url
        self.process = process
        self.log_path = log_path
        self.data = data
        self.binary = binary

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
        for _ in range(READY_POLLS):
            match = SETUP_LINK.search(self.log())
            if match:
                return "/setup?token=" + match.group(1)
            time.sleep(READY_INTERVAL)
        pytest.fail(f"parley never logged a setup link:\n{self.log()}")


def _wait_until_healthy(server: Server) -> None:
    last_error = "no answer"
    for _ in range(READY_POLLS):
        if server.process.poll() is not None:
            pytest.fail(
                f"parley exited with status {server.process.returncode} before it was ready:\n{server.log()}"
            )
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=1) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last_error = str(error)
        time.sleep(READY_INTERVAL)
    pytest.fail(f"parley did not answer /healthz with 200 ({last_error}):\n{server.log()}")


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
    port = _free_port()
    command = [
        str(binary), "serve",
        "--data", str(data),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--public", str(REPO / "Public"),
    ]
    # Output goes to a file, not a pipe: a pipe nobody reads would block a chatty server.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root,
                                   env={**os.environ, **(env or {})})
    srv = Server(f"http://127.0.0.1:{port}", process, log_path, data, binary)
    try:
        _wait_until_healthy(srv)
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
