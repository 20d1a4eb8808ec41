"""The provider's week as the workspace reads it (appointments.schedule.week_schedule)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.models import DateOverride
from appointments.schedule import monday_of, week_schedule
from appointments.slots import local_instant
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ProviderFactory,
    UserFactory,
    give_hours,
)

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def chicago():
    """A provider in Chicago, open 09:00-17:00 every day."""
    provider = ProviderFactory(time_zone="America/Chicago")
    give_hours(provider)
    return provider


@pytest.fixture
def kind(chicago):
    return AppointmentTypeFactory(provider=chicago, duration_minutes=50)


def at(day: str, clock: str, zone=CHICAGO) -> datetime:
    instant = local_instant(date.fromisoformat(day), time.fromisoformat(clock), zone)
    assert instant is not None, f"{day} {clock} does not exist in {zone}"
    return instant


def booked(kind, start: datetime, **fields):
    return AppointmentFactory(appointment_type=kind, start=start, **fields)


def week_of(provider, monday: str, today: str = "2026-01-01"):
    return week_schedule(
        provider=provider, monday=date.fromisoformat(monday), today=date.fromisoformat(today)
    )


def test_the_week_is_monday_to_sunday_on_the_providers_clock(chicago, kind):
    sunday_night = booked(kind, at("2026-06-07", "23:00"))
    next_monday = booked(kind, at("2026-06-08", "00:30"), client=sunday_night.client)
    week = week_of(chicago, "2026-06-01")
    assert [day.date for day in week.days] == [date(2026, 6, d) for d in range(1, 8)]
    assert week.days[-1].bookings[0].appointment_id == sunday_night.pk
    assert all(next_monday.pk != b.appointment_id for day in week.days for b in day.bookings)
    assert week.previous == date(2026, 5, 25) and week.next == date(2026, 6, 8)
    assert week.zone_abbreviations == ["CDT"]


def test_a_week_with_the_spring_clock_change_ends_at_the_next_real_midnight(chicago, kind):
    # Clocks go forward on Sunday 8 March 2026: the week is 167 hours long. Seven times 24
    # hours from Monday's midnight would reach 01:00 on the next Monday and take its 00:15 in.
    last = booked(kind, at("2026-03-08", "23:00"))
    too_late = booked(kind, at("2026-03-09", "00:15"), client=last.client)
    week = week_of(chicago, "2026-03-02")
    assert [b.appointment_id for b in week.days[6].bookings] == [last.pk]
    assert week.days[6].bookings[0].start.hour == 23
    next_week = week_of(chicago, "2026-03-09")
    assert [b.appointment_id for b in next_week.days[0].bookings] == [too_late.pk]
    assert all(b.appointment_id != too_late.pk for day in week.days for b in day.bookings)
    assert week.zone_abbreviations == ["CST", "CDT"]


def test_a_week_with_the_autumn_clock_change_keeps_its_last_hour(chicago, kind):
    # Clocks go back on Sunday 1 November 2026: the week is 169 hours long, and 23:30 that
    # Sunday is 05:30 UTC on Monday, past seven times 24 hours from the first midnight.
    last = booked(kind, at("2026-11-01", "23:00"))
    assert last.start == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    week = week_of(chicago, "2026-10-26")
    assert [b.appointment_id for b in week.days[6].bookings] == [last.pk]
    assert week.zone_abbreviations == ["CDT", "CST"]


def test_the_clock_change_day_has_its_hours_on_the_wall_clock(chicago):
    week = week_of(chicago, "2026-03-02")
    sunday = week.days[6]
    (hours,) = sunday.open
    assert (hours.start, hours.end) == (at("2026-03-08", "09:00"), at("2026-03-08", "17:00"))
    # Subtracting in UTC: aware datetimes of one zone subtract on the wall clock.
    assert hours.end.astimezone(UTC) - hours.start.astimezone(UTC) == timedelta(hours=8)
    assert (hours.start_minute, hours.end_minute) == (9 * 60, 17 * 60)


def test_hours_across_the_skipped_hour_are_two_real_hours_drawn_from_one_to_four(chicago):
    DateOverride.objects.create(provider=chicago, date=date(2026, 3, 8), start=time(1), end=time(4))
    (hours,) = week_of(chicago, "2026-03-02").days[6].open
    assert hours.end.astimezone(UTC) - hours.start.astimezone(UTC) == timedelta(hours=2)
    assert (hours.start_minute, hours.end_minute) == (60, 240)
    assert hours.start.tzname() == "CST" and hours.end.tzname() == "CDT"


def test_free_hours_are_the_working_hours_less_what_is_booked(chicago, kind):
    booked(kind, at("2026-06-03", "10:00"))
    wednesday = week_of(chicago, "2026-06-01").days[2]
    assert [(f.start.time(), f.end.time()) for f in wednesday.free] == [
        (time(9), time(10)),
        (time(10, 50), time(17)),
    ]
    assert wednesday.free[0].start == at("2026-06-03", "09:00")


def test_overrides_replace_the_weekly_hours_or_close_the_day(chicago):
    DateOverride.objects.create(provider=chicago, date=date(2026, 6, 2))
    DateOverride.objects.create(
        provider=chicago, date=date(2026, 6, 3), start=time(12), end=time(14)
    )
    week = week_of(chicago, "2026-06-01")
    assert week.days[1].is_day_off and week.days[1].free == []
    assert [(s.start.time(), s.end.time()) for s in week.days[2].open] == [(time(12), time(14))]
    assert not week.days[0].is_day_off


def test_a_weekday_without_hours_is_a_day_off():
    provider = ProviderFactory()
    give_hours(provider, weekdays=range(5))
    week = week_of(provider, "2026-06-01")
    assert [day.is_day_off for day in week.days] == [False] * 5 + [True] * 2


def test_cancelled_appointments_are_left_out_and_their_time_is_free(chicago, kind):
    client = UserFactory()
    booked(kind, at("2026-06-01", "09:00"), client=client, status="cancelled")
    held = booked(kind, at("2026-06-01", "11:00"), client=client, status="completed")
    monday = week_of(chicago, "2026-06-01").days[0]
    assert [b.appointment_id for b in monday.bookings] == [held.pk]
    assert monday.free[0].start == at("2026-06-01", "09:00")


def test_only_the_providers_own_appointments_are_read(chicago, kind):
    other = AppointmentTypeFactory()
    booked(other, at("2026-06-01", "09:00"))
    assert all(not day.bookings for day in week_of(chicago, "2026-06-01").days)


def test_today_is_marked(chicago):
    week = week_of(chicago, "2026-06-01", today="2026-06-04")
    assert [day.is_today for day in week.days] == [False, False, False, True, False, False, False]


def test_the_grid_covers_the_earliest_and_latest_hours_of_the_week(chicago, kind):
    booked(kind, at("2026-06-02", "06:30"))
    DateOverride.objects.create(
        provider=chicago, date=date(2026, 6, 4), start=time(12), end=time(21, 30)
    )
    assert week_of(chicago, "2026-06-01").working_hours == (6, 22)
    assert week_of(chicago, "2026-07-06").working_hours == (9, 17)


def test_a_week_with_no_hours_and_no_bookings_has_no_working_hours(chicago):
    chicago.weekly_hours.all().delete()
    assert week_of(chicago, "2026-06-01").working_hours is None


def test_an_appointment_past_midnight_is_drawn_to_the_end_of_its_day(chicago, kind):
    late = booked(kind, at("2026-06-01", "23:40"))
    (block,) = week_of(chicago, "2026-06-01").days[0].bookings
    assert block.appointment_id == late.pk
    assert (block.start_minute, block.end_minute) == (23 * 60 + 40, 24 * 60)


@pytest.mark.parametrize("count", [1, 50])
def test_the_week_is_read_in_three_queries_however_full(
    chicago, kind, count, django_assert_num_queries
):
    client = UserFactory()
    monday = at("2026-06-01", "00:00")
    for hour in range(count):
        booked(kind, monday + timedelta(hours=hour * 3), client=client)
    with django_assert_num_queries(3):  # weekly hours, the week's overrides, the appointments
        week = week_of(chicago, "2026-06-01")
        # What the page reads of each appointment comes with it.
        shown = [(b.client_name, b.type_name) for day in week.days for b in day.bookings]
    assert len(shown) == count


def test_monday_of_any_day_is_its_weeks_monday():
    assert monday_of(date(2026, 3, 8)) == date(2026, 3, 2)
    assert monday_of(date(2026, 3, 9)) == date(2026, 3, 9)


def test_time_already_past_is_not_free(chicago):
    now = at("2026-06-03", "12:00")
    week = week_schedule(provider=chicago, monday=date(2026, 6, 1), today=now.date(), now=now)
    assert week.days[0].is_past and week.days[0].free == []
    assert not week.days[2].is_past
    assert [(f.start.time(), f.end.time()) for f in week.days[2].free] == [(time(12), time(17))]
    assert [(f.start.time(), f.end.time()) for f in week.days[3].free] == [(time(9), time(17))]
