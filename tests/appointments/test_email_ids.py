"""
Message-IDs and calendar UIDs: stable for one change or one appointment, never shared with
another database (a second installation, a staging copy, a restored backup) whose row ids
run the same way.
"""

import importlib
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from icalendar import Calendar

from appointments.emails import email_key, unwritten_changes, write_appointment_emails
from appointments.models import Appointment, AppointmentEvent, Fee
from appointments.services import appointment_cancel, appointment_reschedule
from portal.models import Email
from tests.factories import PolicyFactory, book, open_slots_after
from tests.tasks import sent_mail

LAST_BEFORE = ("appointments", "0014_emails_from_history")


@pytest.fixture
def policy(provider):
    return PolicyFactory(provider=provider)


def uid_in(ics: bytes | str) -> str:
    return str(Calendar.from_ical(ics).walk("VEVENT")[0]["UID"])


def calendar_uid(message) -> str:
    return uid_in(message.attachments[0][1])


def book_move_and_cancel(client_user, provider, session_type) -> tuple[list[int], list]:
    """One appointment's life; its row ids (appointment, history) and the emails it sent."""
    mail.outbox.clear()
    appointment = book(client_user, provider, session_type, days=5)
    later = open_slots_after(client_user, provider, session_type, days=6, exclude=appointment)
    appointment_reschedule(appointment=appointment, actor=client_user, new_start=later[0])
    appointment_cancel(appointment=appointment, actor=client_user)
    rows = [appointment.pk, *appointment.events.order_by("pk").values_list("pk", flat=True)]
    return rows, list(sent_mail())


def as_a_new_database() -> None:
    """No appointments, history or emails, and their ids starting from 1 again."""
    models = [Email, DBTaskResult, Fee, AppointmentEvent, Appointment]
    for model in models:
        model.objects.all().delete()
    tables = [{"table": m._meta.db_table, "column": "id"} for m in models if m is not DBTaskResult]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_by_name_sql(no_style(), tables):
            cursor.execute(sql)


@pytest.mark.django_db
def test_two_databases_making_the_same_changes_share_no_message_id_or_calendar_uid(
    client_user, provider, session_type, policy
):
    as_a_new_database()
    first_rows, first = book_move_and_cancel(client_user, provider, session_type)
    as_a_new_database()
    second_rows, second = book_move_and_cancel(client_user, provider, session_type)

    assert second_rows == first_rows  # the same row ids, as in a fresh database
    assert len(first) == len(second) == 6
    first_ids = {m.extra_headers["Message-ID"] for m in first}
    second_ids = {m.extra_headers["Message-ID"] for m in second}
    assert len(first_ids) == len(second_ids) == 6
    assert not first_ids & second_ids
    assert {calendar_uid(m) for m in first}.isdisjoint(calendar_uid(m) for m in second)


@pytest.mark.django_db
def test_reschedule_and_cancel_emails_carry_the_uid_of_the_booking_email(
    client_user, provider, session_type, policy
):
    _, emails = book_move_and_cancel(client_user, provider, session_type)
    appointment = Appointment.objects.get()
    assert [calendar_uid(m) for m in emails] == [appointment.calendar_uid] * 6
    assert appointment.calendar_uid != f"appointment-{appointment.pk}@client-portal.invalid"
    assert appointment.calendar_uid.endswith("@client-portal.invalid")


@pytest.mark.django_db
def test_the_downloaded_calendar_file_names_the_same_entry_as_the_emails(
    signed_in, client_user, provider, session_type, policy
):
    appointment = book(client_user, provider, session_type, days=5)
    response = signed_in.get(reverse("appointments:calendar", args=[appointment.pk]))
    assert uid_in(response.content) == appointment.calendar_uid
    assert calendar_uid(sent_mail()[0]) == appointment.calendar_uid


@pytest.mark.django_db
def test_a_changes_email_keys_are_the_same_however_often_they_are_derived(
    client_user, provider, session_type, policy
):
    book(client_user, provider, session_type, days=5)
    event = AppointmentEvent.objects.get()
    again = AppointmentEvent.objects.get()
    assert email_key(event, "client") == email_key(again, "client")
    assert email_key(event, "provider") == email_key(again, "provider")
    assert email_key(event, "client") != email_key(event, "provider")
    assert Email.objects.filter(key=email_key(event, "client")).count() == 0  # not yet written
    sent_mail()
    assert Email.objects.filter(key=email_key(event, "client")).count() == 1


@pytest.mark.django_db
def test_running_the_writing_task_twice_writes_two_emails_not_four(
    client_user, provider, session_type, policy
):
    book(client_user, provider, session_type, days=5)
    event = AppointmentEvent.objects.get()
    assert write_appointment_emails.call(event.pk) == 2
    assert write_appointment_emails.call(event.pk) == 0
    sent_mail()  # and the task the booking queued
    assert Email.objects.count() == 2
    assert set(Email.objects.values_list("key", flat=True)) == {
        email_key(event, "client"),
        email_key(event, "provider"),
    }


# --- Rows from before the random ids ---------------------------------------------------------


def key_as_derived_before(event_id: int, audience: str) -> uuid.UUID:
    """The key the portal gave an email before history entries had a random part."""
    return uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"https://client-portal.invalid/appointment-event/{event_id}/{audience}",
    )


@pytest.mark.django_db
def test_an_entry_from_before_the_random_part_keeps_the_keys_its_emails_have(
    client_user, provider, session_type, policy
):
    """Its task queued before the deploy and run after it writes nothing a second time."""
    book(client_user, provider, session_type, days=5)
    AppointmentEvent.objects.update(email_seed=None)  # as the old code recorded it
    event = AppointmentEvent.objects.get()
    assert email_key(event, "client") == key_as_derived_before(event.pk, "client")
    assert email_key(event, "provider") == key_as_derived_before(event.pk, "provider")
    assert write_appointment_emails.call(event.pk) == 2
    assert write_appointment_emails.call(event.pk) == 0
    assert set(Email.objects.values_list("key", flat=True)) == {
        key_as_derived_before(event.pk, "client"),
        key_as_derived_before(event.pk, "provider"),
    }


@pytest.mark.django_db
def test_requeue_finds_unwritten_changes_with_and_without_a_random_part(
    client_user, provider, session_type, policy
):
    book(client_user, provider, session_type, days=5)
    book(client_user, provider, session_type, days=6)
    DBTaskResult.objects.all().delete()  # both tasks lost with a worker
    older, newer = AppointmentEvent.objects.order_by("pk")
    AppointmentEvent.objects.filter(pk=older.pk).update(email_seed=None)
    now = timezone.now() + timedelta(minutes=20)
    assert sorted(unwritten_changes(now)) == [older.pk, newer.pk]
    write_appointment_emails.call(older.pk)
    write_appointment_emails.call(newer.pk)
    assert unwritten_changes(now) == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_uid_every_existing_appointment_has_today(settings, monkeypatch):
    """
    Calendars match a change to the entry they hold by its UID: appointments made before the
    stored UID keep `appointment-<pk>@<domain>`, in UPDATEs of a batch of ids each (so that a
    change to an appointment never waits for the whole table).
    """
    backfill = importlib.import_module(
        "appointments.migrations.0016_calendar_uid_of_existing_appointments"
    )
    monkeypatch.setattr(backfill, "BATCH", 2)
    executor = MigrationExecutor(connection)
    executor.migrate([LAST_BEFORE])
    old = executor.loader.project_state([LAST_BEFORE]).apps
    User = old.get_model("portal", "User")
    client = User.objects.create(email="old@example.com")
    provider = old.get_model("appointments", "Provider").objects.create(
        user=User.objects.create(email="dr.old@example.com"), display_name="Dr. Old"
    )
    kind = old.get_model("appointments", "AppointmentType").objects.create(
        provider=provider, name="Session", duration_minutes=50
    )
    start = timezone.now() + timedelta(days=3)
    OldAppointment = old.get_model("appointments", "Appointment")
    existing = [
        OldAppointment.objects.create(
            provider=provider,
            client=client,
            booked_by=client,
            appointment_type=kind,
            start=start + timedelta(hours=n),
            end=start + timedelta(hours=n, minutes=50),
        ).pk
        for n in range(3)
    ]
    settings.PORTAL_CALENDAR_DOMAIN = "portal.example.org"

    executor = MigrationExecutor(connection)
    with CaptureQueriesContext(connection) as queries:
        executor.migrate(executor.loader.graph.leaf_nodes())

    uids = dict(Appointment.objects.values_list("pk", "calendar_uid"))
    assert uids == {pk: f"appointment-{pk}@portal.example.org" for pk in existing}
    table = Appointment._meta.db_table
    updates = [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]
    assert len(updates) == 2  # three appointments, two to a batch
    new = Appointment.objects.create(
        provider_id=provider.pk,
        client_id=client.pk,
        booked_by_id=client.pk,
        appointment_type_id=kind.pk,
        start=start + timedelta(days=1),
        end=start + timedelta(days=1, minutes=50),
    )
    assert new.calendar_uid not in uids.values()
    assert new.calendar_uid.endswith("@portal.example.org")
