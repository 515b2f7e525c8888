"""The attachment UI in real browsers (headless Chromium), against a real `parley serve` whose data
folder is seeded with the widgets below: a visitor attaches files in the widget (on parley's own demo
shop page, and on a shop served from another origin), cancels one mid-upload, sends the rest, and an
agent in a second browser session opens the ticket on /agent and downloads them. Both browsers are
this module's own headless Chromiums (not the session's `browser`); the agent's saves downloads into
a folder the test reads.

Contracts: /tmp/contract/uploads.md (HTTP) and /tmp/contract/ui-hooks.md (the DOM hooks, and the
`ParleyTus.chunkSize` / `ParleyTus.delay` globals that slow an upload down enough to cancel it). The
widget lives in the open shadow root of `#parley-widget`. What reached the server is read back through
the visitor API (the ticket's events, with the token the widget stored), the server's request log
lines and the data folder (`uploads/` holds unfinished uploads, `attachments/` finished ones). Waits
are explicit conditions with a bounded timeout (or the server's log lines), never sleeps.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import zipfile
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from samples import html, pdf, png
from widget_dom import el, js, shown, start_chat_from_bubble, text

WAIT_SECONDS = 20
POLL = 0.05  # seconds between two looks at a condition
MB = 1024 * 1024
TIMEOUT = 30  # seconds, upper bound on any one plain request
AGENT_EMAIL, AGENT_NAME, AGENT_PASSWORD = "uma@shop.example", "Uma Agent", "correct horse battery"
VISITOR_NAME, VISITOR_EMAIL = "Ann Visitor", "ann@example.com"

# The slow-down for the upload to cancel: 64 KB per PATCH, 300 ms before each one.
CHUNK, DELAY = 65536, 300

FIELDS = [
    {"id": "name", "type": "name", "label": "Name", "required": True, "maxLength": 80},
    {"id": "email", "type": "email", "label": "Email", "required": True, "maxLength": 254},
    {"id": "message", "type": "reason", "label": "Message", "required": True, "maxLength": 4000},
]
SMALL_LIMIT = 1 * MB


def widget(id: str, **settings) -> dict:
    return {"id": id, "name": f"Help ({id})", "welcome": "Hi! How can we help?", "language": "en",
            "fields": FIELDS, "sound": False, **settings}


# `demo` is the widget parley's own demo shop page (Public/index.html) embeds; limits at their defaults.
WIDGETS = [widget("demo"), widget("small", maxFileSize=SMALL_LIMIT)]


# --- files ----------------------------------------------------------------------------------------

def stored_zip(size: int, seed: int) -> bytes:
    """A zip archive of about `size` bytes: one member of random bytes, stored (not compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("scans.bin", random.Random(seed).randbytes(size))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parley(start_server, shop):
    """One parley for the module, seeded with WIDGETS; the shop's pages embed it."""
    server = start_server(widgets=WIDGETS, env={"PARLEY_RATE_LIMITS": "off"})
    shop.parley = server.base_url
    return server


@pytest.fixture(scope="module")
def agent_account(parley) -> None:
    added = parley.cli("agent", "add", AGENT_EMAIL, "--name", AGENT_NAME, "--role", "agent", "--widget", "*",
                       "--password-stdin", stdin=AGENT_PASSWORD + "\n")
    assert added.returncode == 0, added.stderr


def reset(driver, shop, parley) -> None:
    """Empty storage on both origins the visitor uses (the widget keeps its conversation there), and
    an empty HTTP cache, so that no test depends on what an earlier one left cached."""
    for url in (shop.url("/blank"), parley.url("/openapi.json")):  # pages that embed no widget
        driver.get(url)
        driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.get_log("browser")  # drop what earlier pages printed


@pytest.fixture(scope="module")
def visitor_browser(new_browser):
    """The visitor's browser. Not the session's `browser`: this module's many page loads would fill
    that tab's session history (Chromium keeps 50 entries), and tests after it that go back through
    history.pushState entries (test_widget.py's SPA path rules) then land elsewhere."""
    driver = new_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def visitor(visitor_browser, shop, parley):
    """The visitor's browser, with no stored conversation and an empty cache before and after."""
    reset(visitor_browser, shop, parley)
    yield visitor_browser
    reset(visitor_browser, shop, parley)


@pytest.fixture(scope="module")
def agent_browser(new_browser, tmp_path_factory):
    """A second browser session for the agent. Downloads land in the folder each test sets with
    `download_to`, without asking."""
    driver = new_browser(downloads=tmp_path_factory.mktemp("agent-downloads"))
    try:
        yield driver
    finally:
        driver.quit()


def download_to(driver, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(folder), "eventsEnabled": True})


# --- the widget, inside its shadow root -----------------------------------------------------------

def wait(driver, condition, message: str, timeout: float = WAIT_SECONDS):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=POLL).until(condition)
    except TimeoutException:
        console = "\n".join(f"  {e['level']} {e['message']}" for e in driver.get_log("browser"))
        pytest.fail(f"timed out: {message}\nbrowser console:\n{console}")


def tray(driver) -> list[dict]:
    """The tray's items: name, state, progress value and max, error text, Retry shown, × label."""
    return js(driver, """
        return qa('[data-p=upload]').map(u => {
          const p = u.querySelector('progress'), r = u.querySelector('[data-p=upload-retry]'),
                x = u.querySelector('[data-p=upload-cancel]'), e = u.querySelector('[data-p=upload-error]');
          return {name: u.getAttribute('data-name'), state: u.getAttribute('data-state'),
                  value: p ? Number(p.value) : null, max: p ? Number(p.max) : null,
                  error: e ? e.textContent.trim() : null, errorRole: e ? e.getAttribute('role') : null,
                  retry: shown(r), cancel: x ? x.getAttribute('aria-label') : null};
        });""")


def tray_item(driver, name: str) -> dict | None:
    return next((item for item in tray(driver) if item["name"] == name), None)


def attachment_buttons(driver) -> list[str]:
    """The aria-labels of the download buttons in the widget's log."""
    return js(driver, "return qa('[data-p=log] [data-p=msg] .at').map(b => b.getAttribute('aria-label'));")


def stored(driver, widget_id: str) -> dict:
    raw = driver.execute_script("return localStorage.getItem(arguments[0])", "parley:" + widget_id)
    return json.loads(raw) if raw else {}


def start_chat(driver, first_message: str) -> None:
    """Opens the panel, fills the pre-chat form, starts the chat; returns once the composer shows."""
    start_chat_from_bubble(driver, {"name": VISITOR_NAME, "email": VISITOR_EMAIL, "message": first_message}, WAIT_SECONDS)
    wait(driver, lambda d: shown(d, "[data-p=attach]"), "no attach button in the chat view")


def pick(driver, paths: list[Path]) -> None:
    """Picks files with the widget's (hidden) file input, as the attach button's picker would."""
    assert el(driver, "[data-p=attach]").get_attribute("aria-label") == "Attach files"
    file_input = el(driver, "input[type=file][data-p=file]")
    assert file_input.get_attribute("multiple") is not None
    file_input.send_keys("\n".join(str(p) for p in paths))


# --- the server, read back ------------------------------------------------------------------------

def visitor_events(server, ticket: str, token: str) -> list[dict]:
    answer = requests.get(server.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {token}"},
                          timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


def upload_record(server, name: str, ticket: str) -> dict | None:
    """The record (`<data>/uploads/<id>.json`) of the upload of `name` on `ticket`, if one is there."""
    for meta in (server.data / "uploads").glob("*.json"):
        try:
            record = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue  # being written or removed right now
        if record.get("name") == name and record.get("ticket") == ticket:
            return record
    return None


def request_lines(server, method: str, path: str) -> list[str]:
    """The server's request log lines for `method path` (exact path), as the whole lines."""
    return [m.group(0) for m in server.log_lines(rf"method={method} .*path={path} status=\d+.*")]


def console_problems(entries: list[dict], allowed: list[str] = ()) -> list[dict]:
    """Console entries that are errors or warnings of the page (JS errors, failed requests), but the
    ones naming one of the `allowed` strings (an answer the test expects the server to refuse)."""
    return [e for e in entries if e["level"] in ("SEVERE", "WARNING")
            and not any(a in e["message"] for a in allowed)]


# --- agent page -----------------------------------------------------------------------------------

def sign_in_agent(driver, server) -> None:
    driver.get(server.url("/agent"))
    wait(driver, lambda d: d.find_element(By.ID, "signin").is_displayed() or d.find_element(By.ID, "inbox").is_displayed(),
         "the agent page showed neither the sign-in form nor the inbox")
    if driver.find_element(By.ID, "signin").is_displayed():
        for field_id, value in (("email", AGENT_EMAIL), ("password", AGENT_PASSWORD)):
            field = driver.find_element(By.ID, field_id)
            field.clear()
            field.send_keys(value)
        driver.find_element(By.ID, "signin-submit").click()
    wait(driver, lambda d: d.find_element(By.ID, "whoami").text == f"Signed in as {AGENT_NAME}",
         "the agent never got signed in")
    wait(driver, lambda d: d.find_element(By.ID, "inbox").is_displayed(), "no inbox")


def click_row(driver, ticket: str) -> bool:
    """Clicks the ticket's row in the inbox, if it is there (the list is redrawn as events come)."""
    try:
        rows = driver.find_elements(By.CSS_SELECTOR, f'#tickets li[data-ticket="{ticket}"]')
        if not rows:
            return False
        rows[0].click()
        return True
    except StaleElementReferenceException:
        return False


def downloaded(folder: Path, name: str, size: int) -> Path | None:
    """The finished download `name` in `folder` (all `size` bytes, no partial .crdownload left)."""
    path = folder / name
    if any(folder.glob("*.crdownload")) or not path.is_file() or path.stat().st_size != size:
        return None
    return path


# --- the tests ------------------------------------------------------------------------------------

SITES = ["demo-page", "shop"]


@pytest.mark.parametrize("site", SITES)
def test_visitor_cancels_one_of_three_files_and_the_agent_downloads_the_rest(
        visitor, agent_browser, agent_account, parley, shop, tmp_path, site):
    photo = write(tmp_path, "photo.png", png(64, 48, seed=7))
    invoice = write(tmp_path, "invoice.pdf", pdf())
    big = write(tmp_path, "catalogue.zip", stored_zip(2 * MB, seed=3))
    sent = {p.name: p.read_bytes() for p in (photo, invoice)}
    big_size = big.stat().st_size
    assert big_size > 2 * MB and big_size // CHUNK > 20  # many slow PATCHes: plenty of time to cancel

    # parley's own demo shop page (same origin), or a shop on another origin embedding the same widget.
    visitor.get(parley.url("/") if site == "demo-page" else shop.url("/products/42", "demo"))
    start_chat(visitor, "My order arrived broken.")
    conversation = wait(visitor, lambda d: (s := stored(d, "demo")).get("ticket") and s.get("token") and s,
                        "the widget stored no ticket and token")
    ticket, token = conversation["ticket"], conversation["token"]

    # upload.js is not loaded yet: it keeps the values it finds in window.ParleyTus.
    assert visitor.execute_script("return window.ParleyTus === undefined")
    visitor.execute_script("window.ParleyTus = {chunkSize: arguments[0], delay: arguments[1]}", CHUNK, DELAY)

    # Three files in one pick: all in the tray, waiting for Send, nothing uploaded yet.
    posts_before = len(request_lines(parley, "POST", "/api/uploads"))
    pick(visitor, [photo, invoice, big])
    wait(visitor, lambda d: [i["name"] for i in tray(d)] == ["photo.png", "invoice.pdf", "catalogue.zip"],
         f"the tray never held the three files: {tray(visitor)}")
    for item in tray(visitor):
        assert item["state"] == "ready", item
        assert item["cancel"] == f"Remove {item['name']}", item
        assert item["max"] == (tmp_path / item["name"]).stat().st_size, item
        assert not item["retry"] and item["error"] == "", item
    assert text(visitor, "[data-p=upload-limit]") == ""
    assert visitor.execute_script("return ParleyTus.chunkSize") == CHUNK  # upload.js kept the test's values
    assert len(request_lines(parley, "POST", "/api/uploads")) == posts_before

    # Send, with a few words: the text goes as a message, the three files start uploading.
    composer = el(visitor, "[data-p=input]")
    composer.send_keys("Photos of the damage, the invoice and the catalogue.")
    el(visitor, "[data-p=send]").click()

    # The big one, mid-way: its record on the server, a part of its bytes there, the progress bar moving.
    record = wait(visitor, lambda d: upload_record(parley, "catalogue.zip", ticket),
                  "no upload record for catalogue.zip in <data>/uploads")
    upload_id = record["id"]
    assert upload_id.startswith(ticket + "_"), record
    assert record["length"] == big_size, record
    parley.wait_for_log(rf"method=PATCH .*path=/api/uploads/{upload_id} status=204")
    item = wait(visitor, lambda d: (i := tray_item(d, "catalogue.zip")) and i["state"] == "uploading"
                and i["value"] >= CHUNK and i,
                f"catalogue.zip never showed progress: {tray(visitor)}")
    assert item["cancel"] == "Cancel the upload of catalogue.zip", item
    assert item["value"] < big_size, item
    partial = parley.data / "uploads" / upload_id
    assert partial.is_file(), f"no partial file {partial}"
    assert CHUNK <= partial.stat().st_size < big_size, partial.stat().st_size

    # Record the states the item goes through from here, then cancel with its × button.
    js(visitor, """
        const u = q('[data-p=upload][data-name="catalogue.zip"]');
        window.parleyStates = [];
        new MutationObserver(() => parleyStates.push(u.getAttribute('data-state')))
          .observe(u, {attributes: true, attributeFilter: ['data-state']});""")
    el(visitor, '[data-p=upload][data-name="catalogue.zip"] [data-p=upload-cancel]').click()

    # The client terminates the upload (tus DELETE); the item shows `canceled` until then, and goes.
    parley.wait_for_log(rf"method=DELETE .*path=/api/uploads/{upload_id} status=204")
    wait(visitor, lambda d: tray_item(d, "catalogue.zip") is None,
         f"the canceled item never left the tray: {tray(visitor)}")
    states = visitor.execute_script("return window.parleyStates")
    assert states and states[0] == "canceled" and set(states) == {"canceled"}, states
    # Its partial file is gone from the server, bytes and record, and it never became an attachment.
    assert not partial.exists(), f"the partial file {partial} is still there"
    assert not (parley.data / "uploads" / f"{upload_id}.json").exists(), "the canceled upload's record is still there"
    assert not (parley.data / "attachments" / ticket / upload_id).exists()
    assert upload_record(parley, "catalogue.zip", ticket) is None

    # The two others finished: out of the tray, two download buttons in the visitor's log.
    wait(visitor, lambda d: tray(d) == [], f"the tray never emptied: {tray(visitor)}")
    wait(visitor, lambda d: sorted(attachment_buttons(d)) == ["Download invoice.pdf", "Download photo.png"],
         f"the widget's log never showed the two attachments: {attachment_buttons(visitor)}")
    assert text(visitor, "[data-p=upload-limit]") == ""
    # The photo is previewed, fetched with the visitor's token (a blob: URL of the real image).
    wait(visitor, lambda d: js(d, """const i = q('img[data-p=preview]');
            return !!i && i.src.startsWith('blob:') && i.complete && i.naturalWidth == 64;"""),
         "the photo's preview never loaded")
    # The README's picture of it (`PARLEY_SCREENSHOTS=1`), taken on parley's own demo page.
    if os.environ.get("PARLEY_SCREENSHOTS") == "1" and site == SITES[0]:
        target = Path(__file__).resolve().parents[2] / "docs" / "widget-attachments.png"
        target.parent.mkdir(exist_ok=True)
        assert visitor.save_screenshot(str(target))

    # The ticket's events (as the visitor reads them): the text, exactly two attachments, none canceled.
    events = visitor_events(parley, ticket, token)
    assert any(e["type"] == "message" and e.get("text") == "Photos of the damage, the invoice and the catalogue."
               for e in events), events
    attachments = {e["attachment"]["name"]: e["attachment"] for e in events if e["type"] == "attachment"}
    assert sorted(attachments) == ["invoice.pdf", "photo.png"], events
    assert upload_id not in {a["id"] for a in attachments.values()}
    for name, data in sent.items():
        assert attachments[name]["size"] == len(data), attachments[name]
        assert (parley.data / "attachments" / ticket / attachments[name]["id"]).read_bytes() == data
    assert attachments["photo.png"]["type"] == "image/png"
    assert attachments["invoice.pdf"]["type"] == "application/pdf"

    # The agent, in a second browser session, signs in, opens the ticket and downloads both files.
    downloads = tmp_path / "downloads"
    agent = agent_browser
    sign_in_agent(agent, parley)
    # Before signing in, the page asked who is signed in (GET /api/agent/me → 401, which Chromium
    # logs as a failed request): that is how it knows to show the form. What it logs from here counts.
    agent.get_log("browser")
    download_to(agent, downloads)
    wait(agent, lambda d: click_row(d, ticket), f"ticket {ticket} never showed in the agent's inbox")
    wait(agent, lambda d: d.find_element(By.ID, "conv").is_displayed(), "the conversation never opened")
    wait(agent, lambda d: d.find_element(By.ID, "conv-title").text == VISITOR_NAME, "the conversation shows no visitor name")
    # The inbox redraws its rows: the open one (found anew) says it is the current one.
    wait(agent, lambda d: d.find_element(By.CSS_SELECTOR, f'#tickets li[data-ticket="{ticket}"] button.t-open')
         .get_attribute("aria-current") == "true", "the open ticket's row is not marked current")
    links = wait(agent, lambda d: len(found := d.find_elements(By.CSS_SELECTOR, "#events a[data-attachment]")) == 2 and found,
                 "the agent never saw two attachment links")
    by_name = {a.get_attribute("download"): a for a in links}
    assert sorted(by_name) == ["invoice.pdf", "photo.png"]
    assert not agent.find_elements(By.CSS_SELECTOR, f'a[data-attachment="{upload_id}"]')
    for name, data in sent.items():
        link = by_name[name]
        attachment = attachments[name]["id"]
        assert link.get_attribute("data-attachment") == attachment
        assert link.get_attribute("href") == parley.url(f"/api/attachments/{attachment}")
        assert link.get_attribute("aria-label").startswith(f"Download {name} (")
        link.click()
        path = wait(agent, lambda d: downloaded(downloads, name, len(data)),
                    f"{name} was never downloaded into {downloads}: {sorted(p.name for p in downloads.iterdir())}")
        assert sha256(path.read_bytes()) == sha256(data), f"{name} downloaded with other bytes"
        assert request_lines(parley, "GET", f"/api/attachments/{attachment}"), f"no GET of {attachment} logged"
    assert sorted(p.name for p in downloads.iterdir()) == ["invoice.pdf", "photo.png"]

    # Seconds later, the canceled upload is still gone, and the client sent nothing more for it: after
    # the DELETE, the log may only show the PATCH that was on its way when × was clicked (aborted by
    # the client; the server finishes it after answering the DELETE). No HEAD, no new PATCH (that
    # would be a 404 now), no new POST for catalogue.zip.
    assert not partial.exists() and not (parley.data / "uploads" / f"{upload_id}.json").exists()
    assert upload_record(parley, "catalogue.zip", ticket) is None
    lines = [m.group(0) for m in parley.log_lines(rf"method=\w+ .*path=/api/uploads/{upload_id} status=\d+")]
    deletes = [i for i, line in enumerate(lines) if line.startswith("method=DELETE")]
    # (a DELETE while the server still held the PATCH may be told 423 upload_busy, and be retried)
    assert deletes and all(lines[i].endswith("status=423") for i in deletes[:-1]), lines
    assert lines[deletes[-1]].endswith("status=204"), lines
    after = lines[deletes[-1] + 1:]
    assert len(after) <= 1 and all(line.startswith("method=PATCH") for line in after), lines

    # Neither page logged an error. A PATCH aborted by the cancel may leave the upload busy for a
    # moment: the client then retries the DELETE after a 423 (the contract's "upload_busy").
    assert console_problems(visitor.get_log("browser"), allowed=[f"/api/uploads/{upload_id} - Failed to load "
                                                                 f"resource: the server responded with a status of 423"]) == []
    assert console_problems(agent.get_log("browser")) == []


def test_widget_refuses_a_file_over_the_limit_and_shows_the_servers_type_refusal(visitor, parley, shop, tmp_path):
    too_big = write(tmp_path, "scans.zip", stored_zip(SMALL_LIMIT, seed=5))  # a little over 1 MB with the zip's headers
    fake = write(tmp_path, "holiday.png", html())  # a web page under an image's name
    assert SMALL_LIMIT < too_big.stat().st_size < SMALL_LIMIT + 1024

    visitor.get(shop.url("/", "small"))
    start_chat(visitor, "Two files for you.")
    conversation = wait(visitor, lambda d: (s := stored(d, "small")).get("ticket") and s.get("token") and s,
                        "the widget stored no ticket and token")
    ticket, token = conversation["ticket"], conversation["token"]

    posts_before = len(request_lines(parley, "POST", "/api/uploads"))
    pick(visitor, [too_big, fake])
    # The file over the widget's maxFileSize is refused at once, by a message naming the limit.
    wait(visitor, lambda d: text(d, "[data-p=upload-limit]") == "scans.zip is 1.1 MB; the limit is 1 MB.",
         f"no limit message for scans.zip: {text(visitor, '[data-p=upload-limit]')!r}")
    assert el(visitor, "[data-p=upload-limit]").get_attribute("role") == "alert"
    wait(visitor, lambda d: [i["name"] for i in tray(d)] == ["holiday.png"],
         f"the tray should hold holiday.png only: {tray(visitor)}")
    assert tray_item(visitor, "holiday.png")["state"] == "ready"

    # Send (files alone, no text): the limit message goes; the server refuses the fake image by its content.
    el(visitor, "[data-p=send]").click()
    item = wait(visitor, lambda d: (i := tray_item(d, "holiday.png")) and i["state"] == "error" and i,
                f"holiday.png never went to error: {tray(visitor)}")
    # The server's own message (it names the detected type; this server also names the file).
    assert re.fullmatch(r"(holiday\.png|This file) is text/html, which this chat does not accept\.", item["error"]), item
    assert item["errorRole"] == "alert", item
    assert item["retry"] is False, f"a refusal offers no Retry: {item}"
    assert item["cancel"] == "Remove holiday.png", item
    assert text(visitor, "[data-p=upload-limit]") == ""

    # Only the accepted-size file went to the server, and it was refused for its type.
    posts = request_lines(parley, "POST", "/api/uploads")[posts_before:]
    assert len(posts) == 1 and "status=201" in posts[0], posts
    refused = parley.wait_for_log(rf"method=PATCH .*path=/api/uploads/({ticket}_[A-Za-z0-9_-]+) status=415")
    upload_id = refused.group(1)
    assert not (parley.data / "uploads" / upload_id).exists(), "the refused file is still in uploads/"
    assert not (parley.data / "attachments" / ticket).exists() or not any((parley.data / "attachments" / ticket).iterdir())
    assert not [e for e in visitor_events(parley, ticket, token) if e["type"] == "attachment"]
    assert attachment_buttons(visitor) == []

    # No JS error: the one failed request in the console is the refusal the test asked for.
    assert console_problems(visitor.get_log("browser"),
                            allowed=[f"/api/uploads/{upload_id} - Failed to load resource: the server responded "
                                     f"with a status of 415"]) == []


def test_widget_still_shows_on_a_shop_after_parleys_own_demo_page(visitor, parley, shop):
    """One browser, one widget, two sites within the config's cache lifetime (`max-age=30`): parley's
    demo page reads the config same-origin (no Origin header), then a shop on another origin embeds
    the same widget. The config's answer depends on Origin (Access-Control-Allow-Origin), so every
    answer must say `Vary: Origin`, or the browser reuses the same-origin copy for the shop and
    refuses it for lacking the CORS grant: no bubble, no chat, no uploads on the shop."""
    visitor.get(parley.url("/"))
    wait(visitor, lambda d: shown(d, "[data-p=bubble]"), "the bubble never appeared on the demo page")

    visitor.get(shop.url("/products/42", "demo"))
    wait(visitor, lambda d: shown(d, "[data-p=bubble]"), "the bubble never appeared on the shop after the demo page")
    assert console_problems(visitor.get_log("browser")) == []
