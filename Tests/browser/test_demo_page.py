"""The demo shop page, as a visitor's browser sees it, against a real `parley serve`."""

from __future__ import annotations

import json
import urllib.request

from selenium.common.exceptions import NoSuchElementException, NoSuchShadowRootException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 10
SCREENSHOT = "/tmp/parley-demo.png"


def find_in_widget(driver, selector):
    """The element matching `selector` inside #parley-widget's shadow root, or False (for WebDriverWait)."""
    try:
        host = driver.find_element(By.CSS_SELECTOR, "#parley-widget")
        return host.shadow_root.find_element(By.CSS_SELECTOR, selector)
    except (NoSuchElementException, NoSuchShadowRootException):
        return False


def wait_for_bubble(driver):
    return WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: find_in_widget(d, "button[data-p=bubble]"), "the widget's bubble button never appeared"
    )


def panel_displayed(driver) -> bool:
    """Whether the chat panel is on screen (it exists only once the chat bundle has loaded)."""
    panel = find_in_widget(driver, "[data-p=panel]")
    return bool(panel) and panel.is_displayed()


def test_demo_page_shows_the_bubble_and_its_panel(page, server):
    page.get(server.url("/"))
    assert "demo" in page.title.lower()

    bubble = wait_for_bubble(page)
    assert bubble.get_attribute("aria-label") == "Open chat"
    assert bubble.get_attribute("type") == "button"
    assert bubble.is_displayed()
    assert not panel_displayed(page)

    bubble.click()
    WebDriverWait(page, WAIT_SECONDS).until(panel_displayed, "the panel never opened")
    with urllib.request.urlopen(server.url("/api/widgets/demo/config"), timeout=5) as response:
        config = json.load(response)
    assert find_in_widget(page, "[data-p=title]").text == config["name"]
    assert find_in_widget(page, "[data-p=welcome]").text == config["welcome"]
    assert find_in_widget(page, "form[data-p=form] [data-p=start]").is_displayed()
    assert bubble.get_attribute("aria-expanded") == "true"

    page.save_screenshot(SCREENSHOT)  # for humans to look at; not asserted on

    bubble.click()
    WebDriverWait(page, WAIT_SECONDS).until(lambda d: not panel_displayed(d), "the panel never closed")
    assert bubble.get_attribute("aria-expanded") == "false"


def test_widget_follows_the_visitor_to_the_products_page(page, server):
    page.get(server.url("/"))
    wait_for_bubble(page)

    page.find_element(By.CSS_SELECTOR, 'nav a[href="/products.html"]').click()
    WebDriverWait(page, WAIT_SECONDS).until(lambda d: "products" in d.title.lower(), "products page never loaded")
    assert "demo" in page.title.lower()
    wait_for_bubble(page)
    # Exactly one widget, however the page got here.
    assert len(page.find_elements(By.CSS_SELECTOR, "#parley-widget")) == 1


def test_loader_is_served_as_javascript(server):
    with urllib.request.urlopen(server.url("/widget.js"), timeout=5) as response:
        assert response.status == 200
        assert "javascript" in response.headers.get("Content-Type", "")
        assert b"parley-widget" in response.read()


def test_demo_widget_config_is_public_json(server):
    with urllib.request.urlopen(server.url("/api/widgets/demo/config"), timeout=5) as response:
        assert response.status == 200
        assert response.headers.get("Content-Type", "").startswith("application/json")
        config = json.load(response)
    assert config["id"] == "demo"
