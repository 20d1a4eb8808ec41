"""The pure waitlist matcher: wishes on the client's clock, hours on the provider's."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from appointments.matching import PARTS, Schedule, Wish, first_fit, match, suits
from appointments.slots import BookingRules, Hours, bookable_starts

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
FIFTY = timedelta(minutes=50)
RULES = BookingRules(min_notice=timedelta(hours=2), horizon=timedelta(days=365))


NINE_TO_FIVE = Hours(time(9), time(17))


def schedule(busy=()) -> Schedule:
    return Schedule(RULES, CHICAGO, {d: [NINE_TO_FIVE] for d in range(7)}, {}, list(busy))


def chicago(day: date, at: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(at), tzinfo=CHICAGO).astimezone(UTC)


def whole_day(day: date) -> tuple[datetime, datetime]:
    return chicago(day, "00:00"), chicago(day + timedelta(days=1), "00:00")


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def first_evening_start(day: date) -> str:
    wish = Wish(1, FIFTY, LONDON, parts=frozenset({"evening"}))
    found = first_fit(schedule(), wish, now=NOW, freed=whole_day(day))
    assert found is not None
    return f"{found.astimezone(CHICAGO):%H:%M}"


def test_a_london_evening_starts_at_11_in_chicago_when_both_keep_winter_time():
    assert first_evening_start(date(2026, 3, 3)) == "11:00"  # 17:00 in London


def test_in_the_march_weeks_chicago_has_moved_its_clock_and_london_not_yet():
    # US clocks change on 8 March 2026, the UK's on 29 March: five hours apart, not six.
    assert first_evening_start(date(2026, 3, 10)) == "12:00"  # still 17:00 in London
    assert first_evening_start(date(2026, 3, 31)) == "11:00"  # both on summer time


def test_in_the_autumn_week_london_has_moved_back_and_chicago_not_yet():
    # The UK changes back on 25 October 2026, the US on 1 November.
    assert first_evening_start(date(2026, 10, 20)) == "11:00"
    assert first_evening_start(date(2026, 10, 27)) == "12:00"
    assert first_evening_start(date(2026, 11, 3)) == "11:00"


def test_the_weekday_is_the_clients_even_when_it_is_the_day_before_for_the_provider():
    # Monday 18:00 in Chicago is Tuesday midnight in London.
    late = Schedule(RULES, CHICAGO, {0: [Hours(time(18), time(21))]}, {}, [])
    tuesday_mornings = Wish(1, FIFTY, LONDON, weekdays=frozenset({1}), parts=frozenset({"morning"}))
    monday = date(2026, 1, 5)
    found = first_fit(late, tuesday_mornings, now=NOW, freed=whole_day(monday))
    assert found == chicago(monday, "18:00")
    mondays = Wish(1, FIFTY, LONDON, weekdays=frozenset({0}))
    assert first_fit(late, mondays, now=NOW, freed=whole_day(monday)) is None


def test_only_starts_whose_session_touches_the_freed_time_are_offered():
    day = date(2026, 1, 6)
    freed = (chicago(day, "14:00"), chicago(day, "14:50"))
    wish = Wish(1, FIFTY, LONDON)
    # 13:30 ends at 14:20: the freed hour made room for it; 13:00 was open before.
    assert first_fit(schedule(), wish, now=NOW, freed=freed) == chicago(day, "13:30")
    assert first_fit(schedule(), wish, now=NOW, freed=freed, exact=True) == chicago(day, "14:00")


def test_the_clients_own_appointments_and_the_providers_busy_times_count():
    day = date(2026, 1, 6)
    freed = (chicago(day, "14:00"), chicago(day, "14:50"))
    elsewhere = [(chicago(day, "13:00"), chicago(day, "14:30"))]
    wish = Wish(1, FIFTY, LONDON, client_busy=elsewhere)
    assert first_fit(schedule(), wish, now=NOW, freed=freed) == chicago(day, "14:30")
    taken = schedule(busy=[(chicago(day, "14:30"), chicago(day, "15:20"))])
    assert first_fit(taken, Wish(1, FIFTY, LONDON), now=NOW, freed=freed) == chicago(day, "13:30")


def test_not_after_is_a_date_on_the_clients_clock():
    day = date(2026, 1, 6)
    freed = whole_day(day)
    # 16:00 in Chicago is 22:00 in London, still the 6th there.
    assert first_fit(schedule(), Wish(1, FIFTY, LONDON, not_after=day), now=NOW, freed=freed)
    before = Wish(1, FIFTY, LONDON, not_after=day - timedelta(days=1))
    assert first_fit(schedule(), before, now=NOW, freed=freed) is None


def test_notice_and_horizon_rules_apply():
    day = date(2026, 1, 6)
    freed = (chicago(day, "09:00"), chicago(day, "09:50"))
    just_before = chicago(day, "08:00")  # 09:00 is inside the two hours' notice
    found = first_fit(schedule(), Wish(1, FIFTY, LONDON), now=just_before, freed=freed)
    assert found is None
    far = Schedule(BookingRules(horizon=timedelta(days=3)), CHICAGO, {}, {}, [])
    assert first_fit(far, Wish(1, FIFTY, LONDON), now=NOW, freed=freed) is None


def test_move_up_offers_only_earlier_times_and_only_when_the_policy_allows():
    day = date(2026, 1, 6)
    current = (chicago(day, "15:00"), chicago(day, "15:50"))
    busy = schedule(busy=[current])
    freed = whole_day(day)
    moving = Wish(1, FIFTY, LONDON, client_busy=[current], moving=current)
    assert first_fit(busy, moving, now=NOW, freed=freed) == chicago(day, "09:00")
    later_only = (chicago(day, "15:30"), chicago(day, "16:20"))
    assert first_fit(busy, moving, now=NOW, freed=later_only) is None
    refused = Wish(1, FIFTY, LONDON, client_busy=[current], moving=current, may_move=False)
    assert first_fit(busy, refused, now=NOW, freed=freed) is None
    # Its own time no longer blocks a new time that overlaps it.
    overlapping = (chicago(day, "14:30"), chicago(day, "15:00"))
    found = first_fit(busy, moving, now=NOW, freed=overlapping, exact=True)
    assert found == chicago(day, "14:30")  # 14:30-15:20 overlaps the appointment's own 15:00


def test_a_start_already_offered_to_an_entry_is_not_offered_again():
    day = date(2026, 1, 6)
    freed = (chicago(day, "14:00"), chicago(day, "14:50"))
    offered = frozenset({chicago(day, "13:30")})
    wish = Wish(1, FIFTY, LONDON, offered=offered)
    assert first_fit(schedule(), wish, now=NOW, freed=freed) == chicago(day, "14:00")


def test_match_keeps_the_order_it_is_given_and_leaves_out_who_nothing_suits():
    day = date(2026, 1, 6)  # a Tuesday
    wishes = [
        Wish(3, FIFTY, LONDON),
        Wish(1, FIFTY, LONDON, weekdays=frozenset({4})),
        Wish(2, FIFTY, LONDON, parts=frozenset({"afternoon"})),
    ]
    found = match(schedule(), wishes, now=NOW, freed=whole_day(day))
    assert [(wish.entry_id, f"{start.astimezone(LONDON):%H:%M}") for wish, start in found] == [
        (3, "15:00"),
        (2, "15:00"),
    ]


WEEKDAY_SETS = st.frozensets(st.integers(0, 6))
PART_SETS = st.frozensets(st.sampled_from(sorted(PARTS)))
ZONES = st.sampled_from(
    [LONDON, CHICAGO, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe")]
)


@given(
    day_offset=st.integers(0, 330),
    weekdays=WEEKDAY_SETS,
    parts=PART_SETS,
    zone=ZONES,
    minutes=st.sampled_from([15, 30, 50, 90]),
)
def test_the_match_is_the_earliest_bookable_start_that_suits(
    day_offset, weekdays, parts, zone, minutes
):
    day = date(2026, 1, 2) + timedelta(days=day_offset)
    freed = (chicago(day, "06:00"), chicago(day + timedelta(days=1), "06:00"))
    wish = Wish(1, timedelta(minutes=minutes), zone, weekdays=weekdays, parts=parts)
    found = first_fit(schedule(), wish, now=NOW, freed=freed)
    every = bookable_starts(
        rules=RULES,
        zone=CHICAGO,
        weekly=schedule().weekly,
        overrides={},
        busy=[],
        duration=wish.duration,
        now=NOW,
        window_start=freed[0] - wish.duration + timedelta(microseconds=1),
        window_end=freed[1],
    )
    suiting = [start for start in every if suits(wish, start)]
    assert found == (suiting[0] if suiting else None)
    if found is not None:
        local = found.astimezone(zone)
        assert not weekdays or local.weekday() in weekdays
