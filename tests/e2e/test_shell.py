import re

from django.core.management import call_command
from playwright.sync_api import expect

from portal.models import User
from tests.e2e.conftest import sign_in

CLIENT_EMAIL = "client@example.com"
CLIENT_PASSWORD = "demo-client-2026"


def visible_menu(page, viewport):
    side = page.locator("nav.side-nav")
    bottom = page.locator("nav.bottom-nav")
    if viewport == "desktop":
        expect(side).to_be_visible()
        expect(bottom).to_be_hidden()
        return side
    expect(bottom).to_be_visible()
    expect(side).to_be_hidden()
    return bottom


def test_the_demo_client_signs_in_moves_between_tabs_and_signs_out(visit, viewport):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page

    visit.goto("/appointments/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/appointments/$"))
    expect(page.get_by_text("Your username is your email address on file")).to_be_visible()
    visit.check("sign-in")

    sign_in(visit, "Client@Example.com", CLIENT_PASSWORD)
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    expect(page.get_by_role("heading", name="Appointments", level=1)).to_be_visible()
    expect(page.locator("#upcoming-list .appt-card")).to_have_count(2)
    if viewport == "desktop":
        expect(page.get_by_test_id("signed-in-user")).to_have_text("Jordan Lee")
    menu = visible_menu(page, viewport)
    first_tab = "Appointments" if viewport == "desktop" else "Sessions"
    expect(menu.get_by_role("link", name=first_tab)).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("not directly involved in patient care")).to_be_visible()
    visit.check("appointments")

    menu.get_by_role("link", name="Chat").click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    menu = visible_menu(page, viewport)
    expect(menu.get_by_role("link", name="Chat")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="New Chat Message")).to_be_visible()
    visit.check("chat")

    menu.get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_label("Your name")).to_have_value("Jordan Lee")
    visit.check("account")

    menu.get_by_role("link", name=first_tab).click()
    expect(page).to_have_url(re.compile(r"/appointments/$"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    visit.goto("/chat/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/chat/$"))


def test_a_wrong_password_shows_a_message(visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    visit.goto("/sign-in/")
    sign_in(visit, CLIENT_EMAIL, "not-the-password")
    expect(visit.page.get_by_role("alert")).to_contain_text("don't match an account")
    visit.check("bad-password")


def test_the_banner_offers_the_browsers_zone_and_switches_to_it(visit, browser, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    page.context.close()
    # A browser in Berlin, an account saved in New York.
    context = browser.new_context(
        timezone_id="Europe/Berlin", viewport={"width": 1280, "height": 800}
    )
    visit.page = page = context.new_page()
    visit.goto("/sign-in/")
    sign_in(visit, CLIENT_EMAIL, CLIENT_PASSWORD)
    banner = page.locator("#tz-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Your device is set to Europe/Berlin")
    visit.check("zone-banner")
    banner.get_by_role("button", name="Switch to my device's zone").click()
    expect(page.get_by_role("status")).to_contain_text("Times are now shown in Europe/Berlin")
    expect(page.locator("#tz-banner")).to_be_hidden()
    assert User.objects.get(email=CLIENT_EMAIL).time_zone == "Europe/Berlin"
    context.close()


def test_a_new_account_starts_in_the_browsers_zone(browser, live_server, transactional_db):
    User.objects.create_user("new@example.com", "a-long-passphrase-9", name="New Person")
    context = browser.new_context(timezone_id="Asia/Kolkata")
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Password").fill("a-long-passphrase-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    expect(page.get_by_text("Times are shown in Asia/Kolkata")).to_be_visible()
    expect(page.locator("#tz-banner")).to_be_hidden()
    context.close()


def test_everything_works_with_javascript_off(browser, live_server, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/appointments/")
    page.get_by_label("Email").fill(CLIENT_EMAIL)
    page.get_by_label("Password").fill(CLIENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()
    page.locator("nav.side-nav").get_by_role("link", name="Account").click()
    page.get_by_label("Your name").fill("Jordan Lee-Park")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Your account was updated")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in/$"))
    context.close()


LAYOUT_SHIFT = """
() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(total), 500);
})
"""


def test_the_zone_banner_is_there_from_the_first_paint_so_nothing_moves(
    browser, live_server, transactional_db
):
    """
    A browser in another zone than the account's: the banner is decided before the page is
    first drawn, so the page does not shift down when it appears (Lighthouse counted 0.19).
    """
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(
        timezone_id="Europe/Berlin", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(CLIENT_EMAIL)
    page.get_by_label("Password").fill(CLIENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for path in ["/appointments/", "/chat/", "/account/"]:
        page.goto(live_server.url + path)
        expect(page.locator("#tz-banner")).to_be_visible()
        assert page.evaluate(LAYOUT_SHIFT) < 0.01, path
    context.close()
