"""
Double booking under real concurrency: threads, each with its own database connection and
transaction, against the configured database (PostgreSQL in CI, and SQLite on a file).
"""

import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from appointments import selectors, services
from appointments.models import Appointment, CareTeamMember, Provider
from tests.concurrency import race as run_at_once
from tests.factories import UserFactory, followed

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 20


def race(attempt, n=RACERS) -> list[tuple[str, object]]:
    return run_at_once(attempt, n)


@pytest.fixture
def racers(provider):
    clients = UserFactory.create_batch(RACERS)
    CareTeamMember.objects.bulk_create(CareTeamMember(provider=provider, client=c) for c in clients)
    return clients


@pytest.fixture
def overlapping_starts(provider, session_type, client_user):
    """Two start times 30 minutes apart: every 50-minute booking at either overlaps the others."""
    now = timezone.now()
    slots = selectors.open_slots(
        provider=provider,
        appointment_type=session_type,
        client=client_user,
        now=now,
        window_start=now + timedelta(days=2),
    )
    first = followed(slots)
    return [first, first + timedelta(minutes=30)]


def book_for(racers, provider, session_type, starts):
    def attempt(i):
        return services.appointment_book(
            client=racers[i],
            provider=provider,
            appointment_type=session_type,
            start=starts[i % len(starts)],
            booked_by=racers[i],
        ).pk

    return attempt


def assert_one_winner(outcomes, provider):
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, [o for o in outcomes if o[0] == "error"]
    assert kinds.count("ok") == 1, outcomes
    assert kinds.count("conflict") == RACERS - 1
    assert Appointment.objects.filter(provider=provider, status="scheduled").count() == 1


def test_twenty_concurrent_overlapping_bookings_give_one_appointment_and_nineteen_conflicts(
    racers, provider, session_type, overlapping_starts
):
    outcomes = race(book_for(racers, provider, session_type, overlapping_starts))
    assert_one_winner(outcomes, provider)


def test_one_client_racing_two_providers_gets_one_appointment(
    client_user, provider, session_type, overlapping_starts
):
    from tests.factories import AppointmentTypeFactory, ProviderFactory, give_hours

    providers = [provider]
    types = [session_type]
    for _ in range(3):
        other = ProviderFactory(time_zone=provider.time_zone)
        give_hours(other)
        CareTeamMember.objects.create(provider=other, client=client_user)
        providers.append(other)
        types.append(AppointmentTypeFactory(provider=other, duration_minutes=50))

    def attempt(i):
        return services.appointment_book(
            client=client_user,
            provider=providers[i % 4],
            appointment_type=types[i % 4],
            start=overlapping_starts[i % 2],
            booked_by=client_user,
        ).pk

    outcomes = race(attempt, n=8)
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, outcomes
    assert kinds.count("ok") == 1, outcomes
    assert Appointment.objects.filter(client=client_user).count() == 1


def slowed_check(monkeypatch):
    """Widen the gap between checking a slot and writing it, as a loaded server would."""
    real = selectors.is_open_slot

    def slow(**kwargs):
        answer = real(**kwargs)
        time.sleep(0.05)
        return answer

    monkeypatch.setattr(selectors, "is_open_slot", slow)


def test_without_the_row_locks_the_database_still_referees(
    racers, provider, session_type, overlapping_starts, monkeypatch
):
    # PostgreSQL: the exclusion constraint turns the late writers away.
    # SQLite: the IMMEDIATE transaction lets only one writer in at a time.
    slowed_check(monkeypatch)
    # The schedules read without locking them.
    monkeypatch.setattr(
        services, "lock_schedules", lambda *, client, provider: Provider.objects.get(pk=provider.pk)
    )
    outcomes = race(book_for(racers, provider, session_type, overlapping_starts))
    assert_one_winner(outcomes, provider)


def test_the_race_is_real_a_naive_check_then_insert_double_books_or_hits_the_constraint(
    racers, provider, session_type, overlapping_starts
):
    """The harness can fail: the same race without the service's transaction gets through."""

    def naive(i):
        start = overlapping_starts[i % 2]
        end = start + session_type.duration
        taken = Appointment.objects.active().filter(provider=provider).overlapping(start, end)
        if taken.exists():
            raise services.SlotUnavailable()
        time.sleep(0.05)
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    provider=provider,
                    client=racers[i],
                    appointment_type=session_type,
                    start=start,
                    end=end,
                    booked_by=racers[i],
                ).pk
        except (IntegrityError, OperationalError):
            # The exclusion constraint refused it, or PostgreSQL broke a deadlock between two
            # inserts checking it at once: either way the database stopped the overlap.
            return "stopped by the database"

    outcomes = race(naive)
    booked = Appointment.objects.filter(provider=provider, status="scheduled").count()
    if connection.vendor == "postgresql":
        # One at most. On a loaded machine none: twenty inserts in flight at once wait on one
        # another, PostgreSQL breaks one deadlock a second, and the statement timeout ends the
        # rest.
        assert booked <= 1
        assert any(result == "stopped by the database" for _, result in outcomes), outcomes
    else:
        assert booked > 1, "without the service, overlapping appointments got in"


def test_concurrent_reschedules_into_the_same_slot_give_it_to_exactly_one(
    racers, provider, session_type
):
    now = timezone.now()
    slots = selectors.open_slots(
        provider=provider,
        appointment_type=session_type,
        client=racers[0],
        now=now,
        window_start=now + timedelta(days=3),
    )
    movers = racers[:10]
    # Each client holds an appointment at a different time; all try to move onto `target`.
    appointments = [
        services.appointment_book(
            client=client,
            provider=provider,
            appointment_type=session_type,
            start=slots[2 + 2 * i],
            booked_by=client,
        )
        for i, client in enumerate(movers)
    ]
    target = slots[0]

    def attempt(i):
        return services.appointment_reschedule(
            appointment=appointments[i], actor=movers[i], new_start=target
        ).appointment.pk

    outcomes = race(attempt, n=len(movers))
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, outcomes
    assert kinds.count("ok") == 1 and kinds.count("conflict") == len(movers) - 1
    assert Appointment.objects.filter(start=target, status="scheduled").count() == 1
    assert Appointment.objects.filter(status="scheduled").count() == len(movers)
