"""First start: the one-time setup link creates the first admin, who lands in the inbox, sees a new
ticket appear live, signs out and back in. Each test has a server of its own (`fresh_server`):
creating the admin changes the server for good."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 10
NAME, EMAIL, PASSWORD = "Ada Admin", "ada@example.com", "correct horse battery"


def post_json(server, path: str, body: dict) -> tuple[int, dict]:
    """POSTs JSON without a browser; returns (status, decoded body or {})."""
    request = urllib.request.Request(
        server.url(path), data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else {}


def wait(driver, condition, message: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, message)


def visible(driver, css: str):
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} never became visible")


def text_of(driver, css: str) -> str:
    elements = driver.find_elements(By.CSS_SELECTOR, css)
    return elements[0].text if elements and elements[0].is_displayed() else ""


def fill(driver, values: dict[str, str]) -> None:
    for field_id, value in values.items():
        field = driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)


def test_setup_creates_the_admin_who_sees_tickets_live(page, fresh_server):
    server = fresh_server
    page.get(server.url(server.setup_link()))
    visible(page, "#form")
    assert page.find_element(By.CSS_SELECTOR, "h1").text == "Create the first admin"

    # Too short a password: an inline error on that field, and nothing is created.
    fill(page, {"name": NAME, "email": EMAIL, "password": "short", "confirm": "short"})
    page.find_element(By.ID, "submit").click()
    error = visible(page, "#password-error")
    assert "at least 10 characters" in error.text
    password = page.find_element(By.ID, "password")
    assert password.get_attribute("aria-invalid") == "true"
    assert "password-error" in password.get_attribute("aria-describedby").split()
    assert page.find_element(By.ID, "name").get_attribute("aria-invalid") is None
    assert "/setup" in page.current_url
    status, body = post_json(server, "/api/agent/login", {"email": EMAIL, "password": "short"})
    assert status == 401 and body["error"]["code"] == "invalid_credentials"

    # Confirmation that does not match: caught on the confirmation field.
    fill(page, {"password": PASSWORD, "confirm": PASSWORD + "!"})
    page.find_element(By.ID, "submit").click()
    wait(page, lambda d: "not the same" in text_of(d, "#confirm-error"), "no mismatch error on the confirmation")
    assert text_of(page, "#password-error") == ""

    # Valid: the admin exists, is signed in, and lands in the inbox.
    fill(page, {"confirm": PASSWORD})
    page.find_element(By.ID, "submit").click()
    wait(page, lambda d: d.current_url == server.url("/agent"), "setup did not go on to /agent")
    wait(page, lambda d: text_of(d, "#whoami") == f"Signed in as {NAME}", "the inbox never said who is signed in")
    visible(page, "#inbox")
    wait(page, lambda d: text_of(d, "#empty") == "No open tickets.", "the empty inbox never said so")

    # A visitor starts a chat: it shows up without a reload, through the live stream.
    status, body = post_json(server, "/api/widgets/demo/tickets",
                             {"fields": {"name": "Ann", "email": "ann@example.com", "message": "Hello"}})
    assert status == 201, body
    ticket = body["ticket"]["id"]
    row = visible(page, f'#tickets li[data-ticket="{ticket}"]')
    assert row.find_element(By.CSS_SELECTOR, ".t-name").text == "Ann"
    assert row.find_element(By.CSS_SELECTOR, ".t-preview").text == "Hello"
    assert row.find_element(By.CSS_SELECTOR, ".t-widget").text  # the widget's name
    assert row.find_element(By.CSS_SELECTOR, "[data-p=new]").text == "1"  # a new chat: the visitor's message count
    assert not page.find_element(By.ID, "empty").is_displayed()

    # Sign out: the sign-in form comes back, and the session is gone on the server too.
    page.find_element(By.ID, "signout").click()
    visible(page, "#signin")
    assert not page.find_element(By.ID, "inbox").is_displayed()
    page.refresh()
    visible(page, "#signin")

    # A wrong password says so, in the alert region, and signs nobody in.
    fill(page, {"email": EMAIL, "password": "not the password"})
    page.find_element(By.ID, "signin-submit").click()
    wait(page, lambda d: text_of(d, "#signin-alert") == "Wrong email or password.", "no wrong-password message")
    assert not page.find_element(By.ID, "inbox").is_displayed()

    # The right one signs in again and shows the ticket.
    fill(page, {"password": PASSWORD})
    page.find_element(By.ID, "signin-submit").click()
    wait(page, lambda d: text_of(d, "#whoami") == f"Signed in as {NAME}", "signing in again failed")
    visible(page, f'#tickets li[data-ticket="{ticket}"]')


def test_used_setup_link_says_an_admin_exists(page, fresh_server):
    server = fresh_server
    link = server.setup_link()
    token = link.split("token=", 1)[1]
    status, body = post_json(server, "/api/setup",
                             {"token": token, "email": EMAIL, "name": NAME, "password": PASSWORD})
    assert status == 201, body

    page.get(server.url(link))
    state = visible(page, "#state")
    assert "An admin already exists — sign in" in state.text
    assert page.find_element(By.ID, "state-link").get_attribute("href") == server.url("/agent")
    assert not page.find_element(By.ID, "form").is_displayed()


def test_setup_page_without_a_token_explains_where_the_link_is(page, fresh_server):
    page.get(fresh_server.url("/setup"))
    state = visible(page, "#state")
    assert "setup link" in state.text
    assert not page.find_element(By.ID, "form").is_displayed()


def sign_in(driver, email: str, password: str) -> str:
    """Submits the sign-in form once and returns the alert text it ends with ('' if none)."""
    fill(driver, {"email": email, "password": password})
    driver.find_element(By.ID, "signin-submit").click()
    # The button is disabled while the request is out; the alert is cleared on submit, set on failure.
    wait(driver, lambda d: d.find_element(By.ID, "signin-submit").is_enabled(), "sign-in never finished")
    return text_of(driver, "#signin-alert")


def test_sign_in_explains_a_disabled_account_and_rate_limiting(page, fresh_server):
    server = fresh_server
    token = server.setup_link().split("token=", 1)[1]
    assert post_json(server, "/api/setup", {"token": token, "email": EMAIL, "name": NAME, "password": PASSWORD})[0] == 201
    added = server.cli("agent", "add", "bob@example.com", "--name", "Bob", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    disabled = server.cli("agent", "disable", "bob@example.com")
    assert disabled.returncode == 0, disabled.stderr

    page.get(server.url("/agent"))
    visible(page, "#signin")
    assert sign_in(page, "bob@example.com", PASSWORD) == "This account is disabled. Ask your admin."

    # Wrong passwords for one email, until the server says to wait: the page gives the seconds.
    for _ in range(10):
        alert = sign_in(page, EMAIL, "not the password")
        if alert != "Wrong email or password.":
            break
    assert alert.startswith("Too many sign-in attempts. Try again in "), alert
    assert alert.removeprefix("Too many sign-in attempts. Try again in ").removesuffix(" seconds.").isdigit(), alert
    assert not page.find_element(By.ID, "inbox").is_displayed()


def test_pages_speak_french_to_a_french_browser(page, fresh_server):
    server = fresh_server
    user_agent = page.execute_script("return navigator.userAgent")
    page.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent, "acceptLanguage": "fr-FR"})
    try:
        page.get(server.url("/setup"))
        assert "lien d’installation" in visible(page, "#state").text
        assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"

        page.get(server.url(server.setup_link()))
        visible(page, "#form")
        fill(page, {"name": NAME, "email": "pas-un-email", "password": "court", "confirm": "autre"})
        page.find_element(By.ID, "submit").click()
        wait(page, lambda d: "au moins 10 caractères" in text_of(d, "#password-error"), "no French password error")
        assert "adresse e-mail valide" in text_of(page, "#email-error")
        assert "pas identiques" in text_of(page, "#confirm-error")
        assert text_of(page, "#alert") == "Veuillez corriger les champs signalés ci-dessous."

        page.get(server.url("/agent"))
        visible(page, "#signin")
        assert page.find_element(By.ID, "signin-submit").text == "Se connecter"
        assert sign_in(page, EMAIL, "not the password") == "E-mail ou mot de passe incorrect."
    finally:
        page.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent})
