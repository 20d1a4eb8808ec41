"""
A series' calendar file, read back with a real parser (icalendar) and its RRULE expanded with
python-dateutil: what a calendar shows must be the series' live sessions, at their times,
however the series was changed. RFC 5545 3.8.5.3 examples and 3.8.4.4 (RECURRENCE-ID).
"""

from datetime import date, datetime, time, timedelta

import pytest
from dateutil.rrule import rruleset, rrulestr
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from appointments.calendar import appointment_calendar, series_calendar
from appointments.models import Appointment, AppointmentSeries
from appointments.recurrence import Repeat
from appointments.series import (
    SeriesEnd,
    series_cancel_following,
    series_change_time,
    series_end,
    series_extend,
    series_skip,
)
from appointments.services import appointment_cancel, appointment_reschedule
from tests.appointments import test_series as setup
from tests.factories import AppointmentFactory, UserFactory

pytestmark = pytest.mark.django_db

# The series' fixtures: Chicago, hours until 8 PM, a year's horizon, now Mon 2 Nov 2026.
now = setup.now
evening = setup.evening
weekly_type = setup.weekly_type
at = setup.at
book_series = setup.book_series
CHICAGO = "America/Chicago"


def parsed(ics: bytes) -> tuple[Calendar, Event, list[Event]]:
    """The calendar, its master VEVENT and its overrides (those with a RECURRENCE-ID)."""
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    masters = [each for each in events if "RECURRENCE-ID" not in each]
    assert len(masters) == 1
    assert len({str(each["UID"]) for each in events}) == 1  # one entry, however many parts
    return calendar, masters[0], [each for each in events if "RECURRENCE-ID" in each]


def rule_instants(master: Event, upto: int = 200) -> list[datetime]:
    """The master's own dates: RRULE expanded from DTSTART, less every EXDATE."""
    start = master.decoded("DTSTART")
    rules = rruleset()
    rules.rrule(rrulestr(master["RRULE"].to_ical().decode(), dtstart=start))
    exdates = master.get("EXDATE", [])
    for listed in exdates if isinstance(exdates, list) else [exdates]:
        for each in listed.dts:
            rules.exdate(each.dt)
    found = []
    for instant in rules:
        found.append(instant)
        if len(found) == upto:
            break
    return found


def instances(ics: bytes, upto: int = 200) -> list[datetime]:
    """What a calendar shows: the rule's dates, each override put in its date's place."""
    _, master, overrides = parsed(ics)
    moved = {each.decoded("RECURRENCE-ID"): each for each in overrides}
    shown = []
    for instant in rule_instants(master, upto):
        override = moved.get(instant)
        if override is None:
            shown.append(instant)
        elif str(override["STATUS"]) != "CANCELLED":
            shown.append(override.decoded("DTSTART"))
    return sorted(shown)


def live_starts(series: AppointmentSeries) -> list[datetime]:
    return list(
        series.sessions.exclude(status=Appointment.Status.CANCELLED)
        .order_by("start")
        .values_list("start", flat=True)
    )


def line(ics: bytes, name: str) -> str:
    """The one content line `name` of the file's events (not its VTIMEZONE), unfolded."""
    lines = ics.decode().replace("\r\n ", "").split("\r\n")
    inside, found = False, []
    for each in lines:
        inside = {"BEGIN:VEVENT": True, "END:VEVENT": False}.get(each, inside)
        if inside and each.split(":")[0].split(";")[0] == name:
            found.append(each)
    assert len(found) == 1, found
    return found[0]


# --- The rule --------------------------------------------------------------------------------


def test_a_weekly_series_is_one_entry_at_5_pm_chicago_through_the_spring_change(
    client_user, evening, weekly_type
):
    spring = datetime(2027, 2, 1, 9, tzinfo=evening.zone)
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2027, 3, 2)), spring, count=4
    )
    ics = series_calendar(booked.series)
    calendar, master, overrides = parsed(ics)
    assert overrides == []
    assert [str(each["TZID"]) for each in calendar.walk("VTIMEZONE")] == [CHICAGO]
    assert line(ics, "DTSTART") == "DTSTART;TZID=America/Chicago:20270302T170000"
    assert line(ics, "DTEND") == "DTEND;TZID=America/Chicago:20270302T175000"
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;COUNT=4"
    assert str(master["UID"]) == booked.series.calendar_uid
    shown = instances(ics)
    assert shown == live_starts(booked.series)
    assert [each.astimezone(evening.zone).time() for each in shown] == [time(17, 0)] * 4
    # 14 March 2027 moved the clocks: the same 5 PM is an hour earlier in UTC.
    assert [each.astimezone(timezone.UTC).hour for each in shown] == [23, 23, 22, 22]


def test_the_downloaded_file_is_published_and_asks_nobody(client_user, evening, weekly_type, now):
    booked = book_series(client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now)
    calendar, master, _ = parsed(series_calendar(booked.series))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert "ORGANIZER" not in master and "ATTENDEE" not in master
    assert str(master["SUMMARY"]) == "Appointment with Dr. Maya Okafor"
    assert (str(master["STATUS"]), master["SEQUENCE"]) == ("CONFIRMED", 0)


def test_every_other_week_until_a_date_ends_with_until_in_utc(
    client_user, evening, weekly_type, now
):
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 3)),
        now,
        repeat=Repeat.EVERY_2_WEEKS,
        end=SeriesEnd(until=date(2027, 1, 1)),
    )
    ics = series_calendar(booked.series)
    # RFC 5545 3.3.10: with a DTSTART in a zone, UNTIL is in UTC; here the start of the last
    # session, Tue 29 Dec 2026 at 5 PM CST.
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;UNTIL=20261229T230000Z;INTERVAL=2"
    assert instances(ics) == live_starts(booked.series)
    assert len(instances(ics)) == 5


def test_monthly_on_the_second_tuesday(client_user, evening, weekly_type, now):
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 10)),
        now,
        repeat=Repeat.MONTHLY,
        count=4,
    )
    ics = series_calendar(booked.series)
    assert line(ics, "RRULE") == "RRULE:FREQ=MONTHLY;COUNT=4;BYDAY=2TU"
    assert [each.date() for each in instances(ics)] == [
        date(2026, 11, 10),
        date(2026, 12, 8),
        date(2027, 1, 12),
        date(2027, 2, 9),
    ]
    assert instances(ics) == live_starts(booked.series)


def test_an_open_ended_series_repeats_without_end_and_leaves_out_a_date_found_taken(
    client_user, evening, weekly_type, now
):
    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 12, 8))
    )
    series_extend(booked.series, now + timedelta(days=14))
    series = AppointmentSeries.objects.get()
    ics = series_calendar(series)
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY"
    assert line(ics, "EXDATE") == "EXDATE;TZID=America/Chicago:20261208T170000"
    # Up to the last date booked, the calendar shows exactly the booked sessions.
    shown = [each for each in instances(ics, 20) if each.date() <= series.booked_through]
    assert shown == live_starts(series)
    assert series.sessions.count() == 6


# --- Exceptions ------------------------------------------------------------------------------


@pytest.fixture
def weekly(client_user, evening, weekly_type, now) -> AppointmentSeries:
    """Eight Tuesdays at 5 PM from 3 Nov 2026."""
    return book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=8
    ).series


def session_on(series: AppointmentSeries, day: date) -> Appointment:
    return series.sessions.get(occurrence=at(series.provider, day))


def test_a_date_left_out_when_booking_is_an_exdate(client_user, evening, weekly_type, now):
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 11, 17))
    )
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 3)),
        now,
        count=4,
        skip={date(2026, 11, 17)},
    )
    ics = series_calendar(booked.series)
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;COUNT=4"  # COUNT counts the date left out
    assert line(ics, "EXDATE") == "EXDATE;TZID=America/Chicago:20261117T170000"
    assert instances(ics) == live_starts(booked.series)
    assert len(instances(ics)) == 3


def test_a_skipped_date_and_a_cancelled_session_are_exdates(weekly, evening, client_user, now):
    series_skip(series=weekly, actor=evening.user, day=date(2026, 11, 24), now=now)
    appointment_cancel(appointment=session_on(weekly, date(2026, 12, 8)), actor=client_user)
    ics = series_calendar(weekly)
    assert line(ics, "EXDATE") == ("EXDATE;TZID=America/Chicago:20261124T170000,20261208T170000")
    assert instances(ics) == live_starts(weekly)
    assert len(instances(ics)) == 6


def test_a_moved_session_is_an_override_on_its_rule_date(weekly, evening, client_user, now):
    moved = session_on(weekly, date(2026, 11, 10))
    appointment_reschedule(
        appointment=moved,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 11), time(10, 0)),
        now=now,
    )
    weekly.refresh_from_db()
    ics = series_calendar(weekly)
    _, master, overrides = parsed(ics)
    assert "EXDATE" not in master
    assert len(overrides) == 1
    (override,) = overrides
    # RFC 5545 3.8.4.4: the RECURRENCE-ID is the date the rule gave, in the form of DTSTART
    # (a local time with the same TZID).
    assert str(override["UID"]) == weekly.calendar_uid
    override_ics = override.to_ical()
    assert line(override_ics, "RECURRENCE-ID") == (
        "RECURRENCE-ID;TZID=America/Chicago:20261110T170000"
    )
    assert line(override_ics, "DTSTART") == "DTSTART;TZID=America/Chicago:20261111T100000"
    assert override["SEQUENCE"] > master["SEQUENCE"]
    assert instances(ics) == live_starts(weekly)
    assert at(evening, date(2026, 11, 10)) not in instances(ics)


def test_a_moved_session_then_cancelled_is_only_an_exdate(weekly, evening, client_user, now):
    moved = session_on(weekly, date(2026, 11, 10))
    appointment_reschedule(
        appointment=moved,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 11), time(10, 0)),
        now=now,
    )
    appointment_cancel(appointment=moved, actor=client_user, now=now)
    ics = series_calendar(weekly)
    assert parsed(ics)[2] == []
    assert line(ics, "EXDATE") == "EXDATE;TZID=America/Chicago:20261110T170000"
    assert instances(ics) == live_starts(weekly)


def test_ended_from_a_date_ends_with_until_just_before_it(weekly, evening, now):
    series_end(series=weekly, actor=evening.user, from_day=date(2026, 11, 24), now=now)
    weekly.refresh_from_db()
    ics = series_calendar(weekly)
    _, master, _ = parsed(ics)
    # Until the start of the last session kept, Tue 17 Nov at 5 PM CST: no COUNT any more.
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;UNTIL=20261117T230000Z"
    assert instances(ics) == live_starts(weekly)
    assert [each.date() for each in instances(ics)] == [
        date(2026, 11, 3),
        date(2026, 11, 10),
        date(2026, 11, 17),
    ]
    assert (str(master["STATUS"]), master["SEQUENCE"]) == ("CONFIRMED", 1)


def test_a_client_ending_with_a_session_the_policy_keeps_leaves_it_in_the_calendar(
    client_user, evening, weekly_type
):
    from tests.factories import PolicyFactory

    PolicyFactory(
        provider=evening,
        appointment_type=weekly_type,
        cancel_notice=timedelta(hours=24),
        late_cancel="refuse",
        grace_period=timedelta(0),
    )
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 3)),
        at(evening, date(2026, 11, 1)),
        count=4,
    )
    night_before = at(evening, date(2026, 11, 2), time(20, 0))
    series_cancel_following(appointment=booked.sessions[0], actor=client_user, now=night_before)
    series = AppointmentSeries.objects.get()
    ics = series_calendar(series)
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;UNTIL=20261103T230000Z"
    assert instances(ics) == live_starts(series) == [booked.sessions[0].start]


def test_ended_from_its_start_the_series_is_cancelled(weekly, evening, client_user, now):
    series_cancel_following(
        appointment=session_on(weekly, date(2026, 11, 3)), actor=client_user, now=now
    )
    weekly.refresh_from_db()
    emailed = series_calendar(weekly, method="REQUEST", attendee=client_user.email)
    calendar, master, overrides = parsed(emailed)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert (str(master["STATUS"]), master["SEQUENCE"]) == ("CANCELLED", 1)
    assert str(master["UID"]) == weekly.calendar_uid
    assert overrides == []
    downloaded = Calendar.from_ical(series_calendar(weekly))
    assert str(downloaded["METHOD"]) == "PUBLISH"
    assert str(downloaded.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_a_changed_time_splits_the_series_in_two_files(weekly, evening, now):
    series_skip(series=weekly, actor=evening.user, day=date(2026, 11, 24), now=now)
    new = series_change_time(
        series=weekly,
        actor=evening.user,
        from_day=date(2026, 12, 1),
        new_first_start=at(evening, date(2026, 12, 3), time(10, 0)),
        now=now,
    )
    weekly.refresh_from_db()
    old_ics, new_ics = series_calendar(weekly), series_calendar(new)
    assert parsed(old_ics)[1]["UID"] != parsed(new_ics)[1]["UID"]
    # The last date before the change, 24 Nov, is skipped: UNTIL reaches it, EXDATE takes it out.
    assert line(old_ics, "RRULE") == "RRULE:FREQ=WEEKLY;UNTIL=20261124T230000Z"
    assert line(old_ics, "EXDATE") == "EXDATE;TZID=America/Chicago:20261124T170000"
    assert line(new_ics, "DTSTART") == "DTSTART;TZID=America/Chicago:20261203T100000"
    assert line(new_ics, "RRULE") == "RRULE:FREQ=WEEKLY;COUNT=4"
    assert instances(old_ics) == live_starts(weekly)
    assert instances(new_ics) == live_starts(new)
    assert len(instances(old_ics) + instances(new_ics)) == 7


# --- Sequence --------------------------------------------------------------------------------


def sequences(ics: bytes) -> dict:
    _, master, overrides = parsed(ics)
    found = {None: master["SEQUENCE"]}
    found |= {each.decoded("RECURRENCE-ID"): each["SEQUENCE"] for each in overrides}
    return found


def test_every_file_a_change_sends_outranks_the_ones_before_it(weekly, evening, client_user, now):
    """RFC 5546: a calendar applies a component only when its SEQUENCE rises."""
    second = session_on(weekly, date(2026, 11, 10))
    occurrence = second.occurrence
    booked = sequences(series_calendar(weekly))
    appointment_reschedule(
        appointment=second,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 11), time(10, 0)),
        now=now,
    )
    second.refresh_from_db()
    first_move = Calendar.from_ical(appointment_calendar(second)).walk("VEVENT")[0]["SEQUENCE"]
    assert first_move > booked[None]
    series_end(series=weekly, actor=evening.user, from_day=date(2026, 12, 15), now=now)
    weekly.refresh_from_db()
    ended = sequences(series_calendar(weekly))
    assert ended[None] > booked[None]
    assert ended[occurrence] > first_move
    appointment_reschedule(
        appointment=second,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 12), time(10, 0)),
        now=now,
    )
    second.refresh_from_db()
    second_move = Calendar.from_ical(appointment_calendar(second)).walk("VEVENT")[0]
    assert second_move["SEQUENCE"] > ended[occurrence]


# --- One session's own file ------------------------------------------------------------------


def test_one_sessions_file_is_its_date_of_the_series(weekly, evening, client_user, now):
    session = session_on(weekly, date(2026, 11, 17))
    appointment_cancel(appointment=session, actor=client_user, now=now)
    session.refresh_from_db()
    ics = appointment_calendar(session, method="CANCEL", attendee=client_user.email)
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == weekly.calendar_uid
    assert line(ics, "RECURRENCE-ID") == "RECURRENCE-ID;TZID=America/Chicago:20261117T170000"
    assert str(event["STATUS"]) == "CANCELLED"
    assert [str(each["TZID"]) for each in calendar.walk("VTIMEZONE")] == [CHICAGO]


def test_a_single_appointments_file_is_as_it_was(client_user, evening, weekly_type, now):
    single = AppointmentFactory(
        provider=evening,
        client=client_user,
        appointment_type=weekly_type,
        start=at(evening, date(2026, 11, 4)),
    )
    single.refresh_from_db()
    ics = appointment_calendar(single)
    assert line(ics, "DTSTART") == "DTSTART:20261104T230000Z"
    assert line(ics, "UID") == f"UID:{single.calendar_uid}"
    assert "RECURRENCE-ID" not in ics.decode() and "VTIMEZONE" not in ics.decode()


# --- RFC 5545 3.8.5.3, the examples in New York from Tue 2 Sep 1997, 9 AM ----------------------


@pytest.fixture
def new_york(evening):
    evening.time_zone = "America/New_York"
    evening.save()
    return evening


def rfc_series(client_user, provider, kind, first: date, **options) -> AppointmentSeries:
    booked = book_series(
        client_user,
        provider,
        kind,
        datetime.combine(first, time(9, 0), tzinfo=provider.zone),
        datetime(1997, 8, 1, 9, tzinfo=provider.zone),
        **options,
    )
    return booked.series


def days(ics: bytes, upto: int = 200) -> list[date]:
    shown = instances(ics, upto)
    assert {each.time() for each in shown} == {time(9, 0)}  # 9 AM EDT and EST alike
    return [each.date() for each in shown]


def on(year: int, *month_days: tuple[int, int]) -> list[date]:
    return [date(year, month, day) for month, day in month_days]


RFC_EXAMPLES = {
    # Weekly for 10 occurrences: RRULE:FREQ=WEEKLY;COUNT=10
    # ==> (1997 9:00 AM EDT) September 2,9,16,23,30;October 7,14,21
    #     (1997 9:00 AM EST) October 28;November 4
    "weekly for 10 occurrences": (
        date(1997, 9, 2),
        {"count": 10},
        "FREQ=WEEKLY;COUNT=10",
        on(1997, (9, 2), (9, 9), (9, 16), (9, 23), (9, 30), (10, 7), (10, 14), (10, 21))
        + on(1997, (10, 28), (11, 4)),
    ),
    # Every other week - forever: RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU (WKST changes nothing
    # without BYDAY)
    # ==> (1997 9:00 AM EDT) September 2,16,30;October 14
    #     (1997 9:00 AM EST) October 28;November 11,25;December 9,23
    #     (1998 9:00 AM EST) January 6,20;February 3,17
    "every other week forever": (
        date(1997, 9, 2),
        {"repeat": Repeat.EVERY_2_WEEKS, "end": SeriesEnd()},
        "FREQ=WEEKLY;INTERVAL=2",
        on(1997, (9, 2), (9, 16), (9, 30), (10, 14), (10, 28), (11, 11), (11, 25), (12, 9))
        + on(1997, (12, 23))
        + on(1998, (1, 6), (1, 20), (2, 3), (2, 17)),
    ),
    # Monthly on the first Friday for 10 occurrences: RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=1FR
    # ==> (1997 9:00 AM EDT) September 5;October 3
    #     (1997 9:00 AM EST) November 7;December 5
    #     (1998 9:00 AM EST) January 2;February 6;March 6;April 3
    #     (1998 9:00 AM EDT) May 1;June 5
    "monthly on the first friday": (
        date(1997, 9, 5),
        {"repeat": Repeat.MONTHLY, "count": 10},
        "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
        on(1997, (9, 5), (10, 3), (11, 7), (12, 5))
        + on(1998, (1, 2), (2, 6), (3, 6), (4, 3), (5, 1), (6, 5)),
    ),
    # A fifth Tuesday, which most months lack, repeats as the month's last, as the RFC's
    # "monthly on the last Sunday" does with -1SU.
    "monthly on the last tuesday": (
        date(1997, 9, 30),
        {"repeat": Repeat.MONTHLY, "count": 4},
        "FREQ=MONTHLY;COUNT=4;BYDAY=-1TU",
        on(1997, (9, 30), (10, 28), (11, 25), (12, 30)),
    ),
}


@pytest.mark.parametrize("example", RFC_EXAMPLES)
def test_the_rfc_examples_repeat_as_the_rfc_lists(client_user, new_york, weekly_type, example):
    first, options, rule, expected = RFC_EXAMPLES[example]
    new_york.horizon_days = 90 if "end" in options else 400
    new_york.save()
    series = rfc_series(client_user, new_york, weekly_type, first, **options)
    ics = series_calendar(series)
    assert line(ics, "DTSTART") == f"DTSTART;TZID=America/New_York:{first:%Y%m%d}T090000"
    assert line(ics, "RRULE") == f"RRULE:{rule}"
    assert days(ics, len(expected)) == expected


def test_rfc_until_is_utc_and_the_last_date_is_in_the_set(client_user, new_york, weekly_type):
    """RFC 5545 3.3.10: UNTIL bounds the set inclusively, in UTC when DTSTART has a zone."""
    series = rfc_series(
        client_user,
        new_york,
        weekly_type,
        date(1997, 9, 2),
        repeat=Repeat.EVERY_2_WEEKS,
        end=SeriesEnd(until=date(1997, 12, 24)),
    )
    ics = series_calendar(series)
    # Tue 23 Dec 1997, 9 AM EST is 14:00 UTC.
    assert line(ics, "RRULE") == "RRULE:FREQ=WEEKLY;UNTIL=19971223T140000Z;INTERVAL=2"
    assert days(ics)[-1] == date(1997, 12, 23)
    assert len(days(ics)) == 9
    _, master, _ = parsed(ics)
    # dateutil refuses an UNTIL that is not UTC with a DTSTART in a zone, as the RFC requires.
    naive = master["RRULE"].to_ical().decode().replace("Z", "")
    with pytest.raises(ValueError, match="UTC"):
        rrulestr(naive, dtstart=master.decoded("DTSTART"))


# --- The download ----------------------------------------------------------------------------


def test_the_client_downloads_their_series(signed_in, weekly):
    response = signed_in.get(reverse("appointments:series-calendar", args=[weekly.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar"
    assert f'filename="series-{weekly.pk}.ics"' in response["Content-Disposition"]
    assert instances(response.content) == live_starts(weekly)


@pytest.mark.parametrize("who", ["stranger", "provider"])
def test_anyone_but_the_client_gets_404_for_a_series(client, weekly, evening, who):
    client.force_login(UserFactory() if who == "stranger" else evening.user)
    response = client.get(reverse("appointments:series-calendar", args=[weekly.pk]))
    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in_for_a_series(client, weekly):
    url = reverse("appointments:series-calendar", args=[weekly.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("sign-in") in response["Location"]


def test_posting_to_the_series_download_is_405(signed_in, weekly):
    response = signed_in.post(reverse("appointments:series-calendar", args=[weekly.pk]))
    assert response.status_code == 405
