"""
A client with a long history: the overview shows the next few and the last few, fees in sum,
and each list has pages of its own that work with the keyboard, with and without JavaScript.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, CareTeamMember, Fee
from appointments.views import PER_PAGE, UPCOMING_SHOWN
from tests.e2e.conftest import sign_in
from tests.factories import (
    TEST_PASSWORD,
    AppointmentFactory,
    AppointmentTypeFactory,
    PolicyFactory,
    ProviderFactory,
    UserFactory,
)


@pytest.fixture
def busy_client(transactional_db):
    """25 upcoming, 30 past (a fee on some), 4 cancelled: more than any list shows at once."""
    client = UserFactory(email="busy@example.com", name="Riley Chen")
    provider = ProviderFactory(display_name="Dr. Maya Okafor", title="PsyD")
    PolicyFactory(provider=provider)
    CareTeamMember.objects.create(provider=provider, client=client)
    kind = AppointmentTypeFactory(provider=provider)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)

    def at(days, **fields):
        return AppointmentFactory(
            appointment_type=kind, client=client, start=hour + timedelta(days=days), **fields
        )

    upcoming = [at(day) for day in range(3, 3 + PER_PAGE + 5)]
    past = [at(-day, status="completed") for day in range(1, 31)]
    for day in range(1, 5):
        at(-40 - day, status="cancelled")
    Fee.objects.create(appointment=past[0], kind="no_show", amount=40, currency="USD")
    Fee.objects.create(
        appointment=past[1], kind="no_show", amount=40, currency="USD", status="paid"
    )
    return client, upcoming


@pytest.fixture
def signed_in_visit(visit, busy_client):
    visit.goto("/sign-in/")
    sign_in(visit, "busy@example.com", TEST_PASSWORD)
    return visit


def test_the_overview_shows_a_few_of_each_and_leads_to_the_rest(signed_in_visit, busy_client):
    visit, page = signed_in_visit, signed_in_visit.page
    expect(page.locator("#upcoming .appt-card")).to_have_count(UPCOMING_SHOWN)
    expect(page.locator(".fee-totals")).to_contain_text("$40")
    visit.check("overview")
    page.get_by_role("link", name="See all past appointments").click()
    expect(page.get_by_role("heading", name="Past appointments", level=1)).to_be_visible()
    expect(page.locator(".appt-card")).to_have_count(PER_PAGE)
    visit.check("past")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".appt-card")).to_have_count(10)
    page.get_by_role("link", name="Appointments").first.click()
    page.get_by_role("link", name="See all cancelled appointments").click()
    expect(page.locator(".appt-card")).to_have_count(4)
    page.goto(visit.base_url + "/appointments/")
    page.get_by_role("link", name="See every fee").click()
    expect(page.get_by_role("heading", name="Fees", level=1)).to_be_visible()
    expect(page.locator(".fee-row")).to_have_count(2 + 2)  # paid and pending in sum, each fee
    visit.check("fees")


def test_cancelling_from_the_second_page_keeps_the_second_page(signed_in_visit, busy_client):
    visit, page = signed_in_visit, signed_in_visit.page
    _, upcoming = busy_client
    page.get_by_role("link", name="See all upcoming appointments").click()
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="Previous page")).to_be_visible()
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    visit.check("upcoming-page-2")
    first, second = upcoming[PER_PAGE], upcoming[PER_PAGE + 1]
    page.locator(f"#appointment-{first.pk} summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#dialog")
    expect(page.locator("#dialog-title")).to_be_focused()
    dialog.get_by_role("button", name="Cancel appointment").click()
    expect(dialog).to_contain_text("was cancelled")
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator(f"#appointment-{first.pk}")).to_have_count(0)
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    expect(page.locator(f"#appointment-{second.pk} summary")).to_be_focused()
    visit.check("cancelled-on-page-2")
    assert Appointment.objects.get(pk=first.pk).status == "cancelled"


def test_the_pages_work_without_javascript(browser, live_server, busy_client):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("busy@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="See all upcoming appointments").click()
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".appt-card")).to_have_count(5)
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator(".appt-card")).to_have_count(PER_PAGE)
    context.close()
