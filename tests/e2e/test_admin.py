import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, Provider
from portal.models import User
from tests.e2e.conftest import admin_sign_in, totp_code
from tests.tasks import sent_mail

# Zones spread around the clock: at any hour one of them is in its working day.
ZONES = (
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Pacific/Auckland",
)


def in_its_working_day() -> str:
    """A zone where it is between 8 AM and 4 PM now, so a session still fits in its day."""
    now = timezone.now()
    return next(zone for zone in ZONES if 8 <= now.astimezone(ZoneInfo(zone)).hour < 16)


def today_for_demo_client() -> Appointment:
    """
    An appointment later today (in the provider's day) with Dr. Okafor, whose clock is moved to
    a zone in its working day: late in Chicago's evening no session fits before midnight.
    """
    from tests.factories import book, give_hours

    client = User.objects.get(email="client@example.com")
    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    provider.time_zone = in_its_working_day()
    provider.weekly_hours.all().delete()
    give_hours(provider, "00:00", "23:30")
    provider.min_notice = timedelta(minutes=30)
    provider.save()
    kind = provider.appointment_types.get(name="Therapy session")
    return book(client, provider, kind, booked_days_ago=3)


def test_a_provider_enrols_a_second_factor_then_cancels_for_a_client(visit, browser, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    appointment = today_for_demo_client()
    page = visit.page

    # First visit: password, then the emailed link, then the app is set up with a QR code.
    page.goto(live_server.url + "/admin/")
    page.locator("#id_username").fill("provider@example.com")
    page.locator("#id_password").fill("demo-provider-2026")
    page.locator("input[type=submit]").click()
    expect(page.get_by_text("open the link we emailed to provider@example.com")).to_be_visible()
    visit.screenshot("check-email")
    (email,) = [m for m in sent_mail() if "two-step" in m.subject]
    assert email.to == ["provider@example.com"]
    page.goto(live_server.url + re.search(r"/admin/two-factor/set-up/\S+/", email.body).group(0))
    expect(
        page.get_by_alt_text("QR code to add this account to an authenticator app")
    ).to_be_visible()
    visit.screenshot("enrol")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__email="provider@example.com", confirmed=False)
    page.get_by_label("Code").fill(totp_code(device))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    visit.screenshot("recovery-codes")
    page.get_by_role("link", name=re.compile("I have saved them")).click()

    # Today's schedule, then the appointment, then cancel on the client's behalf.
    page.goto(live_server.url + "/admin/appointments/appointment/?when=today")
    expect(page.locator("#result_list")).to_contain_text("Jordan Lee")
    visit.screenshot("schedule-today")
    page.locator(f"#result_list a[href*='/{appointment.pk}/change/']").click()
    expect(page.get_by_role("link", name="Cancel for the client")).to_be_visible()
    visit.screenshot("appointment")
    page.get_by_role("link", name="Cancel for the client").click()
    page.get_by_label("Reason").fill("Dr. Okafor is unwell today")
    page.get_by_role("button", name="Cancel on the client's behalf").click()
    expect(page.get_by_text("Cancelled. An email to the client is on its way.")).to_be_visible()
    expect(page.get_by_role("region", name="History")).to_contain_text("Cancelled")
    visit.screenshot("cancelled")

    # The client's portal no longer lists it.
    client_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    portal = client_context.new_page()
    portal.goto(live_server.url + "/sign-in/")
    portal.get_by_label("Email").fill("client@example.com")
    portal.get_by_label("Password").fill("demo-client-2026")
    portal.get_by_role("button", name="Sign in").click()
    expect(portal.get_by_role("heading", name="Upcoming")).to_be_visible()
    expect(portal.locator(f"#upcoming #appointment-{appointment.pk}")).to_have_count(0)
    client_context.close()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert appointment.events.get(kind="cancelled").actor.email == "provider@example.com"


def test_a_second_visit_asks_for_the_code(visit, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    admin_sign_in(visit.page, live_server.url, "office@example.com", "demo-office-2026")
    expect(visit.page.get_by_role("heading", name="Your practice")).to_be_visible()
    visit.screenshot("practice-index")
    visit.page.goto(live_server.url + "/admin/appointments/policy/")
    visit.page.get_by_role("link", name="All appointment types").click()
    expect(visit.page.get_by_text("Free to cancel until")).to_be_visible()
    visit.screenshot("policy-preview")
