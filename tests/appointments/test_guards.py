"""
Every service that changes an appointment checks who is acting, whoever calls it: the client,
or their provider's practice; anyone else is refused and nothing changes.
"""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import checks
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, Fee, OfficeStaff
from portal.models import User
from tests.concurrency import providers_schedule_held
from tests.factories import PolicyFactory, ProviderFactory, UserFactory, book, open_slots_after

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(client_user, provider, session_type):
    PolicyFactory(provider=provider, no_show_fee=Decimal("60"))
    return book(client_user, provider, session_type, days=5, booked_days_ago=2)


@pytest.fixture
def other_practice():
    """Staff of another provider: as much a stranger to this schedule as anyone."""
    other = ProviderFactory()
    desk = UserFactory(email="desk@other.example", is_staff=True)
    OfficeStaff.objects.create(provider=other, user=desk)
    return desk


@pytest.fixture(params=["stranger", "other_practice"])
def outsider(request, stranger, other_practice):
    return {"stranger": stranger, "other_practice": other_practice}[request.param]


def test_an_outsider_cannot_book_for_the_client(client_user, provider, session_type, outsider):
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    with pytest.raises(services.NotPermitted):
        services.appointment_book(
            client=client_user,
            provider=provider,
            appointment_type=session_type,
            start=start,
            booked_by=outsider,
        )
    assert not Appointment.objects.exists()


def test_an_outsider_cannot_cancel_or_reschedule(booked, outsider):
    new_start = open_slots_after(
        booked.client, booked.provider, booked.appointment_type, days=8, exclude=booked
    )[0]
    with pytest.raises(services.NotPermitted):
        services.appointment_cancel(appointment=booked, actor=outsider)
    with pytest.raises(services.NotPermitted):
        services.appointment_reschedule(appointment=booked, actor=outsider, new_start=new_start)
    booked.refresh_from_db()
    assert booked.status == "scheduled" and booked.events.count() == 1


@pytest.mark.parametrize("who", ["client", "outsider"])
def test_only_the_practice_closes_a_session_or_settles_a_fee(booked, client_user, outsider, who):
    actor = client_user if who == "client" else outsider
    now = booked.start + timedelta(hours=1)
    fee = Fee.objects.create(appointment=booked, kind="late_reschedule", amount=20, currency="USD")
    with pytest.raises(services.NotPermitted):
        services.appointment_complete(appointment=booked, actor=actor, now=now)
    with pytest.raises(services.NotPermitted):
        services.appointment_mark_no_show(appointment=booked, actor=actor, now=now)
    with pytest.raises(services.NotPermitted):
        services.fee_waive(fee=fee, actor=actor)
    with pytest.raises(services.NotPermitted):
        services.fee_mark_paid(fee=fee, actor=actor)
    booked.refresh_from_db()
    fee.refresh_from_db()
    assert booked.status == "scheduled" and fee.status == "pending"


def test_the_practice_acts_for_the_client_without_the_policys_fee(booked, provider):
    desk = UserFactory(email="desk@ours.example", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=desk)
    change = services.appointment_cancel(
        appointment=booked, actor=desk, now=booked.start - timedelta(hours=1)
    )
    assert change.fee is None and change.appointment.status == "cancelled"


def test_the_command_completes_a_session_with_no_actor(booked):
    services.appointment_complete(
        appointment=booked, actor=None, now=booked.start + timedelta(hours=1)
    )
    booked.refresh_from_db()
    assert booked.status == "completed"


# --- A schedule held too long by another change --------------------------------------------------


def book_for_themselves(client_user, provider, session_type, start):
    return services.appointment_book(
        client=client_user,
        provider=provider,
        appointment_type=session_type,
        start=start,
        booked_by=client_user,
    )


@pytest.mark.django_db(transaction=True)
def test_a_change_that_waits_too_long_for_the_schedule_says_so_and_changes_nothing(
    client_user, provider, session_type, monkeypatch
):
    monkeypatch.setattr(services, "LOCK_TIMEOUT_MS", 300)
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    try:
        with providers_schedule_held(provider):
            if connection.vendor == "sqlite":
                # SQLite has one write lock for the whole file: wait for it no longer either.
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 300")
            began = timezone.now()
            with pytest.raises(services.ScheduleBusy, match="Someone else is changing"):
                book_for_themselves(client_user, provider, session_type, start)
            # It waited about 300 ms, not the default five seconds, nor for ever.
            assert timezone.now() - began < timedelta(seconds=3)
    finally:
        connection.close()
    assert not Appointment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_booking_holds_the_clients_schedule_while_it_waits_for_the_providers(
    client_user, provider, session_type
):
    """Client first, then provider, as every change locks them: no two changes deadlock."""
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    booked: list[Appointment] = []

    def book():
        try:
            booked.append(book_for_themselves(client_user, provider, session_type, start))
        finally:
            connection.close()

    booker = threading.Thread(target=book)
    try:
        with providers_schedule_held(provider):
            booker.start()
            if connection.vendor == "postgresql":
                waiting = 0
                for _ in range(200):
                    with connection.cursor() as cursor:
                        # Waits in this database only: other runs may share the server.
                        cursor.execute(
                            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN ("
                            " SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
                        )
                        waiting = cursor.fetchone()[0]
                    if waiting:
                        break
                    threading.Event().wait(0.05)
                assert waiting, "the booking never waited for the provider's row"
                # Waiting for the provider, the booking already holds the client's row.
                with pytest.raises(OperationalError), transaction.atomic():
                    User.objects.select_for_update(nowait=True).get(pk=client_user.pk)
            assert not booked
        booker.join(timeout=30)
    finally:
        connection.close()
    assert [appointment.start for appointment in booked] == [start]


def test_only_ops_or_a_superuser_may_create_a_provider(provider):
    with pytest.raises(services.NotPermitted):
        services.provider_create(
            email="new@example.com", name="Dr. New", time_zone="UTC", actor=provider.user
        )
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    created = services.provider_create(
        email="new@example.com", name="Dr. New", time_zone="UTC", actor=root
    )
    assert created.invited and created.provider.policies.get().text


# --- What a busy schedule is, and what it is not -----------------------------------------------


@contextmanager
def cancelled_by_the_statement_timeout():
    """The booking's statement is cancelled after 300 ms, before its lock wait (3 s) ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 300")
    yield OperationalError, 2


@contextmanager
def connection_lost():
    """The booking's connection is ended by the server while it waits for the schedule."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def terminate_once_waiting():
        try:
            with connection.cursor() as cursor:
                for _ in range(200):
                    cursor.execute(
                        "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid]
                    )
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.05)
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            connection.close()

    terminator = threading.Thread(target=terminate_once_waiting)
    terminator.start()
    try:
        yield (OperationalError, InterfaceError), 2
    finally:
        terminator.join(timeout=30)


@contextmanager
def waited_out_with_the_default_settings():
    """
    The web's statement timeout (5 s) outlasts the wait for the schedule (3 s): a busy
    schedule is told as one. The two the other way round would make it a 503.
    """
    yield services.ScheduleBusy, services.LOCK_TIMEOUT_MS / 1000 + 1.5


@contextmanager
def sqlite_busy_timeout():
    """SQLite has no other wait: a change waiting for the write lock waits for another change."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 300")
    yield services.ScheduleBusy, 2


SCHEDULE_FAILURES = (
    {
        "a statement timeout is the database failing": cancelled_by_the_statement_timeout,
        "a lost connection is the database failing": connection_lost,
        "a lock timeout is a busy schedule": waited_out_with_the_default_settings,
    }
    if connection.vendor == "postgresql"
    else {"the busy timeout is a busy schedule": sqlite_busy_timeout}
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", SCHEDULE_FAILURES)
def test_only_a_wait_for_the_schedule_reads_as_a_busy_schedule(
    failure, client_user, provider, session_type
):
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    try:
        with providers_schedule_held(provider), SCHEDULE_FAILURES[failure]() as (raised, within):
            began = time.monotonic()
            with pytest.raises(raised):
                book_for_themselves(client_user, provider, session_type, start)
            assert time.monotonic() - began < within
    finally:
        connection.close()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "seconds, warned", [(1, True), (3, True), (4, False), (5, False), (0, False)]
)
def test_a_statement_timeout_that_ends_first_is_warned_of(settings, seconds, warned):
    settings.DATABASE_STATEMENT_TIMEOUT = seconds
    found = [message.id for message in checks.run_checks()]
    assert ("appointments.W001" in found) is warned
