"""Sign in through the real login form in Chromium, against a real ASGI server."""

import pytest

from tests.conftest import browser_login, make_user, screenshot

pytestmark = pytest.mark.browser


def test_sign_in_through_the_form_shows_the_overview(live_server_url, page):
    make_user("olga", group="operators")
    page.goto(live_server_url + "/")
    assert "/login/" in page.url
    screenshot(page, "platform-01-login")
    browser_login(page, live_server_url, "olga")
    assert page.url.rstrip("/") == live_server_url
    assert page.locator("h1").first.inner_text() != ""
    assert page.locator(".username").inner_text().startswith("olga")
    page.wait_for_function("document.getElementById('live-indicator').dataset.state === 'live'")
    screenshot(page, "platform-02-overview")
    assert page.console_errors == []


def test_wrong_password_shows_a_clear_error(live_server_url, page):
    make_user("olga", group="operators")
    browser_login(page, live_server_url, "olga", password="wrong")
    assert "Please enter a correct username and password" in page.locator(".form-errors").inner_text()
