"""The portal's own date formatter writes exactly what Django's `date` filter would."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation
from hypothesis import given
from hypothesis import strategies as st

from portal.formatting import dated_time_range, format_date, time_range, when

PATTERNS = [
    "D j M, g:i A (T)",
    "M|j|D|l j F|g:i A|T",
    "g:i A",
    "l j F, g:i A",
    "Y-m-d|D|j M",
    "D j M, g:i A",
]
ZONES = ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def djangos(local: datetime, pattern: str) -> str:
    """
    Django's formatter, except in the hour the clocks go back: there Django writes no zone
    at all, and the portal names it (EDT, then EST), the one hour when it matters most.
    """
    if "T" in pattern and dateformat.format(local, "T") == "":
        pattern = pattern.replace("T", "".join(f"\\{char}" for char in local.tzname()))
    return dateformat.format(local, pattern)


@given(instant=instants, zone=st.sampled_from(ZONES), pattern=st.sampled_from(PATTERNS))
def test_it_writes_what_djangos_formatter_writes(instant, zone, pattern):
    local = instant.astimezone(ZoneInfo(zone))
    assert format_date(local, pattern) == djangos(local, pattern)


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_every_hour_of_a_day_the_clocks_change_reads_the_same(day):
    zone = ZoneInfo("America/New_York")
    for quarter in range(4 * 26):
        instant = datetime(day.year, day.month, day.day, 4, 5, tzinfo=UTC)
        local = (instant + timedelta(minutes=15 * quarter)).astimezone(zone)
        assert format_date(local, "g:i A T") == djangos(local, "g:i A T")


def test_days_are_written_without_a_time():
    assert format_date(date(2026, 12, 1), "Y-m-d|D|j M") == "2026-12-01|Tue|1 Dec"


def test_the_hour_the_clocks_go_back_is_told_apart_by_its_zone():
    zone = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert when(first, zone) == "Sun 1 Nov, 1:30 AM (EDT)"
    assert when(first + timedelta(hours=1), zone) == "Sun 1 Nov, 1:30 AM (EST)"


def test_letters_it_does_not_know_go_to_djangos_formatter():
    local = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert format_date(local, "N jS \\o\\f F") == dateformat.format(local, "N jS \\o\\f F")


def test_it_speaks_the_active_language():
    local = datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with translation.override("de"):
        assert format_date(local, "l j F") == dateformat.format(local, "l j F")


# Ranges around midnight, each in the zone it is shown in: (zone, local start, minutes, text).
# DST days: New York springs forward at 2:00 AM; Santiago and Havana move their clocks at
# midnight, so a day there can start at 1:00 AM, or have 12:00 to 1:00 AM twice.
RANGES = [
    ("America/Chicago", datetime(2026, 12, 3, 23, 30), 50, "11:30 PM – 12:20 AM (next day)"),
    ("America/Chicago", datetime(2026, 12, 3, 22, 30), 50, "10:30 PM – 11:20 PM"),
    ("America/Chicago", datetime(2026, 12, 3, 23, 10), 50, "11:10 PM – 12:00 AM (next day)"),
    ("America/Chicago", datetime(2026, 12, 4, 0, 0), 50, "12:00 AM – 12:50 AM"),
    ("Asia/Kolkata", datetime(2026, 12, 3, 23, 45), 30, "11:45 PM – 12:15 AM (next day)"),
    ("Pacific/Chatham", datetime(2026, 12, 3, 23, 15), 60, "11:15 PM – 12:15 AM (next day)"),
    ("UTC", datetime(2026, 12, 31, 23, 30), 50, "11:30 PM – 12:20 AM (next day)"),
    ("America/New_York", datetime(2026, 3, 7, 23, 30), 50, "11:30 PM – 12:20 AM (next day)"),
    ("America/New_York", datetime(2026, 3, 8, 1, 30), 50, "1:30 AM EST – 3:20 AM EDT"),
    ("America/Santiago", datetime(2026, 9, 5, 23, 30), 50, "11:30 PM -04 – 1:20 AM -03 (next day)"),
    ("America/Santiago", datetime(2026, 4, 4, 23, 30), 50, "11:30 PM -03 – 11:20 PM -04"),
    ("America/Havana", datetime(2026, 3, 7, 23, 30), 50, "11:30 PM CST – 1:20 AM CDT (next day)"),
    ("America/Chicago", datetime(2026, 12, 3, 23, 30), 26 * 60, "11:30 PM – Sat 5 Dec, 1:30 AM"),
]


@pytest.mark.parametrize(("zone", "local", "length", "text"), RANGES)
def test_a_time_range_says_when_it_ends_on_another_day(zone, local, length, text):
    start = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    end = start + timedelta(minutes=length)
    assert time_range(start, end, ZoneInfo(zone)) == text


@given(instant=instants, zone=st.sampled_from(ZONES), length=st.integers(5, 6 * 60))
def test_a_range_names_another_day_exactly_when_it_ends_on_one(instant, zone, length):
    local = ZoneInfo(zone)
    end = instant + timedelta(minutes=length)
    text = time_range(instant, end, local)
    other_day = end.astimezone(local).date() != instant.astimezone(local).date()
    assert ("(next day)" in text or ", " in text) == other_day
    if end.astimezone(local).utcoffset() != instant.astimezone(local).utcoffset():
        assert text.count(" – ") == 1 and all(part.count(" ") >= 2 for part in text.split(" – "))


@pytest.mark.parametrize(
    ("start", "end", "zone", "expected"),
    [
        (
            "2026-11-25T16:00Z",
            "2026-11-25T16:50Z",
            "America/Chicago",
            "Wed 25 Nov 2026, 10:00 AM – 10:50 AM CST",
        ),
        (
            "2026-11-26T05:30Z",
            "2026-11-26T06:20Z",
            "America/Chicago",
            "Wed 25 Nov 2026, 11:30 PM – 12:20 AM CST (next day)",
        ),
        (
            "2026-03-08T07:30Z",
            "2026-03-08T08:20Z",
            "America/Chicago",
            "Sun 8 Mar 2026, 1:30 AM CST – 3:20 AM CDT",
        ),
        (
            "2026-11-25T10:30Z",
            "2026-11-25T11:20Z",
            "Pacific/Auckland",
            "Wed 25 Nov 2026, 11:30 PM – 12:20 AM NZDT (next day)",
        ),
    ],
)
def test_a_dated_range_names_its_day_and_zone(start, end, zone, expected):
    assert (
        dated_time_range(datetime.fromisoformat(start), datetime.fromisoformat(end), ZoneInfo(zone))
        == expected
    )
