"""The slot engine, as a pure function: wall-clock hours in, UTC instants out."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.slots import BookingRules, Hours, bookable_starts, local_instant

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def slots(
    *,
    zone=NEW_YORK,
    weekly=None,
    overrides=None,
    busy=(),
    client_busy=(),
    duration=timedelta(minutes=60),
    now=NOW,
    start=None,
    end=None,
    **rules,
):
    weekly = weekly if weekly is not None else {d: [Hours(time(9), time(12))] for d in range(7)}
    return bookable_starts(
        rules=BookingRules(**rules),
        zone=zone,
        weekly=weekly,
        overrides=overrides or {},
        busy=busy,
        client_busy=client_busy,
        duration=duration,
        now=now,
        window_start=start or now,
        window_end=end or now + timedelta(days=60),
    )


def on_day(found, day, zone=NEW_YORK) -> list[str]:
    return [f"{s.astimezone(zone):%H:%M}" for s in found if s.astimezone(zone).date() == day]


def test_it_steps_through_the_hours_on_the_local_clock():
    found = slots()
    assert on_day(found, MONDAY) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(s.tzinfo == UTC for s in found)


def test_several_ranges_in_a_day():
    weekly = {0: [Hours(time(9), time(10)), Hours(time(14), time(15, 30))]}
    assert on_day(slots(weekly=weekly), MONDAY) == ["09:00", "14:00", "14:30"]


def test_a_slot_must_end_by_the_end_of_its_range():
    weekly = {0: [Hours(time(9), time(10, 59))]}
    assert on_day(slots(weekly=weekly), MONDAY) == ["09:00", "09:30"]


def test_a_day_off_override_removes_the_weekly_hours():
    assert on_day(slots(overrides={MONDAY: []}), MONDAY) == []
    assert on_day(slots(overrides={MONDAY: []}), MONDAY + timedelta(days=1)) != []


def test_an_override_with_hours_replaces_the_weekly_ones():
    found = slots(overrides={MONDAY: [Hours(time(15), time(16))]})
    assert on_day(found, MONDAY) == ["15:00"]


def test_busy_times_block_overlapping_slots_but_not_touching_ones():
    busy = [(utc(2026, 12, 7, 15), utc(2026, 12, 7, 16))]  # 10:00-11:00 in New York
    assert on_day(slots(busy=busy), MONDAY) == ["09:00", "11:00"]


def test_buffers_widen_busy_times():
    busy = [(utc(2026, 12, 7, 15), utc(2026, 12, 7, 16))]
    found = slots(busy=busy, buffer_before=timedelta(minutes=30))
    # 11:00 would start right after the busy hour, inside its 30-minute buffer.
    assert on_day(found, MONDAY) == ["09:00"]
    found = slots(busy=busy, buffer_after=timedelta(minutes=30))
    # 09:00-10:00 would end right as the busy hour starts, leaving no buffer after it.
    assert on_day(found, MONDAY) == ["11:00"]


def test_the_clients_own_appointments_block_without_buffers():
    client_busy = [(utc(2026, 12, 7, 15), utc(2026, 12, 7, 16))]
    found = slots(client_busy=client_busy, buffer_before=timedelta(minutes=30))
    assert on_day(found, MONDAY) == ["09:00", "11:00"]


def test_minimum_notice_is_real_time_from_now():
    now = utc(2026, 12, 7, 14, 10)  # 09:10 in New York
    found = slots(now=now, min_notice=timedelta(hours=1))
    assert on_day(found, MONDAY) == ["10:30", "11:00"]


def test_a_slot_exactly_at_the_notice_limit_is_bookable():
    now = utc(2026, 12, 7, 13)  # 08:00 in New York
    assert on_day(slots(now=now, min_notice=timedelta(hours=1)), MONDAY)[0] == "09:00"


def test_nothing_past_the_horizon():
    now = utc(2026, 12, 1, 12)
    found = slots(now=now, horizon=timedelta(days=3), end=now + timedelta(days=30))
    assert found and max(found) <= now + timedelta(days=3)


def test_the_window_limits_the_answer():
    found = slots(start=utc(2026, 12, 7, 0), end=utc(2026, 12, 8, 0))
    assert {s.astimezone(NEW_YORK).date() for s in found} == {MONDAY}


def test_no_hours_no_slots():
    assert slots(weekly={}) == []


def test_a_bad_duration_is_refused():
    with pytest.raises(ValueError):
        slots(duration=timedelta(0))


# --- Clock changes -------------------------------------------------------------------------


def test_times_the_clock_skips_are_skipped():
    # 8 March 2026 in New York: 02:00 jumps to 03:00.
    day = date(2026, 3, 8)
    weekly = {day.weekday(): [Hours(time(1), time(4))]}
    found = slots(
        weekly=weekly, duration=timedelta(minutes=30), now=utc(2026, 3, 1), start=utc(2026, 3, 8)
    )
    assert on_day(found, day) == ["01:00", "01:30", "03:00", "03:30"]
    assert local_instant(day, time(2, 30), NEW_YORK) is None


def test_times_the_clock_shows_twice_are_offered_once():
    # 1 November 2026 in New York: 02:00 falls back to 01:00.
    day = date(2026, 11, 1)
    weekly = {day.weekday(): [Hours(time(0, 30), time(3))]}
    found = slots(
        weekly=weekly, duration=timedelta(minutes=30), now=utc(2026, 10, 25), start=utc(2026, 11, 1)
    )
    assert on_day(found, day) == ["00:30", "01:00", "01:30", "02:00", "02:30"]
    one_am = [s for s in found if f"{s.astimezone(NEW_YORK):%Y-%m-%d %H:%M}" == "2026-11-01 01:00"]
    assert one_am == [utc(2026, 11, 1, 5)]  # the first 01:00, still on daylight time


def transitions(zone: ZoneInfo, year: int) -> list[date]:
    """The local dates in `year` on which the zone's offset changes."""
    found = []
    day = date(year, 1, 1)
    while day.year == year:
        noon_before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        noon_after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if noon_before != noon_after:
            found.append(day)
        day += timedelta(days=1)
    return found


DST_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # shifts by 30 minutes
    "Asia/Kolkata",  # never shifts
    "UTC",
]


def dst_matrix():
    for name in DST_ZONES:
        zone = ZoneInfo(name)
        changes = transitions(zone, 2026) or [date(2026, 3, 29), date(2026, 10, 25)]
        for change in changes:
            for offset in (-1, 0, 1):
                for hour in (8, 9, 13, 15):
                    yield pytest.param(
                        name,
                        change + timedelta(days=offset),
                        hour,
                        id=f"{name}-{change + timedelta(days=offset)}-{hour:02d}",
                    )


@pytest.mark.parametrize(("zone_name", "day", "hour"), list(dst_matrix()))
def test_clock_changes_never_shift_drop_or_duplicate_a_slot(zone_name, day, hour):
    zone = ZoneInfo(zone_name)
    weekly = {day.weekday(): [Hours(time(hour), time(hour + 3))]}
    found = bookable_starts(
        rules=BookingRules(min_notice=timedelta(0)),
        zone=zone,
        weekly=weekly,
        overrides={},
        busy=[],
        duration=timedelta(minutes=60),
        now=datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC),
        window_start=datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC),
        window_end=datetime.combine(day + timedelta(days=2), time(0), tzinfo=UTC),
    )
    local = [s.astimezone(zone) for s in found if s.astimezone(zone).date() == day]
    expected = [f"{hour + h // 2:02d}:{30 * (h % 2):02d}" for h in range(5)]
    assert [f"{s:%H:%M}" for s in local] == expected
    # Each slot is the instant the local clock shows that time, and an hour is a real hour.
    for slot in local:
        assert slot.astimezone(UTC).astimezone(zone) == slot
    assert len(set(found)) == len(found)


def test_a_24_hour_window_across_a_clock_change_is_24_real_hours():
    # Notice of 24 hours across the spring change in Berlin: the first slot is exactly 24h on.
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 3, 28, 9, tzinfo=zone).astimezone(UTC)
    weekly = {d: [Hours(time(8), time(12))] for d in range(7)}
    found = bookable_starts(
        rules=BookingRules(min_notice=timedelta(hours=24)),
        zone=zone,
        weekly=weekly,
        overrides={},
        busy=[],
        duration=timedelta(minutes=30),
        now=now,
        window_start=now,
        window_end=now + timedelta(days=2),
    )
    assert found[0] == now + timedelta(hours=24)
    assert f"{found[0].astimezone(zone):%H:%M}" == "10:00"  # 24 real hours, one clock hour more


LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def test_lord_howe_skips_half_an_hour_in_spring():
    day = date(2026, 10, 4)  # 02:00 becomes 02:30
    weekly = {day.weekday(): [Hours(time(1), time(4))]}
    found = slots(
        zone=LORD_HOWE,
        weekly=weekly,
        duration=timedelta(minutes=30),
        now=utc(2026, 9, 30),
        start=utc(2026, 10, 2),
        end=utc(2026, 10, 6),
    )
    assert on_day(found, day, LORD_HOWE) == ["01:00", "01:30", "02:30", "03:00", "03:30"]


def test_lord_howe_repeats_half_an_hour_in_autumn_and_offers_it_once():
    day = date(2026, 4, 5)  # 02:00 goes back to 01:30
    weekly = {day.weekday(): [Hours(time(1), time(3))]}
    found = slots(
        zone=LORD_HOWE,
        weekly=weekly,
        duration=timedelta(minutes=30),
        now=utc(2026, 4, 1),
        start=utc(2026, 4, 3),
        end=utc(2026, 4, 7),
    )
    assert on_day(found, day, LORD_HOWE) == ["01:00", "01:30", "02:00", "02:30"]


# --- Properties ----------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, 15 * (q % 4)))


@st.composite
def hours_ranges(draw):
    start = draw(quarter_hours)
    end = draw(quarter_hours)
    if end <= start:
        start, end = end, start
    if end == start:
        end = time(23, 59)
    return Hours(start, end)


# Odd offsets, and zones whose clocks change at midnight rather than in the small hours.
EXTRA_ZONES = [
    "America/St_Johns",
    "Pacific/Chatham",
    "America/Havana",
    "Asia/Beirut",
    "America/Santiago",
]


@st.composite
def engine_inputs(draw):
    zone = ZoneInfo(draw(st.sampled_from(DST_ZONES + EXTRA_ZONES)))
    weekly = draw(
        st.dictionaries(
            st.integers(min_value=0, max_value=6), st.lists(hours_ranges(), max_size=3), max_size=7
        )
    )
    now = draw(
        st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
        )
    )
    overrides = draw(
        st.dictionaries(
            st.dates(min_value=now.date(), max_value=now.date() + timedelta(days=20)),
            st.lists(hours_ranges(), max_size=2),
            max_size=4,
        )
    )
    busy = [
        (start, start + timedelta(minutes=length))
        for start, length in draw(
            st.lists(
                st.tuples(
                    st.datetimes(
                        min_value=now.replace(tzinfo=None),
                        max_value=now.replace(tzinfo=None) + timedelta(days=20),
                        timezones=st.just(UTC),
                    ),
                    st.integers(min_value=5, max_value=240),
                ),
                max_size=15,
            )
        )
    ]
    rules = BookingRules(
        min_notice=timedelta(minutes=draw(st.integers(0, 48 * 60))),
        horizon=timedelta(days=draw(st.integers(1, 21))),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 5, 15, 30]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 10, 15]))),
        step=timedelta(minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60]))),
    )
    duration = timedelta(minutes=draw(st.sampled_from([15, 30, 50, 60, 90])))
    return zone, weekly, overrides, busy, now, rules, duration


@given(engine_inputs())
def test_every_slot_keeps_every_rule(inputs):
    zone, weekly, overrides, busy, now, rules, duration = inputs
    found = bookable_starts(
        rules=rules,
        zone=zone,
        weekly=weekly,
        overrides=overrides,
        busy=busy,
        duration=duration,
        now=now,
        window_start=now,
        window_end=now + timedelta(days=30),
    )
    assert found == sorted(set(found)), "sorted and unique"
    for slot in found:
        assert slot.tzinfo == UTC
        assert slot >= now + rules.min_notice, "inside the minimum notice"
        assert slot <= now + rules.horizon, "past the horizon"
        end = slot + duration
        for begin, finish in busy:
            assert end + rules.buffer_after <= begin or slot - rules.buffer_before >= finish, (
                "overlaps a busy time with its buffers"
            )
        local = slot.astimezone(zone)
        ranges = overrides.get(local.date(), weekly.get(local.weekday(), []))
        home = [
            r
            for r in ranges
            if r.start <= local.time() < r.end
            and (
                datetime.combine(local.date(), local.time())
                - datetime.combine(local.date(), r.start)
            )
            % rules.step
            == timedelta(0)
        ]
        assert home, "a start time on the step grid of the day's hours"
        assert any(end <= _end_instant(local.date(), r.end, zone) for r in home), "ends in hours"


def _end_instant(day, at, zone):
    exact = local_instant(day, at, zone)
    if exact is not None:
        return exact
    return datetime.combine(day, at).replace(tzinfo=zone, fold=1).astimezone(UTC)


@given(engine_inputs())
def test_a_free_grid_time_inside_the_hours_is_never_missing(inputs):
    zone, weekly, overrides, _busy, now, rules, duration = inputs
    found = set(
        bookable_starts(
            rules=rules,
            zone=zone,
            weekly=weekly,
            overrides=overrides,
            busy=[],
            duration=duration,
            now=now,
            window_start=now,
            window_end=now + timedelta(days=30),
        )
    )
    # Walk every wall-clock grid time of every range and check the engine kept each one
    # that exists, is within notice and horizon, and fits before the range ends.
    day = now.astimezone(zone).date() - timedelta(days=1)
    while day <= (now + rules.horizon).astimezone(zone).date() + timedelta(days=1):
        for hours in overrides.get(day, weekly.get(day.weekday(), [])):
            wall = datetime.combine(day, hours.start)
            while wall < datetime.combine(day, hours.end):
                start = local_instant(day, wall.time(), zone)
                if (
                    start is not None
                    and now + rules.min_notice <= start <= now + rules.horizon
                    and start + duration <= _end_instant(day, hours.end, zone)
                ):
                    assert start in found, f"{wall} in {zone} is missing"
                wall += rules.step
        day += timedelta(days=1)
