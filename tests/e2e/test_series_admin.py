"""
The practice's recurring series in the workspace, at a desktop and a tablet width: booked by
keyboard alone through the picker, the rule and the preview; then its page, and each change's
pages (end, skip, a new time with its preview), every one screenshotted and checked by axe and
the HTML checker.
"""

import re
from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import AppointmentSeries, Provider
from tests.e2e.conftest import admin_sign_in
from tests.e2e.test_admin_pages import tab_to


@pytest.fixture(params=["desktop", "tablet"])
def viewport(request) -> str:
    return request.param


def taken_two_weeks_on(url: str):
    """Another client's appointment at the picked time two weeks on: the preview's clash."""
    from urllib.parse import parse_qs, urlparse

    from appointments.slots import local_instant
    from portal.inputs import parse_instant
    from tests.factories import AppointmentFactory, UserFactory

    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    start = parse_instant(parse_qs(urlparse(url).query)["start"][0]).astimezone(provider.zone)
    return AppointmentFactory(
        appointment_type=provider.appointment_types.get(name="Therapy session"),
        client=UserFactory(name="Priya Shah"),
        start=local_instant(start.date() + timedelta(weeks=2), start.time(), provider.zone),
    )


def test_a_series_is_booked_by_keyboard_with_the_picker_and_a_preview(visit, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    admin_sign_in(page, live_server.url, "office@example.com", "demo-office-2026")
    visit.goto("/admin/appointments/appointmentseries/")
    visit.check("list-empty")

    tab_to(page, page.get_by_role("link", name="Add recurring series"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Book a recurring series")).to_be_visible()
    visit.check("choose")
    tab_to(page, page.get_by_label("Client"))
    page.keyboard.type("Jordan")
    tab_to(page, page.get_by_label("Appointment type"))
    page.keyboard.type("Therapy")
    expect(page.get_by_label("Appointment type")).to_have_value(
        re.compile(r"\d+")  # an option, not the empty one
    )
    tab_to(page, page.get_by_role("button", name="Pick the first session"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Pick a day")).to_be_visible()
    visit.check("picker")
    second_day = page.locator("a.day").nth(1)
    tab_to(page, second_day)
    page.keyboard.press("Enter")
    expect(page.locator("a.day").nth(1)).to_have_attribute("aria-current", "date")
    first_time = page.locator("a.time").first
    label = first_time.get_attribute("aria-label")
    tab_to(page, first_time)
    visit.screenshot("time-focused")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="How the series repeats")).to_be_visible()
    visit.check("rule")
    taken = taken_two_weeks_on(page.url)
    weekly = page.get_by_label("Every week", exact=True)
    tab_to(page, weekly)
    page.keyboard.press("Space")
    expect(weekly).to_be_checked()
    tab_to(page, page.get_by_label("After a number of sessions"))
    page.keyboard.press("Space")
    count = page.get_by_role("spinbutton", name="Number of sessions")
    tab_to(page, count)
    page.keyboard.type("200")
    page.keyboard.press("Enter")
    expect(page.locator(".errornote")).to_contain_text("A series has from 2 to 104 sessions")
    # The refusal is a 400, which the browser reports; nothing else may be.
    visit.console_errors.remove(
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    visit.check("rule-refused")
    expect(page.get_by_label("Every week", exact=True)).to_be_checked()  # kept as chosen
    tab_to(page, count)
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    tab_to(page, page.get_by_role("button", name="Check every date"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Check the dates")).to_be_visible()
    expect(page.locator(".series-page tbody tr")).to_have_count(6)
    clash = page.locator(".series-clash")
    expect(clash).to_have_count(1)
    expect(clash).to_contain_text("Not free: already booked")
    expect(clash.get_by_role("checkbox")).to_be_checked()
    assert not AppointmentSeries.objects.exists()
    visit.check("preview")
    book = page.get_by_role("button", name="Book this series")
    tab_to(page, book)
    page.keyboard.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text("5 sessions booked. 1 date left out.")
    visit.check("series")
    series = AppointmentSeries.objects.get()
    assert not series.sessions.filter(start=taken.start).exists()
    first = series.sessions.order_by("start").first().start
    local = first.astimezone(series.zone)
    day, clock = label.split(", ")
    assert f"{local:%-I:%M %p}" == clock and day.endswith(f"{local:%-d %B}")
    assert series.sessions.count() == 5

    # The session's own page names its series, and the link leads back to it.
    page.locator("section[aria-labelledby=sessions-heading] a").first.click()
    expect(page.get_by_text(re.compile(r"Every week on \w+day \(session 1 of 6\)"))).to_be_visible()
    visit.check("session")
    visit.goto("/admin/appointments/appointmentseries/")
    expect(page.locator("#result_list")).to_contain_text("Ongoing")
    visit.check("list")


def test_the_series_is_ended_skipped_and_moved_from_its_page(visit, live_server):
    from appointments.recurrence import Repeat
    from appointments.series import SeriesEnd, series_book
    from appointments.slots import local_instant
    from portal.models import User

    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    office = User.objects.get(email="office@example.com")
    kind = provider.appointment_types.get(name="Therapy session")
    first_day = timezone.now().astimezone(provider.zone).date() + timedelta(days=8)
    while first_day.weekday() != 1:  # a Tuesday: open 1 to 5 PM in the demo
        first_day += timedelta(days=1)
    series = series_book(
        client=User.objects.get(email="client@example.com"),
        provider=provider,
        appointment_type=kind,
        first_start=local_instant(first_day, time(15, 0), provider.zone),
        repeat=Repeat.WEEKLY,
        end=SeriesEnd(count=5),
        booked_by=office,
    ).series
    page = visit.page
    admin_sign_in(page, live_server.url, "office@example.com", "demo-office-2026")
    base = f"/admin/appointments/appointmentseries/{series.pk}"

    visit.goto(f"{base}/change/")
    page.get_by_role("link", name="Skip a date").click()
    visit.check("skip-dates")
    page.locator(".series-dates a").nth(1).click()
    expect(page.get_by_role("button", name=re.compile(r"^Skip "))).to_be_visible()
    visit.check("skip-confirm")
    page.get_by_role("button", name=re.compile(r"^Skip ")).click()
    expect(page.get_by_text(re.compile("is skipped: that session is cancelled"))).to_be_visible()

    page.get_by_role("link", name="Change the time or weekday").click()
    visit.check("change-time-dates")
    page.locator(".series-dates a").nth(1).click()
    expect(page.get_by_role("heading", name="Pick a day")).to_be_visible()
    visit.check("change-time-picker")
    page.locator("a.time").first.click()
    expect(page.get_by_role("heading", name="Check the new times")).to_be_visible()
    visit.check("change-time-preview")
    page.get_by_role("button", name=re.compile(r"^Change the time from ")).click()
    expect(
        page.get_by_text(re.compile("the client is emailed the new times", re.I))
    ).to_be_visible()
    new = AppointmentSeries.objects.get(previous=series)
    visit.check("continued")

    page.get_by_role("link", name="End the series").click()
    visit.check("end-dates")
    page.locator(".series-dates a").last.click()
    expect(page.get_by_role("button", name=re.compile(r"^End the series from "))).to_be_visible()
    visit.check("end-confirm")
    page.get_by_role("button", name=re.compile(r"^End the series from ")).click()
    expect(
        page.get_by_text(re.compile(r"The series ends from .*1 session cancelled"))
    ).to_be_visible()
    visit.check("ended")
    assert new.sessions.filter(status="cancelled").count() == 1
    visit.goto(f"{base}/change/")
    visit.check("old-series")
