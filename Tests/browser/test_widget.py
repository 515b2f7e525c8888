"""The embeddable chat widget in a real browser (headless Chromium), on a shop served from ANOTHER
origin than parley (another port), against a real `parley serve` whose data folder is seeded with
the widgets below before it starts.

Everything the widget draws lives in the open shadow root of `#parley-widget`; the tests find it by
the `data-p` hooks of the widget contract. An agent acts over the agent API (plain HTTP, session
cookie), and what reached the server is read back through that API, the server's request log lines
and the data folder. Waits are explicit conditions with a bounded timeout, never sleeps.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import json
import os
import struct
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from widget_dom import el, js, messages, notices, shown, text

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 15
AGENT_EMAIL, AGENT_NAME, AGENT_PASSWORD = "sam@shop.example", "Sam Agent", "correct horse battery"
ORGANISATION = "Hearth & Hollow"
OTHER_ORIGIN = "https://elsewhere.example"

FIELDS = [
    {"id": "name", "type": "name", "label": "Name", "required": True, "maxLength": 80},
    {"id": "email", "type": "email", "label": "Email", "required": True, "maxLength": 254},
    {"id": "message", "type": "reason", "label": "Message", "required": True, "maxLength": 4000},
]
IDENTITY_SECRET = "shop-secret-for-tests"
ALWAYS_CLOSED = {"timeZone": "UTC", "weekly": {}, "closed": []}


def widget(id: str, **settings) -> dict:
    """A widget file: the three-field form, English, feedback on; `settings` override."""
    return {"id": id, "name": f"Help ({id})", "welcome": "Hi! How can we help?", "language": "en",
            "fields": FIELDS, "feedback": True, "sound": False, **settings}


def seeded_widgets(shop_origin: str) -> list[dict]:
    return [
        {"id": "right", "name": "Right side"},  # every other key left to its default (right, 25, language auto)
        widget("left80", alignment="left", spacing=80),
        widget("whitelist", pathRules={"mode": "whitelist", "paths": ["/products*"]}),
        widget("blacklist", pathRules={"mode": "blacklist", "paths": ["/checkout*"]}),
        widget("form"),
        widget("chat", identity="agent", organisation=ORGANISATION),
        widget("org", identity="organisation", organisation=ORGANISATION),
        widget("unread"),
        widget("retry"),
        widget("keys"),
        widget("api"),
        widget("closed", hours=ALWAYS_CLOSED,
               offline={"mode": "message", "message": "We are closed.", "contact": "hello@shop.example",
                        "leaveMessage": False, "noAgentAsClosed": False, "awayMessage": None}),
        widget("hidden", hours=ALWAYS_CLOSED, offline={"mode": "hide"}),
        widget("foreign", allowedOrigins=[OTHER_ORIGIN]),
        widget("allowed", allowedOrigins=[OTHER_ORIGIN, shop_origin]),
        widget("bot", options=[{"label": "Where is my order?", "welcome": "Let's find your order.", "team": "orders"},
                               {"label": "Returns", "welcome": "Returns are free within 30 days.", "team": "returns"}]),
        widget("ident", identitySecret=IDENTITY_SECRET),
        widget("closing"),
        widget("safe"),
        widget("prompt", prompt={"delay": 1, "title": "Need a hand?", "message": "We reply in minutes."}),
        widget("tabs"),
        widget("pending"),
        widget("ending"),
        widget("sse"),
        widget("ident2", identitySecret=IDENTITY_SECRET),
        widget("again"),
        widget("hideleave", hours=ALWAYS_CLOSED, offline={"mode": "hide", "leaveMessage": True}),
        widget("focus"),
        widget("scroll"),
        widget("unseen", pathRules={"mode": "blacklist", "paths": ["/checkout*"]}),
        widget("typing"),
        widget("preview", typingPreview=True),
    ]


# --- the agent, over HTTP -------------------------------------------------------------------------

class Agent:
    """An agent using the agent API with its session cookie (no browser, so no Origin header)."""

    def __init__(self, server):
        self.server = server
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server.url(path), data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with self.opener.open(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else {}

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        status, answer = self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path} → {status} {answer}"
        return answer

    def login(self, email: str, password: str) -> None:
        self.ok("POST", "/api/agent/login", {"email": email, "password": password})

    def tickets(self, widget: str) -> list[dict]:
        return self.ok("GET", f"/api/agent/tickets?widget={widget}")["tickets"]

    def events(self, ticket: str) -> list[dict]:
        return self.ok("GET", f"/api/agent/tickets/{ticket}")["events"]

    def visitor_messages(self, ticket: str) -> list[str]:
        return [e.get("text") for e in self.events(ticket)
                if e["type"] == "message" and e["by"]["kind"] == "visitor"]

    def open(self, ticket: str) -> None:
        self.ok("POST", f"/api/agent/tickets/{ticket}/open")

    def reply(self, ticket: str, text: str) -> None:
        self.ok("POST", f"/api/agent/tickets/{ticket}/messages", {"id": uuid.uuid4().hex, "text": text})

    def typing(self, ticket: str) -> None:
        self.ok("POST", f"/api/agent/tickets/{ticket}/typing", {})

    def close(self, ticket: str) -> None:
        self.ok("POST", f"/api/agent/tickets/{ticket}/close", {})


def add_agent(server) -> Agent:
    added = server.cli("agent", "add", AGENT_EMAIL, "--name", AGENT_NAME, "--role", "agent", "--widget", "*",
                       "--password-stdin", stdin=AGENT_PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    agent = Agent(server)
    agent.login(AGENT_EMAIL, AGENT_PASSWORD)
    return agent


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parley(start_server, shop):
    """One parley for the module, seeded with the widgets; the shop's pages embed it. The module
    starts more chats from one loopback address than the per-address ticket burst allows (10), so
    rate limits are off here: no test in it is about them."""
    server = start_server(widgets=seeded_widgets(shop.origin), env={"PARLEY_RATE_LIMITS": "off"})
    shop.parley = server.base_url
    return server


@pytest.fixture(scope="module")
def agent(parley) -> Agent:
    return add_agent(parley)


def reset(driver, shop) -> None:
    """A blank shop page with empty storage (the widget keeps its conversation there)."""
    driver.get(shop.url("/blank"))
    driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    driver.get_log("browser")  # drop what earlier pages printed


@pytest.fixture
def visitor(browser, shop, parley):
    """The browser on the shop's origin, with no stored conversation before and after."""
    reset(browser, shop)
    yield browser
    reset(browser, shop)


# --- reading the widget (inside its shadow root) --------------------------------------------------

def bubble_shown(driver) -> bool:
    return shown(driver, "[data-p=bubble]")


def wait(driver, condition, message: str, timeout: float = WAIT_SECONDS):
    return WebDriverWait(driver, timeout).until(condition, message)


def ready(driver) -> list[dict]:
    """What the widget passed to `Parley('on', 'ready', fn)` on this page (one entry per call)."""
    return driver.execute_script("return window.parleyTest ? parleyTest.ready : null") or []


def wait_ready(driver) -> dict:
    """The `ready` report: the config has been loaded and the widget decided whether to show."""
    return wait(driver, lambda d: (r := ready(d)) and r[0], "the widget never reported ready")


def stored(driver, widget_id: str) -> dict:
    """The widget's stored conversation (`localStorage['parley:<id>']`) on the current origin."""
    raw = driver.execute_script("return localStorage.getItem(arguments[0])", "parley:" + widget_id)
    return json.loads(raw) if raw else {}


def open_panel(driver) -> None:
    if not shown(driver, "[data-p=panel]"):
        wait(driver, bubble_shown, "the bubble never appeared")
        el(driver, "[data-p=bubble]").click()
    wait(driver, lambda d: shown(d, "[data-p=panel]"), "the chat panel never opened")


def fill(driver, values: dict[str, str]) -> None:
    for name, value in values.items():
        css = f"[data-p=form] [name={name}]"
        field = wait(driver, lambda d: shown(d, css) and el(d, css), f"no form field {name}")
        field.clear()
        if value:
            field.send_keys(value)


def visitor_values(message: str) -> dict[str, str]:
    return {"name": "Ann Visitor", "email": "ann@example.com", "message": message}


def start_chat(driver, values: dict[str, str]) -> None:
    """Fills the open panel's pre-chat form and starts the chat; returns once the composer shows."""
    wait(driver, lambda d: shown(d, "form[data-p=form]"), "the pre-chat form never showed")
    fill(driver, values)
    el(driver, "[data-p=start]").click()
    wait(driver, lambda d: shown(d, "[data-p=input]"), "the chat never started (no composer)")


def stored_ticket(driver, widget_id: str) -> str:
    return wait(driver, lambda d: stored(d, widget_id).get("ticket"), "the widget stored no ticket")


def texts_of(driver, kind: str) -> list[str]:
    return [m["text"] for m in messages(driver) if m["kind"] == kind]


def wait_for_message(driver, kind: str, body: str, state: str | None = None) -> None:
    """Waits until the widget's log holds a `kind` message reading `body` (in `state`, if given)."""
    try:
        wait(driver, lambda d: any(m["kind"] == kind and m["text"] == body and (state is None or m["state"] == state)
                                   for m in messages(d)), "")
    except TimeoutException:
        pytest.fail(f"no {kind} message {body!r}{' (' + state + ')' if state else ''} in the widget: {messages(driver)}")


def send(driver, message: str) -> None:
    """Types into the composer and presses Enter (Enter sends)."""
    composer = wait(driver, lambda d: shown(d, "[data-p=input]") and el(d, "[data-p=input]"), "no composer")
    composer.send_keys(message, Keys.ENTER)


def request_lines(server, method: str, path: str) -> list:
    """The server's request log lines for `method path` (each `status=` is group 1)."""
    return server.log_lines(rf"method={method} .*path={path} status=(\d+)")


# --- 1. placement ---------------------------------------------------------------------------------

@pytest.mark.parametrize("widget_id, side, gap", [("right", "right", 25), ("left80", "left", 80)])
def test_bubble_sits_at_the_configured_side_and_spacing(visitor, shop, widget_id, side, gap):
    visitor.get(shop.url("/", widget_id))
    assert wait_ready(visitor)["visible"] is True
    wait(visitor, bubble_shown, "the bubble never appeared")
    box = js(visitor, """
        const r = q('[data-p=bubble]').getBoundingClientRect(), de = document.documentElement;
        return {left: r.left, right: de.clientWidth - r.right, bottom: de.clientHeight - r.bottom,
                width: r.width, hosts: document.querySelectorAll('#parley-widget').length,
                parent: host.parentElement === document.body, z: getComputedStyle(host).zIndex};""")
    assert abs(box[side] - 20) <= 1, box
    assert abs(box["bottom"] - gap) <= 1, box
    # Not stuck to the other side.
    assert box["left" if side == "right" else "right"] > 200, box
    assert box["hosts"] == 1 and box["parent"], box
    assert box["z"] == "2147483000", box


# Language precedence: data-lang > the widget's language (unless "auto") > the browser's languages.
LANGUAGE_CASES = [
    # (widget, its language, browser, data-lang, bubble label)
    ("right", "auto", "en-US", None, "Open chat"),
    ("right", "auto", "fr-FR", None, "Ouvrir le chat"),
    ("left80", "en", "fr-FR", None, "Open chat"),
    ("left80", "en", "en-US", "fr", "Ouvrir le chat"),
]


@pytest.mark.parametrize("widget_id, widget_language, browser_language, data_lang, label", LANGUAGE_CASES)
def test_bubble_label_follows_the_language_precedence(visitor, shop, widget_id, widget_language, browser_language,
                                                      data_lang, label):
    user_agent = visitor.execute_script("return navigator.userAgent")
    visitor.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent, "acceptLanguage": browser_language})
    try:
        visitor.get(shop.url("/", widget_id, **({"lang": data_lang} if data_lang else {})))
        assert visitor.execute_script("return navigator.language") == browser_language
        wait(visitor, bubble_shown, "the bubble never appeared")
        bubble = el(visitor, "[data-p=bubble]")
        assert bubble.tag_name == "button"
        assert bubble.get_attribute("aria-label") == label
        assert bubble.get_attribute("aria-expanded") == "false"
    finally:
        visitor.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent})


def test_chat_bundle_is_loaded_only_when_the_visitor_opens_the_bubble(visitor, shop):
    visitor.get(shop.url("/", "right"))
    wait_ready(visitor)
    wait(visitor, bubble_shown, "the bubble never appeared")
    loaded = "return performance.getEntriesByType('resource').some(e => /\\/widget-chat\\.js/.test(e.name))"
    assert visitor.execute_script(loaded) is False, "widget-chat.js was loaded before the visitor asked for it"
    el(visitor, "[data-p=bubble]").click()
    wait(visitor, lambda d: shown(d, "[data-p=panel]"), "the chat panel never opened")
    assert visitor.execute_script(loaded) is True
    assert el(visitor, "[data-p=bubble]").get_attribute("aria-expanded") == "true"


# --- 2. where it shows ----------------------------------------------------------------------------

# Steps: (action, path, bubble shown after it). "load" is a full page load; push/replace are
# history.pushState/replaceState; back/forward go through popstate.
PATH_CASES = [
    pytest.param("whitelist", [("load", "/products/42", True)], id="whitelist-listed-page"),
    pytest.param("whitelist", [("load", "/spa", False), ("push", "/products/42", True), ("push", "/about", False),
                               ("back", "/products/42", True), ("back", "/spa", False),
                               ("forward", "/products/42", True), ("replace", "/cart", False)], id="whitelist-spa"),
    pytest.param("blacklist", [("load", "/checkout", False)], id="blacklist-listed-page"),
    pytest.param("blacklist", [("load", "/spa", True), ("push", "/checkout", False), ("replace", "/checkout/pay", False),
                               ("push", "/cart", True), ("back", "/checkout/pay", False), ("back", "/spa", True)],
                 id="blacklist-spa"),
]


@pytest.mark.parametrize("widget_id, steps", PATH_CASES)
def test_path_rules_show_and_hide_the_bubble_across_navigation(visitor, shop, widget_id, steps):
    for action, path, expected in steps:
        if action == "load":
            visitor.get(shop.url(path, widget_id))
            assert wait_ready(visitor)["visible"] is expected, f"ready on {path}"
        elif action in ("push", "replace"):
            visitor.execute_script(f"history.{action}State({{}}, '', arguments[0])", path)
        else:
            visitor.execute_script(f"history.{action}()")
            wait(visitor, lambda d: d.execute_script("return location.pathname") == path, f"{action} never reached {path}")
        wait(visitor, lambda d: bubble_shown(d) == expected,
             f"after {action} {path} the bubble should be {'shown' if expected else 'hidden'}")


# --- 3. pre-chat form -----------------------------------------------------------------------------

def ticket_logs_of(server, widget_id: str) -> list[Path]:
    """Ticket logs under DATA/tickets whose first event names the widget."""
    found = []
    for log in (server.data / "tickets").glob("*/*.jsonl"):
        first = log.read_text().split("\n", 1)[0]
        if first and json.loads(first).get("widget") == widget_id:
            found.append(log)
    return found


def test_invalid_prechat_form_warns_inline_and_sends_nothing(visitor, shop, parley, agent):
    visitor.get(shop.url("/", "form"))
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "the pre-chat form never showed")
    assert all(text(visitor, f"[data-p=warn-{f}]") == "" for f in ("name", "email", "message")), "warnings before submit"

    # Everything empty: one warning per required field.
    el(visitor, "[data-p=start]").click()
    for field in ("name", "email", "message"):
        wait(visitor, lambda d: "cannot be empty" in text(d, f"[data-p=warn-{field}]"), f"no empty warning on {field}")
    described = js(visitor, """
        const input = q('[data-p=form] [name=name]'), ids = (input.getAttribute('aria-describedby') || '').split(' ');
        return ids.some(id => id && root.getElementById(id) === q('[data-p=warn-name]'));""")
    assert described, "the name input is not described by its warning"

    # A bad email: only that field is warned.
    fill(visitor, {"name": "Ann", "email": "ann@example", "message": "Is the mug dishwasher safe?"})
    el(visitor, "[data-p=start]").click()
    wait(visitor, lambda d: text(d, "[data-p=warn-email]") and "cannot be empty" not in text(d, "[data-p=warn-email]"),
         "no invalid-email warning")
    assert "email" in text(visitor, "[data-p=warn-email]").lower()
    assert text(visitor, "[data-p=warn-name]") == "" and text(visitor, "[data-p=warn-message]") == ""
    assert shown(visitor, "form[data-p=form]") and not shown(visitor, "[data-p=input]")

    # Nothing reached the server: no request, no ticket, no ticket log.
    assert request_lines(parley, "POST", "/api/widgets/form/tickets") == []
    assert agent.tickets("form") == []
    assert ticket_logs_of(parley, "form") == []

    # The same form, once valid, sends exactly one request (so the checks above were not early).
    fill(visitor, {"email": "ann@example.com"})
    el(visitor, "[data-p=start]").click()
    parley.wait_for_log(r"method=POST .*path=/api/widgets/form/tickets status=201")
    assert [m.group(1) for m in request_lines(parley, "POST", "/api/widgets/form/tickets")] == ["201"]
    assert len(agent.tickets("form")) == 1


@pytest.mark.parametrize("lang, start, empty, labels", [
    (None, "Start chat", "Name cannot be empty.", ["Name", "Email", "Message"]),
    # The form's fields carry the server's default labels ("Name"…): shown in the visitor's language.
    ("fr", "Démarrer le chat", "Nom ne peut pas être vide.", ["Nom", "E-mail", "Message"])])
def test_prechat_form_speaks_the_visitors_language(visitor, shop, lang, start, empty, labels):
    visitor.get(shop.url("/", "form", **({"lang": lang} if lang else {})))
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "the pre-chat form never showed")
    assert text(visitor, "[data-p=start]") == start
    shown_labels = js(visitor, "return [...root.querySelectorAll('[data-p=form] label')].map(l => l.firstChild.textContent)")
    assert shown_labels == labels
    el(visitor, "[data-p=start]").click()
    wait(visitor, lambda d: text(d, "[data-p=warn-name]") == empty, f"no warning {empty!r}")


# --- 4. a whole conversation ----------------------------------------------------------------------

def test_full_conversation_round_trip(visitor, shop, parley, agent):
    first = "Hello, is the mug dishwasher safe?"
    visitor.get(shop.url("/products/42", "chat"))
    open_panel(visitor)
    assert text(visitor, "[data-p=title]") == "Help (chat)"
    assert text(visitor, "[data-p=welcome]") == "Hi! How can we help?"
    start_chat(visitor, visitor_values(first))
    ticket = stored_ticket(visitor, "chat")
    wait_for_message(visitor, "visitor", first)

    # Enter sends; Shift+Enter is a new line inside the same message.
    send(visitor, "Second question: does it come in blue?")
    composer = el(visitor, "[data-p=input]")
    composer.send_keys("line one")
    ActionChains(visitor).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    composer.send_keys("line two", Keys.ENTER)
    sent = [first, "Second question: does it come in blue?", "line one\nline two"]
    for message in sent[1:]:
        wait_for_message(visitor, "visitor", message, state="sent")
    assert composer.get_attribute("value") == ""
    # The server's limit: the composer can't hold a message it would refuse.
    assert composer.get_attribute("maxlength") == "4000"

    # The server log has them, in order, once each.
    assert agent.visitor_messages(ticket) == sent
    opened = agent.events(ticket)[0]
    assert opened["type"] == "ticket.opened" and opened["fields"]["email"] == "ann@example.com"
    assert opened["page"]["url"] == shop.url("/products/42", "chat")

    # The agent opens the ticket and replies: the visitor sees both live.
    agent.open(ticket)
    wait(visitor, lambda d: any(f"{AGENT_NAME} joined the conversation" in n for n in notices(d)),
         f"no joined notice: {notices(visitor)}")
    agent.typing(ticket)
    wait(visitor, lambda d: text(d, "[data-p=typing]") == f"{AGENT_NAME} is typing…", "no typing indicator")
    agent.reply(ticket, "Yes, it is dishwasher safe.")
    wait_for_message(visitor, "agent", "Yes, it is dishwasher safe.")
    assert not shown(visitor, "[data-p=typing]"), "the typing indicator stayed after the reply"
    # Every visitor message shows once (the live echo of a sent message is not a second copy).
    assert texts_of(visitor, "visitor") == sent

    # A reload, then another page of the shop: the conversation is still there.
    for url in (None, shop.url("/checkout", "chat")):
        visitor.refresh() if url is None else visitor.get(url)
        open_panel(visitor)
        wait_for_message(visitor, "agent", "Yes, it is dishwasher safe.")
        assert texts_of(visitor, "visitor") == sent
        assert stored(visitor, "chat")["ticket"] == ticket

    # End: X, yes, rate 5 with a comment.
    el(visitor, "[data-p=end]").click()
    wait(visitor, lambda d: shown(d, "[data-p=confirm]"), "no end confirmation")
    el(visitor, "[data-p=confirm-yes]").click()
    wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "no feedback step")
    el(visitor, "[data-p=rate][data-v='5']").click()
    el(visitor, "[data-p=comment]").send_keys("Quick and kind.")
    el(visitor, "[data-p=send-feedback]").click()
    wait(visitor, lambda d: shown(d, "[data-p=ended]"), "the chat never showed as ended")
    events = agent.events(ticket)
    assert "visitor.left" in [e["type"] for e in events]
    feedback = [e for e in events if e["type"] == "feedback"]
    assert [(f["rating"], f.get("comment")) for f in feedback] == [(5, "Quick and kind.")]

    # Start chat: a fresh form, and a second chat is a second ticket.
    el(visitor, "[data-p=new-chat]").click()
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "Start chat did not show a fresh form")
    assert el(visitor, "[data-p=form] [name=message]").get_attribute("value") == ""
    assert stored(visitor, "chat").get("ticket") in (None, "")
    start_chat(visitor, visitor_values("One more thing: gift wrapping?"))
    second = stored_ticket(visitor, "chat")
    assert second != ticket
    assert texts_of(visitor, "visitor") == ["One more thing: gift wrapping?"]
    assert sorted(t["id"] for t in agent.tickets("chat")) == sorted([ticket, second])
    assert agent.visitor_messages(second) == ["One more thing: gift wrapping?"]


def test_organisation_identity_hides_the_agents_name(visitor, shop, agent):
    widget_id, shown_name = "org", ORGANISATION
    visitor.get(shop.url("/", widget_id))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Who am I talking to?"))
    ticket = stored_ticket(visitor, widget_id)
    agent.open(ticket)
    agent.reply(ticket, "Happy to help.")
    wait_for_message(visitor, "agent", "Happy to help.")
    wait(visitor, lambda d: any(f"{shown_name} joined the conversation" in n for n in notices(d)),
         f"no joined notice with {shown_name}: {notices(visitor)}")
    panel = js(visitor, "return q('[data-p=panel]').innerText")
    assert AGENT_NAME not in panel and "Sam" not in panel


def test_unread_badge_counts_replies_while_minimized(visitor, shop, agent):
    visitor.get(shop.url("/", "unread"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Are you there?"))
    ticket = stored_ticket(visitor, "unread")
    agent.open(ticket)
    wait(visitor, lambda d: any("joined the conversation" in n for n in notices(d)), "no joined notice")
    assert not shown(visitor, "[data-p=badge]")

    el(visitor, "[data-p=minimize]").click()
    wait(visitor, lambda d: not shown(d, "[data-p=panel]"), "minimize did not close the panel")
    agent.reply(ticket, "Yes! How can I help?")
    wait(visitor, lambda d: text(d, "[data-p=badge]") == "1", "the badge never showed 1 unread")
    recorded = visitor.execute_script("return parleyTest")
    assert recorded["unread"][-1] == 1
    assert [(m["type"], m["text"]) for m in recorded["messages"]] == [("message", "Yes! How can I help?")]

    el(visitor, "[data-p=bubble]").click()
    wait_for_message(visitor, "agent", "Yes! How can I help?")
    wait(visitor, lambda d: not shown(d, "[data-p=badge]"), "the badge stayed after opening")


def test_agent_closing_the_ticket_ends_the_chat_for_the_visitor(visitor, shop, agent):
    visitor.get(shop.url("/", "closing"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Thanks, that was all."))
    ticket = stored_ticket(visitor, "closing")
    agent.open(ticket)
    agent.close(ticket)
    wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "the visitor was not asked for feedback when the shop ended the chat")
    assert any("ended" in n for n in notices(visitor)), notices(visitor)
    assert not shown(visitor, "[data-p=input]") and not shown(visitor, "[data-p=end]")
    el(visitor, "[data-p=skip-feedback]").click()
    wait(visitor, lambda d: shown(d, "[data-p=new-chat]"), "no Start chat after skipping feedback")
    assert [e for e in agent.events(ticket) if e["type"] == "feedback"] == []


def test_messages_are_shown_as_text_never_as_html(visitor, shop, agent):
    visitor.get(shop.url("/", "safe"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("<b>bold?</b>"))
    ticket = stored_ticket(visitor, "safe")
    hostile = '<img src=x onerror="window.parleyOwned=1"><b>hi</b> see https://example.com/care.'
    agent.reply(ticket, hostile)
    wait_for_message(visitor, "agent", hostile)
    wait_for_message(visitor, "visitor", "<b>bold?</b>")
    found = js(visitor, """
        const log = q('[data-p=log]');
        return {tags: [...log.querySelectorAll('img, b, script')].length,
                links: [...log.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.getAttribute('rel') || ''])};""")
    assert found["tags"] == 0
    assert visitor.execute_script("return window.parleyOwned === undefined")
    # Links are made clickable safely: the URL without the sentence's full stop, opened apart.
    assert len(found["links"]) == 1 and found["links"][0][0] == "https://example.com/care", found
    assert "noopener" in found["links"][0][1]


def test_panel_is_full_screen_on_a_narrow_screen(visitor, shop):
    size = visitor.get_window_size()
    visitor.set_window_size(400, 800)
    try:
        visitor.get(shop.url("/", "right"))
        # The resize lands asynchronously (slowly on a busy machine): wait for the narrow layout.
        wait(visitor, lambda d: js(d, "return document.documentElement.clientWidth") <= 480, "the window never became narrow")
        open_panel(visitor)

        def box(d):
            return js(d, """
            const r = q('[data-p=panel]').getBoundingClientRect(), de = document.documentElement;
            return {left: r.left, top: r.top, right: de.clientWidth - r.right, bottom: de.clientHeight - r.bottom,
                    width: de.clientWidth};""")
        wait(visitor, lambda d: all(abs(box(d)[k]) <= 1 for k in ("left", "top", "right", "bottom")),
             "the panel does not fill the narrow screen")
        assert box(visitor)["width"] <= 480
    finally:
        visitor.set_window_size(size["width"], size["height"])


# --- bot options, identity, proactive prompt -----------------------------------------------------

def test_bot_option_chosen_after_the_form_routes_and_welcomes(visitor, shop, parley, agent):
    visitor.get(shop.url("/", "bot"))
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "the pre-chat form never showed")
    fill(visitor, visitor_values("I want to send a mug back."))
    el(visitor, "[data-p=start]").click()
    wait(visitor, lambda d: shown(d, "[data-p=options]"), "no bot options after a valid form")
    labels = js(visitor, "return [...root.querySelectorAll('[data-p=options] [data-p=option]')].map(b => b.innerText.trim())")
    assert labels == ["Where is my order?", "Returns"]
    assert request_lines(parley, "POST", "/api/widgets/bot/tickets") == [], "the ticket was created before the choice"

    js(visitor, "return [...root.querySelectorAll('[data-p=option]')].find(b => b.innerText.trim() === 'Returns')").click()
    wait_for_message(visitor, "bot", "Returns are free within 30 days.")
    ticket = stored_ticket(visitor, "bot")
    events = agent.events(ticket)
    assert events[0]["type"] == "ticket.opened" and events[0].get("team") == "returns"
    bot = [e["text"] for e in events if e["type"] == "message" and e["by"]["kind"] == "bot"]
    assert bot == ["Returns are free within 30 days."]
    assert agent.visitor_messages(ticket) == ["I want to send a mug back."]


def signature(email: str, ts: int, secret: str = IDENTITY_SECRET) -> str:
    return hmac.new(secret.encode(), f"{email}|{ts}".encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("valid", [True, False], ids=["valid-signature", "bad-signature"])
def test_identify_prefills_the_visitor_and_a_bad_signature_asks_for_details(visitor, shop, agent, valid):
    ts = int(time.time())
    email = "known@example.com"
    claim = {"name": "Known Customer", "email": email, "ts": ts,
             "signature": signature(email, ts, IDENTITY_SECRET if valid else "not-the-secret")}
    before = {t["id"] for t in agent.tickets("ident")}
    visitor.get(shop.url("/", "ident"))
    wait_ready(visitor)
    visitor.execute_script("Parley('identify', arguments[0])", claim)
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "[data-p=form] [name=message]"), "no message field")
    assert not shown(visitor, "[data-p=form] [name=name]") and not shown(visitor, "[data-p=form] [name=email]"), \
        "identify should hide the name and email fields"
    fill(visitor, {"message": "Where is my order?"})
    el(visitor, "[data-p=start]").click()

    if valid:
        ticket = stored_ticket(visitor, "ident")
        opened = agent.events(ticket)[0]
        assert opened["fields"]["email"] == email and opened["fields"]["name"] == "Known Customer"
        assert opened.get("verified") is True
        return
    # Refused: the error band says so, and the visitor types their details instead.
    wait(visitor, lambda d: shown(d, "[data-p=error]") and shown(d, "[data-p=form] [name=email]"),
         "a refused identity should show the error band and the name/email fields")
    assert text(visitor, "[data-p=error]")
    assert {t["id"] for t in agent.tickets("ident")} == before
    assert stored(visitor, "ident").get("ticket") in (None, "")
    fill(visitor, {"name": "Typed Name", "email": "typed@example.com"})
    el(visitor, "[data-p=start]").click()
    ticket = stored_ticket(visitor, "ident")
    opened = agent.events(ticket)[0]
    assert opened["fields"]["email"] == "typed@example.com" and not opened.get("verified")


@pytest.mark.parametrize("action", ["click", "close"])
def test_proactive_prompt_appears_and_opens_or_closes(visitor, shop, action):
    visitor.get(shop.url("/", "prompt"))
    wait(visitor, lambda d: shown(d, "[data-p=prompt]"), "the proactive prompt never appeared")
    assert text(visitor, "[data-p=prompt-title]") == "Need a hand?"
    assert el(visitor, "[data-p=prompt]").get_attribute("role") == "status", "screen readers announce the prompt"
    assert text(visitor, "[data-p=prompt-message]") == "We reply in minutes."
    assert not shown(visitor, "[data-p=panel]")
    if action == "click":
        el(visitor, "[data-p=prompt-message]").click()
        wait(visitor, lambda d: shown(d, "[data-p=panel]"), "clicking the prompt did not open the chat")
    else:
        el(visitor, "[data-p=prompt-close]").click()
        assert not shown(visitor, "[data-p=panel]")
    wait(visitor, lambda d: not shown(d, "[data-p=prompt]"), "the prompt stayed")


# --- 5. outside hours -----------------------------------------------------------------------------

def test_closed_widget_shows_the_closed_message_and_contact(visitor, shop):
    visitor.get(shop.url("/", "closed"))
    assert wait_ready(visitor)["visible"] is True
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "[data-p=closed-message]"), "no closed message")
    assert text(visitor, "[data-p=closed-message]") == "We are closed."
    assert "hello@shop.example" in text(visitor, "[data-p=contact]")
    # No leave-a-message: no form to start a chat with.
    assert not shown(visitor, "form[data-p=form]") and not shown(visitor, "[data-p=start]")


def test_closed_widget_in_hide_mode_shows_no_bubble(visitor, shop, parley):
    visitor.get(shop.url("/", "hidden"))
    # The config was fetched and the widget decided: only then is the absence meaningful.
    assert wait_ready(visitor)["visible"] is False
    assert "200" in [m.group(1) for m in request_lines(parley, "GET", "/api/widgets/hidden/config")]
    assert not bubble_shown(visitor)


def test_hide_mode_still_shows_a_stored_conversation(visitor, shop, parley):
    # A visitor whose chat started before closing time keeps it. The hours can't change under a
    # running server, so the conversation is started through the API and stored as the widget would.
    body = json.dumps({"fields": visitor_values("Started before closing time.")}).encode()
    request = urllib.request.Request(parley.url("/api/widgets/right/tickets"), data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        created = json.load(response)
    visitor.get(shop.url("/blank"))
    visitor.execute_script("localStorage.setItem('parley:hidden', JSON.stringify(arguments[0]))",
                           {"ticket": created["ticket"]["id"], "token": created["token"], "seq": 0})
    visitor.get(shop.url("/", "hidden"))
    assert wait_ready(visitor)["visible"] is True
    open_panel(visitor)
    wait_for_message(visitor, "visitor", "Started before closing time.")
    assert shown(visitor, "[data-p=input]")


def test_a_conversation_the_server_no_longer_has_is_forgotten_for_a_fresh_form(visitor, shop, parley):
    # A restored backup or an erased visitor: the stored ticket answers ticket_not_found. The widget
    # forgets it and offers a fresh form instead of an empty chat that can never send.
    gone = "T" + uuid.uuid4().hex[:20]
    visitor.get(shop.url("/blank"))
    visitor.execute_script("localStorage.setItem('parley:form', JSON.stringify(arguments[0]))",
                           {"ticket": gone, "token": "gone-" + uuid.uuid4().hex, "seq": 3})
    visitor.get(shop.url("/", "form"))
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "the widget kept a conversation the server does not have")
    parley.wait_for_log(rf"path=/api/tickets/{gone}/\S+ status=404")
    assert not stored(visitor, "form").get("ticket")
    assert not shown(visitor, "[data-p=error]"), "a forgotten conversation is not an error"


# --- 6. allowed origins ---------------------------------------------------------------------------

def test_widget_shows_on_an_allowed_origin(visitor, shop, parley):
    visitor.get(shop.url("/", "allowed"))
    assert wait_ready(visitor)["visible"] is True
    wait(visitor, bubble_shown, "the bubble never appeared on an allowed origin")


def test_widget_refused_for_the_origin_shows_nothing_and_says_why(visitor, shop, parley):
    visitor.get(shop.url("/", "foreign"))
    parley.wait_for_log(r"method=GET .*path=/api/widgets/foreign/config status=403")
    # The browser saw the refusal (the server's 403 carries no CORS grant) and said so in the console.
    console: list[dict] = []

    def refusal_logged(driver):
        console.extend(driver.get_log("browser"))
        return any("/api/widgets/foreign/config" in e["message"] or "parley" in e["message"].lower() for e in console)
    wait(visitor, refusal_logged, "nothing in the console about the refused widget")
    assert not bubble_shown(visitor)
    assert all(r.get("visible") is False for r in ready(visitor)), ready(visitor)


# --- 7. failed send and retry ---------------------------------------------------------------------

def set_offline(driver, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def test_failed_send_is_marked_and_retry_sends_it_once(visitor, shop, agent):
    visitor.get(shop.url("/", "retry"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Hello"))
    ticket = stored_ticket(visitor, "retry")
    wait_for_message(visitor, "visitor", "Hello", state="sent")

    message = "Sent while the network is down"
    try:
        set_offline(visitor, True)
        send(visitor, message)
        wait_for_message(visitor, "visitor", message, state="failed")
        retry = el(visitor, "[data-p=msg][data-state=failed] [data-p=retry]")
        assert retry is not None and retry.is_displayed()
        assert agent.visitor_messages(ticket) == ["Hello"]
    finally:
        set_offline(visitor, False)
    try:
        retry.click()
    except (StaleElementReferenceException, WebDriverException):
        pass  # the widget already retried by itself once back online; the checks below still hold
    wait_for_message(visitor, "visitor", message, state="sent")
    assert agent.visitor_messages(ticket) == ["Hello", message]

    # Once the agent's reply is in, every earlier event has reached the widget too: still one copy.
    agent.reply(ticket, "Got it.")
    wait_for_message(visitor, "agent", "Got it.")
    assert texts_of(visitor, "visitor") == ["Hello", message]
    assert agent.visitor_messages(ticket) == ["Hello", message]


# --- 8. keyboard and accessibility ----------------------------------------------------------------

def focused(driver) -> str:
    """Describes the focused element, looking inside the widget: 'bubble', 'field:NAME', or a tag."""
    return driver.execute_script("""
        let a = document.activeElement;
        if (!a || a.id !== 'parley-widget') return a ? a.tagName.toLowerCase() : '';
        a = a.shadowRoot.activeElement;
        if (!a) return 'host';
        if (a.getAttribute('data-p') === 'bubble') return 'bubble';
        if (a.getAttribute('data-p') === 'start') return 'start';
        return a.name ? 'field:' + a.name : (a.getAttribute('data-p') || a.tagName.toLowerCase());""")


def tab_to(driver, target: str, limit: int = 25) -> None:
    seen = []
    for _ in range(limit):
        if focused(driver) == target:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
        seen.append(focused(driver))
    assert focused(driver) == target, f"Tab never reached {target}; went through {seen}"


def test_keyboard_only_visitor_can_open_the_widget_and_start_a_chat(visitor, shop, agent):
    visitor.get(shop.url("/", "keys"))
    wait(visitor, bubble_shown, "the bubble never appeared")
    tab_to(visitor, "bubble")
    ActionChains(visitor).send_keys(Keys.ENTER).perform()
    wait(visitor, lambda d: shown(d, "[data-p=panel]"), "Enter on the bubble did not open the panel")
    panel = el(visitor, "[data-p=panel]")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-label")
    assert el(visitor, "[data-p=bubble]").get_attribute("aria-expanded") == "true"

    for name, value in visitor_values("Typed with the keyboard only").items():
        tab_to(visitor, f"field:{name}")
        ActionChains(visitor).send_keys(value).perform()
    tab_to(visitor, "start")
    ActionChains(visitor).send_keys(Keys.ENTER).perform()
    wait(visitor, lambda d: shown(d, "[data-p=input]"), "the chat never started from the keyboard")
    ticket = stored_ticket(visitor, "keys")
    assert agent.visitor_messages(ticket) == ["Typed with the keyboard only"]
    assert el(visitor, "[data-p=log]").get_attribute("aria-live") == "polite"


# --- the JS API -----------------------------------------------------------------------------------

def test_js_api_opens_closes_hides_and_shows(visitor, shop):
    visitor.get(shop.url("/", "api"))
    wait_ready(visitor)
    wait(visitor, bubble_shown, "the bubble never appeared")
    visitor.execute_script("Parley('open')")
    wait(visitor, lambda d: shown(d, "[data-p=panel]"), "Parley('open') did not open the panel")
    visitor.execute_script("Parley('close')")
    wait(visitor, lambda d: not shown(d, "[data-p=panel]"), "Parley('close') did not close the panel")
    recorded = visitor.execute_script("return parleyTest")
    assert (recorded["open"], recorded["close"]) == (1, 1)
    visitor.execute_script("Parley('hide')")
    wait(visitor, lambda d: not bubble_shown(d), "Parley('hide') left the bubble")
    visitor.execute_script("Parley('show')")
    wait(visitor, bubble_shown, "Parley('show') did not bring the bubble back")


# --- 9. screenshot --------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshot_of_the_open_widget_on_the_demo_shop(browser, fresh_server, tmp_path):
    server = fresh_server
    agent = add_agent(server)
    browser.set_window_size(1280, 800)
    try:
        # Make the viewport itself 1280x800 (the window may add a frame around it).
        inner = browser.execute_script("return [innerWidth, innerHeight]")
        if inner != [1280, 800]:
            size = browser.get_window_size()
            browser.set_window_size(size["width"] + 1280 - inner[0], size["height"] + 800 - inner[1])
        browser.get(server.url("/"))
        browser.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
        browser.refresh()
        open_panel(browser)
        start_chat(browser, {"name": "Ann", "email": "ann@example.com",
                             "message": "Hi! Is the stoneware mug dishwasher safe?"})
        ticket = stored_ticket(browser, "demo")
        agent.open(ticket)
        agent.reply(ticket, "Hi Ann! Yes, all our stoneware is dishwasher and microwave safe.")
        wait_for_message(browser, "agent", "Hi Ann! Yes, all our stoneware is dishwasher and microwave safe.")
        send(browser, "Great, thank you!")
        wait_for_message(browser, "visitor", "Great, thank you!", state="sent")

        if os.environ.get("PARLEY_SCREENSHOTS") == "1":
            target = REPO / "docs" / "widget.png"
            target.parent.mkdir(exist_ok=True)
        else:
            target = tmp_path / "widget.png"
        assert browser.save_screenshot(str(target))
        ratio = browser.execute_script("return devicePixelRatio")
        assert browser.execute_script("return [innerWidth, innerHeight]") == [1280, 800]
        assert png_size(target) == (round(1280 * ratio), round(800 * ratio))
    finally:
        browser.execute_script("try { localStorage.clear(); } catch (e) {}")
        browser.set_window_size(1280, 900)


# --- review fixes: tabs, reloads, ends, streams, identify, focus, scrolling, typing ------------------

def end_and_skip_feedback(driver) -> None:
    """X, yes, skip the feedback: the ended view with its Start chat button."""
    el(driver, "[data-p=end]").click()
    wait(driver, lambda d: shown(d, "[data-p=confirm-yes]"), "no end confirmation")
    el(driver, "[data-p=confirm-yes]").click()
    wait(driver, lambda d: shown(d, "[data-p=skip-feedback]"), "no feedback step")
    el(driver, "[data-p=skip-feedback]").click()
    wait(driver, lambda d: shown(d, "[data-p=new-chat]"), "no Start chat after skipping the feedback")


def test_two_tabs_follow_one_conversation_and_never_write_back_an_old_one(visitor, shop, agent):
    # Each tab keeps the conversation in memory. A tab must never write its old one back over the one
    # another tab started since (the old widget did, on every event and whenever it was shown again).
    visitor.get(shop.url("/", "tabs"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("First chat"))
    first = stored_ticket(visitor, "tabs")
    tab_a = visitor.current_window_handle
    # Tabs answer each other's writes; they must settle, not write back and forth forever.
    visitor.execute_script("window.parleyWrites = 0; addEventListener('storage', () => parleyWrites++)")
    visitor.switch_to.new_window("tab")
    try:
        visitor.get(shop.url("/products/42", "tabs"))
        open_panel(visitor)
        wait_for_message(visitor, "visitor", "First chat")
        tab_b = visitor.current_window_handle

        visitor.switch_to.window(tab_a)  # tab B is hidden now
        end_and_skip_feedback(visitor)
        el(visitor, "[data-p=new-chat]").click()
        start_chat(visitor, visitor_values("Second chat"))
        second = wait(visitor, lambda d: (t := stored(d, "tabs").get("ticket")) != first and t, "no second ticket")

        visitor.switch_to.window(tab_b)  # shown again: it follows the stored conversation
        wait_for_message(visitor, "visitor", "Second chat")
        assert texts_of(visitor, "visitor") == ["Second chat"]
        assert stored(visitor, "tabs")["ticket"] == second
        send(visitor, "From the other tab")
        wait_for_message(visitor, "visitor", "From the other tab", state="sent")
        assert agent.visitor_messages(second) == ["Second chat", "From the other tab"]
        assert agent.visitor_messages(first) == ["First chat"]

        visitor.switch_to.window(tab_a)
        wait_for_message(visitor, "visitor", "From the other tab")
        assert stored(visitor, "tabs")["ticket"] == second
        agent.reply(second, "Both tabs see this")
        wait_for_message(visitor, "agent", "Both tabs see this")
        writes = visitor.execute_script("return parleyWrites")
        assert writes < 30, f"{writes} storage writes from the other tab"
    finally:
        for handle in visitor.window_handles:
            if handle != tab_a:
                visitor.switch_to.window(handle)
                visitor.close()
        visitor.switch_to.window(tab_a)


def test_unsent_messages_survive_a_reload_and_are_sent_once(visitor, shop, parley, agent):
    visitor.get(shop.url("/", "pending"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Hello"))
    ticket = stored_ticket(visitor, "pending")
    wait_for_message(visitor, "visitor", "Hello", state="sent")
    # What the widget asks fetch for a message: keepalive, so a send just before leaving still arrives.
    visitor.execute_script("""
        const f = window.fetch; parleyTest.keepalive = [];
        window.fetch = function (u, o) {
          if (/\\/messages$/.test(u)) parleyTest.keepalive.push(!!(o && o.keepalive));
          return f.apply(this, arguments);
        };""")
    visitor.execute_cdp_cmd("Network.enable", {})
    visitor.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/messages"]})
    try:
        send(visitor, "Lost in the network")
        wait_for_message(visitor, "visitor", "Lost in the network", state="failed")
    finally:
        visitor.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert visitor.execute_script("return parleyTest.keepalive") == [True]
    entry = stored(visitor, "pending")
    assert [p["text"] for p in entry["p"]] == ["Lost in the network"]

    # Another message reached parley, but the page went away before its answer (so no page saw it
    # stored): re-posted with the same client id, parley answers `duplicate` and keeps one copy.
    visitor.get(shop.url("/blank"))
    body = json.dumps({"id": "already-there-1", "text": "Already there"}).encode()
    request = urllib.request.Request(parley.url(f"/api/tickets/{ticket}/messages"), data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + entry["token"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    visitor.execute_script("""
        const k = 'parley:pending', s = JSON.parse(localStorage.getItem(k));
        s.p.push({id: 'already-there-1', text: 'Already there'});
        localStorage.setItem(k, JSON.stringify(s));""")

    visitor.get(shop.url("/", "pending"))
    open_panel(visitor)
    wait_for_message(visitor, "visitor", "Lost in the network", state="sent")
    wait_for_message(visitor, "visitor", "Already there", state="sent")
    assert agent.visitor_messages(ticket) == ["Hello", "Already there", "Lost in the network"]
    assert texts_of(visitor, "visitor") == ["Hello", "Already there", "Lost in the network"]
    # (The echo on the stream may mark it sent before the POST's answer: wait for parley's log line.)
    parley.wait_for_log(rf"method=POST .*path=/api/tickets/{ticket}/messages status=200")
    statuses = sorted(m.group(1) for m in request_lines(parley, "POST", f"/api/tickets/{ticket}/messages"))
    # "Already there" by the API (201), then from the reloaded page: "Lost…" (201) and "Already there" (200).
    assert statuses == ["200", "201", "201"], statuses
    wait(visitor, lambda d: stored(d, "pending").get("p") == [], "sent messages stay in storage")


@pytest.mark.parametrize("ended_by", ["visitor", "shop"])
def test_an_ended_conversation_is_forgotten_by_the_next_pages(visitor, shop, parley, agent, ended_by):
    visitor.get(shop.url("/", "ending"))
    open_panel(visitor)
    start_chat(visitor, visitor_values(f"Ended by the {ended_by}"))
    ticket = stored_ticket(visitor, "ending")
    if ended_by == "visitor":
        end_and_skip_feedback(visitor)
    else:
        agent.open(ticket)
        agent.close(ticket)
        wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "no feedback step when the shop ended the chat")
        el(visitor, "[data-p=skip-feedback]").click()
        wait(visitor, lambda d: shown(d, "[data-p=new-chat]"), "no Start chat after skipping the feedback")
    assert stored(visitor, "ending").get("end"), stored(visitor, "ending")

    visitor.refresh()
    assert wait_ready(visitor)["visible"] is True
    wait(visitor, bubble_shown, "the bubble never appeared")
    loaded = "return performance.getEntriesByType('resource').some(e => /\\/widget-chat\\.js/.test(e.name))"
    assert visitor.execute_script(loaded) is False, "the chat bundle (and its stream) loaded for an ended conversation"
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "form[data-p=form]"), "no fresh form after an ended conversation")
    assert not shown(visitor, "[data-p=feedback]"), "feedback asked again"
    assert not texts_of(visitor, "visitor")


# An EventSource that always fails (as behind a proxy that buffers streams), and a record of the
# widget's long polls; installed before any page script runs.
FAILING_STREAMS = """
window.parleyStreams = 0;
window.parleyPolls = 0;
window.EventSource = class {
  constructor(url) {
    parleyStreams++;
    this.readyState = 0;
    setTimeout(() => { this.readyState = 2; if (this.onerror) this.onerror(new Event('error')); });
  }
  addEventListener() {}
  close() { this.readyState = 2; }
};
const parleyFetch = window.fetch;
window.fetch = function (u) {
  if (/[?&]wait=/.test(String(u))) parleyPolls++;
  return parleyFetch.apply(this, arguments);
};
"""


def test_after_stream_errors_the_widget_polls_then_tries_the_stream_again(visitor, shop, agent):
    script = visitor.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAILING_STREAMS})["identifier"]
    try:
        visitor.get(shop.url("/", "sse"))
        open_panel(visitor)
        start_chat(visitor, visitor_values("My streams keep failing"))
        ticket = stored_ticket(visitor, "sse")
        streams = lambda d: d.execute_script("return parleyStreams")  # noqa: E731
        polls = lambda d: d.execute_script("return parleyPolls")  # noqa: E731
        wait(visitor, lambda d: streams(d) == 3 and polls(d) >= 1, "no long poll after three stream errors")
        agent.reply(ticket, "Through the long poll")
        wait_for_message(visitor, "agent", "Through the long poll")
        assert streams(visitor) == 3

        # Shown again (the visitor comes back to the tab): the stream is tried again.
        before = polls(visitor)
        visitor.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
        wait(visitor, lambda d: streams(d) == 6 and polls(d) > before, "the stream was not tried again when shown")

        # A minute of good polling later: the stream again.
        visitor.execute_script("const now = Date.now; Date.now = () => now() + 61000;")
        agent.reply(ticket, "A minute later")
        wait_for_message(visitor, "agent", "A minute later")
        wait(visitor, lambda d: streams(d) > 6, "still long-polling after a minute of successful polls")
    finally:
        visitor.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})


@pytest.mark.parametrize("case", ["string-ts", "unreadable-ts"])
def test_a_sloppy_identify_payload_never_blocks_the_chat(visitor, shop, agent, case):
    ts = int(time.time())
    email = "sloppy@example.com"
    if case == "string-ts":  # what a template engine hands over: every value a string, the name a number
        claim = {"name": 2024, "email": email, "ts": str(ts), "signature": signature(email, ts)}
    else:  # a ts parley can't read at all (400 invalid_json): the identity is dropped, details typed
        claim = {"name": "Sloppy", "email": email, "ts": 1e300, "signature": signature(email, ts)}
    visitor.get(shop.url("/", "ident2"))
    wait_ready(visitor)
    visitor.execute_script("Parley('identify', arguments[0])", claim)
    open_panel(visitor)
    fill(visitor, {"message": "Hello from a sloppy shop"})
    el(visitor, "[data-p=start]").click()
    if case == "string-ts":
        opened = agent.events(stored_ticket(visitor, "ident2"))[0]
        assert opened["fields"]["email"] == email and opened["fields"]["name"] == "2024"
        assert opened.get("verified") is True
        return
    wait(visitor, lambda d: shown(d, "[data-p=error]") and shown(d, "[data-p=form] [name=email]"),
         "an unreadable identity should show the error band and the name/email fields")
    fill(visitor, {"name": "Typed Name", "email": "typed@example.com"})
    el(visitor, "[data-p=start]").click()
    opened = agent.events(stored_ticket(visitor, "ident2"))[0]
    assert opened["fields"]["email"] == "typed@example.com" and not opened.get("verified")


def test_a_new_chat_starts_with_a_blank_feedback_form(visitor, shop):
    visitor.get(shop.url("/", "again"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("First"))
    el(visitor, "[data-p=end]").click()
    wait(visitor, lambda d: shown(d, "[data-p=confirm-yes]"), "no end confirmation")
    el(visitor, "[data-p=confirm-yes]").click()
    wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "no feedback step")
    el(visitor, "[data-p=rate][data-v='4']").click()
    el(visitor, "[data-p=comment]").send_keys("Half written")
    el(visitor, "[data-p=skip-feedback]").click()
    wait(visitor, lambda d: shown(d, "[data-p=new-chat]"), "no Start chat")
    el(visitor, "[data-p=new-chat]").click()
    start_chat(visitor, visitor_values("Second"))
    feedback_state = """
        return {pressed: [...root.querySelectorAll('[data-p=rate]')]
                  .filter(b => b.getAttribute('aria-pressed') === 'true' || b.classList.contains('on')).length,
                comment: q('[data-p=comment]').value, disabled: q('[data-p=send-feedback]').disabled};"""
    el(visitor, "[data-p=end]").click()
    wait(visitor, lambda d: shown(d, "[data-p=confirm-yes]"), "no end confirmation")
    el(visitor, "[data-p=confirm-yes]").click()
    wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "no feedback step")
    assert js(visitor, feedback_state) == {"pressed": 0, "comment": "", "disabled": True}


def test_hide_mode_offers_no_leave_a_message_form(visitor, shop):
    # leaveMessage is set, but in hide mode parley refuses new tickets while closed (409): no form.
    visitor.get(shop.url("/", "hideleave"))
    assert wait_ready(visitor)["visible"] is False
    visitor.execute_script("Parley('show')")  # the shop shows it anyway
    open_panel(visitor)
    wait(visitor, lambda d: shown(d, "[data-p=closed-message]"), "no closed message")
    assert not shown(visitor, "form[data-p=form]") and not shown(visitor, "[data-p=start]")


def test_agent_events_leave_the_visitors_focus_where_it_is(visitor, shop, agent):
    visitor.get(shop.url("/", "focus"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("I'll keep shopping meanwhile"))
    ticket = stored_ticket(visitor, "focus")
    visitor.execute_script("document.getElementById('shop-button').focus()")
    agent.open(ticket)
    agent.reply(ticket, "Take your time.")
    wait_for_message(visitor, "agent", "Take your time.")
    agent.close(ticket)
    wait(visitor, lambda d: shown(d, "[data-p=feedback]"), "no feedback step when the shop ended the chat")
    assert focused(visitor) == "button" and visitor.execute_script("return document.activeElement.id") == "shop-button"
    # The visitor's own steps still move focus along.
    el(visitor, "[data-p=skip-feedback]").click()
    wait(visitor, lambda d: focused(d) == "new-chat", "focus did not follow the visitor's own step")


def test_the_log_stays_where_the_visitor_scrolled_to(visitor, shop, agent):
    visitor.get(shop.url("/", "scroll"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Tell me everything"))
    ticket = stored_ticket(visitor, "scroll")
    agent.open(ticket)
    for i in range(8):
        agent.reply(ticket, f"Part {i}:\nline one\nline two\nline three")
    wait_for_message(visitor, "agent", "Part 7:\nline one\nline two\nline three")
    scroll = "const b = q('[data-p=log]').parentElement; return [b.scrollTop, b.scrollHeight - b.clientHeight];"
    top, bottom = js(visitor, scroll)
    assert bottom > 200 and abs(top - bottom) <= 1, "the log follows new messages while at its end"

    js(visitor, "q('[data-p=log]').parentElement.scrollTop = 0;")
    agent.reply(ticket, "One more, while you read above")
    wait_for_message(visitor, "agent", "One more, while you read above")
    assert js(visitor, scroll)[0] == 0, "a new message pulled the visitor down"

    send(visitor, "Back to the end")
    wait_for_message(visitor, "visitor", "Back to the end")
    top, bottom = js(visitor, scroll)
    assert abs(top - bottom) <= 1, "the visitor's own message should bring the log to its end"


def test_replies_while_the_path_rules_hide_the_widget_count_as_unread(visitor, shop, agent):
    visitor.get(shop.url("/", "unseen"))
    open_panel(visitor)
    start_chat(visitor, visitor_values("Going to checkout"))
    ticket = stored_ticket(visitor, "unseen")
    agent.open(ticket)
    wait(visitor, lambda d: any("joined the conversation" in n for n in notices(d)), "no joined notice")
    last_unread = "return parleyTest.unread.length ? parleyTest.unread[parleyTest.unread.length - 1] : 0"

    visitor.execute_script("history.pushState({}, '', '/checkout')")
    wait(visitor, lambda d: not bubble_shown(d), "the path rules did not hide the widget")
    agent.reply(ticket, "Your order is ready")
    wait(visitor, lambda d: d.execute_script(last_unread) == 1, "a reply the visitor could not see was counted as read")

    visitor.execute_script("history.pushState({}, '', '/cart')")
    wait(visitor, bubble_shown, "the widget did not come back")
    wait_for_message(visitor, "agent", "Your order is ready")
    wait(visitor, lambda d: d.execute_script(last_unread) == 0, "shown again in the open panel: read")


@pytest.mark.parametrize("widget_id, preview", [("typing", False), ("preview", True)], ids=["private", "preview"])
def test_typing_sends_the_draft_only_to_widgets_that_show_it(visitor, shop, widget_id, preview):
    visitor.get(shop.url("/", widget_id))
    open_panel(visitor)
    start_chat(visitor, visitor_values("About to type"))
    visitor.execute_script("""
        const f = window.fetch; parleyTest.typing = [];
        window.fetch = function (u, o) {
          if (/\\/typing$/.test(u)) parleyTest.typing.push(JSON.parse(o.body));
          return f.apply(this, arguments);
        };""")
    el(visitor, "[data-p=input]").send_keys("my secret draft")
    bodies = wait(visitor, lambda d: d.execute_script("return parleyTest.typing"), "no typing call")
    if preview:
        assert bodies[0].get("text") and "my secret draft".startswith(bodies[0]["text"]), bodies
    else:
        assert bodies[0] == {}, bodies
