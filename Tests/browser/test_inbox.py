"""The agent inbox, end to end, with two browser sessions in one test: a visitor on parley's demo
shop page (`/`) and an agent on `/agent` (a third for the second agent).

The new chat appears live with the visitor's message count; opening it assigns it and the visitor sees
"joined"; messages, typing and the typing preview flow both ways live; the response timer changes colour
at its boundaries, driven by the page's test clock (`ParleyAgent.now`, then `ParleyAgent.tick()`), never
by sleeping; the ticket panel shows its fields and its actions land in the ticket's log; end chat asks
for confirmation and the wrap-up stores the disposition and notes; a second agent sees the ticket as
assigned, read-only, and takes it over (logged). `PARLEY_SCREENSHOTS=1` saves the README's picture
(docs/inbox.png)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from widget_dom import el, messages, notices, shown, start_chat_from_bubble

WAIT_SECONDS = 20
TIMEOUT = 30
TARGET = 60  # the widget's target response time, in seconds
PASSWORD = "correct horse battery"
ANN = ("ann@shop.example", "Ann Agent")
BOB = ("bob@shop.example", "Bob Agent")
VISITOR_NAME, VISITOR_EMAIL = "Chloé Visitor", "chloe@example.com"
DISPOSITIONS = [{"code": "sale", "label": "Sale made"}, {"code": "question", "label": "Question answered"}]
CANNED = [{"shortcut": "ship", "title": "Shipping", "text": "We ship within two working days."}]
WIDGETS = [{"id": "demo", "name": "Hearth & Hollow", "welcome": "Hi! Ask us anything.",
            "targetResponseSeconds": TARGET, "typingPreview": True}]
REPO = Path(__file__).resolve().parents[2]


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parley(start_server):
    # Heartbeats every second: a stream notices a session ended elsewhere at the next one.
    server = start_server(widgets=WIDGETS, env={"PARLEY_RATE_LIMITS": "off", "PARLEY_BCRYPT_COST": "4"},
                          args=["--heartbeat", "1"])
    for email, name in (ANN, BOB):
        added = server.cli("agent", "add", email, "--name", name, "--role", "agent", "--widget", "demo",
                           "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    (server.data / "config" / "inbox.json").write_text(json.dumps({"dispositions": DISPOSITIONS, "canned": CANNED}))
    return server


@pytest.fixture(scope="module")
def browsers(new_browser):
    """Three browser sessions of their own: the visitor, Ann and Bob."""
    drivers = {}
    try:
        for who in ("visitor", "ann", "bob"):
            drivers[who] = new_browser()
        yield drivers
    finally:
        for d in drivers.values():
            d.quit()


# --- helpers --------------------------------------------------------------------------------------

def wait(driver, condition, message: str, timeout: float = WAIT_SECONDS):
    def safe(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False  # the list was redrawn under us: look again
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(safe, message)


def css(driver, selector: str):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found else None


def visible(driver, selector: str) -> bool:
    e = css(driver, selector)
    return bool(e and e.is_displayed())


def text(driver, selector: str) -> str:
    e = css(driver, selector)
    return e.text.strip() if e and e.is_displayed() else ""


def sign_in(driver, server, who) -> None:
    email, name = who
    driver.get(server.url("/agent?lang=en"))
    wait(driver, lambda d: visible(d, "#signin") or visible(d, "#inbox"), "neither sign-in nor inbox")
    if visible(driver, "#signin"):
        for field_id, value in (("email", email), ("password", PASSWORD)):
            f = driver.find_element(By.ID, field_id)
            f.clear()
            f.send_keys(value)
        driver.find_element(By.ID, "signin-submit").click()
    wait(driver, lambda d: name in text(d, "#whoami"), f"{name} never got signed in")


def row(driver, ticket: str, section: str | None = None):
    scope = f'#tickets [data-section="{section}"] ' if section else "#tickets "
    return css(driver, f'{scope}li[data-ticket="{ticket}"]')


def row_part(driver, ticket: str, part: str) -> str:
    r = row(driver, ticket)
    if not r:
        return ""
    found = r.find_elements(By.CSS_SELECTOR, f"[data-p={part}]")
    return found[0].text.strip() if found and found[0].is_displayed() else ""


def open_row(driver, ticket: str) -> None:
    wait(driver, lambda d: row(d, ticket), f"ticket {ticket} is not in the list")
    wait(driver, lambda d: row(d, ticket).find_element(By.CSS_SELECTOR, "button.t-open").click() or True, "cannot click")
    wait(driver, lambda d: visible(d, "#conv") and ticket in text(d, "#panel [data-f=id]"), "the conversation never opened")


def api(driver, method: str, path: str, body: dict | None = None) -> dict:
    """A call with the page's own session cookie (same origin), from inside the page."""
    return driver.execute_async_script("""
        const [method, path, body, done] = arguments;
        fetch(path, {method, credentials: 'same-origin',
                     headers: body ? {'Content-Type': 'application/json'} : {},
                     body: body ? JSON.stringify(body) : undefined})
          .then(r => r.json().then(j => done({status: r.status, body: j}), () => done({status: r.status, body: null})))
          .catch(e => done({status: 0, body: String(e)}));""", method, path, body)


def log_events(server, ticket: str) -> list[dict]:
    """The ticket's log, as the server wrote it (the source of truth)."""
    path = server.data / "tickets" / f"{ticket[:4]}-{ticket[4:6]}" / f"{ticket}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def visitor_start(driver, server, first: str) -> dict:
    """The visitor opens the demo shop page, fills the pre-chat form and starts a chat; returns the
    stored conversation ({ticket, token, …})."""
    driver.get(server.url("/"))
    start_chat_from_bubble(driver, {"name": VISITOR_NAME, "email": VISITOR_EMAIL, "message": first}, WAIT_SECONDS)
    raw = wait(driver, lambda d: d.execute_script("return localStorage.getItem('parley:demo')"), "nothing stored")
    stored = json.loads(raw)
    assert stored.get("ticket") and stored.get("token"), stored
    return stored


def visitor_send(driver, message: str) -> None:
    box = el(driver, "[data-p=input]")
    box.send_keys(message)
    box.send_keys(Keys.ENTER)
    wait(driver, lambda d: any(m["text"] == message for m in messages(d)), f"{message!r} not shown to the visitor")


def set_clock(driver, ms: float) -> None:
    driver.execute_script("const t = arguments[0]; window.ParleyAgent.now = () => t; window.ParleyAgent.tick();", ms)


def timer(driver, ticket: str) -> tuple[str | None, str]:
    r = row(driver, ticket)
    found = r.find_elements(By.CSS_SELECTOR, "[data-p=timer]") if r else []
    if not found or not found[0].is_displayed():
        return None, ""
    return found[0].get_attribute("data-colour"), found[0].text.strip()


# --- the test -------------------------------------------------------------------------------------

def test_an_agent_answers_a_new_chat_from_the_demo_shop(parley, browsers):
    visitor, ann, bob = browsers["visitor"], browsers["ann"], browsers["bob"]

    # An earlier, closed ticket of the same visitor: the panel lists it under "previous tickets".
    earlier = requests.post(parley.url("/api/widgets/demo/tickets"), timeout=TIMEOUT, json={
        "fields": {"name": VISITOR_NAME, "email": VISITOR_EMAIL, "message": "Do you sell gift cards?"}}).json()
    earlier_id = earlier["ticket"]["id"]

    sign_in(ann, parley, ANN)
    assert ann.execute_script("return document.documentElement.lang") == "en"
    closed = api(ann, "POST", f"/api/agent/tickets/{earlier_id}/close", {})
    assert closed["status"] == 201, closed

    # 1. A new chat appears live, in "new", with the number of messages the visitor has sent.
    stored = visitor_start(visitor, parley, "Hello, do you ship to Lyon?")
    ticket = stored["ticket"]
    wait(ann, lambda d: row(d, ticket, "new"), "the new chat never appeared in the new section")
    wait(ann, lambda d: row_part(d, ticket, "new") == "1", "the new-chat indicator does not count 1 message")
    assert row_part(ann, ticket, "name") == VISITOR_NAME
    assert row_part(ann, ticket, "widget") == "Hearth & Hollow"
    assert "Hello, do you ship to Lyon?" in row_part(ann, ticket, "preview")
    device = row(ann, ticket).find_element(By.CSS_SELECTOR, "[data-p=device]")
    assert device.get_attribute("data-device") == "desktop"
    visitor_send(visitor, "And how much is it?")
    wait(ann, lambda d: row_part(d, ticket, "new") == "2", "the count never went to 2 live")
    wait(ann, lambda d: d.title.startswith("(1) "), f"the tab title shows no new chat: {ann.title!r}")

    # 2. The response timer, against the widget's 60 s target, on the page's test clock.
    summary = api(ann, "GET", f"/api/agent/tickets/{ticket}")["body"]["ticket"]
    since = ann.execute_script("return Date.parse(arguments[0])", summary["awaitingSince"])
    expected = [(14, "yellow", "0:14"), (15, "orange", "0:15"), (45, "orange", "0:45"), (46, "red", "0:46"),
                (59, "red", "0:59"), (75, "red", "1:15")]
    for seconds, colour, shown_text in expected:
        set_clock(ann, since + seconds * 1000 + 500)
        got = timer(ann, ticket)
        assert got == (colour, shown_text), f"at {seconds} s: {got}"
    ann.execute_script("window.ParleyAgent.now = Date.now; window.ParleyAgent.tick();")

    # A second agent, signed in meanwhile, sees the same new chat.
    sign_in(bob, parley, BOB)
    wait(bob, lambda d: row(d, ticket, "new"), "Bob does not see the new chat")

    # 3. Opening it assigns it to Ann; the visitor sees her join.
    open_row(ann, ticket)
    wait(ann, lambda d: row(d, ticket, "mine"), "the opened chat did not move to mine")
    wait(visitor, lambda d: any(f"{ANN[1]} joined the conversation" in n for n in notices(d)),
         f"the visitor never saw Ann join: {notices(visitor)}")
    assert [e["type"] for e in log_events(parley, ticket)].count("assigned") == 1
    wait(ann, lambda d: not d.title.startswith("("), "the title still counts the chat once opened")

    # The second agent sees it assigned to Ann; it opens read-only there.
    wait(bob, lambda d: row_part(d, ticket, "assignee") == ANN[1] and not row(d, ticket, "new"),
         "Bob does not see the chat as Ann's")
    open_row(bob, ticket)
    wait(bob, lambda d: ANN[1] in text(d, "[data-p=readonly]"), "Bob's view is not read-only")
    assert visible(bob, "[data-p=takeover]")
    assert not css(bob, "textarea[data-p=reply]").is_enabled()

    # 4. Messages and typing, both ways, live.
    box = css(ann, "textarea[data-p=reply]")
    wait(ann, lambda d: box.is_enabled(), "Ann's reply box is disabled")
    box.send_keys("Yes, we ship to Lyon.")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("It takes two days.")
    wait(visitor, lambda d: shown(d, "[data-p=typing]"), "the visitor never saw the agent typing")
    box.send_keys(Keys.ENTER)
    wait(visitor, lambda d: any(m["text"] == "Yes, we ship to Lyon.\nIt takes two days." for m in messages(d)),
         f"the visitor never got the reply: {messages(visitor)}")
    assert box.get_attribute("value") == ""
    wait(ann, lambda d: timer(d, ticket)[0] is None, "the timer did not reset when Ann answered")

    draft = el(visitor, "[data-p=input]")
    draft.send_keys("Great, I will or")
    wait(ann, lambda d: visible(d, "[data-p=typing]"), "Ann never saw the visitor typing")
    wait(ann, lambda d: "Great, I will or" in text(d, "[data-p=typing-preview]"), "no live preview of the visitor's draft")
    draft.send_keys("der today")
    draft.send_keys(Keys.ENTER)
    wait(ann, lambda d: any("Great, I will order today" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#events .ev.visitor")),
         "Ann never got the visitor's message live")
    wait(ann, lambda d: timer(d, ticket)[0] == "yellow", "the timer did not start again for the new message")

    # Canned response with "/", then an internal note the visitor never sees.
    box.send_keys("/sh")
    wait(ann, lambda d: visible(d, '[data-p=canned] [role=option][data-shortcut="ship"]'), "no canned picker")
    box.send_keys(Keys.ENTER)
    assert box.get_attribute("value") == CANNED[0]["text"]
    box.clear()
    css(ann, "button[data-p=note-mode]").click()
    assert css(ann, "button[data-p=note-mode]").get_attribute("aria-pressed") == "true"
    box.send_keys("Check the Lyon stock first")
    box.send_keys(Keys.ENTER)
    wait(ann, lambda d: any("Check the Lyon stock first" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#events .ev.note")),
         "the note is not shown as a note")
    assert [e["text"] for e in log_events(parley, ticket) if e["type"] == "note"] == ["Check the Lyon stock first"]
    css(ann, "button[data-p=note-mode]").click()

    # 5. The ticket panel: its fields, and actions that land in the log.
    panel = {f: text(ann, f"#panel [data-f={f}]") for f in ("id", "created", "last", "widget", "assignee", "team", "previous")}
    assert ticket in panel["id"]
    assert panel["created"]
    assert VISITOR_NAME in panel["last"]
    assert "Hearth & Hollow" in panel["widget"]
    assert Select(css(ann, "select[data-p=status]")).first_selected_option.get_attribute("value") == "open"
    assert Select(css(ann, "select[data-p=assign]")).first_selected_option.text.startswith(ANN[1])
    assert css(ann, f'#panel [data-f=previous] li[data-ticket="{earlier_id}"]') is not None
    assert text(ann, "#panel [data-f=team]") in ("—", "-", "")  # no team routed this one
    Select(css(ann, "select[data-p=priority]")).select_by_value("high")
    wait(ann, lambda d: "priority" in [e["type"] for e in log_events(parley, ticket)], "the priority never reached the log")
    assert Select(css(ann, "select[data-p=priority]")).first_selected_option.get_attribute("value") == "high"
    tag = css(ann, "input[data-p=tag-input]")
    tag.send_keys("Lyon")
    tag.send_keys(Keys.ENTER)
    wait(ann, lambda d: css(d, '#panel [data-p=tag][data-tag="lyon"]'), "the tag chip never showed")
    css(ann, "button[data-p=contact]").click()
    css(ann, "button[data-p=skip-autoreply]").click()
    wait(ann, lambda d: css(d, "button[data-p=skip-autoreply]").get_attribute("aria-pressed") == "true", "skip not pressed")
    wait(ann, lambda d: (parley.data / "contacts.json").exists() and VISITOR_EMAIL in (parley.data / "contacts.json").read_text(),
         "the visitor never reached the contacts")
    wait(ann, lambda d: "In contacts" in text(d, "button[data-p=contact]"), "the contact button does not say so")
    types = [e["type"] for e in log_events(parley, ticket)]
    for t in ("priority", "tag.added", "autoreply.skip"):
        assert t in types, f"no {t} event in {types}"

    if os.environ.get("PARLEY_SCREENSHOTS") == "1":
        target = REPO / "docs" / "inbox.png"
        target.parent.mkdir(exist_ok=True)
        assert ann.save_screenshot(str(target))

    # 6. End chat asks first; "no" changes nothing.
    css(ann, "button[data-p=end]").click()
    wait(ann, lambda d: visible(d, "#confirm"), "no confirmation dialog")
    css(ann, "#confirm [data-p=confirm-no]").click()
    wait(ann, lambda d: not visible(d, "#confirm"), "the dialog stayed open")
    assert "closed" not in [e.get("status") for e in log_events(parley, ticket)]
    css(ann, "button[data-p=end]").click()
    wait(ann, lambda d: visible(d, "#confirm"), "no confirmation dialog the second time")
    css(ann, "#confirm [data-p=confirm-yes]").click()
    wait(ann, lambda d: visible(d, "#wrapup"), "no wrap-up after ending the chat")
    codes = [o.get_attribute("value") for o in Select(css(ann, "select[data-p=disposition]")).options]
    assert [c for c in codes if c] == ["sale", "question"]
    Select(css(ann, "select[data-p=disposition]")).select_by_value("sale")
    css(ann, "textarea[data-p=wrapup-notes]").send_keys("Ordered the blue scarf, ships to Lyon")
    css(ann, "button[data-p=wrapup-done]").click()
    wait(ann, lambda d: not visible(d, "#wrapup"), "the wrap-up never closed")
    events = log_events(parley, ticket)
    wrapups = [e for e in events if e["type"] == "wrapup"]
    assert [(w["disposition"], w["notes"]) for w in wrapups] == [("sale", "Ordered the blue scarf, ships to Lyon")]
    assert [e["status"] for e in events if e["type"] == "status"] == ["closed"]
    wait(ann, lambda d: visible(d, "button[data-p=reopen]"), "no reopen on the closed ticket")

    # Reopen, then Bob takes it over: logged, the visitor sees him join, Ann's view turns read-only.
    css(ann, "button[data-p=reopen]").click()
    wait(ann, lambda d: [e["status"] for e in log_events(parley, ticket) if e["type"] == "status"] == ["closed", "open"],
         "reopen never reached the log")
    wait(bob, lambda d: visible(d, "[data-p=takeover]"), "Bob lost the take-over button")
    css(bob, "[data-p=takeover]").click()
    wait(bob, lambda d: css(d, "textarea[data-p=reply]").is_enabled(), "Bob cannot reply after taking over")
    takeover = [e for e in log_events(parley, ticket) if e["type"] == "assigned" and e.get("takeover")]
    assert [(e["agentName"], e["fromAgentName"]) for e in takeover] == [(BOB[1], ANN[1])]
    wait(visitor, lambda d: any(f"{BOB[1]} joined the conversation" in n for n in notices(d)), "the visitor never saw Bob join")
    wait(ann, lambda d: BOB[1] in text(d, "[data-p=readonly]"), "Ann's view did not turn read-only")

    # The visitor leaves: shown in the pane, and the device icon is struck through.
    left = requests.post(parley.url(f"/api/tickets/{ticket}/leave"), headers={"Authorization": f"Bearer {stored['token']}"},
                         timeout=TIMEOUT)
    assert left.status_code in (200, 201), left.text
    wait(bob, lambda d: visible(d, "[data-p=visitor-left]"), "the pane does not say the visitor left")
    wait(bob, lambda d: row(d, ticket).find_element(By.CSS_SELECTOR, "[data-p=device]").get_attribute("data-left") == "true",
         "the device icon is not struck through")

    # Notes and internal events never reached the visitor.
    seen = requests.get(parley.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {stored['token']}"},
                        timeout=TIMEOUT).json()["events"]
    assert not {"note", "wrapup", "assigned", "priority", "tag.added", "autoreply.skip"} & {e["type"] for e in seen}
    assert "Check the Lyon stock first" not in json.dumps(messages(visitor))
    for d in (ann, bob):
        problems = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "/api/agent/me" not in e["message"]]
        assert problems == [], problems


def test_shortcuts_help_french_and_signing_out_elsewhere(parley, browsers):
    ann = browsers["ann"]
    sign_in(ann, parley, ANN)
    # `?` opens the help listing the shortcuts; Escape closes it.
    ann.find_element(By.TAG_NAME, "body").send_keys("?")
    wait(ann, lambda d: visible(d, "#help"), "? did not open the help")
    keys = {k.text for k in ann.find_elements(By.CSS_SELECTOR, "#help kbd")}
    assert {"j", "k", "r", "e", "?", "Alt", "↓", "↑"} <= keys, keys
    ann.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait(ann, lambda d: not visible(d, "#help"), "Escape did not close the help")

    # The same session in French.
    ann.get(parley.url("/agent?lang=fr"))
    wait(ann, lambda d: d.execute_script("return document.documentElement.lang") == "fr" and "Ann" in text(d, "#whoami"),
         "no French inbox")
    assert text(ann, "#signout") != "Sign out"

    # Two tabs; signing out in one signs the other out too, with a clear message.
    ann.get(parley.url("/agent?lang=en"))
    wait(ann, lambda d: "Ann" in text(d, "#whoami"), "not signed in")
    first = ann.current_window_handle
    ann.switch_to.new_window("tab")
    ann.get(parley.url("/agent?lang=en"))
    wait(ann, lambda d: "Ann" in text(d, "#whoami"), "second tab not signed in")
    ann.find_element(By.ID, "signout").click()
    wait(ann, lambda d: visible(d, "#signin"), "sign-out did not show the sign-in form")
    ann.close()
    ann.switch_to.window(first)
    wait(ann, lambda d: visible(d, "#signin"), "the other tab stayed signed in")
    assert "signed out" in text(ann, "#signin-alert").lower()

    # A password changed elsewhere (here: the command line) ends the open inbox, said on the page.
    sign_in(ann, parley, ANN)
    changed = parley.cli("agent", "passwd", ANN[0], "--password-stdin", stdin=PASSWORD + "\n")
    assert changed.returncode == 0, changed.stderr
    wait(ann, lambda d: visible(d, "#signin"), "a changed password left the inbox open")
    assert "signed out" in text(ann, "#signin-alert").lower()


NOTIFICATION_STUB = """
window.notified = [];
window.Notification = function (title, options) { notified.push({title: title, body: (options || {}).body}); this.close = function () {}; };
Notification.permission = 'granted';
Notification.requestPermission = function (cb) { cb && cb('granted'); return Promise.resolve('granted'); };
"""


def test_notifications_for_a_new_chat_and_a_message_out_of_view(parley, browsers):
    """A browser notification for a new chat and for a visitor message in a chat not in view; none for
    the chat being read. (Notification is replaced by a recorder: headless Chromium shows none.)"""
    ann = browsers["ann"]
    sign_in(ann, parley, ANN)
    ann.execute_script(NOTIFICATION_STUB)

    def start(name: str, message: str) -> dict:
        answer = requests.post(parley.url("/api/widgets/demo/tickets"), timeout=TIMEOUT, json={
            "fields": {"name": name, "email": f"{name.lower()}@example.com", "message": message}})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def say(t: dict, text_: str, cid: str) -> None:
        answer = requests.post(parley.url(f"/api/tickets/{t['ticket']['id']}/messages"), timeout=TIMEOUT,
                               headers={"Authorization": f"Bearer {t['token']}"}, json={"id": cid, "text": text_})
        assert answer.status_code in (200, 201), answer.text

    notified = lambda d: d.execute_script("return window.notified")  # noqa: E731
    first = start("Dana", "Is the shop open on Sunday?")
    wait(ann, lambda d: {"title": "New chat from Dana", "body": "Is the shop open on Sunday?"} in notified(d),
         f"no notification for the new chat: {notified(ann)}")
    second = start("Eli", "Where is my parcel?")
    wait(ann, lambda d: any(n["title"] == "New chat from Eli" for n in notified(d)), "no notification for the second chat")

    # Ann reads Dana's chat: Dana's next message notifies nothing; Eli's (not in view) does.
    open_row(ann, first["ticket"]["id"])
    before = len(notified(ann))
    say(first, "Also on Monday?", "n1")
    wait(ann, lambda d: any("Also on Monday?" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#events .ev.visitor")),
         "Dana's message never showed")
    say(second, "It was due yesterday", "n2")
    wait(ann, lambda d: any(n["body"] == "It was due yesterday" for n in notified(d)), "no notification for Eli's message")
    assert [n["body"] for n in notified(ann)[before:]] == ["It was due yesterday"], notified(ann)


FAIL_MESSAGES = """
window.realFetch = window.realFetch || window.fetch;
const lose = arguments[0];  // true: the server stores it, the answer is lost; false: it never leaves
window.fetch = function (url, init) {
  if (!(init && init.method === 'POST' && /\\/messages$/.test(String(url)))) return window.realFetch(url, init);
  const sent = lose ? window.realFetch(url, init) : Promise.resolve();
  return sent.then(function () { throw new TypeError('Failed to fetch'); });
};
"""


def test_a_lost_answer_is_retried_once_and_a_note_draft_stays_a_note(parley, browsers):
    ann, bob = browsers["ann"], browsers["bob"]
    tickets = []
    for name in ("Fay", "Gus"):
        answer = requests.post(parley.url("/api/widgets/demo/tickets"), timeout=TIMEOUT, json={
            "fields": {"name": name, "email": f"{name.lower()}@example.com", "message": f"Hello from {name}"}})
        assert answer.status_code == 201, answer.text
        tickets.append(answer.json()["ticket"]["id"])
    first, second = tickets
    sign_in(ann, parley, ANN)
    open_row(ann, first)
    box = css(ann, "textarea[data-p=reply]")

    # A note half-written, another chat opened, back: still a note, so Enter cannot send it to the visitor.
    css(ann, "button[data-p=note-mode]").click()
    box.send_keys("Fay asked for a refund before")
    open_row(ann, second)
    assert css(ann, "button[data-p=note-mode]").get_attribute("aria-pressed") == "false"
    open_row(ann, first)
    box = css(ann, "textarea[data-p=reply]")
    assert css(ann, "button[data-p=note-mode]").get_attribute("aria-pressed") == "true"
    assert box.get_attribute("value") == "Fay asked for a refund before"
    box.send_keys(Keys.ENTER)
    wait(ann, lambda d: any(e["type"] == "note" for e in log_events(parley, first)), "the note never reached the log")
    assert not [e for e in log_events(parley, first) if e["type"] == "message" and "refund" in (e.get("text") or "")]
    css(ann, "button[data-p=note-mode]").click()

    # A reply that never left: it stays in the pane as not sent, the box is free for the next one; Retry
    # sends it with the same client id.
    ann.execute_script(FAIL_MESSAGES, False)
    box.send_keys("Your parcel left today")
    box.send_keys(Keys.ENTER)
    failed = wait(ann, lambda d: css(d, "#events .ev.out[data-state=failed]"), "the failed reply is not shown as failed")
    client = failed.get_attribute("data-client")
    assert box.get_attribute("value") == ""
    assert not [e for e in log_events(parley, first) if e.get("text") == "Your parcel left today"]
    ann.execute_script("window.fetch = window.realFetch;")
    failed.find_element(By.CSS_SELECTOR, "button[data-p=retry]").click()
    wait(ann, lambda d: not css(d, "#events .ev.out"), "the retried reply stayed pending")
    stored = [e for e in log_events(parley, first) if e.get("text") == "Your parcel left today"]
    assert [e["clientId"] for e in stored] == [client]

    # A reply whose answer is lost on the way back: the server has it, the live stream brings it, the
    # pane shows it once and the ticket holds it once.
    ann.execute_script(FAIL_MESSAGES, True)
    box.send_keys("It should arrive on Monday")
    box.send_keys(Keys.ENTER)
    wait(ann, lambda d: any("It should arrive on Monday" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#events .ev.agent"))
         and not css(d, "#events .ev.out"), "the stored reply never settled")
    ann.execute_script("window.fetch = window.realFetch;")
    assert len([e for e in ann.find_elements(By.CSS_SELECTOR, "#events .ev") if "It should arrive on Monday" in e.text]) == 1
    assert len([e for e in log_events(parley, first) if e.get("text") == "It should arrive on Monday"]) == 1

    # Bob sees Fay's chat read-only: no End chat, no status or priority changes; a note is still possible.
    sign_in(bob, parley, BOB)
    open_row(bob, first)
    wait(bob, lambda d: ANN[1] in text(d, "[data-p=readonly]"), "not read-only for Bob")
    assert not visible(bob, "button[data-p=end]")
    for control in ("select[data-p=status]", "select[data-p=priority]", "select[data-p=assign]", "button[data-p=close]"):
        assert not css(bob, control).is_enabled(), control
    bob.find_element(By.TAG_NAME, "body").send_keys("e")
    assert not visible(bob, "#confirm")

    # A change still on its way when Ann switches to a chat Bob holds: its answer must not leave the
    # control enabled there.
    bob.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    open_row(bob, second)
    wait(bob, lambda d: visible(d, "[data-p=takeover]"), "Gus's chat is not Ann's any more?")
    css(bob, "[data-p=takeover]").click()
    wait(bob, lambda d: css(d, "textarea[data-p=reply]").is_enabled(), "Bob could not take over Gus's chat")
    open_row(ann, first)
    ann.execute_script(HOLD_PRIORITY)
    Select(css(ann, "select[data-p=priority]")).select_by_value("urgent")
    open_row(ann, second)
    wait(ann, lambda d: BOB[1] in text(d, "[data-p=readonly]"), "Gus's chat is not read-only for Ann")
    ann.execute_script("window.release();")
    wait(ann, lambda d: any(e["type"] == "priority" for e in log_events(parley, first)), "the held change never landed")
    wait(ann, lambda d: css(d, "select[data-p=priority]").get_attribute("aria-busy") is None, "the change never finished")
    assert not css(ann, "select[data-p=priority]").is_enabled()
    ann.execute_script("window.fetch = window.realFetch;")


HOLD_PRIORITY = """
window.realFetch = window.realFetch || window.fetch;
const held = new Promise(function (resolve) { window.release = resolve; });
window.fetch = function (url, init) {
  return init && init.method === 'POST' && /\\/priority$/.test(String(url))
    ? held.then(function () { return window.realFetch(url, init); }) : window.realFetch(url, init);
};
"""
