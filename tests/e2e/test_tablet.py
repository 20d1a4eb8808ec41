"""
On a 768x1024 tablet held upright: the client's pages take the phone's navigation, card
headings stay on one line, and a phone number never breaks inside.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment
from portal.models import User
from tests.e2e.conftest import Visit, sign_in

TABLET = {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 2, "has_touch": True}
NARROW = {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 2, "has_touch": True}


@pytest.fixture
def tablet(browser, live_server, transactional_db, request, nu_checker):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(**TABLET, timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    visit = Visit(context.new_page(), live_server.url, "tablet", request.node.name, nu_checker)
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    yield visit
    context.close()


def lines(locator) -> float:
    """How many lines an element's text takes: its box's height over its line height."""
    return locator.evaluate(
        """element => {
            const style = getComputedStyle(element);
            const line = parseFloat(style.lineHeight) ||
                parseFloat(style.fontSize) * 1.2;
            return element.getBoundingClientRect().height / line;
        }"""
    )


def assert_one_line_each(locator) -> None:
    assert locator.count(), "nothing to measure"
    for index in range(locator.count()):
        each = locator.nth(index)
        assert lines(each) < 1.5, f"{each.inner_text()!r} wraps"


def test_the_overview_and_an_appointment_suit_a_tablet(tablet):
    page = tablet.page
    client = User.objects.get(email="client@example.com")
    tablet.goto("/appointments/")
    expect(page.locator("nav.bottom-nav")).to_be_visible()
    expect(page.locator("nav.side-nav")).to_be_hidden()
    assert_one_line_each(page.locator("#upcoming .appt-when"))
    assert_one_line_each(page.locator("h1"))
    tablet.check("overview")
    appointment = (
        Appointment.objects.filter(client=client, status="scheduled", provider__uses_chat=False)
        .order_by("start")
        .first()
    )
    tablet.goto(f"/appointments/{appointment.pk}/")
    assert_one_line_each(page.locator("h1"))
    tablet.check("appointment")
    tablet.goto(f"/appointments/{appointment.pk}/contact/")
    assert_one_line_each(page.locator("a[href^='tel:']"))
    tablet.check("contact")


def test_a_phone_number_never_breaks_inside_on_the_narrowest_phone(
    browser, live_server, transactional_db
):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(**NARROW, timezone_id="America/New_York")
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("client@example.com")
    page.get_by_label("Password").fill("demo-client-2026")
    page.get_by_role("button", name="Sign in").click()
    client = User.objects.get(email="client@example.com")
    no_chat = Appointment.objects.filter(
        client=client, status="scheduled", provider__uses_chat=False
    ).first()
    assert no_chat.provider.office_phone, "the demo's provider without Chat lists a phone"
    for path in [f"/appointments/{no_chat.pk}/contact/", "/chat/new/"]:
        page.goto(live_server.url + path)
        assert_one_line_each(page.locator("a[href^='tel:']"))
    context.close()
