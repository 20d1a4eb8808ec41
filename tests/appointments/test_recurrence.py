"""
The dates and instants of a recurring series, as pure functions: a rule and a wall-clock time
in, dates and UTC instants out, over zones whose clocks change in the small hours and at
midnight. The calendar file's RRULE, expanded by a calendar library (python-dateutil), must
give the very same sessions, or a calendar would show the series apart from the portal.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import example, given
from hypothesis import strategies as st

from appointments.models import AppointmentSeries
from appointments.recurrence import (
    MAX_SESSIONS,
    MIN_SESSIONS,
    WEEKS_APART,
    Repeat,
    Rule,
    occurrence,
    rule_dates,
)
from tests.appointments.test_slots import DST_ZONES, EXTRA_ZONES, quarter_hours, transitions

CHICAGO = ZoneInfo("America/Chicago")
# The slot engine's zones, and two more a series meets: São Paulo moved its clocks at midnight
# until 2019 (so the years drawn reach back), and the zone of the examples in this file.
SERIES_ZONES = [*DST_ZONES, *EXTRA_ZONES, "America/Sao_Paulo", "America/Chicago"]
FIRST_YEAR, LAST_YEAR = 2012, 2030
# Clocks change between midnight and 03:00 in these zones: times drawn there meet the gaps.
small_hours = quarter_hours.filter(lambda at: at < time(3, 30))


def wall(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Every instant at which the clock in `zone` shows `day` `at`: none, one or two."""
    naive = datetime.combine(day, at)
    found = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            found.add(instant)
    return sorted(found)


@st.composite
def series_rules(draw):
    """
    A zone, a first date, a wall-clock time, a rule and an end. Half the time the first date is
    a whole number of weeks before one of the zone's clock changes and the time is in the small
    hours, so the sessions land on the change, in its gap or its repeated hour.
    """
    name = draw(st.sampled_from(SERIES_ZONES))
    zone = ZoneInfo(name)
    changes = transitions(zone, draw(st.integers(FIRST_YEAR, LAST_YEAR)))
    if changes and draw(st.booleans()):
        first = draw(st.sampled_from(changes)) - timedelta(weeks=draw(st.integers(0, 8)))
        at = draw(small_hours)
    else:
        first = draw(st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31)))
        at = draw(quarter_hours)
    repeat = draw(st.sampled_from(Repeat.values))
    if draw(st.booleans()):
        count, until = draw(st.integers(MIN_SESSIONS, MAX_SESSIONS)), None
    else:
        count, until = None, first + timedelta(days=draw(st.integers(1, 3 * 366)))
    return zone, first, at, repeat, count, until


def nth(day: date) -> int:
    """Which of its month's weekdays `day` is, 1 to 4, or -1 for a fifth (the month's last)."""
    n = (day.day - 1) // 7 + 1
    return -1 if n == 5 else n


@given(series_rules())
def test_the_dates_keep_the_rule_its_weekday_and_its_end(rule):
    _zone, first, _at, repeat, count, until = rule
    dates = rule_dates(first, repeat, count=count, until=until)
    assert dates[0] == first
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False)), "strictly increasing"
    assert {day.weekday() for day in dates} == {first.weekday()}, "the weekday is kept"
    if count is not None:
        assert len(dates) == count
    else:
        assert dates[-1] <= until
        following = rule_dates(first, repeat, count=len(dates) + 1)[-1]
        assert following > until, "no date within the end is left out"
    if repeat == Repeat.MONTHLY:
        months = [day.year * 12 + day.month for day in dates]
        assert months == list(range(months[0], months[0] + len(dates))), "one a month"
        n = nth(first)
        for day in dates:
            if n == -1:
                assert (day + timedelta(weeks=1)).month != day.month, "the month's last"
            else:
                assert (day.day - 1) // 7 + 1 == n, "the same n-th weekday"
    else:
        step = timedelta(weeks=WEEKS_APART[Repeat(repeat)])
        assert all(b - a == step for a, b in zip(dates, dates[1:], strict=False))


@given(series_rules())
@example((ZoneInfo("America/Santiago"), date(2026, 8, 30), time(0, 30), Repeat.WEEKLY, 3, None))
@example((ZoneInfo("America/Havana"), date(2026, 3, 1), time(0, 15), Repeat.WEEKLY, 3, None))
@example((ZoneInfo("America/Sao_Paulo"), date(2018, 10, 21), time(0, 0), Repeat.WEEKLY, 3, None))
@example((ZoneInfo("America/Chicago"), date(2026, 3, 1), time(2, 30), Repeat.WEEKLY, 2, None))
def test_every_session_is_at_the_series_wall_clock_time_and_the_instants_increase(rule):
    zone, first, at, repeat, count, until = rule
    dates = rule_dates(first, repeat, count=count, until=until)
    instants = [occurrence(day, at, zone) for day in dates]
    assert all(a < b for a, b in zip(instants, instants[1:], strict=False)), "increasing"
    for day, instant in zip(dates, instants, strict=True):
        assert instant.tzinfo == UTC
        local = instant.astimezone(zone)
        assert local.date() == day, "on its own date"
        shown = wall(day, at, zone)
        if shown:
            # The clock shows the time once, or twice as it goes back: the first of them.
            assert instant == shown[0]
            continue
        # The clock skips the time that day: RFC 5545 reads it with the UTC offset in force
        # before the gap, so the session is as far after the gap as the time was into it, and
        # a calendar that reads the RRULE puts it at the same instant.
        before = (instant - timedelta(days=1)).astimezone(zone).utcoffset()
        assert instant == datetime.combine(day, at, tzinfo=UTC) - before
        assert local.time() > at, "after the gap"


@given(series_rules())
@example((ZoneInfo("America/Chicago"), date(2026, 3, 1), time(2, 30), Repeat.WEEKLY, 2, None))
def test_the_calendar_files_rrule_expands_to_the_same_sessions(rule):
    zone, first, at, repeat, count, until = rule
    dates = rule_dates(first, repeat, count=count, until=until)
    instants = [occurrence(day, at, zone) for day in dates]
    # What the calendar file carries: DTSTART in the series' zone, and the RRULE whose UNTIL is
    # the start of the last session in UTC.
    parts = Rule(repeat, first, count=count, until=until).rrule(
        until_instant=instants[-1] if until is not None else None
    )
    text = icalendar.vRecur(parts).to_ical().decode()
    expanded = list(rrulestr(text, dtstart=datetime.combine(first, at, tzinfo=zone)))
    assert [each.date() for each in expanded] == dates
    assert [each.astimezone(UTC) for each in expanded] == instants


def unsaved_series(zone, first, at, repeat, count, until, **fields) -> AppointmentSeries:
    return AppointmentSeries(
        time_zone=zone.key,
        first_date=first,
        start_time=at,
        repeat=repeat,
        count=count,
        until=until,
        **fields,
    )


@given(series_rules(), st.integers(0, MAX_SESSIONS), st.integers(0, MAX_SESSIONS))
def test_a_series_reads_its_dates_and_instants_from_the_rule(rule, cut, reach):
    zone, first, at, repeat, count, until = rule
    every = rule_dates(first, repeat, count=count, until=until)
    series = unsaved_series(zone, first, at, repeat, count, until)
    assert series.dates() == every
    assert [series.occurrence(day) for day in every] == [occurrence(day, at, zone) for day in every]
    after = every[min(cut, len(every) - 1)]
    through = every[min(reach, len(every) - 1)]
    assert series.dates(after=after, through=through) == [
        day for day in every if after < day <= through
    ]
    # Ended from a date: nothing on or after it, everything before it.
    stopped = every[min(cut, len(every) - 1)]
    series.stopped_from = stopped
    assert series.dates() == [day for day in every if day < stopped]
    assert series.last_date == (series.dates()[-1] if series.dates() else None)


@given(series_rules())
def test_an_open_ended_series_is_read_up_to_a_date(rule):
    zone, first, at, repeat, _count, _until = rule
    series = unsaved_series(zone, first, at, repeat, None, None)
    with pytest.raises(ValueError):
        series.dates()
    through = first + timedelta(weeks=30)
    assert series.dates(through=through) == rule_dates(first, repeat, through=through)
    assert series.dates(through=through) == rule_dates(first, repeat, until=through)


# --- Examples ------------------------------------------------------------------------------


def weekly_tuesdays_at_5pm() -> list[datetime]:
    """Tuesdays at 5 PM in Chicago from 3 March to 10 November 2026: both clock changes."""
    dates = rule_dates(date(2026, 3, 3), Repeat.WEEKLY, until=date(2026, 11, 10))
    return [occurrence(day, time(17), CHICAGO) for day in dates]


def test_5pm_tuesday_in_chicago_stays_5pm_in_chicago_through_both_changes():
    sessions = weekly_tuesdays_at_5pm()
    assert len(sessions) == 37
    assert {s.astimezone(CHICAGO).time() for s in sessions} == {time(17)}
    assert {s.astimezone(CHICAGO).weekday() for s in sessions} == {1}


def shown(sessions: list[datetime], zone: str, *days: date) -> list[str]:
    picked = [s for s in sessions if s.astimezone(CHICAGO).date() in days]
    return [f"{s.astimezone(ZoneInfo(zone)):%a %d %b %H:%M %Z}" for s in picked]


def test_a_viewer_in_utc_sees_it_an_hour_earlier_while_chicago_keeps_summer_time():
    # Chicago moves its clocks on 8 March and 1 November 2026.
    sessions = weekly_tuesdays_at_5pm()
    days = (date(2026, 3, 3), date(2026, 3, 10), date(2026, 10, 27), date(2026, 11, 3))
    assert shown(sessions, "UTC", *days) == [
        "Tue 03 Mar 23:00 UTC",
        "Tue 10 Mar 22:00 UTC",
        "Tue 27 Oct 22:00 UTC",
        "Tue 03 Nov 23:00 UTC",
    ]


def test_a_viewer_in_berlin_sees_it_move_with_both_zones_changes():
    # Berlin moves its clocks on 29 March and 25 October 2026, weeks after and before Chicago:
    # between the two changes it sees the session an hour earlier on its clock.
    sessions = weekly_tuesdays_at_5pm()
    days = (
        date(2026, 3, 3),
        date(2026, 3, 10),
        date(2026, 3, 31),
        date(2026, 10, 27),
        date(2026, 11, 3),
    )
    assert shown(sessions, "Europe/Berlin", *days) == [
        "Wed 04 Mar 00:00 CET",
        "Tue 10 Mar 23:00 CET",
        "Wed 01 Apr 00:00 CEST",
        "Tue 27 Oct 23:00 CET",
        "Wed 04 Nov 00:00 CET",
    ]


def test_rfc_5545s_own_examples_of_a_time_the_clock_skips_and_shows_twice():
    # RFC 5545, 3.3.5: 02:30 on 11 March 2007 in New York is 3:30 AM EDT; 01:30 on 4 November
    # 2007 is the first 1:30, EDT.
    new_york = ZoneInfo("America/New_York")
    skipped = occurrence(date(2007, 3, 11), time(2, 30), new_york).astimezone(new_york)
    assert f"{skipped:%H:%M %Z}" == "03:30 EDT"
    twice = occurrence(date(2007, 11, 4), time(1, 30), new_york).astimezone(new_york)
    assert f"{twice:%H:%M %Z}" == "01:30 EDT"


@pytest.mark.parametrize(
    ("zone", "sunday", "at", "expected"),
    [
        # Santiago: Saturday 24:00 becomes Sunday 01:00.
        ("America/Santiago", date(2026, 9, 6), time(0, 30), "Sun 01:30 -03"),
        # Havana: Sunday 00:00 becomes 01:00.
        ("America/Havana", date(2026, 3, 8), time(0, 15), "Sun 01:15 CDT"),
        # São Paulo, 2018: Sunday 00:00 became 01:00.
        ("America/Sao_Paulo", date(2018, 11, 4), time(0, 0), "Sun 01:00 -02"),
        # Beirut, 2020: Sunday 00:00 became 01:00.
        ("Asia/Beirut", date(2020, 3, 29), time(0, 45), "Sun 01:45 EEST"),
    ],
)
def test_a_sunday_session_in_a_midnight_gap_stays_on_sunday(zone, sunday, at, expected):
    local_zone = ZoneInfo(zone)
    dates = rule_dates(sunday - timedelta(weeks=1), Repeat.WEEKLY, count=3)
    local = [occurrence(day, at, local_zone).astimezone(local_zone) for day in dates]
    assert [f"{each:%a %H:%M}" for each in local[::2]] == [f"Sun {at:%H:%M}"] * 2
    assert f"{local[1]:%a %H:%M %Z}" == expected


def test_the_rfc_5545_rule_examples_give_the_same_dates():
    # RFC 5545, 3.8.5.3, DTSTART;TZID=America/New_York at 09:00.
    weekly = rule_dates(date(1997, 9, 2), Repeat.WEEKLY, count=10)
    assert weekly[-2:] == [date(1997, 10, 28), date(1997, 11, 4)]  # FREQ=WEEKLY;COUNT=10
    every_other = rule_dates(date(1997, 9, 2), Repeat.EVERY_2_WEEKS, until=date(1998, 2, 17))
    assert [f"{day:%b %d}" for day in every_other] == [
        "Sep 02", "Sep 16", "Sep 30", "Oct 14", "Oct 28", "Nov 11", "Nov 25", "Dec 09",
        "Dec 23", "Jan 06", "Jan 20", "Feb 03", "Feb 17",
    ]  # fmt: skip
    first_fridays = Rule(Repeat.MONTHLY, date(1997, 9, 5), count=10)
    assert first_fridays.rrule() == {"freq": "MONTHLY", "byday": "1FR", "count": 10}
    assert [f"{day:%b %d}" for day in rule_dates(date(1997, 9, 5), Repeat.MONTHLY, count=10)] == [
        "Sep 05", "Oct 03", "Nov 07", "Dec 05", "Jan 02", "Feb 06", "Mar 06", "Apr 03",
        "May 01", "Jun 05",
    ]  # fmt: skip
    until = rule_dates(date(1997, 9, 5), Repeat.MONTHLY, until=date(1997, 12, 24))
    assert until == [date(1997, 9, 5), date(1997, 10, 3), date(1997, 11, 7), date(1997, 12, 5)]
    nine = [occurrence(day, time(9), ZoneInfo("America/New_York")) for day in weekly]
    assert {f"{s.astimezone(ZoneInfo('America/New_York')):%H:%M}" for s in nine} == {"09:00"}
    assert [s.hour for s in nine[-3:]] == [13, 14, 14]  # EDT, then EST from 26 October
