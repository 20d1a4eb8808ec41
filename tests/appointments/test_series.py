"""Recurring series: booked whole or not at all, each session under its own terms."""

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    DateOverride,
    Fee,
    SeriesChange,
    WaitlistOpening,
)
from appointments.recurrence import Repeat
from appointments.selectors import Clash
from appointments.series import (
    QuoteChanged,
    SeriesClashes,
    SeriesEnd,
    SeriesInvalid,
    plan_series,
    plan_time_change,
    quote_following,
    series_book,
    series_cancel_following,
    series_change_time,
    series_end,
    series_extend,
    series_skip,
)
from appointments.services import NotBookable, NotPermitted, PolicyRefused, appointment_book
from tests.factories import AppointmentFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db

CHICAGO_5PM = time(17, 0)


@pytest.fixture
def now(provider):
    """Monday 2 November 2026, 9 AM in Chicago: the clocks went back the day before."""
    return datetime(2026, 11, 2, 9, 0, tzinfo=provider.zone)


@pytest.fixture
def evening(provider):
    """Hours until 8 PM, the horizon a year ahead, and a type clients may book weekly."""
    provider.weekly_hours.update(end=time(20, 0))
    provider.horizon_days = 400
    provider.save()
    return provider


@pytest.fixture
def weekly_type(session_type):
    session_type.clients_may_repeat = True
    session_type.save()
    return session_type


def at(provider, day: date, clock: time = CHICAGO_5PM) -> datetime:
    return datetime.combine(day, clock, tzinfo=provider.zone)


def book_series(client, provider, kind, first, now, *, count=10, actor=None, **options):
    return series_book(
        client=client,
        provider=provider,
        appointment_type=kind,
        first_start=first,
        repeat=options.pop("repeat", Repeat.WEEKLY),
        end=options.pop("end", SeriesEnd(count=count)),
        booked_by=actor or client,
        now=now,
        **options,
    )


def test_a_weekly_series_books_every_session_at_the_same_wall_clock_time(
    client_user, evening, weekly_type, now
):
    # Tue 27 Oct is CDT (UTC-5); from Tue 3 Nov on it is CST (UTC-6): 5 PM both times.
    first = at(evening, date(2026, 11, 3))
    booked = book_series(client_user, evening, weekly_type, first, now, count=10)
    starts = [each.start for each in booked.series.sessions.order_by("start")]
    assert len(starts) == 10
    assert all(s.astimezone(evening.zone).time() == CHICAGO_5PM for s in starts)
    assert all(s.astimezone(evening.zone).weekday() == 1 for s in starts)
    assert starts[-1].astimezone(evening.zone).date() == date(2027, 1, 5)
    # A client in New York sees 6 PM.
    assert starts[0].astimezone(client_user.zone).time() == time(18, 0)
    assert all(each.occurrence == each.start for each in booked.sessions)
    assert (
        AppointmentEvent.objects.filter(
            appointment__series=booked.series, kind="booked", ics_sequence__isnull=True
        ).count()
        == 10
    )
    assert SeriesChange.objects.get(series=booked.series).kind == SeriesChange.Kind.BOOKED


def test_across_the_spring_change_the_time_stays_on_the_clock(client_user, evening, weekly_type):
    now = datetime(2027, 2, 1, 9, tzinfo=evening.zone)
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2027, 3, 2)), now, count=3
    )
    utc_hours = [s.start.astimezone(timezone.UTC).hour for s in booked.sessions]
    assert utc_hours == [23, 23, 22]  # 2 and 9 March CST, 16 March CDT (from the 14th)


def test_a_clash_refuses_the_whole_series_and_names_the_date(
    client_user, evening, weekly_type, now
):
    other = UserFactory()
    AppointmentFactory(
        provider=evening,
        client=other,
        appointment_type=weekly_type,
        start=at(evening, date(2026, 11, 17)),
    )
    DateOverride.objects.create(provider=evening, date=date(2026, 11, 24))  # a day off
    first = at(evening, date(2026, 11, 3))
    with pytest.raises(SeriesClashes) as raised:
        book_series(client_user, evening, weekly_type, first, now, count=6)
    assert raised.value.clashes == {
        date(2026, 11, 17): Clash.TAKEN,
        date(2026, 11, 24): Clash.CLOSED,
    }
    assert "Tue 17 Nov 2026 (already booked)" in str(raised.value)
    assert not AppointmentSeries.objects.exists()
    assert Appointment.objects.filter(client=client_user).count() == 0

    booked = book_series(
        client_user,
        evening,
        weekly_type,
        first,
        now,
        count=6,
        skip={date(2026, 11, 17), date(2026, 11, 24)},
    )
    assert len(booked.sessions) == 4
    assert booked.skipped == [date(2026, 11, 17), date(2026, 11, 24)]


def test_the_preview_lists_the_same_dates_and_clashes(client_user, evening, weekly_type, now):
    AppointmentFactory(
        provider=evening,
        client=client_user,
        appointment_type=weekly_type,
        start=at(evening, date(2026, 11, 10)),
    )
    plan = plan_series(
        client=client_user,
        provider=evening,
        appointment_type=weekly_type,
        first_start=at(evening, date(2026, 11, 3)),
        repeat=Repeat.EVERY_2_WEEKS,
        end=SeriesEnd(until=date(2026, 12, 31)),
        now=now,
    )
    assert [each.day for each in plan.sessions] == [
        date(2026, 11, 3),
        date(2026, 11, 17),
        date(2026, 12, 1),
        date(2026, 12, 15),
        date(2026, 12, 29),
    ]
    assert plan.clashes == {}


@pytest.mark.parametrize(
    ("end", "words"),
    [
        (SeriesEnd(count=0), "from 2 to 104 sessions; 0"),
        (SeriesEnd(count=10_000), "10000 is not possible"),
        (SeriesEnd(count=1), "from 2 to 104"),
        (SeriesEnd(until=date(2026, 11, 1)), "must come after the first session"),
        (SeriesEnd(until=date(2026, 11, 5)), "single booking"),
        (SeriesEnd(count=60), "up to 400 days ahead"),
    ],
)
def test_bad_ends_say_so_and_save_nothing(client_user, evening, weekly_type, now, end, words):
    with pytest.raises(SeriesInvalid, match=words):
        book_series(client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=end)
    assert not AppointmentSeries.objects.exists()


def test_a_rule_not_offered_is_refused(client_user, evening, weekly_type, now):
    with pytest.raises(SeriesInvalid, match="from the list"):
        book_series(
            client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, repeat="daily"
        )


def test_clients_book_series_only_where_the_type_allows(client_user, evening, session_type, now):
    with pytest.raises(NotBookable, match="as a series online"):
        book_series(client_user, evening, session_type, at(evening, date(2026, 11, 3)), now)
    # The practice may, on any of its types.
    booked = book_series(
        client_user,
        evening,
        session_type,
        at(evening, date(2026, 11, 3)),
        now,
        actor=evening.user,
    )
    assert len(booked.sessions) == 10


def test_a_stranger_books_no_series(client_user, evening, weekly_type, now):
    with pytest.raises(NotPermitted):
        book_series(
            client_user,
            evening,
            weekly_type,
            at(evening, date(2026, 11, 3)),
            now,
            actor=UserFactory(),
        )


def test_monthly_on_the_same_weekday(client_user, evening, weekly_type, now):
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 10)),  # the second Tuesday
        now,
        repeat=Repeat.MONTHLY,
        count=4,
    )
    days = [s.start.astimezone(evening.zone).date() for s in booked.sessions]
    assert days == [date(2026, 11, 10), date(2026, 12, 8), date(2027, 1, 12), date(2027, 2, 9)]


def test_open_ended_books_to_the_horizon_and_extends(client_user, evening, weekly_type, now):
    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    assert len(booked.sessions) == 5  # 3 Nov to 1 Dec
    assert booked.series.booked_through == date(2026, 12, 1)
    later = now + timedelta(days=14)
    added = series_extend(booked.series, later)
    assert [s.start.astimezone(evening.zone).date() for s in added] == [
        date(2026, 12, 8),
        date(2026, 12, 15),
    ]
    assert series_extend(booked.series, later) == []  # run twice: nothing more


def test_extending_leaves_out_a_taken_date_and_says_so(client_user, evening, weekly_type, now):
    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 12, 8))
    )
    added = series_extend(booked.series, now + timedelta(days=14))
    assert len(added) == 1
    change = booked.series.changes.get(kind=SeriesChange.Kind.EXTENDED)
    assert change.details["skipped"] == ["2026-12-08"]


@pytest.fixture
def late_fee_policy(evening, weekly_type):
    return PolicyFactory(
        provider=evening,
        appointment_type=weekly_type,
        cancel_notice=timedelta(hours=24),
        late_cancel="fee",
        late_cancel_fee=Decimal("40.00"),
        grace_period=timedelta(0),
    )


def test_ending_the_night_before_charges_only_that_sessions_fee(
    client_user, evening, weekly_type, late_fee_policy, now
):
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=6
    )
    first = booked.sessions[0]
    night_before = at(evening, date(2026, 11, 2), time(20, 0))
    quote = quote_following(first, client_user, night_before)
    assert [str(each.fee) if each.fee else None for each in quote.sessions] == [
        "$40",
        *[None] * 5,
    ]
    ended = series_cancel_following(
        appointment=first, actor=client_user, expected_quote=quote.token, now=night_before
    )
    assert len(ended.cancelled) == 6
    assert [str(fee.money) for fee in ended.fees] == ["$40"]
    assert Fee.objects.filter(client=client_user).count() == 1
    series = AppointmentSeries.objects.get()
    assert series.stopped_from == date(2026, 11, 3)
    assert not Appointment.objects.filter(series=series, status="scheduled").exists()
    assert series.changes.filter(kind=SeriesChange.Kind.ENDED).count() == 1


def test_a_late_session_the_policy_refuses_stays_and_the_rest_end(
    client_user, evening, weekly_type, now
):
    PolicyFactory(
        provider=evening,
        appointment_type=weekly_type,
        cancel_notice=timedelta(hours=24),
        late_cancel="refuse",
        grace_period=timedelta(0),
    )
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=4
    )
    night_before = at(evening, date(2026, 11, 2), time(20, 0))
    quote = quote_following(booked.sessions[0], client_user, night_before)
    assert [each.cancels for each in quote.sessions] == [False, True, True, True]
    ended = series_cancel_following(
        appointment=booked.sessions[0],
        actor=client_user,
        expected_quote=quote.token,
        now=night_before,
    )
    assert [s.pk for s in ended.kept] == [booked.sessions[0].pk]
    assert AppointmentSeries.objects.get().stopped_from == date(2026, 11, 10)
    assert ended.fees == []


def test_a_deadline_passing_while_the_dialog_is_open_changes_nothing(
    client_user, evening, weekly_type, late_fee_policy, now
):
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3
    )
    shown = quote_following(booked.sessions[0], client_user, now)
    assert shown.fees == []
    too_late = at(evening, date(2026, 11, 2), time(18, 0))
    with pytest.raises(QuoteChanged) as raised:
        series_cancel_following(
            appointment=booked.sessions[0],
            actor=client_user,
            expected_quote=shown.token,
            now=too_late,
        )
    assert [str(fee) for fee in raised.value.quote.fees] == ["$40"]
    assert not Fee.objects.exists()
    assert Appointment.objects.filter(status="scheduled").count() == 3


def test_nothing_cancellable_is_refused_with_the_policys_sentence(
    client_user, evening, weekly_type, now
):
    PolicyFactory(provider=evening, appointment_type=weekly_type, clients_may_cancel=False)
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3
    )
    with pytest.raises(PolicyRefused):
        series_cancel_following(appointment=booked.sessions[1], actor=client_user, now=now)


def test_ending_records_each_freed_time_as_an_opening(client_user, evening, weekly_type, now):
    evening.waitlist_enabled = True
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=5
    )
    series_cancel_following(appointment=booked.sessions[2], actor=client_user, now=now)
    openings = WaitlistOpening.objects.order_by("start")
    assert [(o.start, o.end) for o in openings] == [(s.start, s.end) for s in booked.sessions[2:]]


def test_the_practice_ends_skips_and_changes_the_time(client_user, evening, weekly_type, now):
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=8
    )
    series = booked.series
    series_skip(series=series, actor=evening.user, day=date(2026, 11, 24), now=now)
    assert (
        Appointment.objects.get(series=series, occurrence=at(evening, date(2026, 11, 24))).status
        == "cancelled"
    )

    # From 1 Dec, Thursdays at 10 AM instead.
    new = series_change_time(
        series=series,
        actor=evening.user,
        from_day=date(2026, 12, 1),
        new_first_start=at(evening, date(2026, 12, 3), time(10, 0)),
        now=now,
    )
    series.refresh_from_db()
    assert series.stopped_from == date(2026, 12, 1)
    assert new.previous == series and new.count == 4
    moved = list(new.sessions.order_by("start"))
    assert [s.start.astimezone(evening.zone).date() for s in moved] == [
        date(2026, 12, 3),
        date(2026, 12, 10),
        date(2026, 12, 17),
        date(2026, 12, 24),
    ]
    assert all(s.start.astimezone(evening.zone).time() == time(10, 0) for s in moved)
    assert all(s.events.filter(kind="rescheduled").exists() for s in moved)

    series_end(series=new, actor=evening.user, from_day=date(2026, 12, 17), now=now)
    assert new.sessions.filter(status="scheduled").count() == 2


def test_ending_from_a_session_reaches_the_series_that_continues_it(
    client_user, evening, weekly_type, now
):
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=6
    )
    series = booked.series
    new = series_change_time(  # from the fourth date, Thursdays at 10 AM
        series=series,
        actor=evening.user,
        from_day=date(2026, 11, 24),
        new_first_start=at(evening, date(2026, 11, 26), time(10, 0)),
        now=now,
    )
    second = booked.sessions[1]
    quote = quote_following(second, client_user, now)
    assert [each.appointment.start.astimezone(evening.zone).date() for each in quote.sessions] == [
        date(2026, 11, 10),
        date(2026, 11, 17),
        date(2026, 11, 26),
        date(2026, 12, 3),
        date(2026, 12, 10),
    ]
    series_cancel_following(
        appointment=second, actor=client_user, expected_quote=quote.token, now=now
    )
    assert list(Appointment.objects.active().filter(client=client_user)) == [booked.sessions[0]]
    series.refresh_from_db()
    new.refresh_from_db()
    assert (series.stopped_from, new.stopped_from) == (date(2026, 11, 10), new.first_date)
    # One change, and one email to each side, for each series: each is its own calendar entry.
    assert [change.kind for change in series.changes.order_by("at", "pk")][-1] == "ended"
    assert new.changes.filter(kind="ended").count() == 1


@pytest.mark.parametrize("who", ["the client", "a stranger", "another practice's provider"])
def test_only_the_practice_changes_the_series_itself(client_user, evening, weekly_type, now, who):
    from tests.factories import ProviderFactory

    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3
    )
    actor = {
        "the client": client_user,
        "a stranger": UserFactory(),
        "another practice's provider": ProviderFactory().user,
    }[who]
    series = booked.series
    later = at(evening, date(2026, 11, 12), time(10, 0))
    changes = [
        lambda: series_end(series=series, actor=actor, from_day=date(2026, 11, 10), now=now),
        lambda: series_skip(series=series, actor=actor, day=date(2026, 11, 10), now=now),
        lambda: plan_time_change(
            series=series, actor=actor, from_day=date(2026, 11, 10), new_first_start=later, now=now
        ),
        lambda: series_change_time(
            series=series, actor=actor, from_day=date(2026, 11, 10), new_first_start=later, now=now
        ),
    ]
    for change in changes:
        with pytest.raises(NotPermitted):
            change()
    assert series.sessions.filter(status="scheduled").count() == 3
    assert not AppointmentEvent.objects.exclude(kind="booked").exists()
    assert SeriesChange.objects.count() == 1  # its booking


def test_a_new_time_that_clashes_changes_nothing(client_user, evening, weekly_type, now):
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=4
    )
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 11, 19))
    )
    with pytest.raises(SeriesClashes) as raised:
        series_change_time(
            series=booked.series,
            actor=evening.user,
            from_day=date(2026, 11, 10),
            new_first_start=at(evening, date(2026, 11, 12)),
            now=now,
        )
    assert raised.value.clashes == {date(2026, 11, 19): Clash.TAKEN}
    assert AppointmentSeries.objects.count() == 1


def test_one_session_moves_alone(client_user, evening, weekly_type, now):
    from appointments.services import appointment_reschedule

    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3
    )
    second = booked.sessions[1]
    appointment_reschedule(
        appointment=second,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 11), time(10, 0)),
        now=now,
    )
    second.refresh_from_db()
    assert second.occurrence == at(evening, date(2026, 11, 10))
    assert second.series_id == booked.series.pk
    others = [s.start for s in booked.series.sessions.exclude(pk=second.pk).order_by("start")]
    assert others == [booked.sessions[0].start, booked.sessions[2].start]


def test_the_reschedule_cap_counts_per_session(client_user, evening, weekly_type, now):
    from appointments.services import appointment_reschedule

    PolicyFactory(provider=evening, appointment_type=weekly_type, max_reschedules=1)
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3
    )
    first, second = booked.sessions[:2]

    def move(session, day):
        appointment_reschedule(
            appointment=session,
            actor=client_user,
            new_start=at(evening, day, time(10, 0)),
            now=now,
        )

    move(first, date(2026, 11, 4))
    with pytest.raises(PolicyRefused, match="the most your provider allows"):
        move(first, date(2026, 11, 5))
    move(second, date(2026, 11, 12))  # the other sessions each keep their own one move
    second.refresh_from_db()
    assert second.start == at(evening, date(2026, 11, 12), time(10, 0))


@pytest.mark.parametrize("count", [4, 52])
def test_booking_and_ending_cost_the_same_queries_however_many_sessions(
    client_user, evening, weekly_type, now, count
):
    evening.waitlist_enabled = True
    evening.save()
    first = at(evening, date(2026, 11, 3))
    with CaptureQueriesContext(connection) as booking:
        booked = book_series(client_user, evening, weekly_type, first, now, count=count)
    with CaptureQueriesContext(connection) as ending:
        series_cancel_following(appointment=booked.sessions[0], actor=client_user, now=now)
    assert (len(booking), len(ending)) == EXPECTED_QUERIES[connection.vendor]


EXPECTED_QUERIES = {"postgresql": (13, 16), "sqlite": (12, 15)}


@pytest.mark.parametrize("count", [4, 52])
def test_the_practices_changes_cost_the_same_queries_however_many_sessions(
    client_user, evening, weekly_type, now, count
):
    evening.waitlist_enabled = True
    evening.save()
    # Each change touches `count` sessions: all but the first of a series one longer.
    ended = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=count + 1
    ).series
    moved = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 4)), now, count=count + 1
    ).series
    open_ended = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 6)), now, end=SeriesEnd()
    ).series
    with CaptureQueriesContext(connection) as ending:
        series_end(series=ended, actor=evening.user, from_day=date(2026, 11, 10), now=now)
    with CaptureQueriesContext(connection) as changing:
        series_change_time(
            series=moved,
            actor=evening.user,
            from_day=date(2026, 11, 11),
            new_first_start=at(evening, date(2026, 11, 12), time(10, 0)),
            now=now,
        )
    with CaptureQueriesContext(connection) as extending:
        added = series_extend(open_ended, now + timedelta(weeks=count))
    assert ended.sessions.filter(status="cancelled").count() == count
    assert moved.continued_by.sessions.count() == count
    assert len(added) == count
    assert (len(ending), len(changing), len(extending)) == PRACTICE_QUERIES[connection.vendor]


PRACTICE_QUERIES = {"postgresql": (14, 17, 13), "sqlite": (13, 16, 12)}


def test_a_single_booking_cannot_take_a_series_time(client_user, evening, weekly_type, now):
    book_series(client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=3)
    from appointments.services import SlotUnavailable

    other = UserFactory()
    evening.clients.add(other)
    with pytest.raises(SlotUnavailable):
        appointment_book(
            client=other,
            provider=evening,
            appointment_type=weekly_type,
            start=at(evening, date(2026, 11, 10)),
            booked_by=evening.user,
            now=now,
        )


def next_tuesday(after: datetime, zone) -> date:
    day = after.astimezone(zone).date() + timedelta(days=1)
    return day + timedelta(days=(1 - day.weekday()) % 7)


def run_extend_series(*args) -> str:
    out = io.StringIO()
    call_command("extend_series", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_daily_command_books_open_ended_series_to_the_horizon_once(
    client_user, evening, weekly_type
):
    evening.horizon_days = 30
    evening.save()
    weeks_ago = timezone.now() - timedelta(days=21)
    first = at(evening, next_tuesday(weeks_ago, evening.zone))
    running = book_series(client_user, evening, weekly_type, first, weeks_ago, end=SeriesEnd())
    booked_then = running.series.sessions.count()
    stopped = book_series(
        client_user, evening, weekly_type, first - timedelta(hours=2), weeks_ago, end=SeriesEnd()
    )
    series_end(
        series=stopped.series,
        actor=evening.user,
        from_day=first.date() + timedelta(days=7),
        now=weeks_ago,
    )
    assert run_extend_series("--dry-run") == "1 series would be extended.\n"
    assert running.series.sessions.count() == booked_then

    # A session is within the horizon when it starts at most 30 days from now, as a slot is.
    horizon = timezone.now() + timedelta(days=30)
    tuesdays = [first.date() + timedelta(weeks=n) for n in range(10)]
    due = [day for day in tuesdays if at(evening, day) <= horizon]
    added = len(due) - booked_then
    assert added == 3
    assert run_extend_series() == "1 series extended, 3 sessions booked.\n"
    running.series.refresh_from_db()
    assert running.series.booked_through == due[-1]
    starts = running.series.sessions.order_by("start").values_list("start", flat=True)
    assert [start.astimezone(evening.zone) for start in starts] == [at(evening, d) for d in due]
    assert stopped.series.sessions.filter(status=Appointment.Status.SCHEDULED).count() == 1
    assert run_extend_series() == "0 series extended, 0 sessions booked.\n"


@pytest.mark.parametrize(
    "clock, last",
    [
        # The horizon ends at 9 AM on Tuesday 1 December: that day's 5 PM session is past it.
        (time(9), date(2026, 11, 24)),
        # It ends at 6 PM: the 5 PM session is within it.
        (time(18), date(2026, 12, 1)),
    ],
)
def test_an_open_ended_series_books_the_horizon_date_when_its_time_is_within_the_horizon(
    client_user, evening, weekly_type, clock, last
):
    evening.horizon_days = 30
    evening.save()
    now = datetime.combine(date(2026, 11, 1), clock, tzinfo=evening.zone)
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    days = [each.start.astimezone(evening.zone).date() for each in booked.sessions]
    assert days[-1] == last
    booked.series.refresh_from_db()
    assert booked.series.booked_through == last
    # Nothing more is due until the horizon moves.
    assert series_extend(booked.series, now) == []


def test_a_busy_schedule_leaves_that_series_for_the_next_run_and_extends_the_rest(
    client_user, evening, weekly_type, monkeypatch
):
    from appointments.management.commands import extend_series
    from appointments.services import ScheduleBusy

    evening.horizon_days = 30
    evening.save()
    weeks_ago = timezone.now() - timedelta(days=21)
    first = at(evening, next_tuesday(weeks_ago, evening.zone))
    busy = book_series(client_user, evening, weekly_type, first, weeks_ago, end=SeriesEnd())
    free = book_series(
        client_user, evening, weekly_type, first - timedelta(hours=2), weeks_ago, end=SeriesEnd()
    )
    extend = extend_series.series_extend

    def busy_for_one(series, now):
        if series.pk == busy.series.pk:
            raise ScheduleBusy()
        return extend(series, now)

    monkeypatch.setattr(extend_series, "series_extend", busy_for_one)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 series could not be extended; run it again."):
        call_command("extend_series", stdout=out, stderr=err)
    assert out.getvalue() == "1 series extended, 3 sessions booked.\n"
    assert f"Series {busy.series.pk} was not extended" in err.getvalue()
    assert free.series.sessions.count() > busy.series.sessions.count()


def test_an_open_ended_series_stops_when_the_client_leaves_the_care_team(
    client_user, evening, weekly_type, now
):
    from appointments.models import CareTeamMember

    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    CareTeamMember.objects.filter(client=client_user, provider=evening).delete()
    assert series_extend(booked.series, now + timedelta(days=14)) == []
    booked.series.refresh_from_db()
    assert booked.series.stopped_from == date(2026, 12, 8)  # the first date not yet booked
    assert booked.series.sessions.count() == len(booked.sessions)  # those booked stay
    assert booked.series.changes.filter(kind=SeriesChange.Kind.ENDED).count() == 1


def test_extending_keeps_the_series_clock_when_the_provider_moves_zones(
    client_user, evening, weekly_type, now
):
    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, end=SeriesEnd()
    )
    # Regina keeps Central Standard Time all year: the same clock as Chicago until 14 March.
    evening.time_zone = "America/Regina"
    evening.save()
    added = series_extend(booked.series, datetime(2027, 2, 20, 9, 0, tzinfo=booked.series.zone))
    chicago = booked.series.zone
    assert added[-1].start.astimezone(chicago).date() == date(2027, 3, 16)
    assert {each.start.astimezone(chicago).time() for each in added} == {CHICAGO_5PM}
