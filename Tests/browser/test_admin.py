"""The admin console (/admin), end to end: an admin signs in and edits widgets, agents and rules in the browser, and
what they publish is what the widget does on a shop page on another origin (a second browser, the visitor).

Covered: creating a widget and publishing left alignment, 80 px spacing, a `/checkout*` blacklist and the shop as the
allowed site (the bubble moves and hides accordingly; the live preview follows the unsaved settings first); bad
values shown by their fields (spacing -5 and colour `blue` refused before sending, a path without `/` refused by the
server's 422) with nothing published; the history and Restore (the public config follows); Show code and Copy; a
non-admin's "this page is for admins"; an invite link that lets a new agent choose a password and sign in; an
"outside hours" auto-reply rule that fires once per ticket under the server's test clock (`--test-clock`); the
audit log listing the publish. `PARLEY_SCREENSHOTS=1` saves the README's picture (docs/admin-widget.png).
Also (review fixes): typing while a save or publish is on its way is kept; Save, Publish and Discard wait for each
other (no draft conflict with oneself); unsaved edits come back after the session ends and the admin signs in again;
the identity secret is masked (also in History → View) and never a password box a browser would fill; an error on a
setting hidden by another one shows it; an invite link spent by a simultaneous use says so; the Agents page keeps
its one-time link and what is typed in its panels across redraws, and asks before leaving unsaved input.
The Data page: erasing a visitor after the question (their token then opens nothing; other chats that mention the
email are counted, with the command to copy), and removing chats closed before a date after a Preview and the question
(their log files go; another date needs its own Preview).
Every wait is on a real condition (WebDriverWait), never a sleep; a request is held in flight by wrapping
`window.fetch` in the page so that its answer waits on a promise the test resolves (hold()/release())."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from widget_dom import el, js, messages, shown

WAIT_SECONDS = 20
PASSWORD = "correct horse battery"
ADA = ("ada@shop.example", "Ada Admin")      # the admin
ANN = ("ann@shop.example", "Ann Agent")      # an agent (not an admin)
CLOSED_REPLY = "We are closed… we answer on Monday."
SATURDAY = "2026-11-21T10:00:00Z"            # a Saturday, 11:00 in Paris: outside Mon–Fri 09:00-17:00
REPO = Path(__file__).resolve().parents[2]


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parley(start_server, shop):
    """One parley for the module, with the test clock on, an admin and an agent; the shop's pages embed it."""
    server = start_server(env={"PARLEY_RATE_LIMITS": "off", "PARLEY_BCRYPT_COST": "4"}, args=["--test-clock"])
    for (email, name), role in ((ADA, "admin"), (ANN, "agent")):
        added = server.cli("agent", "add", email, "--name", name, "--role", role, "--widget", "*",
                           "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    shop.parley = server.base_url
    return server


@pytest.fixture(scope="module")
def browsers(new_browser):
    """The admin's browser and the visitor's (each with its own cookies and storage)."""
    drivers = {}
    try:
        for who in ("admin", "visitor"):
            drivers[who] = new_browser()
        yield drivers
    finally:
        for d in drivers.values():
            d.quit()


@pytest.fixture
def admin(browsers, parley):
    """The admin's browser, signed in at /admin (English), on the widgets page."""
    d = browsers["admin"]
    sign_in(d, parley, ADA)
    go(d, parley, "#/widgets")
    return d


@pytest.fixture
def visitor(browsers, shop):
    d = browsers["visitor"]
    yield d
    # The shop's storage: no conversation carries over to the next test.
    if d.current_url.startswith(shop.origin):
        d.execute_script("localStorage.clear(); sessionStorage.clear();")


# --- helpers --------------------------------------------------------------------------------------

def wait(driver, condition, message: str, timeout: float = WAIT_SECONDS):
    def safe(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False  # redrawn under us: look again
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(safe, message)


def css(driver, selector: str, root=None):
    found = (root or driver).find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found else None


def visible(driver, selector: str) -> bool:
    e = css(driver, selector)
    return bool(e and e.is_displayed())


def text(driver, selector: str) -> str:
    e = css(driver, selector)
    return e.text.strip() if e and e.is_displayed() else ""


def status_text(driver) -> str:
    """The last result (#status, role=status); read as text content: it fades out after a while."""
    return driver.execute_script("return document.getElementById('status').textContent")


def wait_status(driver, expected: str) -> None:
    wait(driver, lambda d: expected in status_text(d), f"the status never said {expected!r} (it says {status_text(driver)!r})")


def sign_in(driver, server, who, path: str = "/admin?lang=en") -> None:
    email, _ = who
    driver.get(server.url(path))
    wait(driver, lambda d: visible(d, "#signin") or visible(d, "#app") or visible(d, "#forbidden"), "no sign-in form, app or notice")
    if visible(driver, "#signin"):
        for field_id, value in (("email", email), ("password", PASSWORD)):
            f = driver.find_element(By.ID, field_id)
            f.clear()
            f.send_keys(value)
        driver.find_element(By.ID, "signin-submit").click()
    wait(driver, lambda d: visible(d, "#app") or visible(d, "#forbidden"), f"{email} never got past the sign-in")


def go(driver, server, route: str) -> None:
    """Opens an admin page by its route (a fresh load: no unsaved changes are carried)."""
    driver.get(server.url("/admin?lang=en" + route))
    wait(driver, lambda d: visible(d, "#app") and css(d, "#view h1") is not None, f"page {route} never showed")


def control(driver, name: str, root=None):
    """The (first) visible control named `name`, waiting for it."""
    return wait(driver, lambda d: next((e for e in (root or d).find_elements(By.CSS_SELECTOR, f'[name="{name}"]')
                                        if e.is_displayed()), None), f"no visible control named {name}")


def type_into(driver, name: str, value: str, root=None) -> None:
    c = control(driver, name, root)
    c.clear()
    if value:
        c.send_keys(value)


def choose(driver, name: str, value: str, root=None) -> None:
    Select(control(driver, name, root)).select_by_value(value)


def tick(driver, name: str, on: bool = True, root=None) -> None:
    c = control(driver, name, root)
    if c.is_selected() != on:
        c.click()


def click(driver, selector: str) -> None:
    b = wait(driver, lambda d: (e := css(d, selector)) and e.is_displayed() and e.is_enabled() and e, f"{selector} is not clickable")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", b)
    b.click()


def error_of(driver, name: str) -> str:
    """The error line tied to control `name` (aria-describedby), '' when it has none."""
    return driver.execute_script("""
        const c = document.querySelector('[name="' + arguments[0] + '"]');
        const id = c && c.getAttribute('data-error');
        const e = id && document.getElementById(id);
        return e && (c.getAttribute('aria-describedby') || '').split(' ').includes(id) ? e.textContent : '';""", name)


def api(driver, method: str, path: str, body: dict | None = None) -> dict:
    """A call with the page's own session cookie (same origin), from inside the page."""
    return driver.execute_async_script("""
        const [method, path, body, done] = arguments;
        fetch(path, {method, credentials: 'same-origin',
                     headers: body ? {'Content-Type': 'application/json'} : {},
                     body: body ? JSON.stringify(body) : undefined})
          .then(r => r.json().then(j => done({status: r.status, body: j}), () => done({status: r.status, body: null})))
          .catch(e => done({status: 0, body: String(e)}));""", method, path, body)


def public_config(server, widget: str) -> requests.Response:
    return requests.get(server.url(f"/api/widgets/{widget}/config"), timeout=10)


def create_widget(driver, widget: str, name: str) -> None:
    """The new-widget form on the widgets page; ends in the new widget's editor."""
    click(driver, "[data-action=new-widget]")
    type_into(driver, "new-name", name)
    type_into(driver, "new-id", widget)
    click(driver, "[data-action=create-widget]")
    wait(driver, lambda d: d.current_url.endswith("#/widgets/" + widget) and text(d, "#ed-title") == name,
         f"the editor of {widget} never opened")


def publish(driver, version: int) -> None:
    click(driver, "[data-action=publish]")
    wait_status(driver, f"Published version {version}")
    wait(driver, lambda d: f"Live version {version}" in text(d, "#state"), "the bar never said the version is live")
    # Nothing left to save or publish.
    wait(driver, lambda d: not css(d, "[data-action=save-draft]").is_enabled() and not css(d, "[data-action=publish]").is_enabled(),
         "Save draft and Publish stayed enabled after publishing")


def hold(driver, method: str, pattern: str) -> None:
    """Holds the answers of the page's next `method` requests whose URL matches `pattern` (a regex) until release():
    the request reaches the server, the page sees its answer only then. window.__held counts the held requests."""
    driver.execute_script("""
        const [method, pattern] = arguments;
        const real = window.__realFetch || (window.__realFetch = window.fetch);
        let open;
        const gate = new Promise((resolve) => { open = resolve; });
        window.__held = 0;
        window.__release = () => { window.fetch = real; open(); };
        window.fetch = function (url, init) {
          const m = ((init && init.method) || 'GET').toUpperCase();
          if (m !== method || !new RegExp(pattern).test(String(url))) return real.apply(this, arguments);
          window.__held++;
          return real(url, init).then((r) => gate.then(() => r));
        };""", method, pattern)


def held(driver) -> int:
    return driver.execute_script("return window.__held || 0")


def release(driver) -> None:
    driver.execute_script("window.__release()")


def enabled(driver, action: str) -> bool:
    return css(driver, f"[data-action={action}]").is_enabled()


def agent_row(driver, name: str):
    return wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "li.agent") if name in e.text), None),
                f"{name} is not listed")


def ready(driver) -> list[dict]:
    return driver.execute_script("return window.parleyTest ? parleyTest.ready : []") or []


def shop_page(driver, shop, path: str, widget: str) -> dict:
    """Opens a shop page embedding `widget`; returns the widget's `ready` report ({visible})."""
    driver.get(shop.url(path, widget=widget))
    return wait(driver, lambda d: (r := ready(d)) and r[0], f"the widget never reported ready on {path}")


def bubble_box(driver) -> dict:
    return js(driver, """const b = q('[data-p=bubble]'); if (!shown(b)) return null;
        const r = b.getBoundingClientRect();
        return {left: r.left, right: innerWidth - r.right, bottom: innerHeight - r.bottom};""")


def ticket_events(server, ticket: str) -> list[dict]:
    """The ticket's log as the server wrote it (data/tickets/*/<id>.jsonl)."""
    paths = list((server.data / "tickets").glob(f"*/{ticket}.jsonl"))
    if not paths:
        return []
    return [json.loads(line) for line in paths[0].read_text().splitlines() if line.strip()]


# --- 1. create, edit, preview, publish: the shop's widget follows ---------------------------------

def test_admin_creates_and_publishes_a_widget_that_the_shop_page_follows(admin, visitor, parley, shop):
    create_widget(admin, "corner", "Corner shop")
    # A new widget is a draft: not live until its first publish.
    assert "not published yet" in text(admin, "#state")
    assert public_config(parley, "corner").status_code == 404

    choose(admin, "alignment", "left")
    type_into(admin, "spacing", "80")
    choose(admin, "pathRules.mode", "blacklist")
    type_into(admin, "pathRules.paths", "/checkout*")
    type_into(admin, "allowedOrigins", shop.origin)
    assert text(admin, "#state") == "Unsaved changes"

    # The path tester answers with the loader's rule.
    type_into(admin, "path-test", "/checkout/step1")
    wait(admin, lambda d: text(d, "#path-test-result") == "Hidden on /checkout/step1", "the tester never said hidden")
    type_into(admin, "path-test", "/products/42")
    wait(admin, lambda d: text(d, "#path-test-result") == "Shown on /products/42", "the tester never said shown")

    # The live preview shows the unsaved settings: the bubble moves to the left, 80 px from the bottom.
    frame = css(admin, "#preview-frame")
    def preview_bubble(d):
        d.switch_to.frame(frame)
        try:
            return bubble_box(d)
        finally:
            d.switch_to.default_content()
    box = wait(admin, lambda d: (b := preview_bubble(d)) and b["left"] < 100 and b["bottom"] == 80 and b,
               "the preview never showed the bubble on the left, 80 px up")
    assert box["right"] > 100

    publish(admin, 1)
    config = public_config(parley, "corner").json()
    assert (config["alignment"], config["spacing"], config["pathRules"]) == \
        ("left", 80, {"mode": "blacklist", "paths": ["/checkout*"]})

    # The shop's home page: the bubble on the left, its bottom 80 px above the window's.
    assert shop_page(visitor, shop, "/", "corner")["visible"] is True
    box = wait(visitor, lambda d: bubble_box(d), "no bubble on the shop's home page")
    assert box["left"] < 100 and box["right"] > 100
    assert box["bottom"] == 80
    # …and none on the checkout.
    assert shop_page(visitor, shop, "/checkout/step1", "corner")["visible"] is False
    assert not shown(visitor, "[data-p=bubble]")


# --- 2. bad values: by their fields, nothing sent or published ------------------------------------

def test_bad_values_are_shown_by_their_fields_and_nothing_is_published(admin, parley):
    create_widget(admin, "strict", "Strict")
    publish(admin, 1)
    puts = lambda: len(parley.log_lines(r"method=PUT .*path=/api/admin/widgets/strict/draft status="))
    sent = puts()

    # Refused before sending: the spacing and the colour, each by its field; the focus on the first.
    type_into(admin, "color", "blue")
    type_into(admin, "spacing", "-5")
    click(admin, "[data-action=publish]")
    wait(admin, lambda d: error_of(d, "color") != "", "no error by the colour")
    assert error_of(admin, "color") == "Use a colour like #2f6fed or #26e."
    assert error_of(admin, "spacing") == "Use a whole number from 0 to 2000."
    for name in ("color", "spacing"):
        assert control(admin, name).get_attribute("aria-invalid") == "true"
    assert control(admin, "name").get_attribute("aria-invalid") is None
    assert admin.switch_to.active_element == control(admin, "color")
    assert "Please correct the fields marked below." in text(admin, "#form-alert")
    assert puts() == sent

    # A fixed field loses its error as soon as it is right.
    type_into(admin, "color", "#26e")
    wait(admin, lambda d: error_of(d, "color") == "", "the fixed colour kept its error")
    type_into(admin, "spacing", "40")

    # Refused by the server (422): a path without its leading /, shown on its line.
    type_into(admin, "pathRules.paths", "/cart\ncheckout*")
    click(admin, "[data-action=publish]")
    wait(admin, lambda d: error_of(d, "pathRules.paths") != "", "no error by the paths")
    assert error_of(admin, "pathRules.paths") == "Line 2: A path starts with /, like /checkout*."
    assert control(admin, "pathRules.paths").get_attribute("aria-invalid") == "true"
    assert admin.switch_to.active_element == control(admin, "pathRules.paths")
    assert parley.log_lines(r"method=PUT .*path=/api/admin/widgets/strict/draft status=422")
    # Nothing was published: the live settings are the first version's.
    config = public_config(parley, "strict").json()
    assert (config["color"], config["spacing"], config["pathRules"]["paths"]) == ("#2f6fed", 25, [])
    assert "Unsaved changes" in text(admin, "#state")


# --- 3. history and restore -----------------------------------------------------------------------

def test_history_lists_the_versions_and_restore_brings_back_an_old_setting(admin, parley):
    create_widget(admin, "timeline", "Timeline")
    type_into(admin, "spacing", "30")
    publish(admin, 1)
    type_into(admin, "spacing", "60")
    publish(admin, 2)
    assert public_config(parley, "timeline").json()["spacing"] == 60

    click(admin, "[data-action=history]")
    wait(admin, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history li.version")) == 2, "the history never listed 2 versions")
    versions = [e.get_attribute("data-version") for e in admin.find_elements(By.CSS_SELECTOR, "#history li.version")]
    assert versions == ["2", "1"]  # newest first
    assert "Changed: spacing" in css(admin, '#history li.version[data-version="2"]').text
    # The live version cannot be restored (it is live); the old one can, after a question.
    assert css(admin, '#history [data-action=restore][data-version="2"]') is None
    click(admin, '#history [data-action=restore][data-version="1"]')
    wait(admin, lambda d: visible(d, "#ask") and "Publish version 1 again" in text(d, "#ask-text"), "no confirmation")
    click(admin, "#ask [data-action=confirm-yes]")
    wait_status(admin, "Version 1 is live again, as version 3.")
    assert not visible(admin, "#history")
    assert control(admin, "spacing").get_attribute("value") == "30"
    assert "Live version 3" in text(admin, "#state")
    assert public_config(parley, "timeline").json()["spacing"] == 30


def test_a_draft_another_admin_saved_meanwhile_is_not_overwritten(admin, parley):
    """Two admins on one widget: Ada's editor, loaded before Bea saved, cannot save over Bea's draft unseen; the
    alert names Bea and offers Reload, which shows Bea's text."""
    create_widget(admin, "shared", "Shared")
    publish(admin, 1)
    added = parley.cli("agent", "add", "bea@shop.example", "--name", "Bea Boss", "--role", "admin",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    bea = requests.Session()
    assert bea.post(parley.url("/api/agent/login"), json={"email": "bea@shop.example", "password": PASSWORD}, timeout=10).ok
    state = bea.get(parley.url("/api/admin/widgets/shared"), timeout=10).json()
    saved = bea.put(parley.url("/api/admin/widgets/shared/draft?version=1&revision=0"),
                    json=state["published"] | {"welcome": "Bea's welcome"}, timeout=10)
    assert saved.status_code == 200, saved.text

    type_into(admin, "welcome", "Ada's welcome")
    click(admin, "[data-action=save-draft]")
    wait(admin, lambda d: "Bea Boss saved this draft" in text(d, "#form-alert"), "no conflict message naming Bea")
    assert bea.get(parley.url("/api/admin/widgets/shared"), timeout=10).json()["draft"]["welcome"] == "Bea's welcome"
    # Publishing is refused the same way (it would put Bea's text live unseen).
    click(admin, "[data-action=publish]")
    wait(admin, lambda d: "Bea Boss saved this draft" in text(d, "#form-alert"), "publish was not refused")
    assert public_config(parley, "shared").json()["welcome"] != "Bea's welcome"
    click(admin, "#form-alert button")
    wait(admin, lambda d: control(d, "welcome").get_attribute("value") == "Bea's welcome", "Reload did not show Bea's draft")


# --- 3b. saving while typing (review findings 1 and 5) --------------------------------------------------------------

def test_typing_while_a_save_or_publish_is_on_its_way_is_kept(admin, parley):
    create_widget(admin, "steady", "Steady")
    publish(admin, 1)

    # A save whose answer comes late: what is typed meanwhile stays in the form, still unsaved.
    hold(admin, "PUT", r"/api/admin/widgets/steady/draft")
    type_into(admin, "welcome", "First text")
    click(admin, "[data-action=save-draft]")
    wait(admin, lambda d: held(d) == 1, "the save never started")
    welcome = control(admin, "welcome")
    welcome.send_keys(" and more")
    release(admin)
    wait_status(admin, "Draft saved")
    assert control(admin, "welcome").get_attribute("value") == "First text and more"
    assert admin.switch_to.active_element == welcome, "the form was drawn again under the typing"
    assert text(admin, "#state") == "Unsaved changes"
    assert api(admin, "GET", "/api/admin/widgets/steady")["body"]["draft"]["welcome"] == "First text"

    # The same for a publish (which saves first): the answer does not put back what was published.
    hold(admin, "POST", r"/api/admin/widgets/steady/publish")
    click(admin, "[data-action=publish]")
    wait(admin, lambda d: held(d) == 1, "the publish never started")
    control(admin, "welcome").send_keys(", again")
    release(admin)
    wait_status(admin, "Published version 2")
    assert control(admin, "welcome").get_attribute("value") == "First text and more, again"
    assert text(admin, "#state") == "Unsaved changes"
    assert public_config(parley, "steady").json()["welcome"] == "First text and more"


def test_publish_waits_for_a_save_on_its_way_instead_of_conflicting_with_it(admin, parley):
    create_widget(admin, "orderly", "Orderly")
    publish(admin, 1)
    hold(admin, "PUT", r"/api/admin/widgets/orderly/draft")
    type_into(admin, "welcome", "Saved, then published")
    click(admin, "[data-action=save-draft]")
    wait(admin, lambda d: held(d) == 1, "the save never started")
    # While it runs, nothing else can be sent on top of it (Publish would save again on the old revision).
    for action in ("publish", "discard", "history", "save-draft"):
        assert not enabled(admin, action), f"{action} is enabled while the save runs"
    assert css(admin, "[data-action=save-draft]").get_attribute("aria-busy") == "true"
    release(admin)
    wait_status(admin, "Draft saved")
    wait(admin, lambda d: enabled(d, "publish") and enabled(d, "discard"), "Publish and Discard never came back")
    publish(admin, 2)
    assert public_config(parley, "orderly").json()["welcome"] == "Saved, then published"
    assert not parley.log_lines(r"path=/api/admin/widgets/orderly/\S* status=409")
    assert "saved this draft" not in text(admin, "#form-alert")


# --- 3c. the session ends with unsaved edits (review finding 3) ---------------------------------------------------

def test_unsaved_edits_come_back_after_the_session_ends_and_the_admin_signs_in_again(admin, parley):
    create_widget(admin, "lapse", "Lapse")
    type_into(admin, "welcome", "Typed before the session ended")
    assert api(admin, "POST", "/api/agent/logout")["status"] in (200, 204)
    click(admin, "[data-action=save-draft]")
    wait(admin, lambda d: visible(d, "#signin") and "session has ended" in text(d, "#signin-alert"), "no sign-in after the 401")
    for field_id, value in (("email", ADA[0]), ("password", PASSWORD)):
        f = admin.find_element(By.ID, field_id)
        f.clear()
        f.send_keys(value)
    admin.find_element(By.ID, "signin-submit").click()
    wait(admin, lambda d: visible(d, "#unsaved-stash"), "the unsaved changes were not offered back")
    assert control(admin, "welcome").get_attribute("value") != "Typed before the session ended"
    click(admin, "[data-action=restore-unsaved]")
    wait(admin, lambda d: control(d, "welcome").get_attribute("value") == "Typed before the session ended", "not restored")
    assert text(admin, "#state") == "Unsaved changes"
    assert not visible(admin, "#unsaved-stash")
    click(admin, "[data-action=save-draft]")
    wait_status(admin, "Draft saved")
    assert api(admin, "GET", "/api/admin/widgets/lapse")["body"]["draft"]["welcome"] == "Typed before the session ended"
    # Offered once: a fresh load of the editor has nothing to offer.
    go(admin, parley, "#/widgets/lapse")
    wait(admin, lambda d: text(d, "#ed-title") == "Lapse", "the editor never opened")
    assert css(admin, "#unsaved-stash") is None


# --- 3d. the identity secret (review findings 4 and 7) --------------------------------------------------------------

def test_the_identity_secret_is_masked_also_in_history_and_not_a_box_browsers_fill(admin, parley):
    create_widget(admin, "secretive", "Secretive")
    # No password box in the editor (a browser fills it with the admin's own password), and no text control that
    # autofill may take for a person's name, organisation or email.
    assert admin.find_elements(By.CSS_SELECTOR, "#wform input[type=password]") == []
    fillable = admin.execute_script("""
        return [...document.querySelectorAll('#wform input, #wform textarea')]
          .filter((c) => !['checkbox', 'radio', 'color'].includes(c.type) && c.getAttribute('autocomplete') !== 'off')
          .map((c) => c.name);""")
    assert fillable == []
    secret = control(admin, "identitySecret")
    masking = lambda: admin.execute_script("return getComputedStyle(arguments[0]).webkitTextSecurity", secret)
    assert secret.get_attribute("type") == "text" and masking() == "disc"
    click(admin, "[data-action=generate-secret]")
    value = secret.get_attribute("value")
    assert len(value) == 64
    assert masking() == "none", "a generated secret is shown, to be copied"
    click(admin, "[data-action=reveal-secret]")
    assert masking() == "disc" and css(admin, "[data-action=reveal-secret]").get_attribute("aria-pressed") == "false"
    publish(admin, 1)

    click(admin, "[data-action=history]")
    click(admin, '#history [data-action=view-version][data-version="1"]')
    shown_json = wait(admin, lambda d: (e := css(d, "#history .version-json code")) and e.text, "version 1 was never shown")
    assert value not in shown_json
    assert '"identitySecret": "••••••••"' in shown_json
    assert '"name": "Secretive"' in shown_json


# --- 3e. an error on a setting that another one hides (review finding 9) -------------------------------------------

def test_an_error_on_a_hidden_setting_shows_it(admin, parley):
    create_widget(admin, "quiet", "Quiet")
    # A closed message too long, then "hide the widget" out of hours: the message box is hidden, but the server
    # keeps and judges it.
    admin.execute_script("""const c = document.querySelector('[name="offline.message"]');
        c.value = 'x'.repeat(1001); c.dispatchEvent(new Event('input', {bubbles: true}));""")
    choose(admin, "offline.mode", "hide")
    wait(admin, lambda d: not css(d, '[name="offline.message"]').is_displayed(), "the message box stayed shown")
    click(admin, "[data-action=save-draft]")
    box = wait(admin, lambda d: (e := css(d, '[name="offline.message"]')) and e.is_displayed() and e, "the bad setting stayed hidden")
    assert error_of(admin, "offline.message") == "At most 1000 characters."
    assert box.get_attribute("aria-invalid") == "true"
    assert admin.switch_to.active_element == box
    # Fixed and saved: the part follows its mode again.
    admin.execute_script("""const c = document.querySelector('[name="offline.message"]');
        c.value = 'Closed.'; c.dispatchEvent(new Event('input', {bubbles: true}));""")
    click(admin, "[data-action=save-draft]")
    wait_status(admin, "Draft saved")
    type_into(admin, "welcome", "Hello")
    wait(admin, lambda d: not css(d, '[name="offline.message"]').is_displayed(), "the fixed part stayed shown in hide mode")


# --- 4. show code ---------------------------------------------------------------------------------

def test_show_code_gives_the_embed_snippet_and_copy_says_copied(admin, parley):
    create_widget(admin, "snippet", "Snippet")
    click(admin, "[data-action=show-code]")
    wait(admin, lambda d: visible(d, "#code"), "the code dialog never opened")
    # Not published yet: it says the code works after the first publish.
    assert "works once you publish it" in text(admin, "#code")
    code = css(admin, "#code textarea").get_attribute("value")
    assert code == f'<script src="{parley.base_url}/widget.js" data-widget="snippet" async></script>'
    assert "no identity secret" in text(admin, "#code")
    click(admin, "#code [data-action=copy-code]")
    wait(admin, lambda d: text(d, "#code [data-action=copy-code]") == "Copied", "Copy never said copied")
    wait_status(admin, "Copied")


# --- 5. an agent who is not an admin --------------------------------------------------------------

def test_an_agent_who_is_not_an_admin_is_told_the_page_is_for_admins(new_browser, parley):
    d = new_browser()
    try:
        sign_in(d, parley, ANN)
        wait(d, lambda x: visible(x, "#forbidden"), "no notice for a non-admin")
        assert text(d, "#forbidden h1") == "This page is for admins"
        assert css(d, "#forbidden a[href='/agent']").is_displayed()
        assert not visible(d, "#app")
        # The admin API refuses the agent too (the page is not the only guard).
        assert api(d, "GET", "/api/admin/widgets")["status"] == 403
    finally:
        d.quit()


# --- 6. an invited agent chooses a password -------------------------------------------------------

def test_an_invited_agent_sets_a_password_from_the_link_and_signs_in(admin, new_browser, parley):
    go(admin, parley, "#/agents")
    click(admin, "[data-action=add-agent]")
    type_into(admin, "agent-name", "Cleo New")
    type_into(admin, "agent-email", "cleo@shop.example")
    tick(admin, "agent-widgets")  # "All widgets": the first box
    assert control(admin, "agent-password-mode").get_attribute("value") == "invite"
    click(admin, "[data-action=create-agent]")
    wait_status(admin, "Cleo New was added.")
    link = wait(admin, lambda d: (e := css(d, "#invite-link")) and e.get_attribute("value"), "no invite link shown")
    assert link.startswith(parley.base_url + "/setup?invite=")
    row = wait(admin, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "li.agent") if "Cleo New" in e.text), None),
               "the new agent is not listed")
    assert "Waiting to choose a password" in row.text

    d = new_browser()
    try:
        d.get(link + "&lang=en")
        wait(d, lambda x: visible(x, "#form"), "the invite form never showed")
        assert text(d, "#title") == "Choose your password"
        assert "cleo@shop.example" in text(d, "#lead")
        assert not visible(d, "#name") and not visible(d, "#email")
        for field_id in ("password", "confirm"):
            d.find_element(By.ID, field_id).send_keys("cleo's new password")
        d.find_element(By.ID, "submit").click()
        wait(d, lambda x: "Password set" in text(x, "#state-text"), "no confirmation of the new password")
        assert css(d, "#state-link").get_attribute("href").endswith("/agent")
        # The link is spent.
        d.get(link + "&lang=en")
        wait(d, lambda x: "was used, replaced or has expired" in text(x, "#state-text"), "a spent link was accepted")
        # And the agent signs in to the inbox with it.
        d.get(parley.url("/agent?lang=en"))
        wait(d, lambda x: visible(x, "#signin"), "no sign-in form on /agent")
        d.find_element(By.ID, "email").send_keys("cleo@shop.example")
        d.find_element(By.ID, "password").send_keys("cleo's new password")
        d.find_element(By.ID, "signin-submit").click()
        wait(d, lambda x: "Cleo New" in text(x, "#whoami"), "the invited agent could not sign in")
    finally:
        d.quit()


def test_an_invite_link_spent_by_a_simultaneous_use_says_so(admin, parley):
    added = api(admin, "POST", "/api/admin/agents",
                {"email": "dora@shop.example", "name": "Dora Double", "role": "agent", "widgets": ["*"], "teams": []})
    assert added["status"] == 201, added
    admin.get(added["body"]["invite"] + "&lang=en")
    wait(admin, lambda d: visible(d, "#form"), "the invite form never showed")
    # The other use of the link won the race: the server answers 409 invite_invalid (not 410).
    admin.execute_script("""const real = window.fetch;
        window.fetch = (url, init) => init && init.method === 'POST' && String(url).includes('/api/invite')
          ? Promise.resolve(new Response(JSON.stringify({error: {code: 'invite_invalid', message: 'This link was used, replaced or has expired.'}}),
                                         {status: 409, headers: {'Content-Type': 'application/json'}}))
          : real(url, init);""")
    for field_id in ("password", "confirm"):
        admin.find_element(By.ID, field_id).send_keys("dora's new password")
    admin.find_element(By.ID, "submit").click()
    wait(admin, lambda d: "was used, replaced or has expired" in text(d, "#state-text"), "a spent link was not said so")
    assert not visible(admin, "#form")


# --- 6b. the agents page keeps what is typed (review finding 11) ---------------------------------------------------

def test_the_agents_page_keeps_its_invite_link_and_open_panels_and_asks_before_losing_input(admin, parley):
    for email, name in (("eve@shop.example", "Eve Edit"), ("fay@shop.example", "Fay Off")):
        added = api(admin, "POST", "/api/admin/agents",
                    {"email": email, "name": name, "role": "agent", "widgets": ["*"], "teams": [], "password": PASSWORD})
        assert added["status"] == 201, added
    go(admin, parley, "#/agents")
    click(admin, "[data-action=add-agent]")
    type_into(admin, "agent-name", "Gus Guest")
    type_into(admin, "agent-email", "gus@shop.example")
    click(admin, "[data-action=create-agent]")
    wait_status(admin, "Gus Guest was added.")
    link = wait(admin, lambda d: (e := css(d, "#invite-link")) and e.get_attribute("value"), "no invite link shown")
    # Opening the form again keeps the link (it is shown only once) until it is dismissed.
    click(admin, "[data-action=add-agent]")
    control(admin, "agent-name")
    assert css(admin, "#invite-link").get_attribute("value") == link

    # Eve's panel with a new name typed; meanwhile Fay is disabled (the list is redrawn): Eve's panel stays as it was.
    eve = agent_row(admin, "Eve Edit")
    eve.find_element(By.CSS_SELECTOR, "[data-action=edit-agent]").click()
    type_into(admin, "name", "Eve Edited", agent_row(admin, "Eve Edit"))
    agent_row(admin, "Fay Off").find_element(By.CSS_SELECTOR, "[data-action=disable-agent]").click()
    wait(admin, lambda d: visible(d, "#ask"), "no question before disabling")
    click(admin, "#ask [data-action=confirm-yes]")
    wait_status(admin, "Fay Off is disabled.")
    wait(admin, lambda d: "Disabled" in agent_row(d, "Fay Off").text, "Fay's row never said disabled")
    panel_name = control(admin, "name", agent_row(admin, "Eve Edit"))
    assert panel_name.get_attribute("value") == "Eve Edited"
    assert css(admin, "#invite-link").get_attribute("value") == link

    # Leaving the page with it asks first; staying keeps it.
    admin.execute_script("location.hash = '#/widgets'")
    wait(admin, lambda d: visible(d, "#ask") and text(d, "#ask-title") == "Leave without saving?", "no question before leaving")
    click(admin, "#ask [data-action=confirm-no]")
    assert admin.current_url.endswith("#/agents")
    assert control(admin, "name", agent_row(admin, "Eve Edit")).get_attribute("value") == "Eve Edited"
    # Dismissed, the link goes.
    click(admin, "[data-action=dismiss-invite]")
    assert css(admin, "#invite-link") is None


# --- 7. an outside-hours auto-reply, once per ticket ----------------------------------------------

def test_an_outside_hours_rule_replies_once_per_ticket(admin, visitor, parley, shop):
    # The widget: open Mon–Fri 09:00-17:00 in Paris; while closed, a message and "leave a message".
    create_widget(admin, "hours", "After hours")
    tick(admin, "hours.enabled")
    choose(admin, "hours.timeZone", "Europe/Paris")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        type_into(admin, f"hours.weekly.{day}", "09:00-17:00", css(admin, f"[data-day={day}]"))
    for day in ("sat", "sun"):
        assert not css(admin, f"[data-day={day}]").find_elements(By.CSS_SELECTOR, "input")
    assert control(admin, "offline.mode").get_attribute("value") == "message"
    assert control(admin, "offline.leaveMessage").is_selected()
    publish(admin, 1)
    hours = public_config(parley, "hours").json()
    assert hours["offline"]["leaveMessage"] is True

    # The rule: on opened and on message, outside hours → reply, at most once per ticket.
    go(admin, parley, "#/rules")
    click(admin, "[data-action=new-rule]")
    rule = css(admin, "li.rule:last-child")
    type_into(admin, "rule-name", "Closed reply", rule)
    assert control(admin, "rule-id", rule).get_attribute("value") == "closed-reply"
    tick(admin, "rule-on-opened", True, rule)
    tick(admin, "rule-on-message", True, rule)
    choose(admin, "rule-match", "all", rule)
    click(admin, "li.rule:last-child [data-action=add-condition]")
    choose(admin, "condition-type", "outsideHours", rule)
    assert control(admin, "action-type", rule).get_attribute("value") == "reply"
    type_into(admin, "action-text", CLOSED_REPLY, rule)
    choose(admin, "rule-repeats", "false", rule)
    click(admin, "[data-action=save-rules]")
    wait_status(admin, "Rules saved.")
    saved = api(admin, "GET", "/api/admin/rules")["body"]["rules"]
    assert [(r["id"], sorted(r["on"]), r["conditions"], r["actions"], r["repeats"]) for r in saved] == \
        [("closed-reply", ["message", "opened"], [{"type": "outsideHours"}], [{"type": "reply", "text": CLOSED_REPLY}], False)]

    # Saturday morning in Paris.
    moved = requests.post(parley.url("/api/test/clock"), json={"now": SATURDAY}, timeout=10)
    assert moved.status_code == 200, moved.text
    try:
        assert shop_page(visitor, shop, "/", "hours")["visible"] is True
        wait(visitor, lambda d: shown(d, "[data-p=bubble]"), "no bubble")
        el(visitor, "[data-p=bubble]").click()
        # Closed: the closed message, and the form to leave a message.
        wait(visitor, lambda d: shown(d, "[data-p=closed-message]") and shown(d, "form[data-p=form]"), "no closed message and form")
        for name, value in (("name", "Sam Visitor"), ("email", "sam@example.com"), ("message", "Is my order shipped?")):
            el(visitor, f"[data-p=form] [name={name}]").send_keys(value)
        el(visitor, "[data-p=start]").click()
        bot = lambda d: [m["text"] for m in messages(d) if m["kind"] == "bot"]
        wait(visitor, lambda d: bot(d) == [CLOSED_REPLY], "the visitor never saw the auto-reply")
        ticket = json.loads(visitor.execute_script("return localStorage.getItem('parley:hours')"))["ticket"]

        # A second message: stored, and still one auto-reply.
        composer = el(visitor, "[data-p=input]")
        composer.send_keys("Hello? Anyone there?")
        el(visitor, "[data-p=send]").click()
        wait(visitor, lambda d: any(m["kind"] == "visitor" and m["text"] == "Hello? Anyone there?" and m["state"] == "sent"
                                    for m in messages(d)), "the second message was never sent")
        wait(visitor, lambda d: any(e.get("text") == "Hello? Anyone there?" for e in ticket_events(parley, ticket)),
             "the second message never reached the ticket's log")
        assert bot(visitor) == [CLOSED_REPLY]
        events = ticket_events(parley, ticket)
        fired = [e for e in events if e["type"] == "autoresponder"]
        assert len(fired) == 1 and fired[0]["rule"] == "closed-reply", fired
        assert [e.get("text") for e in events if e["type"] == "message" and e["by"]["kind"] == "bot"] == [CLOSED_REPLY]
    finally:
        requests.post(parley.url("/api/test/clock"), json={"now": None}, timeout=10)


# --- 8. the audit log -----------------------------------------------------------------------------

def test_the_audit_log_lists_the_publish(admin, parley):
    create_widget(admin, "audited", "Audited")
    publish(admin, 1)
    go(admin, parley, "#/audit")
    row = wait(admin, lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
                                      if r.get_attribute("data-action-name") == "widget.publish" and "audited" in r.text), None),
               "the publish is not in the audit log")
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "Ada Admin (ada@shop.example)"
    assert cells[2] == "Widget published"
    assert cells[3] == "audited"
    # Newest first: the publish comes before the creation of the same widget.
    names = [(r.get_attribute("data-action-name"), r.find_elements(By.TAG_NAME, "td")[3].text)
             for r in admin.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")]
    assert names.index(("widget.publish", "audited")) < names.index(("widget.create", "audited"))


# --- 9. the Data page: erase a visitor, remove old conversations ----------------------------------

def start_chat(server, name: str, email: str, message: str) -> tuple[str, str]:
    """A visitor starts a chat on the demo widget, over HTTP → (ticket id, the visitor's token)."""
    r = requests.post(server.url("/api/widgets/demo/tickets"),
                      json={"fields": {"name": name, "email": email, "message": message}}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["ticket"]["id"], r.json()["token"]


def signed_in(server, who) -> requests.Session:
    s = requests.Session()
    assert s.post(server.url("/api/agent/login"), json={"email": who[0], "password": PASSWORD}, timeout=10).ok
    return s


def set_date(driver, name: str, value: str) -> None:
    """A date box's value, as picking it in the browser's calendar sets it."""
    driver.execute_script("""const c = document.querySelector('[name="' + arguments[0] + '"]');
        c.value = arguments[1];
        c.dispatchEvent(new Event('input', {bubbles: true}));
        c.dispatchEvent(new Event('change', {bubbles: true}));""", name, value)


def test_the_data_page_erases_a_visitor_and_removes_old_conversations(admin, parley):
    sam = "sam.forget@example.com"
    ticket, token = start_chat(parley, "Sam Forget", sam, "Please forget me afterwards.")
    events = lambda: requests.get(parley.url(f"/api/tickets/{ticket}/events"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert events().status_code == 200
    # Another visitor's chat mentions Sam's email in an agent's note: counted, not rewritten while the server runs.
    ada = signed_in(parley, ADA)
    other, _ = start_chat(parley, "Tom Closed", "tom.closed@example.com", "An old question.")
    noted = ada.post(parley.url(f"/api/agent/tickets/{other}/notes"), json={"text": f"Same issue as {sam}"}, timeout=10)
    assert noted.status_code in (200, 201), noted.text

    go(admin, parley, "#/data")
    assert css(admin, "[data-nav=data]").get_attribute("aria-current") == "page"
    assert text(admin, "#view h1") == "Data"
    assert "parley export --email EMAIL" in text(admin, "#sec-erase")
    # A mistyped email is refused by its field, with no question asked.
    type_into(admin, "erase-email", "not-an-email")
    click(admin, "[data-action=erase]")
    wait(admin, lambda d: error_of(d, "erase-email").startswith("Enter a valid email address"), "no error by the email box")
    assert not visible(admin, "#ask")

    # (a, b) Erased after the question; the visitor's token opens nothing any more.
    type_into(admin, "erase-email", sam)
    click(admin, "[data-action=erase]")
    wait(admin, lambda d: visible(d, "#ask") and f"Erase everything about {sam}?" in text(d, "#ask-text"), "no question before erasing")
    assert "This cannot be undone." in text(admin, "#ask-text")
    click(admin, "#ask [data-action=confirm-yes]")
    wait_status(admin, "Erased 1 conversation (")
    result = text(admin, "#erase-result")
    assert result.startswith("Erased 1 conversation ("), result
    assert "1 other conversation still mentions this email" in result
    assert text(admin, "#erase-result code") == f"parley erase --email {sam}"
    assert error_of(admin, "erase-email") == ""
    assert events().status_code == 404
    click(admin, "#erase-result [data-action=copy-erase-command]")
    wait(admin, lambda d: text(d, "#erase-result [data-action=copy-erase-command]") == "Copied", "Copy never said copied")

    # (c) A chat closed by an agent, listed by Preview with a far-future date and removed after the question.
    closed = ada.post(parley.url(f"/api/agent/tickets/{other}/close"), json={}, timeout=10)
    assert closed.status_code == 201, closed.text
    assert list((parley.data / "tickets").glob(f"*/{other}.jsonl")), "the closed chat has no log file"
    expected = ada.post(parley.url("/api/admin/purge"), json={"closedBefore": "2999-01-01", "dryRun": True}, timeout=10).json()["tickets"]
    assert other in expected
    n = len(expected)
    word = "conversation" if n == 1 else "conversations"
    assert not enabled(admin, "purge")
    set_date(admin, "purge-before", "2999-01-01")
    click(admin, "[data-action=purge-preview]")
    wait(admin, lambda d: text(d, "#purge-result").startswith(f"{n} closed {word}"), f"Preview never counted {n}")
    assert "last closed before January 1, 2999" in text(admin, "#purge-result")
    wait(admin, lambda d: enabled(d, "purge"), "Remove them stayed disabled after the preview")
    # Another date: Remove waits for its own Preview.
    set_date(admin, "purge-before", "2998-01-01")
    assert not enabled(admin, "purge") and not visible(admin, "#purge-result")
    set_date(admin, "purge-before", "2999-01-01")
    assert not enabled(admin, "purge")
    click(admin, "[data-action=purge-preview]")
    wait(admin, lambda d: enabled(d, "purge"), "Remove them stayed disabled after the second preview")
    click(admin, "[data-action=purge]")
    wait(admin, lambda d: visible(d, "#ask") and f"Remove {n} {word} closed before" in text(d, "#ask-text"), "no question before removing")
    click(admin, "#ask [data-action=confirm-yes]")
    wait_status(admin, f"Removed {n} {word} (")
    assert text(admin, "#purge-result").startswith(f"Removed {n} {word} (")
    assert not list((parley.data / "tickets").glob(f"*/{other}.jsonl")), "the removed chat's log is still there"
    wait(admin, lambda d: not enabled(d, "purge"), "Remove them stayed enabled after the removal")
    # Nothing left: the next Preview says so and Remove stays off.
    click(admin, "[data-action=purge-preview]")
    wait(admin, lambda d: text(d, "#purge-result") == "No closed conversation before January 1, 2999.", "an empty preview was not said")
    assert not enabled(admin, "purge")


# --- 10. the README's picture ----------------------------------------------------------------------

@pytest.mark.skipif(os.environ.get("PARLEY_SCREENSHOTS") != "1", reason="PARLEY_SCREENSHOTS=1 saves docs/admin-widget.png")
def test_screenshot_of_the_widget_editor(admin, parley):
    create_widget(admin, "pictured", "Hearth & Hollow")
    type_into(admin, "welcome", "Hi! Ask us anything about our products.")
    choose(admin, "alignment", "right")
    tick(admin, "preview-open")
    # A desktop window: 1280×900 of page.
    chrome = admin.execute_script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
    admin.set_window_size(1280 + chrome[0], 900 + chrome[1])
    frame = css(admin, "#preview-frame")
    def chat_open(d):
        d.switch_to.frame(frame)
        try:  # shown with the new welcome (the preview reloads after edits), its opening animation over
            return js(d, "const p = q('[data-p=panel]'); return shown(p) && p.innerText.includes('Ask us anything') && "
                         "!!q('[name=name]') && document.getAnimations().length === 0;")
        finally:
            d.switch_to.default_content()
    wait(admin, chat_open, "the preview never showed the open chat")
    # The status note ("Widget created") would cover the form: it fades by itself after a while; hide it now.
    admin.execute_script("document.getElementById('status').classList.remove('on'); window.scrollTo(0, 0)")
    wait(admin, lambda d: d.execute_script("return getComputedStyle(document.getElementById('status')).opacity") == "0", "the note never faded")
    target = REPO / "docs" / "admin-widget.png"
    assert admin.save_screenshot(str(target))
