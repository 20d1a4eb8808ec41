"""Account > Signed-in sessions in a browser: see where you're signed in, sign one out, then all."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import TEST_PASSWORD
from tests.portal.test_sessions import CHROME_ANDROID, SAFARI_IPHONE


@pytest.fixture
def elsewhere(browser, live_server, client_user):
    """Signs the client in from another browser; returns a function that tells if it still is."""
    contexts = []

    def sign_in_from(agent: str):
        context = browser.new_context(user_agent=agent)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + "/sign-in/")
        page.get_by_label("Email").fill(client_user.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        return page

    yield sign_in_from
    for context in contexts:
        context.close()


def still_signed_in(page, base_url: str) -> bool:
    page.goto(base_url + "/account/")
    return "/sign-in/" not in page.url


def test_see_and_end_the_other_sessions(visit, elsewhere, client_user):
    iphone = elsewhere(SAFARI_IPHONE)
    android = elsewhere(CHROME_ANDROID)
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    page = visit.page

    visit.goto("/account/")
    page.get_by_role("link", name="Signed-in sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed-in sessions")
    sessions = page.locator("#sessions")
    expect(sessions.locator(".session--current")).to_contain_text("This device")
    expect(sessions.locator(".session")).to_have_count(3)
    expect(sessions).to_contain_text("Safari on iPhone")
    expect(sessions).to_contain_text("Chrome on Android")
    expect(page.get_by_text("Times are shown in")).to_be_visible()
    visit.check("listed")

    page.get_by_role("button", name=re.compile("Sign out.*Safari on iPhone")).click()
    expect(sessions.get_by_role("status")).to_contain_text("Safari on iPhone was signed out")
    expect(page.locator("#sessions-heading")).to_be_focused()
    expect(sessions.locator(".session")).to_have_count(2)
    visit.check("one-ended")
    assert not still_signed_in(iphone, visit.base_url)
    assert still_signed_in(android, visit.base_url)

    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(sessions.get_by_role("status")).to_contain_text("signed out everywhere else")
    expect(page.locator("#sessions-heading")).to_be_focused()
    expect(sessions).to_contain_text("You're not signed in anywhere else")
    visit.check("all-others-ended")
    assert not still_signed_in(android, visit.base_url)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed-in sessions")
