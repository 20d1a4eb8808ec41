"""
A client repeats a booking from its review page (the dates listed in place, a clash left out)
and ends a series from one of its sessions, at a desktop and a phone, and without JavaScript.

Focus: after the dates update in place it stays on the choice the client changed (only the
list below it is replaced, and a polite live region says how many dates it lists); when the
"Cancel this and all following sessions" pop-up opens, on its heading; once confirmed, on its
Done button; when it closes, on the three-dots button of the card that followed the one it was
opened from, or, when that card left too, on the Upcoming heading.
"""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentSeries, AppointmentType
from appointments.recurrence import Repeat
from appointments.series import SeriesEnd, series_book
from portal.models import User
from tests.e2e.conftest import VIEWPORTS, Visit, sign_in
from tests.factories import AppointmentFactory, open_slots_after

EMAIL, PASSWORD = "client@example.com", "demo-client-2026"


def demo_weekly() -> tuple[User, AppointmentType]:
    """The demo, with its Therapy session open to series."""
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    kind = AppointmentType.objects.get(
        provider__display_name="Dr. Maya Okafor", name="Therapy session"
    )
    kind.clients_may_repeat = True
    kind.save()
    return User.objects.get(email=EMAIL), kind


def free_weekly_start(client: User, kind: AppointmentType, weeks: int):
    """An open time whose next `weeks` weeks are open too."""
    slots = set(open_slots_after(client, kind.provider, kind, days=1))
    for slot in sorted(slots):
        if all(slot + timedelta(weeks=n) in slots for n in range(weeks)):
            return slot
    raise AssertionError("no time open for that many weeks")


def review_path(kind: AppointmentType, start) -> str:
    at = quote(start.astimezone(timezone.UTC).isoformat(), safe="")
    return f"/appointments/book/{kind.provider_id}/{kind.pk}/repeat/?start={at}"


def block(kind: AppointmentType, start) -> None:
    """Another client takes this time."""
    AppointmentFactory(provider=kind.provider, appointment_type=kind, start=start)


@pytest.fixture
def weekly(visit):
    client, kind = demo_weekly()
    visit.goto("/sign-in/")
    sign_in(visit, EMAIL, PASSWORD)
    return client, kind


def test_a_client_repeats_a_booking_weekly_and_leaves_out_a_clash(visit, weekly):
    client, kind = weekly
    page = visit.page
    start = free_weekly_start(client, kind, 6)
    block(kind, start + timedelta(weeks=2))
    visit.goto(review_path(kind, start))
    expect(page.get_by_role("heading", name="Review and confirm")).to_be_visible()
    expect(page.get_by_role("button", name="Show the dates")).to_be_hidden()  # htmx does it
    once = page.get_by_role("radio", name="Does not repeat")
    expect(once).to_be_checked()
    expect(page.get_by_label("Number of sessions", exact=True)).to_be_hidden()
    visit.check("review")

    # By keyboard: the next rule is chosen, the dates come in place, focus stays on the rule.
    once.focus()
    page.keyboard.press("ArrowDown")
    weekly_rule = page.get_by_role("radio", name=re.compile(r"^Every week on \w+day$"))
    expect(weekly_rule).to_be_checked()
    dates = page.locator("#series-plan .series-date")
    expect(dates).to_have_count(6)  # the number asked for unless changed
    expect(weekly_rule).to_be_focused()
    expect(page.locator("#series-summary")).to_have_text("6 sessions listed, 1 not free.")

    count = page.get_by_label("Number of sessions", exact=True)
    count.fill("4")
    expect(dates).to_have_count(4)
    expect(count).to_be_focused()
    clash = page.locator(".series-date--clash")
    expect(clash).to_have_count(1)
    expect(clash).to_contain_text("Not free: already booked")
    visit.check("dates-with-clash")

    clash.get_by_role("checkbox").check()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booked: 3 sessions with Dr. Maya Okafor")
    expect(page.locator(".series-session")).to_have_count(3)
    visit.check("series")
    series = AppointmentSeries.objects.get(client=client)
    assert sorted(each.start for each in series.sessions.all()) == [
        start + timedelta(weeks=n) for n in (0, 1, 3)
    ]


def book_weekly(client: User, kind: AppointmentType, count: int) -> list[Appointment]:
    start = free_weekly_start(client, kind, count)
    return series_book(
        client=client,
        provider=kind.provider,
        appointment_type=kind,
        first_start=start,
        repeat=Repeat.WEEKLY,
        end=SeriesEnd(count=count),
        booked_by=client,
    ).sessions


def test_a_client_ends_a_series_from_a_session_in_the_pop_up(visit, weekly):
    client, kind = weekly
    page = visit.page
    sessions = book_weekly(client, kind, 3)
    # The overview shows the next five: the series' second session is on the upcoming page.
    visit.goto("/appointments/upcoming/")
    card = page.locator(f"#appointment-{sessions[1].pk}")
    expect(card.locator(".appt-series")).to_have_text("Every week · session 2 of 3")
    card.locator("summary").click()
    expect(card.get_by_role("link", name="Reschedule this session")).to_be_visible()
    expect(card.get_by_role("link", name="Cancel this session")).to_be_visible()
    visit.check("menu")
    card.get_by_role("link", name="Cancel this and all following sessions").click()
    dialog = page.locator("dialog#dialog")
    heading = dialog.get_by_role("heading", name="Cancel this and all following sessions?")
    expect(heading).to_be_focused()
    expect(dialog.locator(".quote-row")).to_have_count(2)
    expect(dialog).to_contain_text("No fee.")
    visit.check("dialog")
    dialog.get_by_role("button", name="Cancel 2 sessions").click()
    done = dialog.get_by_role("button", name="Done")
    expect(done).to_be_focused()
    expect(dialog).to_contain_text("2 sessions cancelled from")
    expect(page.locator(f"#upcoming #appointment-{sessions[1].pk}")).to_have_count(0)
    expect(page.locator(f"#upcoming #appointment-{sessions[2].pk}")).to_have_count(0)
    visit.check("done")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
    assert focused in {"upcoming-heading", "SUMMARY"}, focused
    statuses = [each.status for each in Appointment.objects.filter(series=sessions[0].series)]
    assert sorted(statuses) == ["cancelled", "cancelled", "scheduled"]


def no_js_page(browser, live_server, viewport):
    context = browser.new_context(**VIEWPORTS[viewport], java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return context, page


def test_repeating_and_ending_a_series_work_with_javascript_off(
    browser, live_server, transactional_db, viewport, request
):
    client, kind = demo_weekly()
    context, page = no_js_page(browser, live_server, viewport)
    shots = Visit(page, live_server.url, viewport, request.node.name)
    start = free_weekly_start(client, kind, 3)
    page.goto(live_server.url + review_path(kind, start))
    page.get_by_role("radio", name=re.compile(r"^Every week on")).check()
    page.get_by_label("Number of sessions", exact=True).fill("3")
    page.get_by_role("button", name="Show the dates").click()
    expect(page.locator(".series-date")).to_have_count(3)
    shots.screenshot("dates")
    assert not AppointmentSeries.objects.exists()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booked: 3 sessions")
    sessions = list(Appointment.objects.filter(series__client=client).order_by("start"))

    page.goto(live_server.url + "/appointments/upcoming/")
    card = page.locator(f"#appointment-{sessions[0].pk}")
    card.locator("summary").click()
    card.get_by_role("link", name="Cancel this and all following sessions").click()
    expect(page).to_have_url(re.compile(rf"/appointments/{sessions[0].pk}/cancel-following/$"))
    shots.screenshot("cancel-following")
    page.get_by_role("button", name="Cancel 3 sessions").click()
    expect(page.get_by_role("status")).to_contain_text("3 sessions cancelled from")
    assert not Appointment.objects.filter(series__client=client, status="scheduled").exists()
    context.close()


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_a_date_taken_before_confirming_is_named_on_the_phone(visit, weekly):
    client, kind = weekly
    page = visit.page
    start = free_weekly_start(client, kind, 3)
    visit.goto(review_path(kind, start))
    page.get_by_role("radio", name=re.compile(r"^Every 2 weeks on")).check()
    page.get_by_label("Number of sessions", exact=True).fill("2")
    expect(page.locator(".series-date")).to_have_count(2)
    block(kind, start + timedelta(weeks=2))  # taken by someone else meanwhile
    page.get_by_role("button", name="Confirm booking").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This date is not free:")
    expect(alert).to_contain_text("(already booked). Nothing was booked.")
    expect(page.locator(".series-date--clash")).to_have_count(1)
    # A 409 was meant: the browser's note of it is no error.
    note = "the server responded with a status of 409"
    visit.console_errors[:] = [each for each in visit.console_errors if note not in each]
    visit.check("taken")
    assert not AppointmentSeries.objects.exists()
