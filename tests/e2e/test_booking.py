import re

from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment
from tests.e2e.conftest import sign_in


def test_the_demo_client_books_a_real_slot_end_to_end(visit, viewport):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    before = Appointment.objects.filter(status="scheduled").count()

    page.get_by_role("link", name="Book an appointment").click()
    expect(page.get_by_role("heading", name="Who would you like to see?")).to_be_visible()
    visit.check("providers")

    page.get_by_role("link", name=re.compile("Dr. Maya Okafor")).click()
    expect(page.get_by_role("heading", name="What kind of appointment?")).to_be_visible()
    visit.check("types")

    page.get_by_role("link", name=re.compile("Therapy session")).click()
    expect(page.get_by_role("heading", name="Pick a day")).to_be_visible()
    visit.check("days")

    # Another day swaps the times in place (htmx) and keeps the address bar honest.
    days = page.locator(".day-list a")
    second = days.nth(1)
    day_label = second.locator(".day-num").inner_text()
    second.click()
    expect(page.locator(".day[aria-current='date'] .day-num")).to_have_text(day_label)
    expect(page).to_have_url(re.compile(r"\?day=\d{4}-\d{2}-\d{2}$"))
    time_button = page.locator(".time-grid a").first
    name = time_button.get_attribute("aria-label")
    assert re.fullmatch(r"\w+day \d{1,2} \w+, \d{1,2}:\d{2} (AM|PM)", name), name
    visit.check("times")

    time_button.click()
    expect(page.get_by_role("heading", name="Review and confirm")).to_be_visible()
    expect(page.locator(".review")).to_contain_text("(America/New York)")
    visit.check("review")

    page.get_by_role("button", name="Confirm booking").click()
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    expect(page.get_by_role("status")).to_contain_text("Booked:")
    day, when = name.split(", ")
    expect(page.locator("#upcoming-list")).to_contain_text(f"{day}, {when}")
    visit.check("booked")
    assert Appointment.objects.filter(status="scheduled").count() == before + 1


def test_booking_works_with_javascript_off(browser, live_server, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("client@example.com")
    page.get_by_label("Password").fill("demo-client-2026")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Book an appointment").click()
    page.get_by_role("link", name=re.compile("Sam Rivera")).click()
    page.get_by_role("link", name=re.compile("Nutrition check-in")).click()
    page.locator(".day-list a").nth(2).click()
    expect(page).to_have_url(re.compile(r"\?day="))
    page.locator(".time-grid a").last.click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booked:")
    assert (
        Appointment.objects.filter(provider__display_name="Sam Rivera", status="scheduled").count()
        == 2
    )
    context.close()
