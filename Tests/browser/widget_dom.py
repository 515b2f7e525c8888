"""Reading the widget inside its open shadow root (`#parley-widget`), shared by the browser tests.

`js(driver, body)` runs `body` after a prelude defining `root`, `q(css)` (first match), `qa(css)`
(all matches) and `shown(el)` (connected, visible and with a size)."""

from __future__ import annotations

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
