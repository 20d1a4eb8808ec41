"""The workspace's landing page: the provider's week (appointments.admin_week)."""

import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import OfficeStaff
from appointments.slots import local_instant
from portal.practice import join_practice_staff
from tests.conftest import sign_in_staff
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ProviderFactory,
    UserFactory,
    give_hours,
)
from tests.timing import queries, ratio_of_medians

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def okafor():
    provider = ProviderFactory(display_name="Dr. Maya Okafor", time_zone="America/Chicago")
    join_practice_staff(provider.user)
    give_hours(provider, weekdays=range(5))
    return provider


@pytest.fixture
def kind(okafor):
    return AppointmentTypeFactory(provider=okafor, name="Therapy session", duration_minutes=50)


def at(day: str, clock: str):
    return local_instant(date.fromisoformat(day), time.fromisoformat(clock), CHICAGO)


def week_page(browser, **params) -> str:
    response = browser.get(INDEX, params)
    assert response.status_code == 200
    return response.text


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_a_provider_lands_on_their_week_in_their_zone_named(staff_browser, okafor, kind):
    jordan = UserFactory(name="Jordan Lee")
    appointment = AppointmentFactory(
        appointment_type=kind, client=jordan, start=at("2026-06-03", "10:00")
    )
    html = week_page(staff_browser(okafor.user), week="2026-06-03")
    assert "Dr. Maya Okafor’s week" in html
    assert "Mon 1 Jun – Sun 7 Jun 2026" in html
    assert "Times in <strong>America/Chicago</strong> (CDT)" in html
    link = reverse("admin:appointments_appointment_change", args=[appointment.pk])
    block = re.search(rf'<a href="{link}">(.*?)</a>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", block).split())
    assert text == "10:00–10:50 AM , Jordan Lee , Therapy session"


def test_the_days_are_headed_and_each_is_a_list_a_screen_reader_can_walk(
    staff_browser, okafor, kind
):
    AppointmentFactory(appointment_type=kind, start=at("2030-06-03", "09:00"))
    html = week_page(staff_browser(okafor.user), week="2030-06-03")
    headings = re.findall(r'<h2 class="day-head">(.*?)</h2>', html, re.S)
    assert len(headings) == 7
    assert "Monday" in headings[0] and "3 Jun" in headings[0]
    assert "Sunday" in headings[6]
    assert html.count('<li class="booking ') == 1
    assert "Free 9:50 AM to 5:00 PM." in html  # Monday, after the one appointment
    assert "No working hours this day." in html  # the weekend
    past = week_page(staff_browser(okafor.user), week="2026-06-01")
    assert "This day is over." in past and " to 5:00 PM." not in past


def test_previous_next_and_this_week_links(staff_browser, okafor):
    html = week_page(staff_browser(okafor.user), week="2026-06-03")
    assert f'href="?provider={okafor.pk}&amp;week=2026-05-25">‹ Previous week' in html
    assert f'href="?provider={okafor.pk}&amp;week=2026-06-08">Next week ›' in html
    this_monday = timezone.now().astimezone(CHICAGO).date()
    this_monday -= timedelta(days=this_monday.weekday())
    assert f'href="?provider={okafor.pk}&amp;week={this_monday:%Y-%m-%d}"' in html


def test_without_a_week_it_shows_this_week_with_today_marked(staff_browser, okafor):
    html = week_page(staff_browser(okafor.user))
    today = timezone.now().astimezone(CHICAGO).date()
    assert html.count('aria-current="date"') == 2  # the day, and the "This week" link
    assert f'{today:%-d %b}</span> <span class="day-today">Today</span>' in html


@pytest.mark.parametrize("week", ["2026-02-30", "next", "0001-01-01", "9999-12-31", "2026-6-1"])
def test_a_bad_week_gets_a_message_and_this_week(staff_browser, okafor, week):
    html = week_page(staff_browser(okafor.user), week=week)
    assert "is not a week we can show" in html
    today = timezone.now().astimezone(CHICAGO).date()
    assert f"{today - timedelta(days=today.weekday()):%a %-d %b}" in html


def test_a_booking_changed_since_the_last_look_is_drawn_as_it_is_now(staff_browser, okafor, kind):
    jordan = UserFactory(name="Jordan Lee")
    appointment = AppointmentFactory(
        appointment_type=kind, client=jordan, start=at("2026-06-02", "11:30")
    )
    browser = staff_browser(okafor.user)
    assert "11:30 AM–12:20 PM" in week_page(browser, week="2026-06-01")
    jordan.name = "Jordan Lee-Park"
    jordan.save()
    appointment.status = "no_show"
    appointment.save()
    html = week_page(browser, week="2026-06-01")
    assert "Jordan Lee-Park" in html and "booking--no_show" in html
    assert '<span class="booking-status">No-show</span>' in html


def test_cancelled_appointments_are_not_drawn(staff_browser, okafor, kind):
    AppointmentFactory(appointment_type=kind, start=at("2026-06-01", "09:00"), status="cancelled")
    html = week_page(staff_browser(okafor.user), week="2026-06-01")
    assert '<li class="booking ' not in html


def test_office_staff_land_on_their_providers_week(staff_browser, okafor):
    staff = UserFactory(name="Alex Kim", is_staff=True)
    OfficeStaff.objects.create(provider=okafor, user=staff)
    join_practice_staff(staff)
    html = week_page(staff_browser(staff), week="2026-06-01")
    assert "Dr. Maya Okafor’s week" in html
    assert 'name="provider"' not in html  # one provider: nothing to choose


@pytest.fixture
def two_practices(okafor):
    staff = UserFactory(name="Alex Kim", is_staff=True)
    rivera = ProviderFactory(display_name="Sam Rivera", time_zone="Europe/London")
    for provider in (okafor, rivera):
        OfficeStaff.objects.create(provider=provider, user=staff)
    join_practice_staff(staff)
    return staff, rivera


def test_staff_of_several_providers_pick_one(staff_browser, okafor, two_practices):
    staff, rivera = two_practices
    browser = staff_browser(staff)
    html = week_page(browser, week="2026-06-01")
    assert "Dr. Maya Okafor’s week" in html  # the first by name
    assert '<label for="week-provider">Provider</label>' in html
    html = week_page(browser, week="2026-06-01", provider=rivera.pk)
    assert "Sam Rivera’s week" in html and "Europe/London</strong> (BST)" in html
    assert f'href="?provider={rivera.pk}&amp;week=2026-06-08">Next week' in html


def test_another_practices_provider_is_not_shown(staff_browser, okafor, kind):
    other = ProviderFactory(display_name="Dr. Theirs")
    AppointmentFactory(
        appointment_type=AppointmentTypeFactory(provider=other), start=at("2026-06-01", "09:00")
    )
    html = week_page(staff_browser(okafor.user), week="2026-06-01", provider=other.pk)
    assert "That provider is not one of yours" in html
    assert "Dr. Maya Okafor’s week" in html and "Dr. Theirs" not in html


def test_a_superuser_keeps_the_stock_index_with_a_way_to_a_week(staff_browser, okafor):
    admin = UserFactory(is_staff=True, is_superuser=True)
    browser = staff_browser(admin)
    html = week_page(browser)
    assert "Recent actions" in html and "’s week</h1>" not in html
    assert 'href="?provider="' in html
    html = week_page(browser, provider="")
    assert "Dr. Maya Okafor’s week" in html
    # The week links keep the superuser on the week view.
    assert f'href="?provider={okafor.pk}&amp;week=' in html


def test_staff_outside_any_practice_get_the_stock_index(staff_browser):
    html = week_page(staff_browser(UserFactory(is_staff=True)))
    assert "’s week</h1>" not in html


def queries_for_the_week(browser) -> int:
    with CaptureQueriesContext(connection) as queries:
        week_page(browser, week="2026-06-01")
    return len(queries)


def test_the_page_makes_as_many_queries_for_fifty_appointments_as_for_one(
    staff_browser, okafor, kind
):
    browser = staff_browser(okafor.user)
    client = UserFactory()
    start = at("2026-06-01", "00:00")
    AppointmentFactory(appointment_type=kind, client=client, start=start)
    one = queries_for_the_week(browser)
    for index in range(1, 50):
        AppointmentFactory(
            appointment_type=kind, client=UserFactory(), start=start + timedelta(hours=3 * index)
        )
    assert queries_for_the_week(browser) == one


def test_a_week_with_a_clock_change_names_both_zones_and_keeps_sunday_night(
    staff_browser, okafor, kind
):
    late = AppointmentFactory(appointment_type=kind, start=at("2026-03-08", "23:00"))
    html = week_page(staff_browser(okafor.user), week="2026-03-04")
    assert "Times in <strong>America/Chicago</strong> (CST, then CDT)" in html
    link = reverse("admin:appointments_appointment_change", args=[late.pk])
    assert f'<a href="{link}">' in html and "11:00–11:50 PM" in html


def a_full_week(size: int, clients: int):
    """
    A provider (in a practice of their own) with `size` half-hour bookings in one week, of
    `clients` clients in turn.
    """
    provider = ProviderFactory(time_zone="America/Chicago")
    join_practice_staff(provider.user)
    give_hours(provider, weekdays=range(7))
    kind = AppointmentTypeFactory(provider=provider, duration_minutes=30)
    start = at("2026-06-01", "00:00")
    people = [UserFactory() for _ in range(clients)]
    for index in range(size):
        AppointmentFactory(
            appointment_type=kind,
            client=people[index % clients],
            start=start + timedelta(minutes=30 * index),
            status=["scheduled", "completed", "no_show"][index % 3],
        )
    return provider


def test_a_week_of_three_hundred_bookings_takes_at_most_twice_a_week_of_five():
    url = f"{INDEX}?week=2026-06-01"
    # The same five clients in both: what is timed is the drawing, which grows with the
    # bookings. The access log grows with the clients shown (one chained row each, written in
    # one INSERT, see test_audit_admin), which a week of more bookings need not have.
    full = sign_in_staff(Client(), a_full_week(300, clients=5).user)
    light = sign_in_staff(Client(), a_full_week(5, clients=5).user)
    assert queries(full, url) == queries(light, url)
    assert full.get(url).text.count('class="booking ') == 300
    ratio = ratio_of_medians(full, light, url, runs=15)
    assert ratio <= 2, f"300 bookings take {ratio:.2f}x the time of 5"


# --- The working hours, the rest folded -------------------------------------------------------


def axis(html: str) -> list[str]:
    labels = re.search(r'<ol class="week-axis"[^>]*>(.*?)</ol>', html, re.S).group(1)
    return re.findall(r">([^<]+)</li>", labels)


def test_the_grid_shows_the_working_hours_and_folds_the_rest(staff_browser, okafor):
    html = week_page(staff_browser(okafor.user), week="2030-06-03")
    assert axis(html) == ["9 AM", "10 AM", "11 AM", "12 PM", "1 PM", "2 PM", "3 PM", "4 PM"]
    week = f"?provider={okafor.pk}&amp;week=2030-06-03"
    assert f'<a href="{week}&amp;hours=early">Show the early hours, 12 AM to 9 AM</a>' in html
    assert f'<a href="{week}&amp;hours=late">Show the late hours, 5 PM to 12 AM</a>' in html
    assert "Fold to the working hours" not in html


def test_a_date_override_and_a_booking_outside_the_hours_widen_them(staff_browser, okafor, kind):
    from appointments.models import DateOverride

    DateOverride.objects.create(
        provider=okafor, date=date(2030, 6, 5), start=time(12), end=time(19, 30)
    )
    AppointmentFactory(appointment_type=kind, start=at("2030-06-07", "06:30"))
    html = week_page(staff_browser(okafor.user), week="2030-06-03")
    assert axis(html)[0] == "6 AM" and axis(html)[-1] == "7 PM"
    assert "Show the early hours, 12 AM to 6 AM" in html
    assert "Show the late hours, 8 PM to 12 AM" in html


def test_a_provider_without_hours_still_gets_a_working_day(staff_browser):
    provider = ProviderFactory(time_zone="America/Chicago")
    join_practice_staff(provider.user)
    html = week_page(staff_browser(provider.user), week="2030-06-03")
    assert axis(html)[0] == "9 AM" and axis(html)[-1] == "4 PM"


def test_the_early_and_late_hours_unfold_and_the_weeks_keep_them(staff_browser, okafor):
    browser = staff_browser(okafor.user)
    week = f"?provider={okafor.pk}&amp;week=2030-06-03"
    early = week_page(browser, week="2030-06-03", hours="early")
    assert axis(early)[0] == "12 AM" and axis(early)[-1] == "4 PM"
    assert f'<a href="{week}&amp;hours=all">Show the late hours, 5 PM to 12 AM</a>' in early
    assert f'<a href="{week}">Fold to the working hours</a>' in early
    assert "Show the early hours" not in early
    assert "week=2030-06-10&amp;hours=early" in early  # the next week keeps them open
    late = week_page(browser, week="2030-06-03", hours="late")
    assert axis(late)[0] == "9 AM" and axis(late)[-1] == "11 PM"
    assert f'<a href="{week}&amp;hours=all">Show the early hours, 12 AM to 9 AM</a>' in late
    every = week_page(browser, week="2030-06-03", hours="all")
    assert len(axis(every)) == 24 and "Show the" not in every
    assert f'<a href="{week}">Fold to the working hours</a>' in every


@pytest.mark.parametrize("hours", ["most", "ALL", "early,late", "x" * 300])
def test_an_unknown_hours_value_gets_a_message_and_the_working_hours(staff_browser, okafor, hours):
    html = week_page(staff_browser(okafor.user), week="2030-06-03", hours=hours)
    assert "is not a choice of hours" in html
    assert axis(html)[0] == "9 AM"
    assert "x" * 30 not in html


def test_a_day_of_twenty_bookings_draws_each_one_on_its_own_rows(staff_browser, okafor):
    short = AppointmentTypeFactory(provider=okafor, name="Check-in", duration_minutes=30)
    names = [f"Client Number {index}" for index in range(20)]
    for index, name in enumerate(names):
        AppointmentFactory(
            appointment_type=short,
            client=UserFactory(name=name),
            start=at("2030-06-05", "08:00") + timedelta(minutes=30 * index),
        )
    html = week_page(staff_browser(okafor.user), week="2030-06-03")
    blocks = re.findall(r'<li class="booking booking--scheduled ([^"]+)">', html)
    assert len(blocks) == 20
    rows = [re.search(r"at-(\d+) span-(\d+)", block).groups() for block in blocks]
    # 8 AM to 6 PM: the hours widened to the bookings, each half hour its own six rows.
    assert rows == [(str(1 + 6 * index), "6") for index in range(20)]
    assert all("booking--short" in block for block in blocks)
    assert all(f'<span class="booking-client">{name}</span>' in html for name in names)
    assert axis(html)[0] == "8 AM" and axis(html)[-1] == "5 PM"
