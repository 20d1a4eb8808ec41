from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments import selectors, sql
from appointments.models import (
    LONGEST_SESSION,
    LONGEST_SESSION_MINUTES,
    Appointment,
    AppointmentEvent,
    CareTeamMember,
    DateOverride,
)
from appointments.services import NotBookable, SlotUnavailable, appointment_book
from portal.models import Email
from tests.factories import AppointmentFactory, AppointmentTypeFactory, ProviderFactory, give_hours
from tests.tasks import queued_task_count, sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def first_slot(provider, kind, client, now, days=2, *, from_midnight=False):
    """The first open time `days` on; from that day's start in the provider's zone if asked."""
    window_start = now + timedelta(days=days)
    if from_midnight:
        window_start = window_start.astimezone(provider.zone).replace(hour=0, minute=0)
    slots = selectors.open_slots(
        provider=provider,
        appointment_type=kind,
        client=client,
        now=now,
        window_start=window_start,
    )
    return slots[0]


def book(client_user, provider, kind, start, now):
    return appointment_book(
        client=client_user,
        provider=provider,
        appointment_type=kind,
        start=start,
        booked_by=client_user,
        now=now,
    )


def test_it_books_an_open_slot_and_records_who_and_when(client_user, provider, session_type, now):
    start = first_slot(provider, session_type, client_user, now)
    appointment = book(client_user, provider, session_type, start, now)
    assert (appointment.start, appointment.end) == (start, start + timedelta(minutes=50))
    assert appointment.status == Appointment.Status.SCHEDULED
    event = appointment.events.get()
    assert (event.kind, event.actor, event.at, event.new_start) == (
        "booked",
        client_user,
        now,
        start,
    )


def test_it_queues_an_email_to_the_client_and_the_provider_with_the_booking(
    client_user, provider, session_type, now
):
    start = first_slot(provider, session_type, client_user, now)
    book(client_user, provider, session_type, start, now)
    # In the request, one task for the worker: it writes the two emails and sends them.
    assert queued_task_count() == 1 and not Email.objects.exists()
    assert mail.outbox == []
    assert sorted(m.to[0] for m in sent_mail()) == sorted([client_user.email, provider.user.email])
    for message in sent_mail():
        assert "Therapy session" not in message.subject + message.body  # no clinical detail
        assert "/appointments/" in message.body
        (name, content, mimetype) = message.attachments[0]
        assert name == "appointment.ics" and mimetype.startswith("text/calendar")
        assert "METHOD:REQUEST" in content


def test_the_client_email_shows_the_time_in_the_clients_zone(
    client_user, provider, session_type, now
):
    start = first_slot(provider, session_type, client_user, now)
    book(client_user, provider, session_type, start, now)
    to_client = next(m for m in sent_mail() if m.to == [client_user.email])
    to_provider = next(m for m in sent_mail() if m.to == [provider.user.email])
    assert f"{start.astimezone(client_user.zone):%-I:%M %p} E" in to_client.body  # EST/EDT
    assert f"{start.astimezone(provider.zone):%-I:%M %p} C" in to_provider.body  # CST/CDT


def test_a_taken_time_is_refused(client_user, provider, session_type, now, stranger):
    CareTeamMember.objects.create(provider=provider, client=stranger)
    start = first_slot(provider, session_type, client_user, now)
    book(stranger, provider, session_type, start, now)
    with pytest.raises(SlotUnavailable, match="just taken"):
        book(client_user, provider, session_type, start, now)
    assert Appointment.objects.count() == 1


def test_an_overlapping_time_is_refused(client_user, provider, session_type, now, stranger):
    CareTeamMember.objects.create(provider=provider, client=stranger)
    start = first_slot(provider, session_type, client_user, now)
    book(stranger, provider, session_type, start, now)
    with pytest.raises(SlotUnavailable):
        book(client_user, provider, session_type, start + timedelta(minutes=30), now)


def test_a_cancelled_appointment_frees_its_time(client_user, provider, session_type, now, stranger):
    start = first_slot(provider, session_type, client_user, now)
    AppointmentFactory(
        appointment_type=session_type, client=stranger, start=start, status="cancelled"
    )
    assert book(client_user, provider, session_type, start, now).start == start


def test_a_client_cannot_hold_two_overlapping_appointments(
    client_user, provider, session_type, now
):
    other = ProviderFactory(time_zone="America/Chicago")
    give_hours(other)
    CareTeamMember.objects.create(provider=other, client=client_user)
    other_type = AppointmentTypeFactory(provider=other)
    start = first_slot(provider, session_type, client_user, now)
    book(client_user, provider, session_type, start, now)
    with pytest.raises(SlotUnavailable):
        book(client_user, other, other_type, start + timedelta(minutes=10), now)


def test_a_time_outside_the_hours_is_refused(client_user, provider, session_type, now):
    start = first_slot(provider, session_type, client_user, now)
    night = start.astimezone(provider.zone).replace(hour=22, minute=0)
    with pytest.raises(SlotUnavailable):
        book(client_user, provider, session_type, night, now)


def test_a_time_off_the_grid_is_refused(client_user, provider, session_type, now):
    start = first_slot(provider, session_type, client_user, now)
    with pytest.raises(SlotUnavailable):
        book(client_user, provider, session_type, start + timedelta(minutes=7), now)


def test_a_time_inside_the_minimum_notice_is_refused(client_user, provider, session_type, now):
    start = first_slot(provider, session_type, client_user, now)
    with pytest.raises(SlotUnavailable):
        book(client_user, provider, session_type, start, now=start - timedelta(hours=1))


def test_a_provider_off_the_care_team_is_refused(client_user, provider, session_type, now):
    start = first_slot(provider, session_type, client_user, now)
    CareTeamMember.objects.all().delete()
    with pytest.raises(NotBookable, match="care team"):
        book(client_user, provider, session_type, start, now)


@pytest.mark.parametrize("change", [{"is_active": False}, {"bookable_online": False}])
def test_a_type_not_bookable_online_is_refused(client_user, provider, session_type, now, change):
    start = first_slot(provider, session_type, client_user, now)
    for field, value in change.items():
        setattr(session_type, field, value)
    session_type.save()
    with pytest.raises(NotBookable):
        book(client_user, provider, session_type, start, now)


def test_another_providers_type_is_refused(client_user, provider, session_type, now):
    foreign_type = AppointmentTypeFactory()
    start = first_slot(provider, session_type, client_user, now)
    with pytest.raises(NotBookable):
        book(client_user, provider, foreign_type, start, now)


def test_history_entries_can_be_neither_changed_nor_deleted(
    client_user, provider, session_type, now
):
    appointment = book(
        client_user,
        provider,
        session_type,
        first_slot(provider, session_type, client_user, now),
        now,
    )
    event = appointment.events.get()
    event.reason = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert AppointmentEvent.objects.get().reason == ""


class _Cause(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing_insert(sqlstate):
    from django.db import OperationalError

    def insert(**kwargs):
        raise OperationalError("from the database") from _Cause(sqlstate)

    return insert


def test_a_deadlock_on_the_constraint_is_a_clean_conflict(
    client_user, provider, session_type, now, monkeypatch
):
    start = first_slot(provider, session_type, client_user, now)
    monkeypatch.setattr(Appointment.objects, "create", _failing_insert("40P01"))
    with pytest.raises(SlotUnavailable):
        book(client_user, provider, session_type, start, now)


def test_any_other_database_failure_is_not_dressed_up_as_a_conflict(
    client_user, provider, session_type, now, monkeypatch
):
    from django.db import OperationalError

    start = first_slot(provider, session_type, client_user, now)
    monkeypatch.setattr(Appointment.objects, "create", _failing_insert("08006"))
    with pytest.raises(OperationalError):
        book(client_user, provider, session_type, start, now)


def test_the_clients_own_session_here_counts_with_the_providers_buffer(
    client_user, provider, session_type, now
):
    provider.buffer_before = timedelta(minutes=30)
    provider.save()
    # A day's first time, so that the day has times after it whatever the clock says now.
    start = first_slot(provider, session_type, client_user, now, from_midnight=True)
    book(client_user, provider, session_type, start, now)
    after = selectors.open_slots(
        provider=provider,
        appointment_type=session_type,
        client=client_user,
        now=now,
        window_start=start,
        window_end=start + timedelta(hours=3),
    )
    # Busy for the provider (a new session needs its buffer before) and for the client.
    assert after and min(after) >= start + session_type.duration + timedelta(minutes=30)


def test_the_open_times_are_read_in_one_query(
    client_user, provider, session_type, now, stranger, django_assert_num_queries
):
    CareTeamMember.objects.create(provider=provider, client=stranger)
    book(stranger, provider, session_type, first_slot(provider, session_type, stranger, now), now)
    DateOverride.objects.create(provider=provider, date=(now + timedelta(days=3)).date())
    with django_assert_num_queries(1):  # weekly hours, date overrides, both schedules' sessions
        selectors.open_slots(
            provider=provider, appointment_type=session_type, client=client_user, now=now
        )


def test_the_schedule_reads_only_the_window_of_each_schedules_sessions(
    client_user, provider, session_type
):
    """The plan bounds the sessions by the (provider, start) and (client, start) indexes."""
    import re

    from django.db import connection

    from tests.factories import UserFactory

    first = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=200)
    providers = [provider, *(ProviderFactory() for _ in range(9))]
    clients = [client_user, *(UserFactory() for _ in range(29))]
    Appointment.objects.bulk_create(
        Appointment(
            provider=providers[n % 10],
            client=clients[n % 30],
            booked_by=clients[n % 30],
            appointment_type=session_type,
            start=first + timedelta(hours=n),
            end=first + timedelta(hours=n) + session_type.duration,
        )
        for n in range(6000)
    )
    busy_from = timezone.now() + timedelta(days=30)
    statement, params = sql.schedule_statement(
        provider=provider,
        client=client_user,
        first_day=busy_from.date(),
        last_day=busy_from.date() + timedelta(days=14),
        busy_from=busy_from,
        busy_to=busy_from + timedelta(days=14),
        exclude_pk=None,
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE appointments_appointment")
            cursor.execute(f"EXPLAIN {statement}", params)
        else:
            cursor.execute("ANALYZE")
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    for who in ["provider", "client"]:
        if connection.vendor == "postgresql":
            bounded = rf"Index Cond: \(\({who}_id = \d+\) AND \(start < .*\) AND \(start > "
        else:
            bounded = (
                rf"USING INDEX appointment_{who}_start \({who}_id=\? AND start>\? AND start<\?\)"
            )
        assert re.search(bounded, plan), plan


def test_the_longest_session_still_counts_against_a_time_just_before_it_ends(
    client_user, provider, now, stranger
):
    CareTeamMember.objects.create(provider=provider, client=stranger)
    longest = AppointmentTypeFactory(provider=provider, duration_minutes=LONGEST_SESSION_MINUTES)
    start = first_slot(provider, longest, client_user, now)
    AppointmentFactory(appointment_type=longest, client=stranger, start=start)
    last_minute = start + LONGEST_SESSION - timedelta(minutes=1)
    rows = Appointment.objects.filter(provider=provider).overlapping(
        last_minute, last_minute + timedelta(minutes=1)
    )
    assert rows.count() == 1
    assert not rows.overlapping(start + LONGEST_SESSION, start + LONGEST_SESSION * 2).exists()


def test_no_type_lasts_longer_than_the_longest_session(provider):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentTypeFactory(provider=provider, duration_minutes=LONGEST_SESSION_MINUTES + 1)
