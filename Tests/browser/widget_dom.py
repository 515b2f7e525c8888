"""Reading the widget inside its open shadow root (`#parley-widget`), shared by the browser tests.

`js(driver, body)` runs `body` after a prelude defining `root`, `q(css)` (first match), `qa(css)`
(all matches) and `shown(el)` (connected, visible and with a size). `messages` and `notices` read the
conversation; `start_chat_from_bubble` opens the panel and starts a chat through the pre-chat form."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

JS_PRELUDE = """
const host = document.getElementById('parley-widget');
const root = host ? host.shadowRoot : null;
const q = (css) => root ? root.querySelector(css) : null;
const qa = (css) => root ? [...root.querySelectorAll(css)] : [];
const shown = (el) => {
  if (!el || !el.isConnected) return false;
  if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
"""


def js(driver, body: str, *args):
    return driver.execute_script(JS_PRELUDE + body, *args)


def el(driver, css: str):
    """The first element matching `css` in the widget's shadow root (a WebElement), or None."""
    return js(driver, "return q(arguments[0]);", css)


def shown(driver, css: str) -> bool:
    return js(driver, "return shown(q(arguments[0]));", css)


def text(driver, css: str) -> str:
    """The text of the first element matching `css`, '' when it is missing or not displayed."""
    return js(driver, "const e = q(arguments[0]); return shown(e) ? e.innerText.trim() : '';", css)


def messages(driver) -> list[dict]:
    """The conversation's messages: {kind, state, text}, in order."""
    return js(driver, """
        if (!root) return [];
        return [...root.querySelectorAll('[data-p=log] [data-p=msg]')].map(m => ({
          kind: m.getAttribute('data-kind'), state: m.getAttribute('data-state'),
          text: (m.querySelector('[data-p=text]') || m).innerText.trim()}));""")


def notices(driver) -> list[str]:
    """The texts of the notices shown in the conversation ("… joined the conversation")."""
    return js(driver, """
        if (!root) return [];
        return [...root.querySelectorAll('[data-p=notice]')].filter(shown).map(n => n.innerText.trim());""")


def start_chat_from_bubble(driver, values: dict[str, str], timeout: float = 20) -> None:
    """Clicks the bubble, fills the pre-chat form with `values` (field name → text), starts the chat;
    returns once the composer shows."""
    def until(condition, message: str):
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message)
    until(lambda d: shown(d, "[data-p=bubble]"), "the bubble never appeared")
    el(driver, "[data-p=bubble]").click()
    until(lambda d: shown(d, "form[data-p=form]"), "the pre-chat form never showed")
    for name, value in values.items():
        css = f"[data-p=form] [name={name}]"
        field = until(lambda d: shown(d, css) and el(d, css), f"no form field {name}")
        field.clear()
        field.send_keys(value)
    el(driver, "[data-p=start]").click()
    until(lambda d: shown(d, "[data-p=input]"), "the chat never started (no composer)")
