"""The readers of untrusted ids and instants: every view, form and command goes through them."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.inputs import (
    EARLIEST_INSTANT,
    LATEST_INSTANT,
    id_param,
    parse_id,
    parse_instant,
)

# --- Ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), ("9" * 18, 10**18 - 1)])
def test_an_id_is_ascii_digits(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "²",  # str.isdigit() says yes; int() refuses it
        "١٢",  # Arabic-Indic digits: isdigit() and int() both accept them
        "１２",  # fullwidth digits, the same
        "-1",
        "+1",
        " 1",
        "1\n",
        "1_000",
        "0x10",
        "9" * 19,  # more than a 64-bit column holds
        "abc",
    ],
)
def test_anything_else_is_not_an_id(raw):
    assert parse_id(raw) is None


def test_a_query_parameter_is_read_with_the_same_parser():
    from django.http import QueryDict

    query = QueryDict("after=12&before=%C2%B2")
    assert id_param(query, "after") == 12
    assert id_param(query, "before") is None
    assert id_param(query, "missing") is None


@given(st.text(max_size=30))
def test_no_text_makes_the_id_parser_raise_and_what_it_reads_fits_a_bigint(raw):
    value = parse_id(raw)
    assert value is None or 0 <= value < 2**63


# --- Instants -------------------------------------------------------------------------------


def test_an_instant_with_an_offset_becomes_utc():
    assert parse_instant("2026-12-02T09:00:00-05:00") == datetime(2026, 12, 2, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: converting it overflows
        "9999-12-31T23:59:59.999999+00:00",
        "9999-12-31T20:00:00-14:00",  # year 10000 in UTC
        "1969-12-31T23:59:59+00:00",
        "2200-01-01T00:00:00+00:00",
        "2199-12-31T23:00:00-14:00",  # 2200 in UTC
        "1970-01-01T00:00:00+14:00",  # 1969 in UTC
        "2026-12-02T09:00:00",  # no offset: never guessed
        "2026-12-02",
        "tomorrow",
        "",
        "2" * 10_000,
    ],
)
def test_instants_outside_the_range_or_without_an_offset_are_refused(raw):
    assert parse_instant(raw) is None


def test_the_range_ends_are_inclusive_then_exclusive():
    assert parse_instant("1970-01-01T00:00:00+00:00") == EARLIEST_INSTANT
    last = LATEST_INSTANT - timedelta(microseconds=1)
    assert parse_instant(last.isoformat()) == last


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(None)
    ),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
def test_any_instant_with_any_offset_reads_without_raising_and_stays_in_range(naive, minutes):
    text = naive.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()
    value = parse_instant(text)
    if value is not None:
        assert EARLIEST_INSTANT <= value < LATEST_INSTANT


@given(st.text(max_size=45))
def test_no_text_makes_the_instant_parser_raise(raw):
    parse_instant(raw)


ZONES = sorted(available_timezones() - {"Factory", "localtime"})


def test_an_instant_the_parser_accepts_can_be_shown_and_moved_in_every_zone():
    """The range leaves room: the longest horizon or notice (two years) either side, anywhere."""
    year = timedelta(days=366)
    for edge in (EARLIEST_INSTANT, LATEST_INSTANT - timedelta(microseconds=1)):
        for name in ZONES:
            zone = ZoneInfo(name)
            for moved in (edge - 2 * year, edge + 2 * year):
                moved.astimezone(zone)
